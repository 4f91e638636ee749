/**
 * `gitops-bootstrap restore` as a platform engineer runs it after a disaster, on real parts only:
 * the CLI (from a scratch copy of the project), the real Pulumi engine and Kubernetes provider,
 * the real flux2 chart, Flux's real source-controller and kustomize-controller run as that chart's
 * pods (its ServiceAccounts' tokens, its flags), and the HTTPS Git server with a CA made
 * for the run, which the flux-sandbox stack trusts through `repo.caFile`. restore reads the
 * repository from that server (check), runs `pulumi up --refresh`, waits for Flux to converge and
 * verifies the SOPS Secret; it never destroys. A second restore on the recovered cluster changes
 * nothing. The repository also holds another environment's SOPS file, encrypted to that
 * environment's own key: it is counted, not judged, and not expected in this cluster.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as age from "age-encryption";
import type { RunReport } from "../../bootstrap/cli-common/drill-report";
import { FLUX } from "../../components/defaults";
import { writeSopsYaml } from "../../bootstrap/sops/writer";
import { asTheChartWouldInstall, expectOnlyHandMade } from "./audit-scenario";
import { type ExpectedSecret, clusterSecretDigests, expectedSecret, pointStackAt } from "./demo-repo";
import { type FluxControllers, startFluxControllers } from "./flux-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { PROJECT_DIR, type TestCluster, cliEnv, openCluster, requireToolchain, scratchProject, tempDir } from "./harness";
import { runAsync } from "./processes";

jest.setTimeout(10 * 60 * 1000);

const STACK = "flux-sandbox";
const REPO = "gitops-bootstrap";
const SOPS_FILE = "examples/gitops-repo-flux/workloads/demo-secret/demo-credentials.sops.yaml";
const OTHER_ENV_FILE = "clusters/other/db.yaml";

let dir: string;
let cluster: TestCluster;
let git: GitServer;
let flux: FluxControllers;
let work: string;
let secret: ExpectedSecret;
let run = 0;

beforeAll(async () => {
  requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm");
  dir = tempDir("restore");
  cluster = await openCluster(dir);
  git = await startGitServer({ dir: path.join(dir, "git"), repos: { [REPO]: { dir: PROJECT_DIR, include: ["examples/gitops-repo-flux"] } } });
  // Another environment in the same repository, with its own key: outside what this stack's root reaches.
  const otherKey = await age.identityToRecipient(await age.generateX25519Identity());
  const other = { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "other" }, stringData: { password: "another-environment" } };
  git.commit(REPO, { [OTHER_ENV_FILE]: await writeSopsYaml([other], { recipients: [otherKey], encryptedRegex: "^(data|stringData)$" }) }, "another environment");
  work = scratchProject(dir);
  pointStackAt(work, STACK, { url: git.url(REPO), revision: git.branch, caFile: git.caFile });
  flux = await startFluxControllers({ dir: path.join(dir, "flux"), kubeconfig: cluster.kubeconfig, asChartPods: true });
  secret = await expectedSecret(SOPS_FILE);
});

afterAll(async () => {
  await flux?.stop();
  await git?.stop();
  await cluster?.close();
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `restore` to the end; its output and report. Asynchronously: the controllers' kubelet
 * part (starting them once the chart's Deployments exist) runs on this event loop.
 */
async function restore(): Promise<{ code: number; output: string; report: RunReport; reportDir: string }> {
  const reportDir = path.join(dir, `report-${++run}`);
  const r = await runAsync(process.execPath, [path.join(work, "bootstrap", "gitops-bootstrap.js"), "restore", "--stack", STACK, "--kubeconfig", cluster.kubeconfig, "--report-dir", reportDir, "--timeout", "3m", "--failure-grace", "3s"], { env: cliEnv(dir) });
  const output = `${r.stdout}${r.stderr}`;
  if (!fs.existsSync(path.join(reportDir, "report.json"))) throw new Error(`restore wrote no report (exit ${r.status}):\n${output}`);
  return { code: r.status ?? -1, output, report: JSON.parse(fs.readFileSync(path.join(reportDir, "report.json"), "utf8")), reportDir };
}

function expectNoSecrets(output: string, reportDir: string): void {
  const key = fs.readFileSync(path.join(PROJECT_DIR, "examples/gitops-repo/demo-age-key.txt"), "utf8").match(/AGE-SECRET-KEY-1[0-9A-Z]+/)![0];
  // Values long enough to mean something: the demo user name is a 4-letter word that names show too.
  const secrets = [key, ...secret.values.filter((v) => v.length >= 8)];
  for (const text of [output, ...fs.readdirSync(reportDir).map((f) => fs.readFileSync(path.join(reportDir, f), "utf8"))]) {
    for (const s of secrets) expect(text.includes(s)).toBe(false);
  }
}

afterEach(() => flux.assertRunning());

test("restore on an empty cluster: the repository checked over HTTPS, everything applied by Flux at the served commit, the Secret decrypted; nothing destroyed", async () => {
  const { code, output, report, reportDir } = await restore();
  if (code !== 0) throw new Error(`restore exited ${code}:\n${output}`);
  expect(report).toMatchObject({ outcome: "recovered", reconciler: "flux" });
  expect(report.phases.map((p) => [p.name, p.status])).toEqual([
    ["check", "ok"], ["up", "ok"], ["reconciler ready", "ok"], ["root synced", "ok"], ["all healthy", "ok"], ["secrets present", "ok"],
  ]);
  expect(report.phases.find((p) => p.name === "check")!.detail).toBe("1 SOPS file(s) verified; 1 SOPS file(s) for other environments, not judged");
  for (const a of report.apps) expect(a.status).toContain(git.head(REPO));
  expect(report.secrets).toEqual([{ file: SOPS_FILE, name: secret.name, namespace: secret.namespace, found: true }]);
  expect(clusterSecretDigests((a) => cluster.kubectl(a), secret.name, secret.namespace)).toEqual(secret.digests);
  expect(output).toContain("✔ recovered in");
  expectNoSecrets(output, reportDir);
});

test("a second restore on the recovered cluster changes nothing and still verifies everything", async () => {
  const { code, output, report } = await restore();
  if (code !== 0) throw new Error(`restore exited ${code}:\n${output}`);
  expect(report.outcome).toBe("recovered");
  expect(report.phases.find((p) => p.name === "up")!.detail).toBe("no changes");
  expect(report.secrets).toEqual([{ file: SOPS_FILE, name: secret.name, namespace: secret.namespace, found: true }]);
});

test("audit after the restore: nothing would be lost; then exactly what was made by hand, the PVC as data, and an ignore rule hides only what it names (Flux inventories)", () => {
  asTheChartWouldInstall(cluster, "flux", { name: FLUX.releaseName, namespace: FLUX.namespace });
  expectOnlyHandMade(work, STACK, cluster, cliEnv(dir), dir);
});

test("a permission the chart's RBAC does not grant fails the restore with the controller's own error: the controllers run as the chart's ServiceAccounts", async () => {
  // The flux2 chart lets kustomize-controller apply anything through one ClusterRoleBinding to
  // cluster-admin; without it, the controller (as its own ServiceAccount) may not create the
  // namespace the demo Secret goes in. With admin credentials, this would change nothing.
  const bindings = JSON.parse(cluster.kubectl(["get", "clusterrolebindings", "-o", "json"])).items as { metadata: { name: string }; roleRef: { name: string }; subjects?: { name: string; namespace?: string }[] }[];
  const reconciler = bindings.find((b) => b.roleRef.name === "cluster-admin" && b.subjects?.some((s) => s.name === "kustomize-controller" && s.namespace === FLUX.namespace));
  expect(reconciler).toBeDefined();
  cluster.kubectl(["delete", "clusterrolebinding", reconciler!.metadata.name, "--wait=true"]);
  cluster.kubectl(["delete", "namespace", secret.namespace, "--wait=true", "--timeout=120s"]);
  cluster.kubectl(["annotate", "--overwrite", "kustomizations.kustomize.toolkit.fluxcd.io", "demo-secret", "-n", FLUX.namespace, `reconcile.fluxcd.io/requestedAt=${new Date().toISOString()}`]);
  const { code, output, report } = await restore();
  expect(code).toBe(1);
  expect(report.outcome).toBe("failed");
  const failure = report.failures.find((f) => f.includes("demo-secret"));
  expect(failure).toMatch(/forbidden/);
  expect(failure).toContain(`system:serviceaccount:${FLUX.namespace}:kustomize-controller`);
  expect(output).toContain("forbidden");
});
