/**
 * The real Argo CD against the sandbox: the application-controller and the repo-server of Argo
 * CD v3.6.1 (built from its Go module, run as local processes with Debian's redis:
 * argo-controllers.ts) reconcile the sandbox stack's objects, as the product builds them, from a
 * real Git server over HTTPS with basic auth and a private CA (git-server.ts) serving a
 * repository made from this project. No stand-in controller: every Application's sync and health
 * status is Argo CD's own. The one stand-in is KSOPS (test/e2e/ksops/ksops: its module is not
 * served), a kustomize exec plugin that runs the real sops, as KSOPS does; the repo-server runs
 * it through the real kustomize with the product's `kustomize.buildOptions`.
 *
 * This test applies what the argo-cd chart would create itself, from the product's own chart
 * values (argoCdValues), instead of installing a chart: argocd-cm (with the
 * `app.kubernetes.io/part-of: argocd` label Argo CD's settings informer needs) and
 * argocd-tls-certs-cm, plus the `default` AppProject that argocd-server would create.
 * (drill.test.ts installs the local stand-in chart, test/e2e/charts/argo-cd, which renders them.)
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { type ArgoCdBootstrapConfig } from "../../components/settings/bootstrap-config";
import { AGE_SECRET, ARGOCD, MANAGED_BY_LABELS, REPO_SECRET_NAME } from "../../components/defaults";
import { argoCdTlsCertificateKey, argoCdValues } from "../../components/builders/helm-values";
import { repositorySecretData, rootApplicationSpec } from "../../components/builders/manifests";
import { clusterSecretDigests as demoClusterSecretDigests, digestValues, expectedSecret as demoExpectedSecret, pointArgoExampleAt, pointStackAt, stackConfigAt } from "./demo-repo";
import { type ArgoControllers, TLS_CERTS_CONFIGMAP, argoToolchain, installArgoCrds, startArgoControllers } from "./argo-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { asTheChartWouldInstall, expectOnlyHandMade } from "./audit-scenario";
import { PROJECT_DIR, type TestCluster, cliEnv, openCluster, requireToolchain, scratchProject, tempDir } from "./harness";

jest.setTimeout(15 * 60 * 1000);

const STACK = "sandbox";
const REPO_NAME = "gitops-bootstrap";
const APPLICATIONS = "applications.argoproj.io";
const SOPS_FILE = "examples/gitops-repo/workloads/demo-secret/demo-credentials.sops.yaml";

interface Condition {
  type: string;
  message: string;
}
interface Application {
  metadata: { name: string };
  spec: { source: { repoURL: string; path: string } };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    conditions?: Condition[];
    operationState?: { phase?: string; message?: string };
  };
}

let dir: string;
let cluster: TestCluster;
let git: GitServer;
let argo: ArgoControllers;
let config: ArgoCdBootstrapConfig;
let ns: string;
const figures: string[] = [];

/** The sandbox stack's config, pointed at the test's Git server (its URL, CA file and credentials). */
async function stackConfig(url: string, caFile: string, credentials: { username: string; password: string }): Promise<ArgoCdBootstrapConfig> {
  const resolved = await stackConfigAt(STACK, { url, caFile, credentials });
  if (resolved.reconciler !== "argocd") throw new Error(`stack ${STACK} is not an Argo CD stack`);
  return resolved;
}

type Obj = Record<string, unknown>;

/**
 * The config objects the real argo-cd chart renders from the product's values (argoCdValues, as
 * components/argocd.ts passes them): argocd-cm from `configs.cm`, argocd-tls-certs-cm from
 * `configs.tls.certificates`; and the `default` AppProject, which argocd-server creates at start-up (without it every Application is
 * "referencing project default which does not exist"). argocd-secret and argocd-rbac-cm, which
 * the chart also creates, are not needed by the repo-server and the application-controller.
 */
function argoCdChartObjects(cfg: ArgoCdBootstrapConfig): Obj[] {
  const values = argoCdValues({
    ksopsImage: cfg.argocd.ksopsImage,
    sshKnownHosts: cfg.repo.sshKnownHosts,
    gitServerCa: cfg.repo.caCertificates ? { repoUrl: cfg.repo.url, pem: cfg.repo.caCertificates.pem } : undefined,
    userValues: cfg.argocd.values,
  }) as { configs: { cm: Record<string, string>; tls?: { certificates: Record<string, string> } } };
  // As Helm installs them: the release's ownership label and annotations.
  const meta = (name: string) => ({
    name,
    namespace: ns,
    labels: { "app.kubernetes.io/part-of": "argocd", "app.kubernetes.io/managed-by": "Helm" },
    annotations: { "meta.helm.sh/release-name": ARGOCD.releaseName, "meta.helm.sh/release-namespace": ns },
  });
  return [
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta("argocd-cm"), data: values.configs.cm },
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta(TLS_CERTS_CONFIGMAP), data: values.configs.tls?.certificates ?? {} },
    {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "AppProject",
      metadata: { name: "default", namespace: ns },
      spec: { sourceRepos: ["*"], destinations: [{ server: "*", namespace: "*" }], clusterResourceWhitelist: [{ group: "*", kind: "*" }] },
    },
  ];
}

/**
 * What components/argocd.ts creates, from the same pure builders, in its order: the namespace,
 * the age key Secret and the repository Secret, then the release: its CRDs and config objects
 * (argoCdChartObjects). The release's pods are the local processes, started after these (the
 * application-controller exits at once without argocd-cm, as a pod would crash-loop).
 */
function releaseObjects(cfg: ArgoCdBootstrapConfig): Obj[] {
  const meta = (name: string) => ({ name, namespace: ns, labels: { ...MANAGED_BY_LABELS } });
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { ...MANAGED_BY_LABELS } } },
    { apiVersion: "v1", kind: "Secret", metadata: meta(AGE_SECRET.name), type: "Opaque", stringData: { [AGE_SECRET.key]: cfg.ageKey.identities.reveal() } },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { ...meta(REPO_SECRET_NAME), labels: { ...MANAGED_BY_LABELS, [ARGOCD.repositorySecretLabel]: "repository" } },
      type: "Opaque",
      stringData: repositorySecretData(cfg.repo),
    },
    ...argoCdChartObjects(cfg),
  ];
}

/** What components/root-application.ts creates after the release: the root app-of-apps. */
function rootApplication(cfg: ArgoCdBootstrapConfig): Obj {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: { name: cfg.rootApp.name, namespace: ns, labels: { ...MANAGED_BY_LABELS }, finalizers: [ARGOCD.resourcesFinalizer] },
    spec: rootApplicationSpec({ repo: cfg.repo, app: cfg.rootApp, destinationNamespace: ns }),
  };
}

/** Applies objects through stdin (Secrets never on a command line). */
function apply(objects: readonly Obj[]): void {
  cluster.kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager=gitops-bootstrap-e2e", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
}

function getObject<T>(resource: string, name: string, namespace = ns): T | undefined {
  const out = cluster.kubectl(["get", resource, name, "-n", namespace, "--ignore-not-found", "-o", "json"]);
  return out.trim() ? (JSON.parse(out) as T) : undefined;
}

function applications(): Application[] {
  try {
    return (JSON.parse(cluster.kubectl(["get", APPLICATIONS, "-n", ns, "-o", "json"])) as { items: Application[] }).items;
  } catch {
    return [];
  }
}

const summary = (a: Application): string =>
  `${a.metadata.name}: sync=${a.status?.sync?.status ?? "-"}@${a.status?.sync?.revision?.slice(0, 8) ?? "-"} health=${a.status?.health?.status ?? "-"}` +
  `${a.status?.operationState ? ` op=${a.status.operationState.phase}: ${a.status.operationState.message}` : ""}` +
  `${a.status?.conditions?.length ? ` conditions=${a.status.conditions.map((c) => `${c.type}: ${c.message}`).join("; ")}` : ""}`;

/** Polls until `check` returns a value; on timeout fails with the Applications' status and the logs. */
async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    argo.assertRunning();
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000}s\n${applications().map(summary).join("\n")}\n${argo.logTail(25)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The child Applications the repository's apps/ folder defines (what the root creates). */
function childNames(): string[] {
  const apps = path.join(PROJECT_DIR, config.repo.path);
  return fs
    .readdirSync(apps)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => YAML.parse(fs.readFileSync(path.join(apps, f), "utf8")))
    .filter((d) => d?.kind === "Application")
    .map((d) => d.metadata.name as string);
}

/** Waits until the root and every child are Synced at `sha` and Healthy. */
async function waitForSyncedHealthy(sha: string): Promise<Application[]> {
  const expected = [config.rootApp.name, ...childNames()];
  return waitFor(`Applications ${expected.join(", ")} Synced at ${sha.slice(0, 8)} and Healthy`, () => {
    const apps = applications().filter((a) => expected.includes(a.metadata.name));
    const done = apps.length === expected.length && apps.every((a) => a.status?.sync?.status === "Synced" && a.status.sync.revision === sha && a.status.health?.status === "Healthy");
    return done ? apps : undefined;
  });
}

/** The Secret the SOPS file defines, as the test decrypts it itself (demo-repo.ts). */
const expectedSecret = () => demoExpectedSecret(SOPS_FILE);
const clusterSecretDigests = (name: string, namespace: string) => demoClusterSecretDigests((a) => cluster.kubectl(a), name, namespace);

/**
 * The whole bootstrap on the current cluster: CRDs, the release's objects, Argo CD's processes
 * (started, or restarted against a new cluster), then the root Application; waits until Argo CD
 * has created the decrypted Secret. Returns the times taken.
 */
async function bootstrapAndTimeDecryption(): Promise<{ releaseMs: number; rootToSecretMs: number }> {
  const { name, namespace } = await expectedSecret();
  const start = Date.now();
  installArgoCrds(cluster.kubeconfig);
  apply(releaseObjects(config));
  // The applicationset-controller too: the root's health includes its ApplicationSet's.
  const controllers = { dir: path.join(dir, "argo"), kubeconfig: cluster.kubeconfig, namespace: ns, installCrds: false, applicationSetController: true };
  if (argo) await argo.restart(cluster.kubeconfig);
  else argo = await startArgoControllers(controllers);
  const releaseMs = Date.now() - start;
  const rootCreated = Date.now();
  apply([rootApplication(config)]);
  await waitFor(`Secret ${namespace}/${name} created by Argo CD (KSOPS through the repo-server)`, () => clusterSecretDigests(name, namespace));
  return { releaseMs, rootToSecretMs: Date.now() - rootCreated };
}

/**
 * A second Application (no automated sync) from `repoURL` and `sourcePath`: what Argo CD says
 * when it compares it (a ComparisonError condition), or undefined if it compared cleanly.
 */
async function comparisonError(name: string, repoURL: string, sourcePath: string): Promise<string> {
  apply([
    {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Application",
      metadata: { name, namespace: ns },
      spec: { project: "default", source: { repoURL, targetRevision: config.repo.revision, path: sourcePath }, destination: { server: ARGOCD.inClusterServer, namespace: name } },
    },
  ]);
  // A comparison that raced the argocd-cm change (the controller's settings informer is
  // asynchronous) leaves manifests in the repo-server's cache, which ignores the build options:
  // ask for a hard refresh (no cache), as `argocd app get --hard-refresh` does, while waiting.
  let refreshedAt = Date.now();
  const message = await waitFor(
    `Application ${name} with a ComparisonError`,
    () => {
      const found = getObject<Application>(APPLICATIONS, name)?.status?.conditions?.find((c) => c.type === "ComparisonError")?.message;
      if (found === undefined && Date.now() - refreshedAt > 10_000) {
        refreshedAt = Date.now();
        cluster.kubectl(["annotate", "--overwrite", APPLICATIONS, name, "-n", ns, "argocd.argoproj.io/refresh=hard"]);
      }
      return found;
    },
    120_000,
  );
  cluster.kubectl(["delete", APPLICATIONS, name, "-n", ns, "--wait=true"]);
  return message;
}

beforeAll(async () => {
  // Missing tools fail every scenario with how to build them; nothing is skipped.
  requireToolchain("kubectl", "kube-apiserver", "etcd", "kwok");
  argoToolchain();
  dir = tempDir("argo-real");
  const credentials = { username: "argocd", password: randomBytes(18).toString("base64url") };
  git = await startGitServer({ dir: path.join(dir, "git"), repos: { [REPO_NAME]: { dir: PROJECT_DIR, include: ["examples/gitops-repo"] } }, auth: credentials });
  pointArgoExampleAt(git, REPO_NAME);
  config = await stackConfig(git.url(REPO_NAME), git.caFile, credentials);
  ns = config.argocd.namespace;
  cluster = await openCluster(dir);
});

afterAll(async () => {
  if (figures.length) console.log(`argo-real figures:\n  ${figures.join("\n  ")}`);
  await argo?.stop();
  await git?.stop();
  await cluster?.close();
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

test("from the objects the product builds, Argo CD syncs the root app and its children from the served commit over https: Synced and Healthy", async () => {
  const { releaseMs, rootToSecretMs } = await bootstrapAndTimeDecryption();
  figures.push(`CRDs, release objects, redis + repo-server + application-controller healthy: ${releaseMs} ms (controller metrics listener: ${argo.controllerMetricsExposure})`);
  figures.push(`root Application created -> decrypted Secret present: ${rootToSecretMs} ms`);
  const sha = git.head(REPO_NAME);
  const started = Date.now();
  const apps = await waitForSyncedHealthy(sha);
  figures.push(`root Application created -> root and children Synced/Healthy: ${rootToSecretMs + Date.now() - started} ms (upper bound)`);
  expect(apps.map((a) => a.metadata.name).sort()).toEqual([config.rootApp.name, ...childNames()].sort());
  for (const a of apps) expect(a.spec.source.repoURL).toBe(git.url(REPO_NAME));
  // Healthy under kwok: the Deployments are Available (kwok runs their pods), the Service has a
  // ClusterIP, the Secret has no health of its own; the root is Healthy through the product's
  // Application health customization in argocd-cm.
  for (const [name, namespace] of [["hello", "hello"], ["demo-secret", "demo-secret"]]) {
    expect(JSON.parse(cluster.kubectl(["get", "deployment", name, "-n", namespace, "-o", "json"])).status.availableReplicas).toBe(1);
  }
  expect(cluster.kubectl(["get", "service", "hello", "-n", "hello", "-o", "name"]).trim()).toBe("service/hello");
});

test("the demo Secret holds exactly what the SOPS file decrypts to, with the key from the cluster's sops-age Secret", async () => {
  const expected = await expectedSecret();
  expect(clusterSecretDigests(expected.name, expected.namespace)).toEqual(expected.digests);
  // The repo-server's SOPS_AGE_KEY_FILE is the product's Secret, copied from the cluster.
  const inCluster = getObject<{ data: Record<string, string> }>("secret", AGE_SECRET.name)!.data[AGE_SECRET.key];
  expect(digestValues({ k: fs.readFileSync(argo.ageKeyFile) })).toEqual(digestValues({ k: Buffer.from(inCluster, "base64") }));
});

test("the repo-server trusted the Git server's CA from argocd-tls-certs-cm and authenticated with the repository Secret", () => {
  const host = argoCdTlsCertificateKey(config.repo.url);
  expect(host).toBe("127.0.0.1");
  expect(fs.readFileSync(path.join(argo.tlsDataPath, host), "utf8")).toBe(config.repo.caCertificates!.pem);
  const requests = git.accessLog();
  expect(requests.some((l) => / POST \/gitops-bootstrap\.git\/git-upload-pack 200 argocd$/.test(l))).toBe(true);
  expect(requests.every((l) => / (200|401) (argocd|-)$/.test(l))).toBe(true);
});

test("without the product's kustomize.buildOptions the repo-server refuses KSOPS: external plugins disabled", async () => {
  // Restored whole, with its `app.kubernetes.io/part-of: argocd` label: Argo CD's settings
  // informer only sees ConfigMaps carrying it (without it argocd-cm counts as deleted).
  const cm = argoCdChartObjects(config).find((o) => (o.metadata as { name: string }).name === "argocd-cm")!;
  cluster.kubectl(["patch", "configmap", "argocd-cm", "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "remove", path: "/data/kustomize.buildOptions" }])]);
  try {
    const message = await comparisonError("no-build-options", config.repo.url, "examples/gitops-repo/workloads/demo-secret");
    figures.push(`no kustomize.buildOptions: ${message.split("\n")[0].slice(0, 300)}`);
    expect(message).toContain("external plugins disabled; unable to load external plugin 'ksops'");
  } finally {
    apply([cm]);
  }
});

test("a Git host argocd-tls-certs-cm has no certificate for fails with git's TLS verification error", async () => {
  // The same server under the name `localhost` (in its certificate too): no file for that host.
  const url = git.url(REPO_NAME).replace("://127.0.0.1:", "://localhost:");
  const message = await comparisonError("no-ca", url, "examples/gitops-repo/workloads/hello");
  figures.push(`no CA for the host: ${message.split("\n")[0].slice(0, 300)}`);
  expect(message).toMatch(/server certificate verification failed|certificate signed by unknown authority|unable to get local issuer certificate/);
});

test("a new commit is synced by the children after a refresh, and a deleted Deployment is self-healed", async () => {
  const before = git.head(REPO_NAME);
  git.commit(
    REPO_NAME,
    (work) => {
      const dirHello = path.join(work, "examples/gitops-repo/workloads/hello");
      fs.writeFileSync(path.join(dirHello, "configmap.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello-e2e\ndata:\n  commit: second\n");
      const file = path.join(dirHello, "kustomization.yaml");
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("  - service.yaml\n", "  - service.yaml\n  - configmap.yaml\n"));
    },
    "hello: a ConfigMap",
  );
  const head = git.head(REPO_NAME);
  expect(head).not.toBe(before);
  // Ask for a refresh now rather than at the next resync, as `argocd app get --refresh` does.
  const started = Date.now();
  for (const name of [config.rootApp.name, ...childNames()]) cluster.kubectl(["annotate", "--overwrite", APPLICATIONS, name, "-n", ns, "argocd.argoproj.io/refresh=normal"]);
  await waitForSyncedHealthy(head);
  figures.push(`new commit + refresh -> all Synced/Healthy at it: ${Date.now() - started} ms`);
  expect(getObject<{ data: Record<string, string> }>("configmap", "hello-e2e", "hello")?.data).toEqual({ commit: "second" });

  const uid = (): string | undefined => getObject<{ metadata: { uid: string } }>("deployment", "hello", "hello")?.metadata.uid;
  const old = uid();
  const deleted = Date.now();
  cluster.kubectl(["delete", "deployment", "hello", "-n", "hello", "--wait=true"]);
  await waitFor("Deployment hello/hello recreated by self-heal", () => {
    const now = uid();
    return now && now !== old ? now : undefined;
  });
  figures.push(`Deployment deleted -> recreated by self-heal: ${Date.now() - deleted} ms`);
  await waitForSyncedHealthy(head);
});

test("after the cluster is wiped, the controllers restart against the new one and rebuild it from Git", async () => {
  const started = Date.now();
  await argo.stop();
  await cluster.wipe();
  const { releaseMs, rootToSecretMs } = await bootstrapAndTimeDecryption();
  await waitForSyncedHealthy(git.head(REPO_NAME));
  figures.push(`wipe -> new sandbox, CRDs, Argo CD, objects, all Synced/Healthy: ${Date.now() - started} ms (release + processes ${releaseMs} ms, root -> decrypted Secret ${rootToSecretMs} ms)`);
  const expected = await expectedSecret();
  expect(clusterSecretDigests(expected.name, expected.namespace)).toEqual(expected.digests);
});

test("audit after the rebuild: nothing would be lost; then exactly what was made by hand, the PVC as data, and an ignore rule hides only what it names (Argo CD tracking annotations)", () => {
  // The sandbox stack pointed at the served repository: the stack this cluster was built from.
  const work = scratchProject(dir);
  pointStackAt(work, "sandbox", { url: git.url(REPO_NAME), revision: config.repo.revision, caFile: git.caFile });
  asTheChartWouldInstall(cluster, "argocd", { name: ARGOCD.releaseName, namespace: ns });
  expectOnlyHandMade(work, "sandbox", cluster, cliEnv(dir), dir);
});
