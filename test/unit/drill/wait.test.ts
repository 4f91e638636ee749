import { KubeConfig } from "@kubernetes/client-node";
import { type KubeObject } from "../../../bootstrap/cluster/watch";
import { objectKey } from "../../../bootstrap/drill/convergence";
import { applicationStatusReader } from "../../../bootstrap/drill/status";
import { type WaitOptions, waitForConvergence } from "../../../bootstrap/drill/wait";
import type { ListAndWatch, ListWatchHandlers, ResourceRef } from "../../../bootstrap/cluster/watch";

/** A stand-in for the list-and-watch loop that hands the test a way to push events for each resource. */
function fakeWatches() {
  const feeds = new Map<string, ListWatchHandlers>();
  const impl: ListAndWatch = (_kc, ref: ResourceRef, handlers, options) =>
    new Promise<void>((resolve) => {
      feeds.set(ref.plural, handlers);
      options.signal.addEventListener("abort", () => resolve(), { once: true });
    });
  return { impl, feed: (plural: string) => feeds.get(plural)! };
}

const app = (name: string, sync: string, health: string): KubeObject => ({ metadata: { name, namespace: "argocd" }, status: { sync: { status: sync }, health: { status: health } } });
const deployment = (name: string, available: number): KubeObject => ({ metadata: { name }, spec: { replicas: 1 }, status: { availableReplicas: available } });

function options(watch: ListAndWatch, extra: Partial<WaitOptions> = {}): WaitOptions {
  return {
    kubeconfig: new KubeConfig(),
    kinds: [{ ref: { apiVersion: "argoproj.io/v1alpha1", kind: "Application", plural: "applications" }, reader: applicationStatusReader }],
    rootKey: objectKey("Application", "argocd", "root"),
    reconcilerNamespace: "argocd",
    failureGraceMs: 60_000,
    deadline: Date.now() + 60_000,
    listAndWatch: watch,
    progressIntervalMs: 0,
    ...extra,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("waitForConvergence with replayed watch events", () => {
  it("converges once the reconciler is ready and every app (also late children) is Synced and Healthy", async () => {
    const w = fakeWatches();
    const lines: string[] = [];
    const waiting = waitForConvergence(options(w.impl, { onProgress: (l) => lines.push(l) }));
    await tick();
    w.feed("deployments").onList([deployment("argocd-repo-server", 0)], 1000);
    w.feed("statefulsets").onList([], 1000);
    w.feed("applications").onList([], 1000);
    w.feed("deployments").onEvent("MODIFIED", deployment("argocd-repo-server", 1), 2000);
    w.feed("applications").onEvent("ADDED", app("root", "Synced", "Progressing"), 3000);
    w.feed("applications").onEvent("ADDED", app("hello", "Synced", "Healthy"), 3500);
    w.feed("applications").onEvent("MODIFIED", app("root", "Synced", "Healthy"), 4000);
    const r = await waiting;
    expect(r).toMatchObject({ outcome: "converged", reconcilerReadyAt: 2000, rootSyncedAt: 3000, allHealthyAt: 4000, workloadsNotReady: [] });
    expect(r.objects.map((o) => o.name).sort()).toEqual(["hello", "root"]);
    expect(lines).toContain("1/2 apps synced and healthy");
    expect(lines[lines.length - 1]).toBe("2/2 apps synced and healthy");
  });

  it("a live status line adds the time waited and the app waited on longest", async () => {
    const w = fakeWatches();
    const live: string[] = [];
    const plain: string[] = [];
    const waiting = waitForConvergence(options(w.impl, { startedAt: 0, statusIntervalMs: 60_000, onStatus: (l) => live.push(l), onProgress: (l) => plain.push(l) }));
    await tick();
    w.feed("deployments").onList([deployment("argocd-repo-server", 1)], 1000);
    w.feed("statefulsets").onList([], 1000);
    w.feed("applications").onList([], 1000);
    w.feed("applications").onEvent("ADDED", app("root", "OutOfSync", "Missing"), 3000);
    w.feed("applications").onEvent("ADDED", app("hello", "Synced", "Healthy"), 3500);
    w.feed("applications").onEvent("ADDED", app("payments", "Synced", "Progressing"), 12_000);
    w.feed("applications").onEvent("MODIFIED", app("root", "Synced", "Healthy"), 75_000);
    w.feed("applications").onEvent("MODIFIED", app("payments", "Synced", "Healthy"), 80_000);
    await waiting;
    expect(live).toContain("1/2 apps synced and healthy · 3.5s · slowest: root (0.5s)");
    expect(live).toContain("2/3 apps synced and healthy · 1m15s · slowest: payments (1m03s)");
    // The plain lines stay counts only.
    expect(plain).toContain("2/3 apps synced and healthy");
  });

  it("ends at the deadline with what did not converge", async () => {
    const w = fakeWatches();
    const waiting = waitForConvergence(options(w.impl, { deadline: Date.now() + 150 }));
    await tick();
    w.feed("applications").onList([app("root", "Synced", "Healthy"), app("stuck", "OutOfSync", "Progressing")], Date.now());
    w.feed("deployments").onList([deployment("argocd-server", 0)], Date.now());
    const r = await waiting;
    expect(r.outcome).toBe("timeout");
    expect(r.summary).toMatchObject({ total: 2, converged: 1 });
    expect(r.objects.find((o) => o.name === "stuck")?.status.summary).toBe("OutOfSync/Progressing");
    expect(r.workloadsNotReady).toEqual(["Deployment/argocd-server"]);
  });

  it("fails when a problem outlasts the grace period, by timer, without another event", async () => {
    const w = fakeWatches();
    const waiting = waitForConvergence(options(w.impl, { failureGraceMs: 100 }));
    await tick();
    w.feed("applications").onList([app("root", "Synced", "Degraded")], Date.now());
    const r = await waiting;
    expect(r.outcome).toBe("failed");
    expect(r.summary.failed.map((f) => f.name)).toEqual(["root"]);
  });

  it("a throttled progress line is still shown at the end of the interval when nothing else happens", async () => {
    const w = fakeWatches();
    const lines: string[] = [];
    const abort = new AbortController();
    const waiting = waitForConvergence(options(w.impl, { progressIntervalMs: 100, onProgress: (l) => lines.push(l), signal: abort.signal }));
    await tick();
    w.feed("applications").onList([], Date.now());
    w.feed("applications").onEvent("ADDED", app("root", "OutOfSync", "Missing"), Date.now());
    expect(lines).toEqual(["0/0 apps synced and healthy, waiting for root"]);
    await new Promise((r) => setTimeout(r, 150));
    expect(lines).toEqual(["0/0 apps synced and healthy, waiting for root", "0/1 apps synced and healthy"]);
    abort.abort();
    await waiting;
  });

  it("stops with `interrupted` when the caller aborts (Ctrl-C)", async () => {
    const w = fakeWatches();
    const abort = new AbortController();
    const waiting = waitForConvergence(options(w.impl, { signal: abort.signal }));
    await tick();
    w.feed("applications").onList([app("root", "OutOfSync", "Missing")], Date.now());
    abort.abort();
    expect((await waiting).outcome).toBe("interrupted");
  });
});
