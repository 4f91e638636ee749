/**
 * Convergence bookkeeping for the drill: which reconciler objects (Argo CD Applications, Flux
 * Kustomizations / HelmReleases) exist, when each appeared, synced and became healthy, and which
 * have failed. Pure logic fed by watch events with their arrival times, so it is tested on
 * recorded event sequences; the watch itself is in `../cluster/watch`.
 */
import type { KubeObject, WatchEventType } from "../cluster/watch";

/** What one object's status says, reduced to what convergence needs. */
export interface ObjectStatus {
  /** Desired state applied (Argo CD `Synced`; Flux: applied at the wanted revision). */
  readonly synced: boolean;
  /** Argo CD `Healthy`; Flux `Ready=True`. */
  readonly healthy: boolean;
  /** Short human status, e.g. `OutOfSync/Progressing`. */
  readonly summary: string;
  /** Set when the status is a failure if it persists (failed sync, Degraded, Stalled...). */
  readonly problem?: string;
  /** Conditions and messages worth showing in a failure report. Never secret values (status text only). */
  readonly details: readonly string[];
}

/** Reads one kind of object's status. */
export interface StatusReader {
  /** `Application`, `Kustomization`, ... */
  readonly kind: string;
  read(object: KubeObject): ObjectStatus;
}

/** Per-object times, in ms since the epoch. */
export interface ObjectRecord {
  readonly key: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  appearedAt: number;
  syncedAt?: number;
  healthyAt?: number;
  /** When it was last both synced and healthy (cleared if it regresses). */
  convergedAt?: number;
  /** Since when the current problem has lasted. */
  problemSince?: number;
  /** Declared failed: the problem lasted the whole grace period. */
  failedAt?: number;
  failure?: string;
  deletedAt?: number;
  status: ObjectStatus;
}

export interface ConvergenceSummary {
  readonly total: number;
  readonly converged: number;
  readonly synced: number;
  readonly healthy: number;
  /** Objects with a problem still inside its grace period. */
  readonly troubled: number;
  readonly failed: readonly ObjectRecord[];
  /** Required objects (the root app) not seen yet. */
  readonly missing: readonly string[];
  /** `converged`: everything Synced and Healthy; `failed`: a problem outlasted the grace period. */
  readonly outcome: "converged" | "failed" | undefined;
}

export interface TrackerOptions {
  /** How long a problem (failed sync, Degraded, Stalled) may last before it is a failure. */
  readonly failureGraceMs: number;
  /** Keys (`Kind/namespace/name`) that must exist before the tree counts as converged: the root. */
  readonly required?: readonly string[];
}

export function objectKey(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind}/${namespace ?? ""}/${name ?? ""}`;
}

export class ConvergenceTracker {
  private readonly records = new Map<string, ObjectRecord>();
  private readonly gone = new Map<string, ObjectRecord>();

  constructor(private readonly reader: StatusReader, private readonly options: TrackerOptions) {}

  /** One watch event, at the time it arrived. */
  apply(type: WatchEventType, object: KubeObject, at: number): void {
    const key = objectKey(this.reader.kind, object.metadata?.namespace, object.metadata?.name);
    if (type === "DELETED") {
      this.forget(key, at);
      return;
    }
    this.upsert(key, object, at);
  }

  /** A full list (after a watch was lost and re-listed): objects not in it were deleted meanwhile. */
  replaceAll(objects: readonly KubeObject[], at: number): void {
    const seen = new Set<string>();
    for (const object of objects) {
      const key = objectKey(this.reader.kind, object.metadata?.namespace, object.metadata?.name);
      seen.add(key);
      this.upsert(key, object, at);
    }
    for (const key of [...this.records.keys()]) if (!seen.has(key)) this.forget(key, at);
  }

  /** Turns problems that outlasted the grace period into failures. Call on events and timers. */
  evaluate(at: number): ConvergenceSummary {
    for (const record of this.records.values()) {
      if (record.failedAt === undefined && record.problemSince !== undefined && at - record.problemSince >= this.options.failureGraceMs) {
        record.failedAt = at;
        record.failure = record.status.problem;
      }
    }
    return this.summary();
  }

  /** When the next problem's grace period ends (for a timer), if any. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const r of this.records.values()) {
      if (r.failedAt !== undefined || r.problemSince === undefined) continue;
      const due = r.problemSince + this.options.failureGraceMs;
      if (next === undefined || due < next) next = due;
    }
    return next;
  }

  summary(): ConvergenceSummary {
    let converged = 0;
    let synced = 0;
    let healthy = 0;
    let troubled = 0;
    const failed: ObjectRecord[] = [];
    for (const r of this.records.values()) {
      if (r.status.synced) synced++;
      if (r.status.healthy) healthy++;
      if (r.convergedAt !== undefined) converged++;
      if (r.failedAt !== undefined) failed.push(r);
      else if (r.problemSince !== undefined) troubled++;
    }
    const missing = (this.options.required ?? []).filter((k) => !this.records.has(k));
    const total = this.records.size;
    const outcome = failed.length > 0 ? "failed" : total > 0 && missing.length === 0 && converged === total ? "converged" : undefined;
    return { total, converged, synced, healthy, troubled, failed, missing, outcome };
  }

  /** Every object seen, current first, then the deleted ones. */
  all(): readonly ObjectRecord[] {
    return [...this.records.values(), ...this.gone.values()];
  }

  get(key: string): ObjectRecord | undefined {
    return this.records.get(key) ?? this.gone.get(key);
  }

  private upsert(key: string, object: KubeObject, at: number): void {
    const status = this.reader.read(object);
    let record = this.records.get(key);
    if (!record) {
      const [kind, namespace, name] = [this.reader.kind, object.metadata?.namespace ?? "", object.metadata?.name ?? ""];
      record = { key, kind, namespace, name, appearedAt: at, status };
      this.records.set(key, record);
      this.gone.delete(key);
    }
    record.status = status;
    record.syncedAt = status.synced ? (record.syncedAt ?? at) : undefined;
    record.healthyAt = status.healthy ? (record.healthyAt ?? at) : undefined;
    record.convergedAt = status.synced && status.healthy ? (record.convergedAt ?? at) : undefined;
    if (status.problem === undefined) {
      record.problemSince = undefined;
    } else if (record.problemSince === undefined) {
      record.problemSince = at;
    }
    if (record.failedAt !== undefined && status.problem === undefined && status.synced && status.healthy) {
      // Recovered after being declared failed (a late retry): no longer a failure.
      record.failedAt = undefined;
      record.failure = undefined;
    }
  }

  private forget(key: string, at: number): void {
    const record = this.records.get(key);
    if (!record) return;
    this.records.delete(key);
    record.deletedAt = at;
    this.gone.set(key, record);
  }
}
