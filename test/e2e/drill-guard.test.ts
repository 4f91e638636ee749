/**
 * The drill acts on exactly one cluster, refuses a cluster that runs something, and tears down
 * and reports whatever fails after `up`: on two sandbox API servers (two etcd + kube-apiserver
 * pairs), with the CLI as users run it, the real Pulumi engine and Kubernetes provider, and
 * Flux's real source- and kustomize-controller syncing from the HTTPS Git server.
 *
 * The drill's kubeconfig holds two contexts: `throwaway` (cluster A, user `drill`, or
 * `drill-restricted` whom A refuses the listing of Secrets in demo-secret) and `other` (cluster
 * B, user `drill-other`, cluster-admin there). B records every request `drill-other` makes, so
 * "nothing on B was touched" is read from B's own audit log, not inferred.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import type { RunReport } from "../../bootstrap/cli-common/drill-report";
import { pointStackAt } from "./demo-repo";
import { type FluxControllers, startFluxControllers } from "./flux-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { EXTERNAL_KUBECONFIG, PROJECT_DIR, cliEnv, requireToolchain, scratchProject, tempDir } from "./harness";
import { type Sandbox, startSandbox } from "./sandbox";

jest.setTimeout(10 * 60 * 1000);

const STACK = "flux-sandbox";
const REPO = "gitops-bootstrap";
const SOPS_SECRET_NAMESPACE = "demo-secret";
const DEMO_KEY = fs.readFileSync(path.join(PROJECT_DIR, "examples/gitops-repo/demo-age-key.txt"), "utf8").match(/AGE-SECRET-KEY-1[0-9A-Z]+/)![0];
const FRESH = ["default", "kube-node-lease", "kube-public", "kube-system"];

let dir: string;
let a: Sandbox;
let b: Sandbox;
let git: GitServer;
let flux: FluxControllers;
let work: string;
let cli: string;
let tmp: string;
let run = 0;

/** A kubeconfig with the throwaway cluster A (as `userOnA`) and the other cluster B; current-context `throwaway`. */
function drillKubeconfig(userOnA: "drill" | "drill-restricted"): string {
  const file = path.join(dir, `drill-${++run}.kubeconfig`);
  const entry = (name: string, s: Sandbox, user: string) => ({
    cluster: { name, cluster: { server: s.server, "insecure-skip-tls-verify": true } },
    user: { name: `${user}@${name}`, user: { token: s.tokenOf(user) } },
    context: { name, context: { cluster: name, user: `${user}@${name}` } },
  });
  const entries = [entry("throwaway", a, userOnA), entry("other", b, "drill-other")];
  const doc = { apiVersion: "v1", kind: "Config", clusters: entries.map((e) => e.cluster), users: entries.map((e) => e.user), contexts: entries.map((e) => e.context), "current-context": "throwaway" };
  fs.writeFileSync(file, YAML.stringify(doc), { mode: 0o600 });
  return file;
}

interface Drill {
  readonly child: ChildProcess;
  readonly reportDir: string;
  stderr(): string;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  exited(expected: number): Promise<void>;
}

function startDrill(kubeconfig: string, extra: readonly string[] = []): Drill {
  const reportDir = path.join(dir, `report-${++run}`);
  const args = ["drill", "--stack", STACK, "--kubeconfig", kubeconfig, "--report-dir", reportDir, "--timeout", "3m", "--failure-grace", "3s", ...extra];
  // Its own TMPDIR: the single-context kubeconfig it writes there must be gone when it exits.
  const child = spawn(process.execPath, [cli, ...args], { env: { ...cliEnv(dir), TMPDIR: tmp }, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => void (err += d.toString()));
  child.stdout!.resume();
  const exit = new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return {
    child,
    reportDir,
    stderr: () => err,
    waitFor: async (text, timeoutMs = 180_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!err.includes(text)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`drill output never showed ${text}:\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    exited: async (expected) => {
      const code = await exit;
      if (code !== expected) throw new Error(`drill exited ${code}, expected ${expected}; its output:\n${err}\n${flux.logTail(20)}`);
    },
  };
}

const readReport = (d: Drill): RunReport => JSON.parse(fs.readFileSync(path.join(d.reportDir, "report.json"), "utf8"));
const namesOf = (s: Sandbox, args: readonly string[]): string[] =>
  (JSON.parse(s.kubectl([...args, "-o", "json"])).items as { metadata: { namespace?: string; name: string } }[]).map((i) => `${i.metadata.namespace ?? ""}/${i.metadata.name}`).sort();

/** What B holds that a drill would create or delete: namespaces, Secrets (Helm releases are Secrets), Deployments. */
const snapshotOfB = () => ({ namespaces: namesOf(b, ["get", "namespaces"]), secrets: namesOf(b, ["get", "secrets", "-A"]), deployments: namesOf(b, ["get", "deployments", "-A"]) });

function expectNoSecrets(d: Drill): void {
  for (const text of [d.stderr(), ...fs.readdirSync(d.reportDir).map((f) => fs.readFileSync(path.join(d.reportDir, f), "utf8"))]) {
    expect(text.includes(DEMO_KEY)).toBe(false);
    expect(text.includes(a.tokenOf("drill"))).toBe(false);
    expect(text.includes(a.tokenOf("drill-restricted"))).toBe(false);
  }
}

beforeAll(async () => {
  if (EXTERNAL_KUBECONFIG) throw new Error("drill-guard.test.ts needs the local sandbox (two API servers, a user refused some requests): unset GITOPS_BOOTSTRAP_E2E_KUBECONFIG");
  requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm");
  dir = tempDir("drill-guard");
  tmp = path.join(dir, "tmp");
  fs.mkdirSync(tmp);
  const denySecretsList = "request.user == 'drill-restricted' && has(request.resourceAttributes) && request.resourceAttributes.resource == 'secrets' && request.resourceAttributes.verb == 'list' && has(request.resourceAttributes.namespace) && request.resourceAttributes.namespace == 'demo-secret'";
  [a, b] = await Promise.all([
    startSandbox({ dir: path.join(dir, "cluster-a"), users: ["drill", "drill-restricted"], deny: [denySecretsList] }),
    startSandbox({ dir: path.join(dir, "cluster-b"), installCrds: false, users: ["drill-other"], auditUsers: ["drill-other"] }),
  ]);
  // Everything RBAC allows; only the deny rule above takes something away from drill-restricted.
  a.kubectl(["create", "clusterrolebinding", "drill-admin", "--clusterrole=cluster-admin", "--user=drill", "--user=drill-restricted"]);
  b.kubectl(["create", "clusterrolebinding", "drill-other-admin", "--clusterrole=cluster-admin", "--user=drill-other"]);
  git = await startGitServer({ dir: path.join(dir, "git"), repos: { [REPO]: { dir: PROJECT_DIR, include: ["examples/gitops-repo-flux"] } } });
  work = scratchProject(dir);
  cli = path.join(work, "bootstrap", "gitops-bootstrap.js");
  pointStackAt(work, STACK, { url: git.url(REPO), revision: git.branch, caFile: git.caFile });
  flux = await startFluxControllers({ dir: path.join(dir, "flux"), kubeconfig: a.kubeconfig, asChartPods: true });
});

afterAll(async () => {
  await flux?.stop();
  await git?.stop();
  await Promise.all([a?.destroy(), b?.destroy()]);
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  else if (dir) process.stderr.write(`kept ${dir}\n`);
});

afterEach(() => {
  flux.assertRunning();
  // A fresh A for the next scenario.
  for (const ns of namesOf(a, ["get", "namespaces"]).map((n) => n.slice(1))) if (!FRESH.includes(ns)) a.kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
});

test("the kubeconfig's current context switched to another cluster during the wait: the drill stays on the cluster it checked, and the other cluster gets not one request", async () => {
  const before = snapshotOfB();
  const kubeconfig = drillKubeconfig("drill");
  const d = startDrill(kubeconfig);
  await d.waitFor("► waiting for flux to converge");
  // What `kubectl config use-context other`, or a new kind cluster, does to the file meanwhile.
  fs.writeFileSync(kubeconfig, YAML.stringify({ ...YAML.parse(fs.readFileSync(kubeconfig, "utf8")), "current-context": "other" }));
  await d.exited(0);
  const report = readReport(d);
  expect(report).toMatchObject({ outcome: "recovered", cluster: a.server, context: "throwaway" });
  expect(report.kubeSystemUid).toBe(JSON.parse(a.kubectl(["get", "namespace", "kube-system", "-o", "json"])).metadata.uid);
  expect(report.phases.find((p) => p.name === "destroy")).toMatchObject({ status: "ok" });
  expect(namesOf(a, ["get", "namespaces"])).not.toContain("/flux-system");
  expect(b.auditedRequests()).toEqual([]);
  expect(snapshotOfB()).toEqual(before);
  // The single-context kubeconfig the run wrote (it holds the token) is gone.
  expect(fs.readdirSync(tmp).filter((f) => f.startsWith("gitops-bootstrap-kube-"))).toEqual([]);
  expectNoSecrets(d);
});

test("a Deployment in default makes the guard refuse the cluster (exit 3), naming it, and nothing is deployed", async () => {
  a.kubectl(["create", "deployment", "payments-api", "--image=registry.example/payments:1", "-n", "default"]);
  try {
    const d = startDrill(drillKubeconfig("drill"));
    await d.exited(3);
    expect(d.stderr()).toContain("✗ guard failed: refused: the cluster runs workloads no fresh cluster of a known distribution (kind, k3s, minikube, EKS, GKE, AKS) runs: Deployment default/payments-api");
    expect(readReport(d)).toMatchObject({ outcome: "refused", phases: [{ name: "guard", status: "failed" }] });
    expect(namesOf(a, ["get", "namespaces"])).not.toContain("/flux-system");
  } finally {
    a.kubectl(["delete", "deployment", "payments-api", "-n", "default", "--wait=true"]);
  }
});

test("listing Secrets is forbidden after up: the drill still destroys everything it deployed and writes a failed report with the API server's answer", async () => {
  const before = snapshotOfB();
  const d = startDrill(drillKubeconfig("drill-restricted"));
  await d.exited(1);
  const report = readReport(d);
  expect(report.outcome).toBe("failed");
  expect(report.phases.map((p) => [p.name, p.status])).toEqual([
    ["guard", "ok"], ["check", "ok"], ["up", "ok"], ["reconciler ready", "ok"], ["root synced", "ok"], ["all healthy", "ok"], ["secrets present", "failed"], ["destroy", "ok"],
  ]);
  expect(report.failures).toEqual([`secrets present: not allowed to list secrets in ${SOPS_SECRET_NAMESPACE} (HTTP 403): the kubeconfig's user needs list on secrets in ${SOPS_SECRET_NAMESPACE}`]);
  for (const f of ["report.md", "junit.xml"]) expect(fs.readFileSync(path.join(d.reportDir, f), "utf8")).toContain("HTTP 403");
  expect(namesOf(a, ["get", "namespaces"])).not.toContain("/flux-system");
  expect(namesOf(a, ["get", "kustomizations.kustomize.toolkit.fluxcd.io", "-A"])).toEqual([]);
  expect(snapshotOfB()).toEqual(before);
  expectNoSecrets(d);
});
