/**
 * Benchmark of where a drill's recovery time goes (printed figures, not a timed test): this tool's
 * own time (guard, check, the engine's start, the program and provider, the Secret check, what lies
 * between the phases) against the time Helm and the reconciler need (bootstrap/cli-common/time-split.ts,
 * as the drill writes it to report.json). Goal: the own share under 20% of the recovery time.
 *
 * Each round is one `gitops-bootstrap drill` as users run it (the scratch project's CLI in its own
 * process, real Pulumi engine and Kubernetes provider, real Helm) on an empty sandbox cluster,
 * recovering from a real Git server over HTTPS, with the reconciler's real controllers run as its
 * chart's pods; the drill tears down after itself, and what Argo CD created outside its own objects
 * (namespaces) is deleted (not timed), so every round starts from an empty cluster. The set-up is
 * drill.test.ts's (test/e2e/drill-scenario.ts).
 *
 *   npm run bench                      (runs this after the up benchmark)
 *   BENCH_DRILL_ROUNDS=5 BENCH_DRILL_RECONCILERS=argocd ts-node --transpile-only test/bench/drill-split.ts
 *                                      (default 3 rounds of Argo CD, then of Flux)
 *
 * Needs the e2e toolchain (bash test/e2e/toolchain/build.sh) and the e2e lock when other e2e runs
 * share the machine: flock /tmp/gitops-e2e.lock npx ts-node --transpile-only test/bench/drill-split.ts
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type RecoveryTimeSplit, ownShare } from "../../bootstrap/cli-common/time-split";
import type { ArgoControllers } from "../e2e/argo-controllers";
import { type GitOpsSide, emptyCluster, readDrillReport, startArgoSide, startDrillProcess, startFluxSide } from "../e2e/drill-scenario";
import type { FluxControllers } from "../e2e/flux-controllers";
import { type TestCluster, cliEnv, openCluster, requireToolchain, scratchProject, tempDir } from "../e2e/harness";

const ROUNDS = Number(process.env.BENCH_DRILL_ROUNDS ?? 3);
const RECONCILERS = (process.env.BENCH_DRILL_RECONCILERS ?? "argocd,flux").split(",").map((r) => r.trim());
const GOAL_SHARE = 0.2;

interface Scenario {
  readonly label: string;
  readonly stack: string;
  /** The reconciler's controllers as its chart's pods, and the Git server they sync from. */
  start(dir: string, cluster: TestCluster, work: string): Promise<GitOpsSide<ArgoControllers | FluxControllers>>;
}

const SCENARIOS: Record<string, Scenario> = {
  argocd: { label: "Argo CD", stack: "sandbox", start: (dir, cluster, work) => startArgoSide({ dir, kubeconfig: cluster.kubeconfig, work }) },
  flux: { label: "Flux", stack: "flux-sandbox", start: (dir, cluster, work) => startFluxSide({ dir, kubeconfig: cluster.kubeconfig, work }) },
};

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const pct = (share: number): string => `${(share * 100).toFixed(0)}%`;
const verdict = (share: number): string => (share < GOAL_SHARE ? "PASS ✔" : "MISS ✗");

/** One line: the recovery time and its split. */
function splitLine(split: RecoveryTimeSplit, share: number, reconciler: string): string {
  return `recovery ${s(split.recoveryMs)}: own ${s(split.ownMs)} (${pct(share)}), Helm ${s(split.helmMs)}, ${reconciler} ${s(split.reconcilerMs)}`;
}

/** ROUNDS drills of one scenario; their splits. Throws, with the drill's output, on a drill that did not recover. */
async function runRounds(scenario: Scenario, dir: string, cluster: TestCluster, work: string): Promise<RecoveryTimeSplit[]> {
  const side = await scenario.start(path.join(dir, scenario.stack), cluster, work);
  const splits: RecoveryTimeSplit[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const reportDir = path.join(dir, `report-${scenario.stack}-${round}`);
      const args = ["--stack", scenario.stack, "--kubeconfig", cluster.kubeconfig, "--report-dir", reportDir, "--timeout", "5m"];
      const drill = startDrillProcess({ cli: path.join(work, "bootstrap", "gitops-bootstrap.js"), env: cliEnv(dir), args, reportDir, logs: () => side.controllers.logTail(20) });
      await drill.exited(0);
      const report = readDrillReport(reportDir);
      if (!report.timeSplit) throw new Error(`the drill's report.json has no timeSplit (outcome ${report.outcome}); its output:\n${drill.stderr()}`);
      const share = ownShare(report.timeSplit);
      // Parts under 0.05 s would print as 0.0 s.
      const parts = report.timeSplit.ownParts.filter((p) => p.ms >= 50).map((p) => `${p.name} ${s(p.ms)}`).join(", ");
      console.log(`  ${scenario.label} round ${round}: ${splitLine(report.timeSplit, share, scenario.label)} ${verdict(share)}; own: ${parts}`);
      splits.push(report.timeSplit);
      await emptyCluster(cluster);
    }
  } finally {
    await side.stop();
  }
  return splits;
}

async function main(): Promise<void> {
  const unknown = RECONCILERS.filter((r) => !SCENARIOS[r]);
  if (unknown.length) throw new Error(`BENCH_DRILL_RECONCILERS: unknown ${unknown.join(", ")}; expected a comma-separated list of argocd, flux`);
  try {
    requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm", "kubectl", "kube-apiserver");
  } catch (e) {
    console.log(`⚠ drill time-split benchmark skipped: ${(e as Error).message}`);
    return;
  }
  const dir = tempDir("bench-drill");
  const cluster = await openCluster(dir);
  try {
    // The scratch project runs the CLI as users do, and holds the stack files the sides point at their Git server.
    const work = scratchProject(dir);
    for (const name of RECONCILERS) {
      const scenario = SCENARIOS[name];
      try {
        const splits = await runRounds(scenario, dir, cluster, work);
        const share = median(splits.map(ownShare));
        const m = (pick: (x: RecoveryTimeSplit) => number): string => s(median(splits.map(pick)));
        console.log(
          `► ${scenario.label} drill on the sandbox, median of ${splits.length}: recovery ${m((x) => x.recoveryMs)}, own ${m((x) => x.ownMs)} (${pct(share)}), ` +
            `Helm ${m((x) => x.helmMs)}, ${scenario.label} ${m((x) => x.reconcilerMs)} (goal: own share under ${pct(GOAL_SHARE)}) ${verdict(share)}`,
        );
      } catch (e) {
        console.log(`✗ ${scenario.label} drill benchmark failed: ${(e as Error).message}`);
        process.exitCode = 1;
        // What a failed drill left would make the next scenario's guard refuse the cluster.
        break;
      }
    }
  } finally {
    await cluster.close();
    if (!process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`✗ drill time-split benchmark failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
