/**
 * `waitForConvergence`: watches the reconciler's objects (every Argo CD Application in the
 * cluster, including children that appear later) and the reconciler's own workloads until
 * everything is Synced and Healthy, a problem outlasts its grace period, the deadline passes, or
 * the caller aborts. Records when the reconciler became ready, when the root synced and when all
 * was healthy, and per object when it appeared, synced and became healthy.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { type KubeObject, type WatchEventType } from "../cluster/watch";
import { ConvergenceSummary, ConvergenceTracker, type ObjectRecord, type StatusReader } from "./convergence";
import { elapsed } from "../cli-common/progress";
import { workloadReady } from "./status";
import { type ListAndWatch, type ResourceRef, listAndWatch } from "../cluster/watch";

export interface WatchedKind {
  readonly ref: ResourceRef;
  readonly reader: StatusReader;
}

export interface WaitOptions {
  readonly kubeconfig: KubeConfig;
  /** What to watch: Applications for Argo CD. */
  readonly kinds: readonly WatchedKind[];
  /** The root object's key (`Kind/namespace/name`): must exist and converge. */
  readonly rootKey: string;
  /** Where the reconciler's Deployments and StatefulSets run. */
  readonly reconcilerNamespace: string;
  readonly failureGraceMs: number;
  /** Absolute time (ms since the epoch) when waiting ends with `timeout`. */
  readonly deadline: number;
  /** Aborting ends the wait with `interrupted`. */
  readonly signal?: AbortSignal;
  /** Live counts, at most one line per `progressIntervalMs` and on every outcome. */
  readonly onProgress?: (line: string) => void;
  /** Watch connection trouble and recovery. */
  readonly onNotice?: (line: string) => void;
  /** @default 1000 */
  readonly progressIntervalMs?: number;
  /**
   * A live status line (a terminal): called every `statusIntervalMs` and on every change with
   * the counts, the time since `startedAt` and the object waited on longest.
   */
  readonly onStatus?: (line: string) => void;
  /** @default 500 */
  readonly statusIntervalMs?: number;
  /** What the elapsed time counts from. @default when the wait starts */
  readonly startedAt?: number;
  /** What the objects are called in the progress line. @default "apps" */
  readonly noun?: string;
  /** The list-and-watch loop; tests replay recorded event sequences through their own. @default listAndWatch */
  readonly listAndWatch?: ListAndWatch;
}

export type WaitOutcome = "converged" | "failed" | "timeout" | "interrupted";

export interface WaitResult {
  readonly outcome: WaitOutcome;
  readonly endedAt: number;
  readonly reconcilerReadyAt?: number;
  readonly rootSyncedAt?: number;
  readonly allHealthyAt?: number;
  readonly summary: ConvergenceSummary;
  readonly objects: readonly ObjectRecord[];
  /** Workloads of the reconciler not ready at the end (`Deployment/name`). */
  readonly workloadsNotReady: readonly string[];
}

/** The one-line progress: `31/40 apps healthy, 2 degraded`. */
export function progressLine(s: ConvergenceSummary, noun = "apps"): string {
  const parts = [`${s.converged}/${s.total} ${noun} synced and healthy`];
  if (s.troubled > 0) parts.push(`${s.troubled} with problems`);
  if (s.failed.length > 0) parts.push(`${s.failed.length} failed`);
  if (s.missing.length > 0) parts.push(`waiting for ${s.missing.map((k) => k.split("/").pop()).join(", ")}`);
  return parts.join(", ");
}

/** The object not converged yet that appeared first (what the wait is waiting on longest). */
export function slowestPending(objects: readonly ObjectRecord[]): ObjectRecord | undefined {
  let slowest: ObjectRecord | undefined;
  for (const o of objects) {
    if (o.deletedAt !== undefined || o.convergedAt !== undefined || o.failedAt !== undefined) continue;
    if (!slowest || o.appearedAt < slowest.appearedAt) slowest = o;
  }
  return slowest;
}

/** The live line: `31/40 apps synced and healthy · 1m12s · slowest: payments (48s, OutOfSync)`. */
export function statusLine(s: ConvergenceSummary, objects: readonly ObjectRecord[], elapsedMs: number, at: number, noun = "apps"): string {
  const slowest = slowestPending(objects);
  const parts = [progressLine(s, noun), elapsed(elapsedMs)];
  if (slowest) parts.push(`slowest: ${slowest.name} (${elapsed(at - slowest.appearedAt)})`);
  return parts.join(" · ");
}

/** Combines the trackers of several kinds (Flux: Kustomizations and HelmReleases) into one summary. */
export function combineSummaries(summaries: readonly ConvergenceSummary[]): ConvergenceSummary {
  const sum = (f: (s: ConvergenceSummary) => number): number => summaries.reduce((n, s) => n + f(s), 0);
  const failed = summaries.flatMap((s) => s.failed);
  const missing = summaries.flatMap((s) => s.missing);
  const total = sum((s) => s.total);
  const converged = sum((s) => s.converged);
  const outcome = failed.length > 0 ? "failed" : total > 0 && missing.length === 0 && converged === total ? "converged" : undefined;
  return { total, converged, synced: sum((s) => s.synced), healthy: sum((s) => s.healthy), troubled: sum((s) => s.troubled), failed, missing, outcome };
}

export async function waitForConvergence(options: WaitOptions): Promise<WaitResult> {
  const stop = new AbortController();
  const onOuterAbort = (): void => finish("interrupted");
  const trackers = options.kinds.map((k) => ({
    kind: k,
    tracker: new ConvergenceTracker(k.reader, { failureGraceMs: options.failureGraceMs, required: k.reader.kind === options.rootKey.split("/")[0] ? [options.rootKey] : [] }),
  }));
  const workloads = new Map<string, boolean>();
  let reconcilerReadyAt: number | undefined;
  let rootSyncedAt: number | undefined;
  let allHealthyAt: number | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let lastProgress = "";
  let lastProgressAt = 0;
  let settled: ((r: WaitResult) => void) | undefined;
  const result = new Promise<WaitResult>((resolve) => (settled = resolve));
  const startedAt = options.startedAt ?? Date.now();
  const status = (at: number): void => {
    if (!options.onStatus || !settled) return;
    options.onStatus(statusLine(summarize(at), trackers.flatMap((t) => t.tracker.all()), at - startedAt, at, options.noun));
  };
  const statusTicker = options.onStatus ? setInterval(() => status(Date.now()), options.statusIntervalMs ?? 500) : undefined;

  // The root is `required` by the tracker of its kind, so a missing root shows in `missing`.
  const summarize = (at: number): ConvergenceSummary => combineSummaries(trackers.map((t) => t.tracker.evaluate(at)));

  let trailing: NodeJS.Timeout | undefined;
  const progress = (s: ConvergenceSummary, force: boolean): void => {
    const line = progressLine(s, options.noun);
    const now = Date.now();
    const interval = options.progressIntervalMs ?? 1000;
    clearTimeout(trailing);
    trailing = undefined;
    if (line === lastProgress) return;
    if (!force && now - lastProgressAt < interval) {
      // Throttled: show the latest counts at the end of the interval, even if nothing else happens.
      trailing = setTimeout(() => progress(summarize(Date.now()), true), lastProgressAt + interval - now);
      return;
    }
    lastProgress = line;
    lastProgressAt = now;
    options.onProgress?.(line);
  };

  function finish(outcome: WaitOutcome): void {
    if (!settled) return;
    const at = Date.now();
    const summary = summarize(at);
    stop.abort();
    clearTimeout(graceTimer);
    clearTimeout(deadlineTimer);
    clearTimeout(trailing);
    clearInterval(statusTicker);
    options.signal?.removeEventListener("abort", onOuterAbort);
    progress(summary, true);
    const done = settled;
    settled = undefined;
    done({
      outcome,
      endedAt: at,
      reconcilerReadyAt,
      rootSyncedAt,
      allHealthyAt,
      summary,
      objects: trackers.flatMap((t) => t.tracker.all()),
      workloadsNotReady: [...workloads].filter(([, ready]) => !ready).map(([k]) => k),
    });
  }

  const check = (at: number): void => {
    if (!settled) return;
    const s = summarize(at);
    if (reconcilerReadyAt === undefined && workloads.size > 0 && [...workloads.values()].every(Boolean)) reconcilerReadyAt = at;
    const root = trackers.map((t) => t.tracker.get(options.rootKey)).find((r) => r !== undefined);
    if (rootSyncedAt === undefined && root?.syncedAt !== undefined) rootSyncedAt = root.syncedAt;
    progress(s, false);
    status(at);
    if (s.outcome === "converged") {
      allHealthyAt = at;
      finish("converged");
      return;
    }
    if (s.outcome === "failed") {
      finish("failed");
      return;
    }
    clearTimeout(graceTimer);
    const next = trackers.map((t) => t.tracker.nextDeadline()).filter((d): d is number => d !== undefined).sort((a, b) => a - b)[0];
    if (next !== undefined) graceTimer = setTimeout(() => check(Date.now()), Math.max(0, next - Date.now()) + 5);
  };

  const deadlineTimer = setTimeout(() => finish("timeout"), Math.max(0, options.deadline - Date.now()));
  if (options.signal?.aborted) finish("interrupted");
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });

  const watch = options.listAndWatch ?? listAndWatch;
  const watches: Promise<void>[] = [];
  for (const { kind, tracker } of trackers) {
    watches.push(
      watch(
        options.kubeconfig,
        kind.ref,
        {
          onList: (items, at) => {
            tracker.replaceAll(items, at);
            check(at);
          },
          onEvent: (type: WatchEventType, object: KubeObject, at) => {
            tracker.apply(type, object, at);
            check(at);
          },
          onNotice: options.onNotice,
        },
        { signal: stop.signal },
      ),
    );
  }
  for (const [kind, plural] of [["Deployment", "deployments"], ["StatefulSet", "statefulsets"]] as const) {
    const keyOf = (o: KubeObject): string => `${kind}/${o.metadata?.name ?? ""}`;
    watches.push(
      watch(
        options.kubeconfig,
        { apiVersion: "apps/v1", kind, plural, namespace: options.reconcilerNamespace },
        {
          onList: (items, at) => {
            for (const k of [...workloads.keys()]) if (k.startsWith(`${kind}/`)) workloads.delete(k);
            for (const o of items) workloads.set(keyOf(o), workloadReady(kind, o));
            check(at);
          },
          onEvent: (type, object, at) => {
            if (type === "DELETED") workloads.delete(keyOf(object));
            else workloads.set(keyOf(object), workloadReady(kind, object));
            check(at);
          },
          onNotice: options.onNotice,
        },
        { signal: stop.signal },
      ),
    );
  }
  const r = await result;
  await Promise.all(watches);
  return r;
}
