import type { EngineEvent } from "@pulumi/pulumi/automation";
import { type RecoveryTimeSplit, formatSplit, ownShare, splitRecoveryTime } from "../../../bootstrap/cli-common/time-split";
import { UpTimeline, coveredMs } from "../../../bootstrap/cli-common/up-timing";

const urn = (name: string, type: string): string => `urn:pulumi:drill::gitops-bootstrap::${type}::${name}`;
const RELEASE = "kubernetes:helm.sh/v3:Release";
const pre = (name: string, type: string, op = "create") => ({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { op, urn: urn(name, type), type } } }) as unknown as EngineEvent;
const outs = (name: string, type: string, op = "create") => ({ sequence: 0, timestamp: 0, resOutputsEvent: { metadata: { op, urn: urn(name, type), type } } }) as unknown as EngineEvent;
const failed = (name: string, type: string) => ({ sequence: 0, timestamp: 0, resOpFailedEvent: { metadata: { op: "create", urn: urn(name, type), type } } }) as unknown as EngineEvent;
const summary = (changes: Record<string, number>) => ({ sequence: 0, timestamp: 0, summaryEvent: { resourceChanges: changes } }) as unknown as EngineEvent;

describe("coveredMs", () => {
  it("counts overlapping intervals once and separate ones apart", () => {
    expect(coveredMs([[0, 10], [5, 20], [30, 35]])).toBe(25);
    expect(coveredMs([[30, 35], [0, 10]])).toBe(15);
    expect(coveredMs([[0, 10], [2, 3]])).toBe(10);
    expect(coveredMs([])).toBe(0);
    expect(coveredMs([[5, 5], [7, 6]])).toBe(0);
  });
});

describe("UpTimeline", () => {
  it("engine start until the first resource, Helm from each release's start to its outputs, changes from the summary", () => {
    const t = new UpTimeline(1000);
    t.add(pre("stack", "pulumi:pulumi:Stack"), 1600);
    t.add(pre("ns", "kubernetes:core/v1:Namespace"), 1700);
    t.add(outs("ns", "kubernetes:core/v1:Namespace"), 1750);
    t.add(pre("argocd", RELEASE), 1800);
    t.add(outs("argocd", RELEASE), 8800);
    t.add(summary({ create: 4, same: 2, update: 0 }), 9000);
    expect(t.finish(9100)).toEqual({ engineStartMs: 600, helmMs: 7000, totalMs: 8100, changes: { create: 4 } });
  });

  it("two releases at once count once; a failed one until it failed; one still running until the end; an unchanged one not at all", () => {
    const t = new UpTimeline(0);
    t.add(pre("flux", RELEASE), 100);
    t.add(pre("sealed", RELEASE), 200);
    t.add(pre("same", RELEASE, "same"), 250);
    t.add(outs("same", RELEASE, "same"), 5000);
    t.add(outs("flux", RELEASE), 1100);
    t.add(failed("sealed", RELEASE), 1500);
    t.add(pre("late", RELEASE), 2000);
    const timing = t.finish(2500);
    expect(timing.helmMs).toBe(1400 + 500);
    expect(timing.changes).toBeUndefined();
  });
});

describe("splitRecoveryTime", () => {
  const phases = [
    { name: "guard", durationMs: 200 },
    { name: "check", durationMs: 300 },
    { name: "up", durationMs: 9_000 },
    { name: "reconciler ready", durationMs: 1_000 },
    { name: "root synced", durationMs: 2_000 },
    { name: "all healthy", durationMs: 4_000 },
    { name: "secrets present", durationMs: 100 },
  ];
  const up = { engineStartMs: 700, helmMs: 7_000, totalMs: 8_800 };

  it("own time is the recovery time less Helm's and the reconciler's, and its parts add up to it", () => {
    const split = splitRecoveryTime(13_900, phases, up)!;
    expect(split).toMatchObject({ recoveryMs: 13_900, helmMs: 7_000, reconcilerMs: 4_000, ownMs: 2_900 });
    expect(split.ownParts).toEqual([
      { name: "guard", ms: 200 },
      { name: "check", ms: 300 },
      { name: "engine start", ms: 700 },
      { name: "program, provider and other resources", ms: 1_100 },
      { name: "around the engine", ms: 200 },
      { name: "secrets present", ms: 100 },
      { name: "between phases", ms: 300 },
    ]);
    expect(split.ownParts.reduce((n, p) => n + p.ms, 0)).toBe(split.ownMs);
    expect(ownShare(split)).toBeCloseTo(2_900 / 13_900);
  });

  it("nothing without a recovery or without the engine's timing", () => {
    expect(splitRecoveryTime(undefined, phases, up)).toBeUndefined();
    expect(splitRecoveryTime(13_900, phases, undefined)).toBeUndefined();
  });

  it("one line: own time and share, its parts, Helm and the reconciler", () => {
    const split: RecoveryTimeSplit = { recoveryMs: 10_000, ownMs: 1_500, helmMs: 6_000, reconcilerMs: 2_500, ownParts: [{ name: "engine start", ms: 1_500 }] };
    expect(formatSplit(split)).toBe("this tool's own time 1.5 s (15%: engine start 1.5 s); Helm 6.0 s; the reconciler 2.5 s");
  });
});
