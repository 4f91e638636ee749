/**
 * `gitops-bootstrap drill` end to end against the real API server of the sandbox: the CLI as
 * users run it (a separate process, so Ctrl-C is a real SIGINT), with the real Pulumi engine and
 * Kubernetes provider for `pulumi up --refresh` and `destroy`, the real watcher, Secret
 * verification, report, guard and teardown. The CLI runs from a scratch copy of the project, so
 * the stack file Pulumi writes (its encryption salt) stays out of the work tree.
 * The reconcilers are real too: Argo CD's repo-server and application-controller
 * (argo-controllers.ts) and Flux's source- and kustomize-controller (flux-controllers.ts), run as
 * local processes against the sandbox, syncing from a real Git server over HTTPS with a CA made
 * for the run (git-server.ts), which the stacks trust through `repo.caFile`. What the Argo CD
 * chart's pods would be is those processes; the chart itself is the local stand-in
 * test/e2e/charts/argo-cd (charts cannot be downloaded here), installed by the real Helm.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type RunReport, seconds } from "../../bootstrap/cli-common/drill-report";
import type { ArgoControllers } from "./argo-controllers";
import { type ExpectedSecret, clusterSecretDigests, expectedSecret } from "./demo-repo";
import { DEMO_REPO, type Drill, type GitOpsSide, emptyCluster, readDrillReport, startArgoSide, startDrillProcess, startFluxSide } from "./drill-scenario";
import type { FluxControllers } from "./flux-controllers";
import type { GitServer } from "./git-server";
import { PROJECT_DIR, type TestCluster, cliEnv, openCluster, requireToolchain, scratchProject, tempDir } from "./harness";

jest.setTimeout(10 * 60 * 1000);

const DEMO_KEY = fs.readFileSync(path.join(PROJECT_DIR, "examples/gitops-repo/demo-age-key.txt"), "utf8").match(/AGE-SECRET-KEY-1[0-9A-Z]+/)![0];

let dir: string;
let cluster: TestCluster;
/** The scratch copy of the project, and its CLI. */
let work: string;
let cli: string;
let run = 0;
/** Report folders of one recovered and one failed Argo CD drill, for drill-summary. */
const summaryInputs: { recovered?: string; failed?: string } = {};

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

/**
 * `drill` on the Argo CD sandbox stack (or another stack), with `extra` flags. The repository is
 * read from `repo`, a checkout of the example; with `repo` null, from the stack's repo.url.
 * `logs`: the reconciler's log tails, added to a failure message.
 */
function startDrill(extra: readonly string[] = [], stack = "sandbox", repo: string | null = "examples/gitops-repo", logs: () => string = () => ""): Drill {
  const reportDir = path.join(dir, `report-${++run}`);
  const checkout = repo === null ? [] : ["--repo-checkout", path.join(PROJECT_DIR, repo)];
  const args = ["--stack", stack, "--kubeconfig", cluster.kubeconfig, ...checkout, "--report-dir", reportDir, "--timeout", "3m", "--failure-grace", "3s", ...extra];
  return startDrillProcess({ cli, env: cliEnv(dir), args, reportDir, logs });
}

const readReport = (d: Drill): RunReport => readDrillReport(d.reportDir);
const namespaces = (): string[] => JSON.parse(cluster.kubectl(["get", "namespaces", "-o", "json"])).items.map((n: { metadata: { name: string } }) => n.metadata.name);

/** Everything the drill deployed is gone again: the reconciler's namespace and its objects. */
function expectTornDown(d: Drill, namespace = "argocd", resource = "applications.argoproj.io"): void {
  expect(readReport(d).phases.find((p) => p.name === "destroy")).toMatchObject({ status: "ok" });
  expect(namespaces()).not.toContain(namespace);
  expect(JSON.parse(cluster.kubectl(["get", resource, "-A", "-o", "json"])).items).toEqual([]);
}

/** Neither the age key nor a Secret value (`values` the test decrypted) shows in output or reports. */
function expectNoSecrets(d: Drill, values: readonly string[] = []): void {
  for (const text of [d.stderr(), ...fs.readdirSync(d.reportDir).map((f) => fs.readFileSync(path.join(d.reportDir, f), "utf8"))]) {
    for (const secret of [DEMO_KEY, ...values]) expect(text.includes(secret)).toBe(false);
  }
}

/** Values long enough to mean something: the demo user name is a 4-letter word that names show too. */
const secretValuesToHide = (secret: ExpectedSecret) => secret.values.filter((v) => v.length >= 8);
const clusterDigests = (secret: ExpectedSecret) => clusterSecretDigests((a) => cluster.kubectl(a), secret.name, secret.namespace);

afterEach(async () => {
  await emptyCluster(cluster);
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
 * The Argo CD drill on real parts: the real engine and provider install the stand-in chart with
 * Helm and create the `sops-age` Secret, the repository Secret and the root Application; Argo
 * CD's real repo-server and application-controller (argo-controllers.ts) sync the root and its
 * children from the HTTPS Git server (the stack's `repo.caFile` reaches the repo-server through
 * the chart's argocd-tls-certs-cm), decrypt the SOPS Secret with KSOPS, and handle the resources
 * finalizer at teardown. The processes start before the drills and are restarted when they
 * exit, as the kubelet restarts a crash-looping pod: the application-controller exits while
 * argocd-cm is missing, until the drill's `pulumi up` creates it. The drill reads the repository
 * from the Git server too (no --repo-checkout). Every status the drill reports is Argo CD's own.
 */
describe("Argo CD on the real repo-server and application-controller and a real Git server over HTTPS (sandbox stack)", () => {
  const REPO = DEMO_REPO;
  const SOPS_FILE = "examples/gitops-repo/workloads/demo-secret/demo-credentials.sops.yaml";
  const HELLO_DEPLOYMENT = "examples/gitops-repo/workloads/hello/deployment.yaml";
  let side: GitOpsSide<ArgoControllers>;
  let git: GitServer;
  let argo: ArgoControllers;
  let secret: ExpectedSecret;
  const figures: string[] = [];

  const startArgoDrill = (extra: readonly string[] = []) => startDrill(extra, "sandbox", null, () => argo.logTail(30));

  /** Commits `change` to the served copy of one file for `body`, then the original back. */
  async function withCommittedChange<T>(file: string, change: (original: string) => string, message: string, body: () => Promise<T>): Promise<T> {
    const original = fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
    const changed = change(original);
    expect(changed).not.toBe(original);
    git.commit(REPO, { [file]: changed }, message);
    try {
      return await body();
    } finally {
      git.commit(REPO, { [file]: original }, `back to the original ${path.basename(file)}`);
    }
  }

  /**
   * hello's pods select a node that does not exist: the scheduler leaves them Pending, the
   * Deployment Progressing; with `progressDeadlineSeconds`, Degraded once that has passed.
   */
  const withHelloNeverScheduled = <T>(body: () => Promise<T>, progressDeadlineSeconds?: number) =>
    withCommittedChange(
      HELLO_DEPLOYMENT,
      (d) =>
        d
          .replace("  replicas: 1\n", `  replicas: 1\n${progressDeadlineSeconds ? `  progressDeadlineSeconds: ${progressDeadlineSeconds}\n` : ""}`)
          .replace("    spec:\n      containers:", "    spec:\n      nodeSelector:\n        gitops-bootstrap.e2e/node: none\n      containers:"),
      "hello: pods for a node that does not exist",
      body,
    );

  beforeAll(async () => {
    // The scratch project's sandbox stack points at the test's Git server and trusts its CA.
    side = await startArgoSide({ dir, kubeconfig: cluster.kubeconfig, work });
    ({ git, controllers: argo } = side);
    secret = await expectedSecret(SOPS_FILE);
  });

  afterAll(async () => {
    if (figures.length) process.stderr.write(`argo cd drill figures:\n  ${figures.join("\n  ")}\n`);
    if (argo) process.stderr.write(`argo cd process restarts: ${JSON.stringify(argo.restarts())}\n`);
    await side?.stop();
  });

  const expectRecovered = (d: Drill, kept: boolean): RunReport => {
    const report = readReport(d);
    expect(report).toMatchObject({ outcome: "recovered", reconciler: "argocd" });
    expect(report.phases.map((p) => [p.name, p.status])).toEqual([
      ["guard", "ok"], ["check", "ok"], ["up", "ok"], ["reconciler ready", "ok"], ["root synced", "ok"], ["all healthy", "ok"], ["secrets present", "ok"], ...(kept ? [] : [["destroy", "ok"]]),
    ]);
    // hello-production and hello-staging: generated by the ApplicationSet hello-environments, which the root creates.
    expect(report.apps.filter((a) => !a.deleted).map((a) => [a.kind, a.name, a.converged, a.status]).sort()).toEqual([
      ["Application", "demo-secret", true, "Synced/Healthy"], ["Application", "hello", true, "Synced/Healthy"],
      ["Application", "hello-production", true, "Synced/Healthy"], ["Application", "hello-staging", true, "Synced/Healthy"],
      ["Application", "root", true, "Synced/Healthy"], ["ApplicationSet", "hello-environments", true, "ResourcesUpToDate"],
    ]);
    for (const a of report.apps) expect(a.healthyMs!).toBeGreaterThanOrEqual(a.appearedMs!);
    const allHealthy = report.phases.find((p) => p.name === "all healthy")!;
    expect(report.recoveryTimeMs).toBeGreaterThanOrEqual(allHealthy.startMs + allHealthy.durationMs);
    expect(report.secrets).toEqual([{ file: SOPS_FILE, name: "demo-credentials", namespace: "demo-secret", found: true }]);
    expect(d.stderr()).toMatch(/✔ check: 1 SOPS file\(s\) verified/);
    expect(d.stderr()).toMatch(/► 6\/6 apps synced and healthy/);
    expect(d.stderr()).toContain("✔ recovered in");
    expectNoSecrets(d, secretValuesToHide(secret));
    return report;
  };

  test("happy path: recovered from Git over HTTPS (Argo CD synced every app at the served commit, KSOPS decrypted the Secret to the test's own decryption), then the disaster (cluster lost, state kept): the next drill brings it back, reports in three formats, and tears down", async () => {
    const first = startArgoDrill(["--keep"]);
    await first.exited(0);
    expectRecovered(first, true);
    // Argo CD's own status: the root and both children synced the commit the Git server serves.
    const head = git.head(REPO);
    const apps = JSON.parse(cluster.kubectl(["get", "applications.argoproj.io", "-n", "argocd", "-o", "json"])).items as { metadata: { name: string }; status: { sync: { revision: string } } }[];
    expect(apps.map((a) => [a.metadata.name, a.status.sync.revision]).sort()).toEqual([["demo-secret", head], ["hello", head], ["hello-production", head], ["hello-staging", head], ["root", head]]);
    expect(clusterDigests(secret)).toEqual(secret.digests);

    await cluster.wipe();
    await argo.restart(cluster.kubeconfig);
    expect(namespaces()).not.toContain("argocd");
    const second = startArgoDrill();
    await second.exited(0);
    const report = expectRecovered(second, false);
    // The state still listed every object: the refresh found them gone and the update recreated them.
    expect(report.phases.find((p) => p.name === "up")!.detail).toMatch(/create/);
    expect(fs.readFileSync(path.join(second.reportDir, "junit.xml"), "utf8")).toMatch(/<testsuite name="drill sandbox" tests="15" failures="0"/);
    expect(fs.readFileSync(path.join(second.reportDir, "report.md"), "utf8")).toMatch(/\*\*recovery time: \d+\.\d s\*\*/);
    expectTornDown(second);
    summaryInputs.recovered = second.reportDir;
  });

  // A Degraded app, as Argo CD judges it: hello's pods are never scheduled and its Deployment
  // gives up after a 5 s progress deadline (ProgressDeadlineExceeded, set by the real
  // kube-controller-manager). Not a manifest the API server rejects: Argo CD 3.6 retries such an
  // automated sync (operation Running, "Retrying attempt #N") instead of failing it, which the
  // drill does not count as a failure, and the teardown then waits for the retries to end.
  test("a Degraded app fails the drill with Argo CD's own health message, and the drill tears down", async () => {
    const d = await withHelloNeverScheduled(async () => {
      const drill = startArgoDrill();
      await drill.exited(1);
      return drill;
    }, 5);
    const report = readReport(d);
    expect(report.outcome).toBe("failed");
    // hello and the ApplicationSet's hello-staging and hello-production deploy the same hello: all
    // three fail the same way, and the one whose grace ends first fails the wait while the others
    // are reported as still within theirs. Argo CD 3.6 names the Degraded resource in the app's
    // health message (resource health is no longer in the Application's status).
    for (const [name, namespace] of [["hello", "hello"], ["hello-staging", "hello-staging"], ["hello-production", "hello-production"]]) {
      const failure = report.failures.find((f) => f.startsWith(`Application argocd/${name}: `));
      expect(failure).toMatch(new RegExp(`^Application argocd/${name}: health Degraded( \\(still within the failure grace when the wait ended\\))? — health: Caused by apps/Deployment:${namespace}/hello$`));
    }
    expect(report.phases.find((p) => p.name === "all healthy")).toMatchObject({ status: "failed" });
    expect(report.apps.find((a) => a.name === "hello")).toMatchObject({ converged: false, status: "Synced/Degraded" });
    expect(fs.readFileSync(path.join(d.reportDir, "junit.xml"), "utf8")).toMatch(/<testcase classname="drill\.sandbox\.apps" name="Application\/argocd\/hello"[^>]*>\s*<failure message="health Degraded[^"]*"/);
    expectTornDown(d);
    summaryInputs.failed = d.reportDir;
  });

  // A generator that fails: the ApplicationSet's Git directory generator names a revision the
  // repository does not have. (A directory path that matches nothing is not an error for Argo CD:
  // the generator yields no Applications and the ApplicationSet is ResourcesUpToDate.) The
  // applicationset-controller sets ErrorOccurred=True with the repo-server's message; the drill
  // fails on it within the failure grace, not at the timeout.
  test("an ApplicationSet whose generator fails fails the drill with the controller's message, within the failure grace, and the drill tears down", async () => {
    const APPSET = "examples/gitops-repo/apps/hello-environments.yaml";
    const edit = (from: string, to: string) => (tree: string) => {
      const file = path.join(tree, APPSET);
      const text = fs.readFileSync(file, "utf8");
      expect(text).toContain(from);
      fs.writeFileSync(file, text.replace(from, to));
    };
    git.commit(REPO, edit("        revision: HEAD\n", "        revision: no-such-branch\n"), "hello-environments: a revision that does not exist");
    const d = startArgoDrill(["--timeout", "4m"]);
    try {
      await d.exited(1);
    } finally {
      git.commit(REPO, edit("        revision: no-such-branch\n", "        revision: HEAD\n"), "hello-environments: back to HEAD");
    }
    const report = readReport(d);
    expect(report.outcome).toBe("failed");
    const failure = report.failures.find((f) => f.startsWith("ApplicationSet argocd/hello-environments: "));
    // Reported whether its own grace or the root's (Degraded by the ApplicationSet's health) ended first.
    expect(failure).toMatch(/^ApplicationSet argocd\/hello-environments: ErrorOccurred \(ApplicationGenerationFromParamsError\)( \([a-z ]+\))? — ErrorOccurred: error generating params from git: .*no-such-branch/);
    const appset = report.apps.find((a) => a.kind === "ApplicationSet")!;
    expect(appset).toMatchObject({ name: "hello-environments", converged: false, status: "ErrorOccurred" });
    // Failed within the grace (3 s) of the error appearing, far from the 4-minute timeout.
    const allHealthy = report.phases.find((p) => p.name === "all healthy")!;
    expect(allHealthy.status).toBe("failed");
    expect(allHealthy.durationMs).toBeLessThan(120_000);
    figures.push(`broken generator: ApplicationSet appeared at +${seconds(appset.appearedMs)}, drill failed after a wait of ${seconds(allHealthy.durationMs)}`);
    expect(report.apps.some((a) => a.name.startsWith("hello-") && a.kind === "Application")).toBe(false);
    const junit = fs.readFileSync(path.join(d.reportDir, "junit.xml"), "utf8");
    expect(junit).toMatch(/<testcase classname="drill\.sandbox\.apps" name="ApplicationSet\/argocd\/hello-environments"[^>]*>\s*<failure message="ErrorOccurred \(ApplicationGenerationFromParamsError\)[^"]*">[^<]*no-such-branch/);
    expect(fs.readFileSync(path.join(d.reportDir, "report.md"), "utf8")).toMatch(/\| ApplicationSet argocd\/hello-environments \|.*\| ErrorOccurred \|.*no-such-branch/);
    expectTornDown(d);
  });

  test("drill-summary of those drills' reports (one recovered, one failed): one table, the failure's reason, exit 1", async () => {
    expect(summaryInputs.recovered && summaryInputs.failed).toBeTruthy();
    const folders = path.join(dir, "summary-inputs");
    fs.mkdirSync(folders);
    // Laid out as a CI artifact download: one folder per drill.
    fs.cpSync(summaryInputs.recovered!, path.join(folders, "dr-drill-report-recovered"), { recursive: true });
    fs.cpSync(summaryInputs.failed!, path.join(folders, "dr-drill-report-failed"), { recursive: true });
    const summary = spawnSync(process.execPath, [cli, "drill-summary", folders], { env: cliEnv(dir), encoding: "utf8" });
    expect(summary.status).toBe(1);
    expect(summary.stdout).toContain("# Disaster-recovery drills: 1 of 2 environment(s) recovered");
    expect(summary.stdout).toMatch(/\| sandbox \| sandbox \| ✔ recovered \| \d+\.\d s \| [a-z ]+ \(\d+\.\d s\) \| argocd\/\S+ \(\+\d+\.\d s\) \|/);
    expect(summary.stdout).toMatch(/\| sandbox \| sandbox \| ✗ failed \| – \| [a-z ]+ \(\d+\.\d s\) \| argocd\/hello \(not converged\) \|/);
    expect(summary.stdout).toContain("Application argocd/hello: health Degraded");
    const junit = spawnSync(process.execPath, [cli, "drill-summary", folders, "--format", "junit"], { env: cliEnv(dir), encoding: "utf8" });
    expect(junit.stdout).toMatch(/<testsuite name="drills" tests="2" failures="1"/);
  });

  test("a timeout ends the wait with what did not converge (an app whose pods are never scheduled), and tears down", async () => {
    const d = await withHelloNeverScheduled(async () => {
      const drill = startArgoDrill(["--timeout", "75s"]);
      await drill.exited(1);
      return drill;
    });
    const report = readReport(d);
    expect(report.outcome).toBe("timeout");
    expect(report.failures).toContain("Application argocd/hello did not converge in time: Synced/Progressing");
    // The root reports its children's health (the product's health customization in argocd-cm).
    expect(report.failures).toContain("Application argocd/root did not converge in time: Synced/Progressing");
    expect(report.failures.some((f) => f.includes("demo-secret"))).toBe(false);
    expectTornDown(d);
  });

  test("the API server restarts during the wait: the watches come back and the drill still converges", async () => {
    if (!cluster.restartApiServer) return void process.stderr.write("⚠ the external cluster cannot be restarted by the test; skipped\n");
    // The real application-controller reports the outage on the apps it was syncing (an error
    // condition until its next reconcile, seconds later): a real, transient problem that the
    // default --failure-grace (2m) absorbs, and the 3 s of the other scenarios does not (seen on
    // an idle machine, where Argo CD was mid-sync when the API server went away).
    const d = startArgoDrill(["--failure-grace", "90s"]);
    await d.waitFor("► waiting for argocd to converge");
    await d.waitFor(/► [012]\/\d apps/);
    await cluster.restartApiServer();
    await d.waitFor("re-established", 60_000);
    await d.exited(0);
    expect(d.stderr()).toMatch(/! watch of applications lost \([^)]+\); reconnecting|! cannot list applications/);
    expect(readReport(d).outcome).toBe("recovered");
    expectTornDown(d);
  });

  test("Ctrl-C during the wait stops the drill, and the teardown still happens", async () => {
    const d = await withHelloNeverScheduled(async () => {
      const drill = startArgoDrill();
      await drill.waitFor("► waiting for argocd to converge");
      await drill.waitFor(/► \d\/\d apps/);
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
});

/**
 * The Flux drill on real parts only: the real Pulumi engine and provider, Flux's real
 * source-controller and kustomize-controller (local processes: flux-controllers.ts), and a real
 * Git server over HTTPS with a CA made for the run (git-server.ts), which the stack trusts through
 * `repo.caFile`. The drill reads the repository from that server too (no --repo-checkout).
 */
describe("Flux on real controllers and a real Git server over HTTPS (flux-sandbox stack)", () => {
  const REPO = DEMO_REPO;
  const KUSTOMIZATIONS = "kustomizations.kustomize.toolkit.fluxcd.io";
  const SOPS_FILE = "examples/gitops-repo-flux/workloads/demo-secret/demo-credentials.sops.yaml";
  const ROOT_KUSTOMIZATION = "examples/gitops-repo-flux/apps/kustomization.yaml";
  let side: GitOpsSide<FluxControllers>;
  let git: GitServer;
  let flux: FluxControllers;
  let secret: ExpectedSecret;

  const startFluxDrill = (extra: readonly string[] = []) => startDrill(extra, "flux-sandbox", null);
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
    expectNoSecrets(d, secretValuesToHide(secret));
    return report;
  };

  beforeAll(async () => {
    // The scratch project's flux-sandbox stack points at the test's Git server and trusts its CA.
    side = await startFluxSide({ dir, kubeconfig: cluster.kubeconfig, work });
    ({ git, controllers: flux } = side);
    // What the Secret must hold: the test decrypts the SOPS file itself, with the stack's key.
    secret = await expectedSecret(SOPS_FILE);
  });

  afterAll(async () => {
    await side?.stop();
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
    expect(clusterDigests(secret)).toEqual(secret.digests);

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
