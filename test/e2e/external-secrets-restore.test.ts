/**
 * External Secrets through the product, on real parts: `gitops-bootstrap restore` on the
 * flux-sandbox stack with an `externalSecrets` block, the real Pulumi engine and provider, the
 * real flux2 and external-secrets charts, Flux's controllers and the External Secrets Operator
 * v0.16.2 run as those charts' pods (their ServiceAccounts' tokens, their flags; ESO's webhook
 * reached through the sandbox's Service network), the HTTPS Git server, and a real store: a
 * second API server holding the application Secrets (secrets-cluster.ts), read with a
 * ServiceAccount token, the secret zero, which the stack restores from a sops-encrypted file.
 *
 * The repository holds, as ESO's Flux guide orders it, a Kustomization with a ClusterSecretStore
 * for the secrets cluster (Flux waits until ESO validated it), and one with two ExternalSecrets
 * that depends on it. The scenarios of issue 24:
 * - with the credentials file, restore recovers everything, every ExternalSecret synced (the
 *   report's records, the Secrets' values by digest), on the first sync: no webhook failure in
 *   Flux's events, no ESO warning, each ExternalSecret's only event `Created`. The webhook's pod
 *   is Ready only once it serves (the test plays the kubelet's readiness probe), so Helm's wait,
 *   and so the root, follows the webhook as on a real cluster;
 * - wiped, without the credentials file: the restore fails, and its report and terminal carry
 *   ESO's condition and the cause from ESO's Warning event (the token's Secret not found);
 * - wiped, with the token revoked in the secrets cluster: the same, `Unauthorized`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import * as YAML from "yaml";
import type { RunReport } from "../../bootstrap/cli-common/drill-report";
import { EXTERNAL_SECRETS } from "../../components/defaults";
import { clusterSecretDigests, digestValues, pointStackAt } from "./demo-repo";
import { type ExternalSecretsOperator, startExternalSecretsOperator, WEBHOOK_PROBED_VALUES } from "./external-secrets-controller";
import { externalSecretsRepoFiles, STORE_NAME, TOKEN_SECRET, type WantedExternalSecret, writeCredentialsFile } from "./external-secrets-repo";
import { type FluxControllers, startFluxControllers } from "./flux-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { PROJECT_DIR, type TestCluster, cliEnv, openCluster, requireToolchain, scratchProject, tempDir } from "./harness";
import { runAsync } from "./processes";
import { type SecretsCluster, startSecretsCluster } from "./secrets-cluster";

jest.setTimeout(15 * 60 * 1000);

const STACK = "flux-sandbox";
const REPO = "gitops-bootstrap";
const ESO_FOLDER = "examples/gitops-repo-flux/workloads/external-secrets";
const CREDENTIALS_FILE = "eso-credentials.sops.yaml";
const STORES_KUSTOMIZATION = "external-secret-stores";

/** The application secrets in the secrets cluster: random, compared by digest, never printed. */
const REMOTE: Record<string, Record<string, string>> = {
  db: { username: "shop", password: randomBytes(18).toString("base64url") },
  api: { token: randomBytes(24).toString("hex") },
};

const WANTED: readonly WantedExternalSecret[] = [
  { namespace: "shop", name: "db", target: "db-credentials", data: { username: { remoteSecret: "db", remoteKey: "username" }, password: { remoteSecret: "db", remoteKey: "password" } } },
  { namespace: "billing", name: "api", target: "api-token", data: { token: { remoteSecret: "api", remoteKey: "token" } } },
];

let dir: string;
let secrets: SecretsCluster;
let cluster: TestCluster;
let git: GitServer;
let flux: FluxControllers;
let eso: ExternalSecretsOperator;
let work: string;
let run = 0;

/**
 * The repository's files for the ESO objects and the Flux Kustomizations that apply them, in the
 * order ESO's Flux guide gives: the store first (`wait`: Flux waits until ESO validated it), then
 * the ExternalSecrets (`dependsOn` the store's Kustomization), so that no ExternalSecret meets a
 * store ESO has not validated yet.
 */
function esoRepoChange(): Record<string, string> {
  const apps = path.join(PROJECT_DIR, "examples/gitops-repo-flux/apps/kustomization.yaml");
  const kustomization = YAML.parse(fs.readFileSync(apps, "utf8")) as { resources: string[] };
  kustomization.resources.push("external-secrets.yaml");
  const files = externalSecretsRepoFiles(`${ESO_FOLDER}/secrets`, secrets, WANTED);
  const storeFile = Object.keys(files).find((f) => f.endsWith("/cluster-secret-store.yaml"))!;
  const flux = (name: string, folder: string, extra: object) => ({
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name, namespace: "flux-system" },
    spec: { interval: "10m", sourceRef: { kind: "GitRepository", name: "root" }, path: `./${folder}`, prune: true, ...extra },
  });
  return {
    "examples/gitops-repo-flux/apps/kustomization.yaml": YAML.stringify(kustomization),
    "examples/gitops-repo-flux/apps/external-secrets.yaml": [
      flux(STORES_KUSTOMIZATION, `${ESO_FOLDER}/store`, { wait: true, timeout: "1m" }),
      flux("external-secrets", `${ESO_FOLDER}/secrets`, { wait: true, timeout: "1m", dependsOn: [{ name: STORES_KUSTOMIZATION }] }),
    ].map((d) => YAML.stringify(d)).join("---\n"),
    [`${ESO_FOLDER}/store/cluster-secret-store.yaml`]: files[storeFile],
    ...Object.fromEntries(Object.entries(files).filter(([f]) => f !== storeFile)),
  };
}

/**
 * The stack's externalSecrets block: the cached chart, the webhook's pod annotated so that it is
 * Ready only once it serves (the test plays its readiness probe), and the credentials file when given.
 */
function setExternalSecrets(credentialsFile: string | undefined): void {
  const file = path.join(work, "stacks", `Pulumi.${STACK}.yaml`);
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  doc.config["gitops-bootstrap:externalSecrets"] = { chartRepo: `test/e2e/charts/${EXTERNAL_SECRETS.chart}.tgz`, values: WEBHOOK_PROBED_VALUES, ...(credentialsFile ? { credentialsFile } : {}) };
  fs.writeFileSync(file, YAML.stringify(doc));
}

beforeAll(async () => {
  requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm", "sops");
  dir = tempDir("eso-restore");
  secrets = await startSecretsCluster({ dir: path.join(dir, "secrets-cluster"), secrets: REMOTE });
  cluster = await openCluster(dir, { serviceNetwork: true });
  git = await startGitServer({ dir: path.join(dir, "git"), repos: { [REPO]: { dir: PROJECT_DIR, include: ["examples/gitops-repo-flux"] } } });
  git.commit(REPO, esoRepoChange(), "external secrets: the central store and two ExternalSecrets");
  work = scratchProject(dir);
  pointStackAt(work, STACK, { url: git.url(REPO), revision: git.branch, caFile: git.caFile });
  writeCredentialsFile(path.join(work, CREDENTIALS_FILE), secrets.token());
  flux = await startFluxControllers({ dir: path.join(dir, "flux"), kubeconfig: cluster.kubeconfig, asChartPods: true });
  eso = await startExternalSecretsOperator({ dir: path.join(dir, "eso"), kubeconfig: cluster.kubeconfig, routeService: (s, p) => cluster.routeService!(s, p) });
});

afterAll(async () => {
  await eso?.stop();
  await flux?.stop();
  await git?.stop();
  await cluster?.close();
  await secrets?.close();
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

async function restore(): Promise<{ code: number; output: string; report: RunReport }> {
  const reportDir = path.join(dir, `report-${++run}`);
  const r = await runAsync(process.execPath, [path.join(work, "bootstrap", "gitops-bootstrap.js"), "restore", "--stack", STACK, "--kubeconfig", cluster.kubeconfig, "--report-dir", reportDir, "--timeout", "3m", "--failure-grace", "5s"], { env: cliEnv(dir) });
  const output = `${r.stdout}${r.stderr}`;
  if (!fs.existsSync(path.join(reportDir, "report.json"))) throw new Error(`restore wrote no report (exit ${r.status}):\n${output}\n${eso.logTail()}`);
  const report = JSON.parse(fs.readFileSync(path.join(reportDir, "report.json"), "utf8")) as RunReport;
  // The secret zero and the application secrets never show, in the terminal or the report files.
  const values = [secrets.token(), ...Object.values(REMOTE).flatMap((v) => Object.values(v)).filter((v) => v.length >= 8)];
  for (const text of [output, ...fs.readdirSync(reportDir).map((f) => fs.readFileSync(path.join(reportDir, f), "utf8"))]) {
    for (const v of values) expect(text.includes(v)).toBe(false);
  }
  return { code: r.status, output, report };
}

const esoRecords = (report: RunReport) => report.secrets.filter((s) => s.via).map((s) => ({ via: s.via, namespace: s.namespace, name: s.name, found: s.found, problem: s.problem }));

test("restore with the credentials file: the token before the operator, the operator before Git; every ExternalSecret synced on its first sync", async () => {
  setExternalSecrets(CREDENTIALS_FILE);
  const { code, output, report } = await restore();
  if (code !== 0) throw new Error(`restore exited ${code}:\n${output}\n${eso.logTail()}`);
  expect(report.outcome).toBe("recovered");
  expect(esoRecords(report)).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ via: "ClusterSecretStore", name: STORE_NAME, found: true }),
      ...WANTED.map((w) => expect.objectContaining({ via: "ExternalSecret", namespace: w.namespace, name: w.name, found: true })),
    ]),
  );
  for (const w of WANTED) {
    const expected = Object.fromEntries(Object.entries(w.data).map(([k, ref]) => [k, REMOTE[ref.remoteSecret][ref.remoteKey]]));
    expect(clusterSecretDigests((a) => cluster.kubectl(a), w.target, w.namespace)).toEqual(digestValues(expected));
  }
  // The first sync needed no retry: ESO warned about no store or ExternalSecret (no failed
  // sync, no store it met unvalidated), and Flux applied the store and the ExternalSecrets at its
  // first attempt (a webhook not yet serving would have failed the dry-run).
  const events = JSON.parse(cluster.kubectl(["get", "events", "-A", "-o", "json"])) as { items: { type: string; reason: string; involvedObject: { kind: string; name: string }; message: string }[] };
  const failures = events.items.filter(
    (e) =>
      (["ExternalSecret", "ClusterSecretStore"].includes(e.involvedObject.kind) && e.type === "Warning") ||
      (e.involvedObject.kind === "Kustomization" && [STORES_KUSTOMIZATION, "external-secrets"].includes(e.involvedObject.name) && (e.type === "Warning" || /Failed/.test(e.reason))),
  );
  expect(failures.map((e) => `${e.involvedObject.kind} ${e.involvedObject.name} ${e.reason}: ${e.message}`)).toEqual([]);
  // Each ExternalSecret's only event: ESO created its Secret, at the first reconcile.
  const esoEvents = (name: string) => events.items.filter((e) => e.involvedObject.kind === "ExternalSecret" && e.involvedObject.name === name).map((e) => e.reason);
  for (const w of WANTED) expect(esoEvents(w.name)).toEqual(["Created"]);
});

test("wiped, restored without the credentials file: the store is not valid, the restore fails with ESO's message", async () => {
  await cluster.wipe();
  await flux.restart(cluster.kubeconfig);
  await eso.retarget(cluster.kubeconfig);
  setExternalSecrets(undefined);
  const { code, output, report } = await restore();
  expect(code).toBe(1);
  expect(report.outcome).not.toBe("recovered");
  // The store's Kustomization waits for a store ESO never validates: the restore fails there,
  // and says why in ESO's words: its condition, and the cause that only its Warning event gives.
  const storeFailure = report.failures.find((f) => f.startsWith(`ClusterSecretStore */${STORE_NAME} `));
  expect(storeFailure).toContain("is not valid: InvalidProviderConfig: unable to create client");
  expect(storeFailure).toContain(`secrets "${TOKEN_SECRET.name}" not found`);
  expect(output).toContain(storeFailure);
});

test("wiped, restored with the credentials file but the token revoked in the secrets cluster: the restore fails with ESO's message", async () => {
  await cluster.wipe();
  await flux.restart(cluster.kubeconfig);
  await eso.retarget(cluster.kubeconfig);
  setExternalSecrets(CREDENTIALS_FILE);
  secrets.revokeToken();
  const { code, output, report } = await restore();
  expect(code).toBe(1);
  expect(report.outcome).not.toBe("recovered");
  // The token Secret is restored (the restore got that far). ESO cannot tell a revoked token at
  // validation (its kubernetes provider says Unknown, and the store counts as Valid); every
  // ExternalSecret then fails to read, and ESO's Warning event says why.
  expect(cluster.kubectl(["get", "secret", TOKEN_SECRET.name, "-n", EXTERNAL_SECRETS.namespace, "-o", "name"]).trim()).toBe(`secret/${TOKEN_SECRET.name}`);
  for (const w of WANTED) {
    const failure = report.failures.find((f) => f.startsWith(`ExternalSecret ${w.namespace}/${w.name} `));
    expect(failure).toMatch(/is not synced: SecretSyncedError: .*Unauthorized/);
    expect(output).toContain(failure);
  }
});
