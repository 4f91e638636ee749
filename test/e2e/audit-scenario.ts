/**
 * The audit's e2e scenario, shared by the Flux (restore.test.ts) and the Argo CD
 * (argo-real.test.ts) paths: after the cluster is rebuilt from Git, objects are made by hand the
 * way people do in an emergency, and `gitops-bootstrap audit` (the installed command, a fresh
 * process) must report exactly those, the PVC as data, and an ignore rule must hide what it names
 * and nothing else.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AuditReport } from "../../bootstrap/rebuild-audit/report";
import type { TestCluster } from "./harness";
import { markForRelease } from "./charts";
import { crdFileArgs } from "./toolchain";

/**
 * The sandbox installs both reconcilers' CRDs (toolchain.ts sandboxCrdFiles, marked as the
 * product's releases' by charts.ts markForRelease), where a real cluster gets only its
 * reconciler's, from the chart: this removes the other reconciler's and marks the remaining ones
 * as `release`'s, so that the cluster is what the product would have built.
 */
export function asTheChartWouldInstall(cluster: TestCluster, reconciler: "argocd" | "flux", release: { name: string; namespace: string }): void {
  const [own, other] = reconciler === "flux" ? (["flux", "argo-cd"] as const) : (["argo-cd", "flux"] as const);
  cluster.kubectl(["delete", ...crdFileArgs(other), "--ignore-not-found", "--wait=true"]);
  // A release in another namespace than the product's default (argo-real.test.ts) owns them too.
  const names = cluster.kubectl(["get", ...crdFileArgs(own), "-o", "name"]).split("\n").filter(Boolean);
  markForRelease((a) => cluster.kubectl(a), names, own, release);
}

/** What an engineer makes by hand: a namespace, a Deployment, a Secret typed in, a PVC. */
export function makeByHand(cluster: TestCluster): void {
  cluster.kubectl(["create", "namespace", "hand-made"]);
  cluster.kubectl(["create", "deployment", "debug", "-n", "hand-made", "--image=registry.example.com/debug:1"]);
  cluster.kubectl(["create", "secret", "generic", "api-token", "-n", "hand-made", "--from-literal=token=typed-in-at-2am"]);
  cluster.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: "hand-made" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }));
}

/** Runs `audit` from the project `work` on the cluster; its exit status, report and output. */
export function runAudit(work: string, stack: string, cluster: TestCluster, env: NodeJS.ProcessEnv, extra: string[] = []): { code: number; report: AuditReport; output: string } {
  const r = spawnSync(process.execPath, [path.join(work, "bootstrap/gitops-bootstrap.js"), "audit", "--stack", stack, "--kubeconfig", cluster.kubeconfig, "--json", ...extra], { cwd: work, env: { ...env, CI: "true" }, encoding: "utf8" });
  if (r.status !== 0 && r.status !== 1) throw new Error(`audit exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return { code: r.status, report: JSON.parse(r.stdout) as AuditReport, output: `${r.stdout}${r.stderr}` };
}

/** The scenario's assertions, the same for both reconcilers. */
export function expectOnlyHandMade(work: string, stack: string, cluster: TestCluster, env: NodeJS.ProcessEnv, dir: string): void {
  const clean = runAudit(work, stack, cluster, env);
  const describe = (r: AuditReport) => [...r.wouldBeLost.map((i) => `${i.kind} ${i.namespace ?? ""}/${i.name}`), ...r.data.map((d) => `data: ${d.kind} ${d.namespace}/${d.name}`)];
  // Rebuilt from Git, nothing would be lost: everything is from Git, the stack or Kubernetes.
  expect(describe(clean.report)).toEqual([]);
  expect(clean.code).toBe(0);
  expect(clean.report.counts.git).toBeGreaterThan(0);
  expect(clean.report.counts.stack).toBeGreaterThan(0);

  makeByHand(cluster);
  const after = runAudit(work, stack, cluster, env, ["--report-dir", path.join(dir, "audit")]);
  expect(describe(after.report).sort()).toEqual(["Deployment hand-made/debug", "Namespace /hand-made", "Secret hand-made/api-token", "data: PersistentVolumeClaim hand-made/data"]);
  expect(after.report.wouldBeLost[0]).toMatchObject({ kind: "Secret", name: "api-token" });
  expect(after.code).toBe(1);
  expect(after.output).not.toContain("typed-in-at-2am");
  expect(fs.readFileSync(path.join(dir, "audit", "audit.md"), "utf8")).toContain("## Secrets not from Git");

  const ignore = path.join(dir, "audit-ignore.yaml");
  fs.writeFileSync(ignore, "- kind: Deployment\n  namespace: hand-made\n  name: debug\n  why: a debugging aid, made again when needed\n");
  const ignored = runAudit(work, stack, cluster, env, ["--ignore", ignore]);
  expect(describe(ignored.report).sort()).toEqual(["Namespace /hand-made", "Secret hand-made/api-token", "data: PersistentVolumeClaim hand-made/data"]);
  // The Deployment and what the controllers made from it (its ReplicaSet, its Pod) are ignored together.
  expect(ignored.report.ignored.map((i) => `${i.kind} ${i.name}`)).toEqual(["Deployment debug"]);
  expect(ignored.report.counts.ignored).toBeGreaterThanOrEqual(2);
}
