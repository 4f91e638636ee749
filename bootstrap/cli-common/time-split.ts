/**
 * Where a recovery's time went: this tool's own time (the guard, the check, the engine's start,
 * the program and provider, the Secret check, and what lies between the phases) against the time
 * Helm and the reconciler need (Helm's install and wait inside `up`; the wait for convergence,
 * which runs on watches, so none of it is polling lag). Pure arithmetic on what the run recorded.
 */
import type { UpTiming } from "./up-timing";

/** What the split reads of a phase (report.ts PhaseRecord). */
interface PhaseTime {
  readonly name: string;
  readonly durationMs: number;
}

export interface TimePart {
  readonly name: string;
  readonly ms: number;
}

export interface RecoveryTimeSplit {
  readonly recoveryMs: number;
  /** The recovery time minus Helm's and the reconciler's: what a faster tool could cut. */
  readonly ownMs: number;
  readonly helmMs: number;
  readonly reconcilerMs: number;
  /** The own time, part by part; the parts add up to `ownMs`. */
  readonly ownParts: readonly TimePart[];
}

/** The split of a recovered run, or undefined when the engine reported no timing (or the run did not recover). */
export function splitRecoveryTime(recoveryMs: number | undefined, phases: readonly PhaseTime[], up: UpTiming | undefined): RecoveryTimeSplit | undefined {
  if (recoveryMs === undefined || up === undefined) return undefined;
  const duration = (name: string): number => phases.find((p) => p.name === name)?.durationMs ?? 0;
  const upPhase = duration("up");
  // The three wait milestones start together; the last one is the whole wait.
  const reconcilerMs = duration("all healthy");
  // The engine's figures lie within the up phase (its own clock, read around the engine's run).
  const engineMs = Math.min(up.totalMs, upPhase);
  const helmMs = Math.min(up.helmMs, engineMs);
  const engineStart = Math.min(up.engineStartMs, engineMs - helmMs);
  const parts: TimePart[] = [
    { name: "guard", ms: duration("guard") },
    { name: "check", ms: duration("check") },
    { name: "engine start", ms: engineStart },
    { name: "program, provider and other resources", ms: engineMs - helmMs - engineStart },
    // The identity check before the engine runs.
    { name: "around the engine", ms: upPhase - engineMs },
    { name: "secrets present", ms: duration("secrets present") },
  ];
  const ownMs = Math.max(0, recoveryMs - helmMs - reconcilerMs);
  const listed = parts.reduce((n, p) => n + p.ms, 0);
  parts.push({ name: "between phases", ms: Math.max(0, ownMs - listed) });
  return { recoveryMs, ownMs, helmMs, reconcilerMs, ownParts: parts.filter((p) => p.ms > 0) };
}

/** `12%` of the recovery time. */
export function ownShare(split: RecoveryTimeSplit): number {
  return split.recoveryMs > 0 ? split.ownMs / split.recoveryMs : 0;
}

/** One line for the terminal and the bench. */
export function formatSplit(split: RecoveryTimeSplit): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const parts = split.ownParts.map((p) => `${p.name} ${s(p.ms)}`).join(", ");
  return `this tool's own time ${s(split.ownMs)} (${Math.round(ownShare(split) * 100)}%: ${parts}); Helm ${s(split.helmMs)}; the reconciler ${s(split.reconcilerMs)}`;
}
