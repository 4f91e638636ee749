/**
 * Runs one repository check in a fresh process and prints its figures as JSON, so that the
 * benchmark measures the check's own time and memory, not the generator's.
 * Usage: check-child.ts <repo-dir> <age-key-file> [concurrency]
 */
import * as fs from "node:fs";
import { checkRepository } from "../../bootstrap/sops/check";

async function main(): Promise<void> {
  const [dir, keyFile, concurrency] = process.argv.slice(2);
  let peakRss = 0;
  let peakHeap = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(sample, 5);
  const baseline = process.memoryUsage().rss;
  const started = performance.now();
  const report = await checkRepository({
    source: dir,
    identities: fs.readFileSync(keyFile, "utf8"),
    concurrency: concurrency === undefined ? undefined : Number(concurrency),
  });
  const ms = performance.now() - started;
  clearInterval(timer);
  sample();
  process.stdout.write(
    JSON.stringify({
      ms,
      files: report.files.length,
      ok: report.ok,
      counts: report.counts,
      baselineRssMB: baseline / 2 ** 20,
      peakRssMB: peakRss / 2 ** 20,
      peakHeapMB: peakHeap / 2 ** 20,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
    }) + "\n",
  );
}

void main();
