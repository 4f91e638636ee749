/**
 * A cluster whose secrets are SealedSecrets comes back with one `restore` and a backup file, on
 * the real Flux path (source- and kustomize-controller, the HTTPS Git server) with the real Sealed
 * Secrets controller (started when `up` has installed its release, as its pod would be) and
 * kubeseal. A SealedSecret sealed on the first cluster is committed to Git; its keys are backed
 * up; after a wipe, `restore` restores them before the controller starts and verifies that the
 * SealedSecret was unsealed. Without the backup, `restore` reports it as not unsealed, with the
 * controller's message.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import type { RunReport } from "../../bootstrap/cli-common/drill-report";
import { pointStackAt } from "./demo-repo";
import { type FluxControllers, startFluxControllers } from "./flux-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { PROJECT_DIR, type TestCluster, cliEnv, openCluster, requireToolchain, scratchProject, tempDir } from "./harness";
import { type SealedSecretsController, sealedSecretsToolchain, startWhenDeployed } from "./sealed-secrets-controller";

jest.setTimeout(12 * 60 * 1000);

const STACK = "flux-sandbox";
const REPO = "gitops-bootstrap";
const VALUE = "unsealed-after-the-rebuild";
const HELLO = "examples/gitops-repo-flux/workloads/hello";

let dir: string;
let cluster: TestCluster;
let git: GitServer;
let flux: FluxControllers;
let work: string;
let controller: SealedSecretsController | undefined;
let run = 0;

function setSealedSecrets(keysFile: string | undefined): void {
  const file = path.join(work, "stacks", `Pulumi.${STACK}.yaml`);
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  doc.config["gitops-bootstrap:sealedSecrets"] = { chartRepo: "test/e2e/charts/sealed-secrets.tgz", ...(keysFile ? { keysFile } : {}) };
  fs.writeFileSync(file, YAML.stringify(doc));
}

/** The CLI in its own process, asynchronously (the controller is started meanwhile). */
function cli(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(work, "bootstrap/gitops-bootstrap.js"), ...args], { cwd: work, env: { ...cliEnv(dir), CI: "true" } });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, output }));
  });
}

/** `restore`, with the Sealed Secrets controller started once up has installed its release. */
async function restore(): Promise<{ code: number; output: string; report: RunReport }> {
  cluster.kubectl(["apply", "--server-side", "-f", sealedSecretsToolchain().crds]);
  const starting = startWhenDeployed({ dir: path.join(dir, `controller-${++run}`), kubeconfig: cluster.kubeconfig, kubectl: (a) => cluster.kubectl(a) });
  const reportDir = path.join(dir, `report-${run}`);
  const r = await cli(["restore", "--stack", STACK, "--kubeconfig", cluster.kubeconfig, "--report-dir", reportDir, "--timeout", "3m", "--failure-grace", "3s"]);
  starting.cancel();
  controller = await starting.controller.catch(() => undefined);
  if (!fs.existsSync(path.join(reportDir, "report.json"))) throw new Error(`restore wrote no report (exit ${r.code}):\n${r.output}`);
  return { ...r, report: JSON.parse(fs.readFileSync(path.join(reportDir, "report.json"), "utf8")) };
}

async function wipe(): Promise<void> {
  await controller?.stop();
  controller = undefined;
  await cluster.wipe();
  await flux.restart(cluster.kubeconfig);
}

beforeAll(async () => {
  requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm", "kubectl");
  sealedSecretsToolchain();
  dir = tempDir("sealed-restore");
  cluster = await openCluster(dir);
  git = await startGitServer({ dir: path.join(dir, "git"), repos: { [REPO]: { dir: PROJECT_DIR, include: ["examples/gitops-repo-flux"] } } });
  work = scratchProject(dir);
  pointStackAt(work, STACK, { url: git.url(REPO), revision: git.branch, caFile: git.caFile });
  setSealedSecrets(undefined);
  flux = await startFluxControllers({ dir: path.join(dir, "flux"), kubeconfig: cluster.kubeconfig, asChartPods: true });
});

afterAll(async () => {
  await controller?.stop();
  await flux?.stop();
  await git?.stop();
  await cluster?.close();
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

test("first cluster: restore installs the controller; a Secret sealed with kubeseal is committed to Git; backup-keys backs up the key", async () => {
  const first = await restore();
  if (first.code !== 0) throw new Error(`restore exited ${first.code}:\n${first.output}`);
  expect(controller).toBeDefined();
  const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "hello" }, stringData: { password: VALUE } };
  const sealed = execFileSync(sealedSecretsToolchain().kubeseal, ["--cert", controller!.certUrl, "--format", "yaml"], { input: YAML.stringify(secret), encoding: "utf8" });
  git.commit(REPO, { [`${HELLO}/db-sealed.yaml`]: sealed }, "hello: a SealedSecret");
  git.commit(
    REPO,
    (w) => {
      const file = path.join(w, HELLO, "kustomization.yaml");
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("  - service.yaml\n", "  - service.yaml\n  - db-sealed.yaml\n"));
    },
    "hello: include the SealedSecret",
  );
  const backup = await cli(["backup-keys", "--stack", STACK, "--kubeconfig", cluster.kubeconfig, "--out", path.join(work, "sealing-keys.sops.yaml")]);
  expect(backup.output).toContain("✔ 1 sealing key");
  expect(backup.code).toBe(0);
});

test("wiped: restore with the backup brings the SealedSecret's Secret back, proven by check, up and the secrets phase", async () => {
  await wipe();
  setSealedSecrets("sealing-keys.sops.yaml");
  const { code, output, report } = await restore();
  if (code !== 0) throw new Error(`restore exited ${code}:\n${output}\n${controller?.logTail() ?? ""}`);
  expect(report.outcome).toBe("recovered");
  expect(report.phases.find((p) => p.name === "check")!.detail).toBe("1 SOPS file(s) verified; the key backup opens 1 SealedSecret(s)");
  expect(report.secrets).toContainEqual({ file: `${HELLO}/db-sealed.yaml`, name: "db", namespace: "hello", found: true, sealed: true });
  const value = JSON.parse(cluster.kubectl(["get", "secret", "db", "-n", "hello", "-o", "json"])).data.password;
  expect(Buffer.from(value, "base64").toString()).toBe(VALUE);
  expect(output).not.toContain(VALUE);
});

test("wiped without the backup: restore reports the SealedSecret as not unsealed, with the controller's message", async () => {
  await wipe();
  setSealedSecrets(undefined);
  const { code, report } = await restore();
  expect(code).toBe(1);
  expect(report.outcome).toBe("failed");
  expect(report.failures).toContainEqual(expect.stringMatching(new RegExp(`^SealedSecret hello/db \\(from ${HELLO}/db-sealed\\.yaml\\) is not unsealed: the controller says: .*no key could decrypt secret`)));
  // check warned before anything was deployed: SealedSecrets and no backup to prove them.
  expect(report.phases.find((p) => p.name === "check")!.status).toBe("ok");
  expect(report.notes).toContainEqual(expect.stringMatching(/^check: 1 SealedSecret \(.*db-sealed\.yaml: hello\/db\) and no key backup to prove/));
});
