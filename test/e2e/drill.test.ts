/**
 * `gitops-bootstrap drill` end to end against the real API server of the sandbox: the CLI as
 * users run it (a separate process, so Ctrl-C is a real SIGINT), with the real Pulumi engine and
 * Kubernetes provider for `pulumi up --refresh` and `destroy`, the real watcher, Secret
 * verification, report, guard and teardown. The CLI runs from a scratch copy of the project, so
 * the stack file Pulumi writes (its encryption salt) stays out of the work tree.
 * One part is still played by the test, openly: Argo CD's application controller
 * (argo-stand-in.ts: it writes Application statuses and creates the child Applications, as an
 * app-of-apps would).
 */
import { ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import type { RunReport } from "../../bootstrap/drill/report";
import { AgeIdentities } from "../../bootstrap/sops/age";
import { decryptSopsContentInternal } from "../../bootstrap/sops/internal/decrypt";
import { ArgoStandIn, type StandInOptions } from "./argo-stand-in";
import { type FluxControllers, startFluxControllers } from "./flux-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { PROJECT_DIR, type TestCluster, openCluster, requireToolchain, scratchProject, tempDir } from "./harness";
import { PLACEHOLDER_SECRET_VALUE } from "./stand-in-controller";
import { toolchainEnv } from "./toolchain";

jest.setTimeout(10 * 60 * 1000);

const DEMO_KEY = fs.readFileSync(path.join(PROJECT_DIR, "examples/gitops-repo/demo-age-key.txt"), "utf8").match(/AGE-SECRET-KEY-1[0-9A-Z]+/)![0];

let dir: string;
let cluster: TestCluster;
/** The scratch copy of the project, and its CLI. */
let work: string;
let cli: string;
let run = 0;

beforeAll(async () => {
  requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm");
  dir = tempDir("drill");
  cluster = await openCluster(dir);
  work = scratchProject(dir);
  cli = path.join(work, "bootstrap", "gitops-bootstrap.js");
});

afterAll(async () => {
  await cluster?.close();
  // GITOPS_BOOTSTRAP_E2E_KEEP=1 keeps the reports, controller logs and state for a look afterwards.
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  else if (dir) process.stderr.write(`kept ${dir}\n`);
});

interface Drill {
  readonly child: ChildProcess;
  readonly reportDir: string;
  stderr(): string;
  /** Resolves when stderr shows `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  exit: Promise<number>;
  /** The exit code, after checking it is `expected` (else fails with the drill's output). */
  exited(expected: number): Promise<number>;
}

/**
 * `drill` on the Argo CD sandbox stack (or another stack), with `extra` flags. The repository is
 * read from `repo`, a checkout of the example; with `repo` null, from the stack's repo.url.
 */
function startDrill(extra: readonly string[] = [], stack = "sandbox", repo: string | null = "examples/gitops-repo"): Drill {
  const reportDir = path.join(dir, `report-${++run}`);
  const checkout = repo === null ? [] : ["--repo-checkout", path.join(PROJECT_DIR, repo)];
  const args = ["drill", "--stack", stack, "--kubeconfig", cluster.kubeconfig, ...checkout, "--report-dir", reportDir, "--timeout", "3m", "--failure-grace", "3s", ...extra];
  const env = toolchainEnv({ PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase-not-secret", PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`, PULUMI_HOME: path.join(dir, "pulumi-home"), PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true" });
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  const waiters: { text: string | RegExp; resolve: () => void }[] = [];
  const matches = (t: string | RegExp) => (typeof t === "string" ? err.includes(t) : t.test(err));
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.splice(0)) (matches(w.text) ? w.resolve() : waiters.push(w));
  });
  child.stdout!.resume();
  const exit = new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return {
    child,
    reportDir,
    stderr: () => err,
    exit,
    exited: async (expected) => {
      const code = await exit;
      if (code !== expected) throw new Error(`drill exited ${code}, expected ${expected}; its output:\n${err}`);
      return code;
    },
    waitFor: (text, timeoutMs = 120_000) =>
      new Promise<void>((resolve, reject) => {
        if (matches(text)) return resolve();
        const timer = setTimeout(() => reject(new Error(`drill output never showed ${text}:\n${err}`)), timeoutMs);
        waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
        void exit.then(() => setTimeout(() => (matches(text) ? resolve() : reject(new Error(`drill exited before showing ${text}:\n${err}`))), 50));
      }),
  };
}

const readReport = (d: Drill): RunReport => JSON.parse(fs.readFileSync(path.join(d.reportDir, "report.json"), "utf8"));
const namespaces = (): string[] => JSON.parse(cluster.kubectl(["get", "namespaces", "-o", "json"])).items.map((n: { metadata: { name: string } }) => n.metadata.name);

/** Back to a fresh cluster for the next scenario: only the default namespaces. */
async function emptyCluster(): Promise<void> {
  // Applications left by a failed scenario would hold their namespace in Terminating.
  const left = JSON.parse(cluster.kubectl(["get", "applications.argoproj.io", "-A", "-o", "json"])).items as { metadata: { name: string; namespace: string } }[];
  for (const a of left) cluster.kubectl(["patch", "applications.argoproj.io", a.metadata.name, "-n", a.metadata.namespace, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
  for (const n of namespaces()) if (!["default", "kube-system", "kube-public", "kube-node-lease"].includes(n)) cluster.kubectl(["delete", "namespace", n, "--wait=true", "--timeout=120s"]);
}

async function withStandIn<T>(options: StandInOptions, body: (s: ArgoStandIn) => Promise<T>): Promise<T> {
  const standIn = new ArgoStandIn(cluster, options).start();
  try {
    return await body(standIn);
  } finally {
    standIn.stop();
  }
}

/** Everything the drill deployed is gone again: the reconciler's namespace and its objects. */
function expectTornDown(d: Drill, namespace = "argocd", resource = "applications.argoproj.io"): void {
  expect(readReport(d).phases.find((p) => p.name === "destroy")).toMatchObject({ status: "ok" });
  expect(namespaces()).not.toContain(namespace);
  expect(JSON.parse(cluster.kubectl(["get", resource, "-A", "-o", "json"])).items).toEqual([]);
}

/** Neither the age key nor a Secret value (the stand-in's placeholder, or `values` the test decrypted) shows in output or reports. */
function expectNoSecrets(d: Drill, values: readonly string[] = []): void {
  for (const text of [d.stderr(), ...fs.readdirSync(d.reportDir).map((f) => fs.readFileSync(path.join(d.reportDir, f), "utf8"))]) {
    for (const secret of [DEMO_KEY, PLACEHOLDER_SECRET_VALUE, ...values]) expect(text.includes(secret)).toBe(false);
  }
}

afterEach(async () => {
  await emptyCluster();
});

test("happy path: recovered, with phases, per-app times, the SOPS Secret verified, a report in three formats, and torn down", async () => {
  const d = await withStandIn({}, async () => {
    const drill = startDrill();
    await drill.exited(0);
    return drill;
  });
  const err = d.stderr();
  const report = readReport(d);
  expect(report.outcome).toBe("recovered");
  expect(report.phases.map((p) => [p.name, p.status])).toEqual([
    ["guard", "ok"], ["check", "ok"], ["up", "ok"], ["reconciler ready", "ok"], ["root synced", "ok"], ["all healthy", "ok"], ["secrets present", "ok"], ["destroy", "ok"],
  ]);
  expect(report.apps.filter((a) => !a.deleted).map((a) => [a.name, a.converged]).sort()).toEqual([["demo-secret", true], ["hello", true], ["root", true]]);
  for (const a of report.apps) expect(a.healthyMs!).toBeGreaterThanOrEqual(a.appearedMs!);
  const allHealthy = report.phases.find((p) => p.name === "all healthy")!;
  expect(report.recoveryTimeMs).toBeGreaterThanOrEqual(allHealthy.startMs + allHealthy.durationMs);
  expect(report.secrets).toEqual([{ file: "workloads/demo-secret/demo-credentials.sops.yaml", name: "demo-credentials", namespace: "demo-secret", found: true }]);
  expect(err).toMatch(/✔ check: 1 SOPS file\(s\) verified/);
  expect(err).toMatch(/► \d+\/3 apps synced and healthy/);
  expect(err).toContain("✔ recovered in");
  const junit = fs.readFileSync(path.join(d.reportDir, "junit.xml"), "utf8");
  expect(junit).toMatch(/<testsuite name="drill sandbox" tests="12" failures="0"/);
  expect(fs.readFileSync(path.join(d.reportDir, "report.md"), "utf8")).toMatch(/\*\*recovery time: \d+\.\d s\*\*/);
  expectNoSecrets(d);
  expectTornDown(d);
});

test("a Degraded app with a failed sync fails the drill with its conditions, and the drill still tears down", async () => {
  const d = await withStandIn({ degrade: "hello" }, async () => {
    const drill = startDrill();
    await drill.exited(1);
    return drill;
  });
  const report = readReport(d);
  expect(report.outcome).toBe("failed");
  expect(report.failures.join("\n")).toMatch(/Application argocd\/hello: sync failed, health Degraded, SyncError — operation Failed: one or more objects failed to apply.*SyncError: Failed sync attempt/);
  expect(report.phases.find((p) => p.name === "all healthy")).toMatchObject({ status: "failed" });
  expect(report.apps.find((a) => a.name === "hello")).toMatchObject({ converged: false, status: "OutOfSync/Degraded (sync Failed)" });
  expect(fs.readFileSync(path.join(d.reportDir, "junit.xml"), "utf8")).toMatch(/<testcase classname="drill\.sandbox\.apps" name="Application\/argocd\/hello"[^>]*>\s*<failure message="sync failed, health Degraded, SyncError"/);
  expectTornDown(d);
});

test("a timeout ends the wait with what did not converge, and tears down", async () => {
  const d = await withStandIn({ stall: "hello" }, async () => {
    const drill = startDrill(["--timeout", "15s"]);
    await drill.exited(1);
    return drill;
  });
  const report = readReport(d);
  expect(report.outcome).toBe("timeout");
  expect(report.failures).toContain("Application argocd/hello did not converge in time: Synced/Progressing");
  expect(report.failures.some((f) => f.includes("demo-secret"))).toBe(false);
  expectTornDown(d);
});

test("the API server restarts during the wait: the watches come back and the drill still converges", async () => {
  if (!cluster.restartApiServer) return void process.stderr.write("⚠ the external cluster cannot be restarted by the test; skipped\n");
  const d = await withStandIn({}, async (standIn) => {
    const drill = startDrill();
    await drill.waitFor("► waiting for argocd to converge");
    await drill.waitFor(/► [012]\/3 apps/);
    standIn.pause();
    await cluster.restartApiServer!();
    await drill.waitFor("re-established", 60_000);
    standIn.resume();
    await drill.exited(0);
    return drill;
  });
  expect(d.stderr()).toMatch(/! watch of applications lost \([^)]+\); reconnecting|! cannot list applications/);
  expect(readReport(d).outcome).toBe("recovered");
  expectTornDown(d);
});

test("Ctrl-C during the wait stops the drill, and the teardown still happens", async () => {
  const d = await withStandIn({ stall: "hello" }, async () => {
    const drill = startDrill();
    await drill.waitFor("► waiting for argocd to converge");
    await drill.waitFor(/► \d\/3 apps/);
    drill.child.kill("SIGINT");
    await drill.exited(130);
    return drill;
  });
  expect(d.stderr()).toContain("■ Ctrl-C: stopping; the drill still destroys what it deployed");
  const report = readReport(d);
  expect(report.outcome).toBe("interrupted");
  expect(report.phases.find((p) => p.name === "all healthy")).toMatchObject({ status: "interrupted" });
  expectTornDown(d);
});

test("the guard refuses a cluster that is not empty, says why, and deploys nothing", async () => {
  cluster.kubectl(["create", "namespace", "team-payments"]);
  const d = startDrill();
  await d.exited(3);
  expect(d.stderr()).toMatch(/✗ guard failed: refused: the cluster is not empty: it has namespaces a fresh cluster does not have \(team-payments\)/);
  expect(d.stderr()).toContain("--force");
  expect(readReport(d)).toMatchObject({ outcome: "refused", phases: [{ name: "guard", status: "failed" }] });
  expect(namespaces()).not.toContain("argocd");
});

/**
 * The Flux drill on real parts only: the real Pulumi engine and provider, Flux's real
 * source-controller and kustomize-controller (local processes: flux-controllers.ts), and a real
 * Git server over HTTPS with a CA made for the run (git-server.ts), which the stack trusts through
 * `repo.caFile`. The drill reads the repository from that server too (no --repo-checkout).
 */
describe("Flux on real controllers and a real Git server over HTTPS (flux-sandbox stack)", () => {
  const REPO = "gitops-bootstrap";
  const KUSTOMIZATIONS = "kustomizations.kustomize.toolkit.fluxcd.io";
  const SOPS_FILE = "examples/gitops-repo-flux/workloads/demo-secret/demo-credentials.sops.yaml";
  const ROOT_KUSTOMIZATION = "examples/gitops-repo-flux/apps/kustomization.yaml";
  let git: GitServer;
  let flux: FluxControllers;
  let decrypted: Record<string, string>;

  const startFluxDrill = (extra: readonly string[] = []) => startDrill(extra, "flux-sandbox", null);
  const digest = (v: string) => createHash("sha256").update(v).digest("hex");
  /** The demo Secret as kustomize-controller decrypted it, by digest (never printed). */
  const secretDigests = () => {
    const data = JSON.parse(cluster.kubectl(["get", "secret", "demo-credentials", "-n", "demo-secret", "-o", "json"])).data as Record<string, string>;
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, digest(Buffer.from(v, "base64").toString("utf8"))]));
  };
  const expectRecovered = (d: Drill, kept: boolean): RunReport => {
    const report = readReport(d);
    expect(report).toMatchObject({ outcome: "recovered", reconciler: "flux" });
    expect(report.phases.map((p) => [p.name, p.status])).toEqual([
      ["guard", "ok"], ["check", "ok"], ["up", "ok"], ["reconciler ready", "ok"], ["root synced", "ok"], ["all healthy", "ok"], ["secrets present", "ok"], ...(kept ? [] : [["destroy", "ok"]]),
    ]);
    expect(report.apps.map((a) => [a.kind, a.name, a.converged]).sort()).toEqual([["Kustomization", "demo-secret", true], ["Kustomization", "hello", true], ["Kustomization", "root", true]]);
    // Flux's own status: every Kustomization applied the commit the Git server serves.
    const head = git.head(REPO);
    for (const a of report.apps) expect(a.status).toContain(head);
    expect(report.secrets).toEqual([{ file: SOPS_FILE, name: "demo-credentials", namespace: "demo-secret", found: true }]);
    expect(d.stderr()).toMatch(/► 3\/3 Kustomizations and HelmReleases synced and healthy/);
    // Values long enough to mean something: the demo user name is a 4-letter word that names show too.
    expectNoSecrets(d, Object.values(decrypted).filter((v) => v.length >= 8));
    return report;
  };

  beforeAll(async () => {
    git = await startGitServer({ dir: path.join(dir, "git"), repos: { [REPO]: { dir: PROJECT_DIR, include: ["examples/gitops-repo-flux"] } } });
    // The scratch project's flux-sandbox stack points at the test's Git server and trusts its CA.
    const stackFile = path.join(work, "stacks", "Pulumi.flux-sandbox.yaml");
    const stack = YAML.parse(fs.readFileSync(stackFile, "utf8"));
    stack.config["gitops-bootstrap:repo"] = { ...stack.config["gitops-bootstrap:repo"], url: git.url(REPO), revision: git.branch, caFile: git.caFile };
    fs.writeFileSync(stackFile, YAML.stringify(stack));
    flux = await startFluxControllers({ dir: path.join(dir, "flux"), kubeconfig: cluster.kubeconfig });
    // What the Secret must hold: the test decrypts the SOPS file itself, with the stack's key.
    const identities = await AgeIdentities.parse(fs.readFileSync(path.join(PROJECT_DIR, "examples/gitops-repo/demo-age-key.txt"), "utf8"), "demo key");
    const { result, documents } = await decryptSopsContentInternal(fs.readFileSync(path.join(PROJECT_DIR, SOPS_FILE)), SOPS_FILE, identities);
    if (!documents) throw new Error(`${SOPS_FILE}: ${result.kind}`);
    decrypted = (documents[0] as { stringData: Record<string, string> }).stringData;
    expect(Object.keys(decrypted).length).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await flux?.stop();
    await git?.stop();
  });

  afterEach(() => {
    flux.assertRunning();
  });

  test("recovered from Git over HTTPS, then the disaster (cluster lost, Pulumi state kept): the next drill brings everything back the same way, and tears down", async () => {
    const first = startFluxDrill(["--keep"]);
    await first.exited(0);
    expectRecovered(first, true);
    const repo = JSON.parse(cluster.kubectl(["get", "gitrepositories.source.toolkit.fluxcd.io", "root", "-n", "flux-system", "-o", "json"]));
    expect(repo.status.artifact.revision).toContain(git.head(REPO));
    const expected = Object.fromEntries(Object.entries(decrypted).map(([k, v]) => [k, digest(v)]));
    expect(secretDigests()).toEqual(expected);

    await cluster.wipe();
    await flux.restart(cluster.kubeconfig);
    expect(namespaces()).not.toContain("flux-system");
    const second = startFluxDrill();
    await second.exited(0);
    const report = expectRecovered(second, false);
    // The state still listed every object: the refresh found them gone and the update recreated them.
    expect(report.phases.find((p) => p.name === "up")!.detail).toMatch(/create/);
    expectTornDown(second, "flux-system", KUSTOMIZATIONS);
  });

  // A broken kustomization.yaml in the root path: the root Kustomization fails to build, at once.
  // (A child whose path does not exist fails as fast, with ArtifactFailed (flux-real.test.ts), but
  // the root waits for its children (wait: true) until its 5m timeout before kustomize-controller
  // handles the deletion, so the drill's teardown would take 5 minutes.)
  test("a broken kustomization.yaml in Git fails the drill with Flux's reason and message, and the drill tears down", async () => {
    const original = fs.readFileSync(path.join(PROJECT_DIR, ROOT_KUSTOMIZATION), "utf8");
    git.commit(REPO, { [ROOT_KUSTOMIZATION]: original.replace("  - hello.yaml", "  - hello.yaml\n  - missing.yaml") }, "apps: list a file that is not there");
    try {
      const d = startFluxDrill();
      await d.exited(1);
      const report = readReport(d);
      expect(report.outcome).toBe("failed");
      expect(report.failures.join("\n")).toMatch(/Kustomization flux-system\/root: BuildFailed — Ready=False BuildFailed: .*missing\.yaml/);
      expect(report.apps.find((a) => a.name === "root")).toMatchObject({ converged: false });
      expectTornDown(d, "flux-system", KUSTOMIZATIONS);
    } finally {
      git.commit(REPO, { [ROOT_KUSTOMIZATION]: original }, "apps: back to the files that are there");
    }
  });
});
