/**
 * Benchmark of the drill's convergence watcher (issue: 2,000 Applications; target: the drill
 * notices the last status change in under 1 s, peak memory under 200 MB). Runs against the
 * sandbox's real API server (test/e2e/sandbox.ts; needs the e2e toolchain): creates 2,000
 * Applications, starts the watcher in its own process, marks 1,999 Synced/Healthy in one
 * server-side apply, then the last one with a single PATCH, and measures from just before that
 * PATCH was sent to the moment the watcher reported convergence (an upper bound of the delay).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { loadKubeConfig } from "../../bootstrap/cluster/watch";
import { startSandbox } from "../e2e/sandbox";

const APPS = Number(process.env.BENCH_APPS ?? 2000);
const name = (i: number): string => `app-${String(i).padStart(4, "0")}`;

function application(i: number, healthy: boolean): Record<string, unknown> {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: { name: name(i), namespace: "argocd" },
    spec: { project: "default", source: { repoURL: "https://git.example.com/org/state.git", path: `apps/${name(i)}`, targetRevision: "main" }, destination: { server: "https://kubernetes.default.svc", namespace: name(i) } },
    ...(healthy ? { status: { sync: { status: "Synced", revision: "abc" }, health: { status: "Healthy" } } } : {}),
  };
}

async function main(): Promise<void> {
  let sandbox;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-bootstrap-bench-watch-"));
  try {
    sandbox = await startSandbox({ dir });
  } catch (e) {
    console.log(`⚠ watcher benchmark skipped: the sandbox cluster cannot start (${(e as Error).message.split("\n")[0]}); build the toolchain with bash test/e2e/toolchain/build.sh`);
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  try {
    sandbox.kubectl(["create", "namespace", "argocd"]);
    const list = (healthy: (i: number) => boolean) => JSON.stringify({ apiVersion: "v1", kind: "List", items: Array.from({ length: APPS }, (_, i) => application(i, healthy(i))) });
    let t = performance.now();
    sandbox.kubectl(["apply", "--server-side", "--field-manager=bench", "-f", "-"], list(() => false));
    console.log(`► ${APPS} Applications created in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "watch-child.ts"), sandbox.kubeconfig, name(APPS - 1)], { stdio: ["ignore", "pipe", "inherit"] });
    let buffered = "";
    const lines: string[] = [];
    const waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];
    child.on("exit", (code) => { if (!lines.some((l) => l.startsWith("result "))) console.log(`✗ the watcher process exited (${code}) early; its last lines: ${lines.slice(-3).join(" | ")}`); });
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        for (const w of waiters.splice(0)) (w.test(line) ? w.resolve(line) : waiters.push(w));
      }
    });
    const waitLine = (test: (l: string) => boolean): Promise<string> => new Promise((resolve) => {
      const seen = lines.find(test);
      if (seen) resolve(seen);
      else waiters.push({ test, resolve });
    });

    await waitLine((l) => l.startsWith(`progress 0/${APPS}`));
    t = performance.now();
    sandbox.kubectl(["apply", "--server-side", "--field-manager=bench", "-f", "-"], list((i) => i < APPS - 1));
    await waitLine((l) => l.startsWith(`progress ${APPS - 1}/${APPS}`));
    const bulkMs = performance.now() - t;
    console.log(`► ${APPS - 1} status changes seen by the watcher ${(bulkMs / 1000).toFixed(1)} s after the bulk apply started`);

    const api = KubernetesObjectApi.makeApiClient(loadKubeConfig(sandbox.kubeconfig));
    const before = Date.now();
    await api.patch(
      { apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name: name(APPS - 1), namespace: "argocd" }, status: { sync: { status: "Synced", revision: "abc" }, health: { status: "Healthy" } } } as never,
      undefined, undefined, "bench", undefined, PatchStrategy.MergePatch,
    );
    const after = Date.now();
    const result = JSON.parse((await waitLine((l) => l.startsWith("result "))).slice("result ".length)) as { outcome: string; allHealthyAt: number; total: number; peakRssMiB: number; heapMiB: number };
    const delay = result.allHealthyAt - before;
    console.log("");
    console.log(`Results for the watcher, ${result.total} Applications (outcome ${result.outcome}):`);
    console.log(`  last status change → noticed: ≤ ${delay} ms (PATCH round trip ${after - before} ms)   ${delay < 1000 ? "✔" : "✗"} target < 1 s`);
    console.log(`  peak RSS of the watcher process: ${result.peakRssMiB.toFixed(0)} MiB (heap at the end ${result.heapMiB.toFixed(0)} MiB)   ${result.peakRssMiB * 1.048576 < 200 ? "✔" : "✗"} target < 200 MB`);
  } finally {
    await sandbox.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
