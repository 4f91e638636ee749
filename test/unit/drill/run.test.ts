/**
 * The run's structure: whatever happens after the guard, the drill tears down what it deployed
 * (once it has checked the cluster is the same) and writes its report. A stand-in engine and
 * cluster record what was asked of them; the repository check is the real one on the example
 * repository with its demo key.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveConfig } from "../../../bootstrap/config/stack-config";
import { type BootstrapConfig } from "../../../components/settings/bootstrap-config";
import { ClusterError } from "../../../bootstrap/cluster/api";
import type { ObjectRecord } from "../../../bootstrap/drill/convergence";
import type { DeployEngine } from "../../../bootstrap/drill/engine";
import type { GuardFacts } from "../../../bootstrap/drill/guard";
import type { RunReport } from "../../../bootstrap/cli-common/drill-report";
import { type ClusterReader, type RunOptions, runRecovery } from "../../../bootstrap/drill/run";
import type { ClusterIdentity } from "../../../bootstrap/drill/target";
import type { WaitResult } from "../../../bootstrap/drill/wait";
import { FRESH_NAMESPACES } from "../../../bootstrap/drill/fresh-cluster";
import { checkRepository } from "../../../bootstrap/sops";
import { readRepository } from "../../../bootstrap/sops/repository";
import { rawStackConfig } from "../config-harness";

const PROJECT = path.resolve(__dirname, "../../..");
const DEMO_KEY = fs.readFileSync(path.join(PROJECT, "examples/gitops-repo/demo-age-key.txt"), "utf8").match(/AGE-SECRET-KEY-1[0-9A-Z]+/)![0];
const THROWAWAY: ClusterIdentity = { context: "kind-drill", server: "https://127.0.0.1:6443", kubeSystemUid: "uid-of-the-throwaway" };
const OTHER: ClusterIdentity = { ...THROWAWAY, kubeSystemUid: "uid-of-another-cluster" };

let config: BootstrapConfig;
let reportDir: string;

beforeAll(async () => {
  const raw = rawStackConfig(
    { environment: "drill", reconciler: "argocd", repo: { url: "https://git.example.com/x.git", revision: "HEAD", path: "examples/gitops-repo/apps" }, ageKeyFile: "examples/gitops-repo/demo-age-key.txt" },
    [],
  );
  config = await resolveConfig({ ...raw, baseDir: PROJECT });
});
beforeEach(() => {
  reportDir = fs.mkdtempSync(path.join(os.tmpdir(), "run-report-"));
});
afterEach(() => fs.rmSync(reportDir, { recursive: true, force: true }));

/** Records `up` and `destroy`. */
class RecordingEngine implements DeployEngine {
  readonly description = "stand-in engine";
  readonly calls: string[] = [];
  async up() {
    this.calls.push("up");
    return { changes: { create: 5 } };
  }
  async destroy() {
    this.calls.push("destroy");
    return { changes: { delete: 5 } };
  }
}

const converged = (): WaitResult => {
  const now = Date.now();
  return {
    outcome: "converged",
    endedAt: now,
    reconcilerReadyAt: now,
    rootSyncedAt: now,
    allHealthyAt: now,
    summary: { total: 1, converged: 1, synced: 1, healthy: 1, troubled: 0, failed: [], missing: [], outcome: "converged" },
    objects: [],
    workloadsNotReady: [],
  };
};

const fresh: GuardFacts = { namespaces: FRESH_NAMESPACES, workloads: [], persistentVolumeClaims: [] };

/** A cluster that answers with `identities` in turn (the last one from then on); `overrides` replace its reads. */
function cluster(identities: ClusterIdentity[], overrides: Partial<ClusterReader> = {}): ClusterReader & { identityReads: () => number } {
  let reads = 0;
  return {
    server: THROWAWAY.server,
    identity: async () => identities[Math.min(reads++, identities.length - 1)],
    identityReads: () => reads,
    guardFacts: async () => fresh,
    waitForConvergence: async () => converged(),
    findSecrets: async (expected) => expected.map((s) => ({ file: s.file, name: s.name, namespace: s.namespace, found: true })),
    findSealedSecrets: async () => [],
    findExternalSecrets: async () => [],
    ...overrides,
  };
}

async function drill(c: ClusterReader, engine: DeployEngine, extra: Partial<RunOptions> = {}): Promise<{ report: RunReport; output: string }> {
  const lines: string[] = [];
  const report = await runRecovery({
    command: "drill",
    stack: "drill",
    config,
    cluster: c,
    engine,
    repoSource: path.join(PROJECT, "examples/gitops-repo"),
    repoRevision: undefined,
    checkRepository,
    readRepository,
    timeoutMs: 60_000,
    failureGraceMs: 1000,
    reportDir,
    signal: new AbortController().signal,
    out: (l) => lines.push(l),
    guard: { force: false, otherStacks: [] },
    identityRetryMs: 1,
    ...extra,
  });
  return { report, output: lines.join("\n") };
}

const written = (): RunReport => JSON.parse(fs.readFileSync(path.join(reportDir, "report.json"), "utf8"));
const phase = (r: RunReport, name: string) => r.phases.find((p) => p.name === name);

describe("teardown and report on every exit after the guard", () => {
  it("the happy path identifies the cluster three times (start, before up, before destroy) and tears down", async () => {
    const c = cluster([THROWAWAY]);
    const engine = new RecordingEngine();
    const { report } = await drill(c, engine);
    expect(report.outcome).toBe("recovered");
    expect(engine.calls).toEqual(["up", "destroy"]);
    expect(c.identityReads()).toBe(3);
    expect(report).toMatchObject({ context: "kind-drill", kubeSystemUid: "uid-of-the-throwaway" });
    expect(report.secrets).toEqual([{ file: "workloads/demo-secret/demo-credentials.sops.yaml", name: "demo-credentials", namespace: "demo-secret", found: true }]);
  });

  it("a recovery with the engine's timing reports where its time went: own time, Helm, the reconciler; in the report and on the terminal", async () => {
    const engine = new RecordingEngine();
    engine.up = async () => {
      await new Promise((r) => setTimeout(r, 30));
      return { changes: { create: 5 }, timing: { engineStartMs: 5, helmMs: 10, totalMs: 20 } };
    };
    const { report, output } = await drill(cluster([THROWAWAY]), engine);
    const split = report.timeSplit!;
    expect(split.helmMs).toBe(10);
    expect(split.recoveryMs).toBe(report.recoveryTimeMs);
    expect(split.ownMs).toBe(split.recoveryMs - split.helmMs - split.reconcilerMs);
    expect(split.ownParts.reduce((n, p) => n + p.ms, 0)).toBe(split.ownMs);
    expect(output).toMatch(/this tool's own time \d+\.\d s \(\d+%: .*engine start 0\.0 s.*\); Helm 0\.0 s; the reconciler/);
    expect(written().timeSplit).toEqual(split);
    expect(fs.readFileSync(path.join(reportDir, "report.md"), "utf8")).toContain("## Where the recovery time went");
  });

  it("without the engine's timing, no split (rather than one that would call Helm's time the tool's)", async () => {
    const { report } = await drill(cluster([THROWAWAY]), new RecordingEngine());
    expect(report.timeSplit).toBeUndefined();
  });

  it("a failed wait also reports the problems still within their grace (an ApplicationSet's generator error while the root holding it failed first)", async () => {
    const t = Date.now();
    const message = "error generating params from git: unable to resolve 'no-such-branch' to a commit SHA";
    const root: ObjectRecord = {
      key: "Application/argocd/root", kind: "Application", namespace: "argocd", name: "root", appearedAt: t, syncedAt: t, problemSince: t, failedAt: t + 1000, failure: "health Degraded",
      status: { synced: true, healthy: false, summary: "Synced/Degraded", problem: "health Degraded", details: ["health: Caused by argoproj.io/ApplicationSet:argocd/hello-environments"] },
    };
    const appSet: ObjectRecord = {
      key: "ApplicationSet/argocd/hello-environments", kind: "ApplicationSet", namespace: "argocd", name: "hello-environments", appearedAt: t, problemSince: t + 30,
      status: { synced: false, healthy: false, summary: "ErrorOccurred", problem: "ErrorOccurred (ApplicationGenerationFromParamsError)", details: [`ErrorOccurred: ${message}`] },
    };
    const failed: WaitResult = {
      ...converged(), outcome: "failed", allHealthyAt: undefined, objects: [root, appSet],
      summary: { total: 2, converged: 0, synced: 1, healthy: 0, troubled: 1, failed: [root], missing: [], outcome: "failed" },
    };
    const { report } = await drill(cluster([THROWAWAY], { waitForConvergence: async () => failed }), new RecordingEngine());
    expect(report.outcome).toBe("failed");
    expect(report.failures).toEqual([
      "Application argocd/root: health Degraded — health: Caused by argoproj.io/ApplicationSet:argocd/hello-environments",
      `ApplicationSet argocd/hello-environments: ErrorOccurred (ApplicationGenerationFromParamsError) (still within the failure grace when the wait ended) — ErrorOccurred: ${message}`,
    ]);
    expect(report.apps.find((a) => a.kind === "ApplicationSet")).toMatchObject({ converged: false, failure: "ErrorOccurred (ApplicationGenerationFromParamsError) (still within the failure grace when the wait ended)" });
    expect(fs.readFileSync(path.join(reportDir, "junit.xml"), "utf8")).toMatch(/name="ApplicationSet\/argocd\/hello-environments"[^>]*>\s*<failure message="ErrorOccurred \(ApplicationGenerationFromParamsError\) \(still within[^"]*">[^<]*no-such-branch/);
  });

  it("every store and ExternalSecret from Git is asked after convergence; one not synced fails the run with ESO's message, in the report and JUnit", async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "run-eso-"));
    try {
      fs.cpSync(path.join(PROJECT, "examples/gitops-repo"), repo, { recursive: true });
      fs.mkdirSync(path.join(repo, "workloads/eso"));
      fs.writeFileSync(
        path.join(repo, "workloads/eso/db.yaml"),
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: central}\n---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: db, namespace: apps}\nspec: {secretStoreRef: {kind: ClusterSecretStore, name: central}}\n",
      );
      const asked: string[] = [];
      const message = "SecretSyncedError: could not get secret data from provider";
      const c = cluster([THROWAWAY], {
        findExternalSecrets: async (found) => {
          asked.push(...found.stores.map((x) => `${x.kind}/${x.name}`), ...found.externalSecrets.map((x) => `ExternalSecret/${x.namespace}/${x.name}`));
          return [
            { file: "workloads/eso/db.yaml", name: "central", namespace: undefined, found: true, via: "ClusterSecretStore" },
            { file: "workloads/eso/db.yaml", name: "db", namespace: "apps", found: false, via: "ExternalSecret", problem: message },
          ];
        },
      });
      const engine = new RecordingEngine();
      const { report, output } = await drill(c, engine, { repoSource: repo });
      expect(asked).toEqual(["ClusterSecretStore/central", "ExternalSecret/apps/db"]);
      expect(engine.calls).toEqual(["up", "destroy"]);
      expect(report.outcome).toBe("failed");
      expect(report.failures).toEqual([`ExternalSecret apps/db (from workloads/eso/db.yaml) is not synced: ${message}`]);
      expect(output).toContain("Is every store valid and every ExternalSecret synced?");
      expect(fs.readFileSync(path.join(reportDir, "report.md"), "utf8")).toContain(`| apps/db (ExternalSecret) | workloads/eso/db.yaml | ✗ not synced: ${message} |`);
      expect(fs.readFileSync(path.join(reportDir, "junit.xml"), "utf8")).toContain(`ExternalSecret not synced (from workloads/eso/db.yaml): ${message}`);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });

  it("a wait that fails on a store ESO rejected also gives ESO's word for each store and ExternalSecret in the cluster that is not OK", async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "run-eso-"));
    try {
      fs.cpSync(path.join(PROJECT, "examples/gitops-repo"), repo, { recursive: true });
      fs.mkdirSync(path.join(repo, "workloads/eso"));
      fs.writeFileSync(
        path.join(repo, "workloads/eso/db.yaml"),
        "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: central}\n---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: db, namespace: apps}\nspec: {secretStoreRef: {kind: ClusterSecretStore, name: central}}\n",
      );
      const t = Date.now();
      const root: ObjectRecord = {
        key: "Kustomization/flux-system/stores", kind: "Kustomization", namespace: "flux-system", name: "stores", appearedAt: t, problemSince: t, failedAt: t + 1000, failure: "HealthCheckFailed",
        status: { synced: true, healthy: false, summary: "HealthCheckFailed", problem: "HealthCheckFailed", details: [] },
      };
      const failed: WaitResult = { ...converged(), outcome: "failed", allHealthyAt: undefined, objects: [root], summary: { total: 1, converged: 0, synced: 1, healthy: 0, troubled: 1, failed: [root], missing: [], outcome: "failed" } };
      const problem = "InvalidProviderConfig: unable to create client (ESO's last warning InvalidProviderConfig: secrets \"token\" not found)";
      const asked: (number | undefined)[] = [];
      const c = cluster([THROWAWAY], {
        waitForConvergence: async () => failed,
        findExternalSecrets: async (_found, options) => {
          asked.push(options?.pendingMs);
          return [
            { file: "workloads/eso/db.yaml", name: "central", namespace: undefined, found: false, via: "ClusterSecretStore", problem },
            // Not applied yet (its Kustomization waits on the store's): not a cause, left out.
            { file: "workloads/eso/db.yaml", name: "db", namespace: "apps", found: false, via: "ExternalSecret", problem: "not in the cluster" },
          ];
        },
      });
      const { report, output } = await drill(c, new RecordingEngine(), { repoSource: repo });
      expect(asked).toEqual([0]);
      expect(report.outcome).toBe("failed");
      expect(report.failures).toEqual(["Kustomization flux-system/stores: HealthCheckFailed", `ClusterSecretStore */central (from workloads/eso/db.yaml) is not valid: ${problem}`]);
      expect(output).toContain(`ClusterSecretStore */central (from workloads/eso/db.yaml) is not valid: ${problem}`);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });

  it("a 403 while listing Secrets after up still destroys, and the report (all three files) says failed with the message", async () => {
    const engine = new RecordingEngine();
    const forbidden = new ClusterError("not allowed to list secrets in demo-secret (HTTP 403): the kubeconfig's user needs list on secrets in demo-secret");
    const { report, output } = await drill(cluster([THROWAWAY], { findSecrets: async () => Promise.reject(forbidden) }), engine);
    expect(engine.calls).toEqual(["up", "destroy"]);
    expect(report.outcome).toBe("failed");
    expect(report.failures).toEqual([`secrets present: ${forbidden.message}`]);
    expect(phase(report, "secrets present")).toMatchObject({ status: "failed", detail: forbidden.message });
    expect(phase(report, "destroy")).toMatchObject({ status: "ok", detail: "delete 5" });
    expect(written()).toEqual(report);
    expect(fs.readFileSync(path.join(reportDir, "junit.xml"), "utf8")).toContain("not allowed to list secrets in demo-secret");
    expect(fs.readFileSync(path.join(reportDir, "report.md"), "utf8")).toContain("failed");
    // Why, on the terminal too, before the line naming the report.
    expect(output).toMatch(new RegExp(`  ✗ secrets present: not allowed to list secrets in demo-secret \\(HTTP 403\\)[^\\n]*\\n✗ drill failed; report:`));
    for (const text of [output, ...fs.readdirSync(reportDir).map((f) => fs.readFileSync(path.join(reportDir, f), "utf8"))]) expect(text).not.toContain(DEMO_KEY);
  });

  it("anything thrown during the wait (not a cluster error) is a failed wait, and the drill still destroys", async () => {
    const engine = new RecordingEngine();
    const { report } = await drill(cluster([THROWAWAY], { waitForConvergence: async () => Promise.reject(new TypeError("cannot read properties of undefined (reading 'status')")) }), engine);
    expect(engine.calls).toEqual(["up", "destroy"]);
    expect(report.outcome).toBe("failed");
    expect(report.phases.map((p) => [p.name, p.status])).toEqual([
      ["guard", "ok"], ["check", "ok"], ["up", "ok"], ["reconciler ready", "failed"], ["root synced", "failed"], ["all healthy", "failed"], ["destroy", "ok"],
    ]);
    expect(report.failures).toEqual(["reconciler ready: cannot read properties of undefined (reading 'status')"]);
  });

  it("a failed destroy after a failure keeps both in the report", async () => {
    const engine = new RecordingEngine();
    engine.destroy = async () => {
      engine.calls.push("destroy");
      throw new Error("error: timed out waiting for the namespace argocd to be deleted");
    };
    const { report } = await drill(cluster([THROWAWAY], { findSecrets: async () => Promise.reject(new ClusterError("timed out")) }), engine);
    expect(report.outcome).toBe("failed");
    expect(report.failures).toEqual(["secrets present: timed out", "destroy: timed out waiting for the namespace argocd to be deleted"]);
  });

  it("an error before anything is deployed (the guard cannot list) writes a failed report and destroys nothing", async () => {
    const engine = new RecordingEngine();
    const { report } = await drill(cluster([THROWAWAY], { guardFacts: async () => Promise.reject(new ClusterError("not allowed to list pods in kube-system (HTTP 403)")) }), engine);
    expect(engine.calls).toEqual([]);
    expect(report.outcome).toBe("failed");
    expect(report.phases).toEqual([expect.objectContaining({ name: "guard", status: "failed", detail: "not allowed to list pods in kube-system (HTTP 403)" })]);
    expect(written().outcome).toBe("failed");
  });

  it("restore never destroys, even after an error", async () => {
    const engine = new RecordingEngine();
    const { report } = await drill(cluster([THROWAWAY], { findSecrets: async () => Promise.reject(new ClusterError("timed out")) }), engine, { command: "restore", guard: undefined });
    expect(engine.calls).toEqual(["up"]);
    expect(report.outcome).toBe("failed");
  });
});

describe("the same cluster before up and before destroy", () => {
  it("another cluster answering before up: nothing is deployed or destroyed, and the failure says what changed", async () => {
    const engine = new RecordingEngine();
    const { report } = await drill(cluster([THROWAWAY, OTHER]), engine);
    expect(engine.calls).toEqual([]);
    expect(report.outcome).toBe("failed");
    expect(report.failures).toEqual([
      "up: not run: the cluster is not the one checked at the start: the kube-system namespace has the UID uid-of-another-cluster, not uid-of-the-throwaway (another cluster answers at https://127.0.0.1:6443); nothing was deployed",
    ]);
  });

  it("another cluster answering before destroy: the destroy does not run and the report says where the deployment still is", async () => {
    const engine = new RecordingEngine();
    const { report } = await drill(cluster([THROWAWAY, THROWAWAY, OTHER]), engine);
    expect(engine.calls).toEqual(["up"]);
    expect(report.outcome).toBe("failed");
    expect(phase(report, "destroy")?.status).toBe("failed");
    expect(report.failures[0]).toMatch(/^destroy: not run: the cluster is not the one the drill deployed to: the kube-system namespace has the UID uid-of-another-cluster.*; nothing was deleted, and what the drill deployed is still on context kind-drill, server https:\/\/127\.0\.0\.1:6443, kube-system uid-of-the-throwaway$/);
  });

  it("a passing error reading the identity before destroy is retried; one that lasts stops the destroy", async () => {
    let reads = 0;
    const flaky = async (): Promise<ClusterIdentity> => {
      reads++;
      if (reads === 3) throw new ClusterError("timed out");
      return THROWAWAY;
    };
    const engine = new RecordingEngine();
    expect((await drill(cluster([], { identity: flaky }), engine)).report.outcome).toBe("recovered");
    expect(engine.calls).toEqual(["up", "destroy"]);

    const down = new RecordingEngine();
    let n = 0;
    const gone = async (): Promise<ClusterIdentity> => {
      if (++n > 2) throw new ClusterError("cannot reach the API server https://127.0.0.1:6443 (ECONNREFUSED)");
      return THROWAWAY;
    };
    const { report } = await drill(cluster([], { identity: gone }), down);
    expect(down.calls).toEqual(["up"]);
    expect(report.failures).toEqual(["destroy: cannot reach the API server https://127.0.0.1:6443 (ECONNREFUSED)"]);
  });
});

describe("the guard in the run", () => {
  it("refuses a Deployment in default, naming it, and deploys nothing", async () => {
    const engine = new RecordingEngine();
    const facts: GuardFacts = { ...fresh, workloads: [{ kind: "Deployment", namespace: "default", name: "payments-api", ownerKinds: [], annotations: {} }] };
    const { report } = await drill(cluster([THROWAWAY], { guardFacts: async () => facts }), engine);
    expect(engine.calls).toEqual([]);
    expect(report.outcome).toBe("refused");
    expect(report.failures).toEqual(["guard: the cluster runs workloads no fresh cluster of a known distribution (kind, k3s, minikube, EKS, GKE, AKS) runs: Deployment default/payments-api"]);
  });

  it("--force runs anyway, and the report says what was forced past", async () => {
    const engine = new RecordingEngine();
    const facts: GuardFacts = { ...fresh, persistentVolumeClaims: ["default/data-postgres-0"] };
    const { report } = await drill(cluster([THROWAWAY], { guardFacts: async () => facts }), engine, { guard: { force: true, otherStacks: [] } });
    expect(engine.calls).toEqual(["up", "destroy"]);
    expect(phase(report, "guard")).toMatchObject({ status: "ok", detail: "forced past: the cluster holds data: PersistentVolumeClaims default/data-postgres-0" });
    expect(report.notes).toContain("guard: --force: ran although the cluster holds data: PersistentVolumeClaims default/data-postgres-0");
  });
});
