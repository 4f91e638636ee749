/**
 * The watcher under measurement, in its own process so its memory is its own: waits for every
 * Application to converge and prints, as JSON, when it noticed and its peak RSS.
 */
import { objectKey } from "../../bootstrap/drill/convergence";
import { applicationStatusReader } from "../../bootstrap/drill/status";
import { waitForConvergence } from "../../bootstrap/drill/wait";
import { loadKubeConfig } from "../../bootstrap/cluster/watch";

async function main(): Promise<void> {
  const [kubeconfig, root] = process.argv.slice(2);
  const result = await waitForConvergence({
    kubeconfig: loadKubeConfig(kubeconfig),
    kinds: [{ ref: { apiVersion: "argoproj.io/v1alpha1", kind: "Application", plural: "applications" }, reader: applicationStatusReader }],
    rootKey: objectKey("Application", "argocd", root),
    reconcilerNamespace: "argocd",
    failureGraceMs: 60_000,
    deadline: Date.now() + 10 * 60_000,
    progressIntervalMs: 250,
    onProgress: (line) => process.stdout.write(`progress ${line}\n`),
  });
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`result ${JSON.stringify({ outcome: result.outcome, allHealthyAt: result.allHealthyAt, total: result.summary.total, peakRssMiB, heapMiB: process.memoryUsage().heapUsed / 2 ** 20 })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
