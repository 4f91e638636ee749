/**
 * The real Flux controllers against the sandbox: source-controller and kustomize-controller
 * (built from their Go modules, run as local processes: flux-controllers.ts) reconcile the
 * flux-sandbox stack's objects, as the product builds them, from a real Git server over HTTPS
 * with basic auth and a private CA (git-server.ts) serving a repository made from this project.
 * No stand-in: the GitRepository's artifact, every Kustomization's Ready condition and the
 * Secret kustomize-controller decrypts with the age key are Flux's own doing. Failures are
 * Flux's own too: a GitRepository without the CA, wrong credentials, a missing path.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { type FluxBootstrapConfig } from "../../components/settings/bootstrap-config";
import { AGE_SECRET, FLUX, MANAGED_BY_LABELS, REPO_SECRET_NAME } from "../../components/defaults";
import { fluxGitSecretData, gitRepositorySpec, kustomizationSpec } from "../../components/builders/manifests";
import { clusterSecretDigests as demoClusterSecretDigests, expectedSecret as demoExpectedSecret, stackConfigAt } from "./demo-repo";
import { type FluxControllers, fluxToolchain, startFluxControllers } from "./flux-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { PROJECT_DIR, type TestCluster, openCluster, requireToolchain, tempDir } from "./harness";

jest.setTimeout(15 * 60 * 1000);

const STACK = "flux-sandbox";
const REPO_NAME = "gitops-bootstrap";
const KUSTOMIZATIONS = "kustomizations.kustomize.toolkit.fluxcd.io";
const GIT_REPOSITORIES = "gitrepositories.source.toolkit.fluxcd.io";
const SOPS_FILE = "examples/gitops-repo-flux/workloads/demo-secret/demo-credentials.sops.yaml";

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface FluxObject {
  metadata: { name: string; generation?: number };
  status?: { observedGeneration?: number; conditions?: Condition[]; lastAppliedRevision?: string; artifact?: { revision: string; url: string } };
}

let dir: string;
let cluster: TestCluster;
let git: GitServer;
let flux: FluxControllers;
let config: FluxBootstrapConfig;
let ns: string;
/** What the test measured, printed once at the end. */
const figures: string[] = [];

/** The flux-sandbox stack's config, pointed at the test's Git server (its URL, CA file and credentials). */
async function stackConfig(url: string, caFile: string, credentials: { username: string; password: string }): Promise<FluxBootstrapConfig> {
  const resolved = await stackConfigAt(STACK, { url, caFile, credentials });
  if (resolved.reconciler !== "flux") throw new Error(`stack ${STACK} is not a Flux stack`);
  return resolved;
}

/**
 * The objects components/flux.ts creates after the chart, from the same pure builders: the
 * namespace, the age key Secret, the Git Secret (credentials and ca.crt), the GitRepository and
 * the root Kustomization.
 */
function bootstrapObjects(cfg: FluxBootstrapConfig): Record<string, unknown>[] {
  const namespace = cfg.flux.namespace;
  const meta = (name: string) => ({ name, namespace, labels: { ...MANAGED_BY_LABELS } });
  const secretData = fluxGitSecretData(cfg.repo);
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { ...MANAGED_BY_LABELS } } },
    { apiVersion: "v1", kind: "Secret", metadata: meta(AGE_SECRET.name), type: "Opaque", stringData: { [AGE_SECRET.key]: cfg.ageKey.identities.reveal() } },
    ...(secretData ? [{ apiVersion: "v1", kind: "Secret", metadata: meta(REPO_SECRET_NAME), type: "Opaque", stringData: secretData }] : []),
    {
      apiVersion: FLUX.gitRepositoryApiVersion,
      kind: "GitRepository",
      metadata: meta(cfg.rootApp.name),
      spec: gitRepositorySpec({ repo: cfg.repo, interval: cfg.flux.interval, secretName: secretData ? REPO_SECRET_NAME : undefined }),
    },
    {
      apiVersion: FLUX.kustomizationApiVersion,
      kind: "Kustomization",
      metadata: meta(cfg.rootApp.name),
      spec: kustomizationSpec({ sourceName: cfg.rootApp.name, path: cfg.repo.path, interval: cfg.flux.interval, prune: cfg.rootApp.prune }),
    },
  ];
}

/** Applies objects through stdin (Secrets never on a command line). */
function apply(objects: readonly Record<string, unknown>[]): void {
  cluster.kubectl(["apply", "--server-side", "--field-manager=gitops-bootstrap-e2e", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
}

function list(resource: string): FluxObject[] {
  return (JSON.parse(cluster.kubectl(["get", resource, "-n", ns, "-o", "json"])) as { items: FluxObject[] }).items;
}

/** The object, or undefined while it (or its namespace) does not exist. */
function getObject<T = FluxObject>(resource: string, name: string, namespace = ns): T | undefined {
  const out = cluster.kubectl(["get", resource, name, "-n", namespace, "--ignore-not-found", "-o", "json"]);
  return out.trim() ? (JSON.parse(out) as T) : undefined;
}

const ready = (o: FluxObject | undefined): Condition | undefined => o?.status?.conditions?.find((c) => c.type === "Ready");
const summary = (o: FluxObject): string => {
  const c = ready(o);
  return `${o.metadata.name}: ${c ? `Ready=${c.status} ${c.reason}: ${c.message}` : "no Ready condition"}${o.status?.lastAppliedRevision ? ` (applied ${o.status.lastAppliedRevision})` : ""}`;
};

/**
 * Polls until `check` returns a value; on timeout fails with `status()` (what the objects say)
 * and the controllers' log tails. Also fails at once if a controller died.
 */
async function waitFor<T>(what: string, check: () => T | undefined, status: () => string, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    flux.assertRunning();
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000}s\n${status()}\n${flux.logTail(20)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const fluxRevision = (sha: string) => `${config.repo.revision}@sha1:${sha}`;

/** Waits for the GitRepository and every Kustomization to be Ready at the commit `sha`. */
async function waitForRevision(sha: string): Promise<FluxObject[]> {
  const revision = fluxRevision(sha);
  const root = config.rootApp.name;
  await waitFor(
    `GitRepository ${root} Ready with an artifact at ${revision}`,
    () => {
      const repo = getObject(GIT_REPOSITORIES, root);
      return ready(repo)?.status === "True" && repo?.status?.artifact?.revision === revision ? repo : undefined;
    },
    () => list(GIT_REPOSITORIES).map(summary).join("\n"),
  );
  const expected = [root, ...childNames()];
  return waitFor(
    `Kustomizations ${expected.join(", ")} Ready at ${revision}`,
    () => {
      const all = list(KUSTOMIZATIONS).filter((k) => expected.includes(k.metadata.name));
      const done = all.length === expected.length && all.every((k) => ready(k)?.status === "True" && k.status?.lastAppliedRevision === revision);
      return done ? all : undefined;
    },
    () => list(KUSTOMIZATIONS).map(summary).join("\n"),
  );
}

/** The child Kustomizations the repository's apps/ folder defines (what the root applies). */
function childNames(): string[] {
  const apps = path.join(PROJECT_DIR, config.repo.path);
  return fs
    .readdirSync(apps)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => YAML.parse(fs.readFileSync(path.join(apps, f), "utf8")))
    .filter((d) => d?.kind === "Kustomization" && d.apiVersion === FLUX.kustomizationApiVersion)
    .map((d) => d.metadata.name as string);
}

/** The Secret the SOPS file defines, as the test decrypts it itself (demo-repo.ts). */
const expectedSecret = () => demoExpectedSecret(SOPS_FILE);
const clusterSecretDigests = (name: string, namespace: string) => demoClusterSecretDigests((a) => cluster.kubectl(a), name, namespace);

/** Applies the bootstrap objects and waits until kustomize-controller has created the decrypted Secret; returns ms. */
async function bootstrapAndTimeDecryption(): Promise<number> {
  const { name, namespace } = await expectedSecret();
  const start = Date.now();
  apply(bootstrapObjects(config));
  await waitFor(
    `Secret ${namespace}/${name} decrypted by kustomize-controller`,
    () => clusterSecretDigests(name, namespace),
    () => list(KUSTOMIZATIONS).map(summary).join("\n"),
  );
  return Date.now() - start;
}

beforeAll(async () => {
  // Missing tools fail every scenario with how to build them; nothing is skipped.
  requireToolchain("kubectl", "kube-apiserver", "etcd", "kwok");
  fluxToolchain();
  dir = tempDir("flux-real");
  const credentials = { username: "flux", password: randomBytes(18).toString("base64url") };
  git = await startGitServer({
    dir: path.join(dir, "git"),
    repos: { [REPO_NAME]: { dir: PROJECT_DIR, include: ["examples/gitops-repo-flux", "examples/gitops-repo/demo-age-key.txt"] } },
    auth: credentials,
  });
  config = await stackConfig(git.url(REPO_NAME), git.caFile, credentials);
  ns = config.flux.namespace;
  expect(config.repo.revision).toBe(git.branch);
  cluster = await openCluster(dir);
  const started = Date.now();
  flux = await startFluxControllers({ dir: path.join(dir, "flux"), kubeconfig: cluster.kubeconfig, namespace: ns });
  figures.push(`controllers healthy (CRDs installed) in ${Date.now() - started} ms`);
});

afterAll(async () => {
  if (figures.length) console.log(`flux-real figures:\n  ${figures.join("\n  ")}`);
  await flux?.stop();
  await git?.stop();
  await cluster?.close();
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

test("the CRDs of the built controllers are installed, every source.toolkit.fluxcd.io kind", () => {
  const crd = JSON.parse(cluster.kubectl(["get", "crd", "gitrepositories.source.toolkit.fluxcd.io", "-o", "json"]));
  const shipped = YAML.parse(fs.readFileSync(path.join(fluxToolchain().crdDirs[0], "source.toolkit.fluxcd.io_gitrepositories.yaml"), "utf8"));
  expect(crd.metadata.annotations["controller-gen.kubebuilder.io/version"]).toBe(shipped.metadata.annotations["controller-gen.kubebuilder.io/version"]);
  for (const kind of ["buckets", "externalartifacts", "helmcharts", "helmrepositories", "ocirepositories"]) {
    expect(cluster.kubectl(["get", "crd", `${kind}.source.toolkit.fluxcd.io`, "-o", "name"]).trim()).toBe(`customresourcedefinition.apiextensions.k8s.io/${kind}.source.toolkit.fluxcd.io`);
  }
});

test("from the objects the product builds, Flux fetches the served commit over https and every Kustomization is Ready at it", async () => {
  const ms = await bootstrapAndTimeDecryption();
  figures.push(`objects created -> decrypted Secret present: ${ms} ms`);
  const sha = git.head(REPO_NAME);
  const started = Date.now();
  const kustomizations = await waitForRevision(sha);
  figures.push(`... -> every Kustomization Ready: ${ms + Date.now() - started} ms (upper bound)`);
  expect(kustomizations.map((k) => k.metadata.name).sort()).toEqual([config.rootApp.name, ...childNames()].sort());
  const repo = getObject(GIT_REPOSITORIES, config.rootApp.name)!;
  // kustomize-controller downloaded the artifact from source-controller's storage on loopback.
  expect(repo.status!.artifact!.url.startsWith(`${flux.storageUrl}/`)).toBe(true);
  // The hello workload's Deployment became Available (kwok runs its pod), so `wait: true` passed.
  expect(JSON.parse(cluster.kubectl(["get", "deployment", "hello", "-n", "hello", "-o", "json"])).status.availableReplicas).toBe(1);
});

test("kustomize-controller decrypted the SOPS Secret to exactly what the file holds", async () => {
  const expected = await expectedSecret();
  expect(clusterSecretDigests(expected.name, expected.namespace)).toEqual(expected.digests);
});

test("source-controller authenticated with the Git Secret's credentials; requests without them were refused", () => {
  const requests = git.accessLog();
  expect(requests.some((l) => / GET \/gitops-bootstrap\.git\/info\/refs\?service=git-upload-pack 200 flux$/.test(l))).toBe(true);
  expect(requests.some((l) => / POST \/gitops-bootstrap\.git\/git-upload-pack 200 flux$/.test(l))).toBe(true);
  expect(requests.every((l) => / (200|401) (flux|-)$/.test(l))).toBe(true);
  expect(requests.join("\n")).not.toContain(fluxGitSecretData(config.repo)!.password);
});

/** A second GitRepository on the same URL with its own Secret: Flux's verdict on that Secret. */
async function gitRepositoryWith(name: string, secret: Record<string, string>): Promise<Condition> {
  apply([
    { apiVersion: "v1", kind: "Secret", metadata: { name: `${name}-git`, namespace: ns }, type: "Opaque", stringData: secret },
    {
      apiVersion: FLUX.gitRepositoryApiVersion,
      kind: "GitRepository",
      metadata: { name, namespace: ns },
      spec: gitRepositorySpec({ repo: config.repo, interval: config.flux.interval, secretName: `${name}-git` }),
    },
  ]);
  return waitFor(
    `GitRepository ${name} Ready=False`,
    () => {
      const c = ready(getObject(GIT_REPOSITORIES, name));
      return c?.status === "False" ? c : undefined;
    },
    () => list(GIT_REPOSITORIES).map(summary).join("\n"),
    60_000,
  );
}

test("a GitRepository whose Secret lacks the CA fails with Flux's TLS error", async () => {
  const { username, password } = fluxGitSecretData(config.repo)!;
  const failed = await gitRepositoryWith("no-ca", { username, password });
  figures.push(`no CA: Ready=False ${failed.reason}: ${failed.message}`);
  expect(failed.reason).toBe("GitOperationFailed");
  expect(failed.message).toMatch(/x509: certificate signed by unknown authority|tls: failed to verify certificate/);
});

test("a GitRepository with the CA but a wrong password fails with Flux's authentication error", async () => {
  const { username } = fluxGitSecretData(config.repo)!;
  const failed = await gitRepositoryWith("wrong-password", { username, password: "not-the-password", [FLUX.gitCaKey]: git.caPem });
  figures.push(`wrong password: Ready=False ${failed.reason}: ${failed.message}`);
  expect(failed.reason).toBe("GitOperationFailed");
  expect(failed.message).toMatch(/authentication required/);
  expect(failed.message).not.toContain("not-the-password");
});

test("a child Kustomization whose path does not exist is Ready=False with Flux's reason", async () => {
  const hello = YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, config.repo.path, "hello.yaml"), "utf8"));
  hello.metadata.name = "missing-path";
  hello.spec.path = "./examples/gitops-repo-flux/workloads/does-not-exist";
  apply([hello]);
  const failed = await waitFor(
    "Kustomization missing-path Ready=False",
    () => {
      const c = ready(getObject(KUSTOMIZATIONS, "missing-path"));
      return c?.status === "False" ? c : undefined;
    },
    () => list(KUSTOMIZATIONS).map(summary).join("\n"),
    60_000,
  );
  figures.push(`missing path: Ready=False ${failed.reason}: ${failed.message}`);
  expect(failed.reason).toBe("ArtifactFailed");
  expect(failed.message).toMatch(/kustomization path not found: .*does-not-exist/);
  cluster.kubectl(["delete", KUSTOMIZATIONS, "missing-path", "-n", ns, "--wait=true"]);
});

test("a new commit is fetched and applied by every Kustomization", async () => {
  const sha = git.commit(
    REPO_NAME,
    { "examples/gitops-repo-flux/workloads/hello/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello-e2e\ndata:\n  commit: second\n" },
    "hello: a ConfigMap",
  );
  git.commit(
    REPO_NAME,
    (work) => {
      const file = path.join(work, "examples/gitops-repo-flux/workloads/hello/kustomization.yaml");
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("  - service.yaml\n", "  - service.yaml\n  - configmap.yaml\n"));
    },
    "hello: include the ConfigMap",
  );
  const head = git.head(REPO_NAME);
  expect(head).not.toBe(sha);
  // Ask for a fetch now rather than after the 1m interval, as `flux reconcile source git` does.
  const started = Date.now();
  cluster.kubectl(["annotate", "--overwrite", GIT_REPOSITORIES, config.rootApp.name, "-n", ns, `reconcile.fluxcd.io/requestedAt=${new Date().toISOString()}`]);
  await waitForRevision(head);
  figures.push(`new commit -> every Kustomization Ready at it: ${Date.now() - started} ms`);
  expect(getObject<{ data: Record<string, string> }>("configmap", "hello-e2e", "hello")?.data).toEqual({ commit: "second" });
});

test("after the cluster is wiped, the controllers restart against the new one and rebuild it from Git", async () => {
  const started = Date.now();
  await flux.stop();
  await cluster.wipe();
  await flux.restart(cluster.kubeconfig);
  const ms = await bootstrapAndTimeDecryption();
  await waitForRevision(git.head(REPO_NAME));
  figures.push(`wipe -> new sandbox, CRDs, controllers, objects, every Kustomization Ready: ${Date.now() - started} ms (objects -> decrypted Secret: ${ms} ms)`);
  const expected = await expectedSecret();
  expect(clusterSecretDigests(expected.name, expected.namespace)).toEqual(expected.digests);
});
