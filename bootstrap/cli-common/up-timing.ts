/**
 * Where the time of one `pulumi up` (or destroy) goes, from the engine events as they arrive:
 * the engine's start (the CLI, the state, the secrets provider) until the program's first
 * resource, the Helm releases (Helm's own install and wait, inside the Kubernetes provider), and
 * the rest (the program, the provider, the other resources, the engine's end). Pure: the caller
 * passes each event with the time it arrived.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";

export interface UpTiming {
  /** From the start of the operation to the first resource the program registered. */
  readonly engineStartMs: number;
  /** Wall time while at least one Helm release was being installed, upgraded or read. */
  readonly helmMs: number;
  /** The whole operation. */
  readonly totalMs: number;
  /** Resource changes by operation (`create: 4`), from the engine's summary event, without `same`; absent without one. */
  readonly changes?: Readonly<Record<string, number>>;
}

const HELM_RELEASE_TYPES = new Set(["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Release"]);

/** Counts of resource operations, without `same` and zeros. */
export function changesOf(summary: Readonly<Record<string, number>> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(summary ?? {}).filter(([op, n]) => op !== "same" && n > 0));
}

/** Total length of the union of [start, end] intervals (overlapping releases count once). */
export function coveredMs(intervals: readonly (readonly [number, number])[]): number {
  const sorted = [...intervals].filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let open: [number, number] | undefined;
  for (const [s, e] of sorted) {
    if (open && s <= open[1]) open[1] = Math.max(open[1], e);
    else {
      if (open) total += open[1] - open[0];
      open = [s, e];
    }
  }
  return total + (open ? open[1] - open[0] : 0);
}

export class UpTimeline {
  private firstResourceAt: number | undefined;
  private readonly helmStarted = new Map<string, number>();
  private readonly helmIntervals: [number, number][] = [];
  private summary: Record<string, number> | undefined;

  constructor(private readonly startedAt: number) {}

  /** One engine event, `at` the time it arrived (ms). */
  add(event: EngineEvent, at: number): void {
    const pre = event.resourcePreEvent?.metadata;
    if (pre) {
      // The stack resource comes first and is the program's own registration too.
      this.firstResourceAt ??= at;
      if (HELM_RELEASE_TYPES.has(pre.type) && pre.op !== "same") this.helmStarted.set(pre.urn, at);
    }
    const done = event.resOutputsEvent?.metadata ?? event.resOpFailedEvent?.metadata;
    if (done) {
      const start = this.helmStarted.get(done.urn);
      if (start !== undefined) {
        this.helmIntervals.push([start, at]);
        this.helmStarted.delete(done.urn);
      }
    }
    if (event.summaryEvent) this.summary = event.summaryEvent.resourceChanges as Record<string, number>;
  }

  /** The figures once the operation returned at `endedAt`; a release still running then counts until the end. */
  finish(endedAt: number): UpTiming {
    const intervals = [...this.helmIntervals, ...[...this.helmStarted.values()].map((s): [number, number] => [s, endedAt])];
    return {
      engineStartMs: Math.max(0, (this.firstResourceAt ?? endedAt) - this.startedAt),
      helmMs: coveredMs(intervals),
      totalMs: Math.max(0, endedAt - this.startedAt),
      ...(this.summary ? { changes: changesOf(this.summary) } : {}),
    };
  }
}
