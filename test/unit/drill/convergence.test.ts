import { type KubeObject, type WatchEventType } from "../../../bootstrap/cluster/watch";
import { ConvergenceTracker, objectKey } from "../../../bootstrap/drill/convergence";
import { applicationStatusReader, workloadReady } from "../../../bootstrap/drill/status";

/** An Application as the Argo CD controller writes it. */
function app(name: string, sync: string, health: string, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name, namespace: "argocd" }, status: { sync: { status: sync }, health: { status: health }, ...extra } };
}

type Recorded = readonly [at: number, type: WatchEventType, object: KubeObject];

function replay(tracker: ConvergenceTracker, events: readonly Recorded[]) {
  let last = tracker.summary();
  for (const [at, type, object] of events) {
    tracker.apply(type, object, at);
    last = tracker.evaluate(at);
  }
  return last;
}

const ROOT = objectKey("Application", "argocd", "root");
const tracker = (graceMs = 30_000) => new ConvergenceTracker(applicationStatusReader, { failureGraceMs: graceMs, required: [ROOT] });

describe("ConvergenceTracker on recorded Argo CD event sequences", () => {
  it("waits for children that appear after the root synced, and records when each appeared, synced and became healthy", () => {
    const t = tracker();
    const s1 = replay(t, [
      [1000, "ADDED", app("root", "OutOfSync", "Missing")],
      [1500, "MODIFIED", app("root", "Synced", "Progressing")],
    ]);
    expect(s1.outcome).toBeUndefined();
    const s2 = replay(t, [
      [1600, "ADDED", app("hello", "OutOfSync", "Missing")],
      [1700, "ADDED", app("demo-secret", "OutOfSync", "Missing")],
      [2000, "MODIFIED", app("hello", "Synced", "Healthy")],
      [2100, "MODIFIED", app("root", "Synced", "Healthy")],
    ]);
    // demo-secret is still not synced: the root alone being Healthy is not convergence.
    expect(s2).toMatchObject({ outcome: undefined, total: 3, converged: 2 });
    const s3 = replay(t, [
      [2400, "MODIFIED", app("demo-secret", "Synced", "Progressing")],
      [3000, "MODIFIED", app("demo-secret", "Synced", "Healthy")],
    ]);
    expect(s3).toMatchObject({ outcome: "converged", total: 3, converged: 3, failed: [] });
    expect(t.get(objectKey("Application", "argocd", "demo-secret"))).toMatchObject({ appearedAt: 1700, syncedAt: 2400, healthyAt: 3000, convergedAt: 3000 });
    expect(t.get(ROOT)).toMatchObject({ appearedAt: 1000, syncedAt: 1500, healthyAt: 2100 });
  });

  it("is not converged before the root exists, even if every app seen is healthy", () => {
    const t = tracker();
    expect(replay(t, [[100, "ADDED", app("hello", "Synced", "Healthy")]])).toMatchObject({ outcome: undefined, missing: [ROOT] });
  });

  it("does not count a sync that fails and then succeeds on retry within the grace period as a failure", () => {
    const t = tracker(10_000);
    const failed = { operationState: { phase: "Failed", message: "one or more objects failed to apply" } };
    const s = replay(t, [
      [0, "ADDED", app("root", "OutOfSync", "Missing", failed)],
      [4_000, "MODIFIED", app("root", "OutOfSync", "Missing", { operationState: { phase: "Running", message: "Retrying attempt #1" } })],
      [6_000, "MODIFIED", app("root", "OutOfSync", "Missing", failed)],
      [15_000, "MODIFIED", app("root", "Synced", "Healthy", { operationState: { phase: "Succeeded" } })],
    ]);
    expect(s).toMatchObject({ outcome: "converged", failed: [] });
  });

  it("a sync Argo CD keeps retrying (phase Running, retryCount > 0) is a failure once it outlasts the grace period", () => {
    const t = tracker(10_000);
    // As Argo CD 3.6 writes it between attempts (controller/appcontroller.go).
    const retrying = (n: number) => ({
      operationState: { phase: "Running", retryCount: n, message: `one or more objects failed to apply, reason: Deployment.apps "hello" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0. Retrying attempt #${n} at 2026-11-29T22:30:0${n}Z.` },
    });
    replay(t, [
      [0, "ADDED", app("root", "OutOfSync", "Missing", { operationState: { phase: "Running", message: "one or more tasks are running" } })],
      [1_000, "MODIFIED", app("root", "OutOfSync", "Missing", retrying(1))],
      [6_000, "MODIFIED", app("root", "OutOfSync", "Missing", retrying(2))],
    ]);
    expect(t.evaluate(10_999).outcome).toBeUndefined();
    const s = t.evaluate(11_000);
    expect(s.outcome).toBe("failed");
    expect(s.failed[0]).toMatchObject({ name: "root", failure: "sync failing (retrying)" });
    expect(s.failed[0].status.details[0]).toMatch(/^operation Running, retry 2: one or more objects failed to apply, reason: Deployment\.apps "hello" is invalid/);
  });

  it("a first attempt still running (no retry yet) is not a problem", () => {
    const t = tracker(1_000);
    replay(t, [[0, "ADDED", app("root", "OutOfSync", "Missing", { operationState: { phase: "Running", message: "one or more tasks are running" } })]]);
    expect(t.evaluate(5_000)).toMatchObject({ outcome: undefined, failed: [] });
  });

  it("declares a failed sync that persists past the grace period a failure, with the operation message", () => {
    const t = tracker(10_000);
    replay(t, [[0, "ADDED", app("root", "OutOfSync", "Missing", { operationState: { phase: "Failed", message: "ComparisonError: rpc error:\n  manifest generation failed" } })]]);
    expect(t.evaluate(9_999).outcome).toBeUndefined();
    expect(t.nextDeadline()).toBe(10_000);
    const s = t.evaluate(10_000);
    expect(s.outcome).toBe("failed");
    expect(s.failed[0]).toMatchObject({ name: "root", failure: "sync failed", failedAt: 10_000 });
    expect(s.failed[0].status.details).toEqual(["operation Failed: ComparisonError: rpc error: manifest generation failed"]);
  });

  it("reports persistent Degraded health with the degraded resources and conditions", () => {
    const t = tracker(1000);
    replay(t, [
      [0, "ADDED", app("root", "Synced", "Healthy")],
      [0, "ADDED", app("hello", "Synced", "Degraded", {
        resources: [{ kind: "Deployment", namespace: "hello", name: "hello", health: { status: "Degraded", message: "Deployment exceeded its progress deadline" } }],
        conditions: [{ type: "SyncError", message: "Failed sync attempt" }, { type: "OrphanedResourceWarning", message: "ignored" }],
      })],
    ]);
    const s = t.evaluate(1000);
    expect(s.outcome).toBe("failed");
    expect(s.failed.map((r) => r.name)).toEqual(["hello"]);
    expect(s.failed[0].failure).toBe("health Degraded, SyncError");
    expect(s.failed[0].status.details).toEqual(["Deployment/hello/hello Degraded: Deployment exceeded its progress deadline", "SyncError: Failed sync attempt"]);
  });

  it("restarts the grace period when a problem clears and comes back", () => {
    const t = tracker(1000);
    replay(t, [
      [0, "ADDED", app("root", "Synced", "Degraded")],
      [900, "MODIFIED", app("root", "Synced", "Progressing")],
      [1200, "MODIFIED", app("root", "Synced", "Degraded")],
    ]);
    expect(t.evaluate(2100).outcome).toBeUndefined();
    expect(t.evaluate(2200).outcome).toBe("failed");
  });

  it("after a watch expired, a re-list replaces the known objects: apps deleted meanwhile are gone, times are kept", () => {
    const t = tracker();
    replay(t, [
      [0, "ADDED", app("root", "Synced", "Progressing")],
      [10, "ADDED", app("old", "OutOfSync", "Missing")],
      [20, "ADDED", app("hello", "Synced", "Progressing")],
    ]);
    // 410 Gone; the list shows "old" was deleted and "hello" became healthy while unwatched.
    t.replaceAll([app("root", "Synced", "Healthy"), app("hello", "Synced", "Healthy")], 5000);
    const s = t.evaluate(5000);
    expect(s).toMatchObject({ outcome: "converged", total: 2 });
    expect(t.get(objectKey("Application", "argocd", "old"))).toMatchObject({ deletedAt: 5000 });
    expect(t.get(objectKey("Application", "argocd", "hello"))).toMatchObject({ appearedAt: 20, syncedAt: 20, healthyAt: 5000 });
  });

  it("forgets a deleted app, and a regression clears the converged time", () => {
    const t = tracker();
    replay(t, [
      [0, "ADDED", app("root", "Synced", "Healthy")],
      [1, "ADDED", app("x", "Synced", "Healthy")],
      [2, "MODIFIED", app("x", "OutOfSync", "Healthy")],
    ]);
    expect(t.get(objectKey("Application", "argocd", "x"))?.convergedAt).toBeUndefined();
    expect(t.summary().outcome).toBeUndefined();
    t.apply("DELETED", app("x", "OutOfSync", "Healthy"), 3);
    expect(t.evaluate(3)).toMatchObject({ outcome: "converged", total: 1 });
  });
});

describe("workloadReady", () => {
  it("needs the available (Deployment) or ready (StatefulSet) replicas of the current generation", () => {
    const d = (spec: number, available: number, gen = 1, observed = 1): KubeObject => ({ metadata: { generation: gen } as never, spec: { replicas: spec }, status: { availableReplicas: available, readyReplicas: available, observedGeneration: observed } });
    expect(workloadReady("Deployment", d(2, 2))).toBe(true);
    expect(workloadReady("Deployment", d(2, 1))).toBe(false);
    expect(workloadReady("Deployment", d(1, 1, 2, 1))).toBe(false);
    expect(workloadReady("StatefulSet", { spec: { replicas: 1 }, status: { readyReplicas: 0 } })).toBe(false);
    expect(workloadReady("StatefulSet", { spec: { replicas: 1 }, status: { readyReplicas: 1 } })).toBe(true);
  });
});
