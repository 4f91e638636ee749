/**
 * Benchmark of the bootstrap's own cost (printed figures, not a timed test): the wall time of
 * `up` of the `sandbox` stack on an empty sandbox cluster, run by the engine `restore` and
 * `drill` use (drill/engine.ts: Automation API, inline program, `--refresh`; real Pulumi engine,
 * real Kubernetes provider, real helm library in the provider, the cached argo-cd chart),
 * against the floor: exactly what `gitops-bootstrap render` shows for that stack, applied by hand
 * in the program's order with the real kubectl (`apply --server-side`) and helm (`upgrade
 * --install --wait`). Goal: up at most 1.2x the floor. Each round also prints where the up's
 * time went (engine start, Helm's install and wait inside the provider, the rest).
 *
 *   npm run bench                      (runs this after the check and watcher benchmarks)
 *   BENCH_UP_ROUNDS=5 ts-node --transpile-only test/bench/up.ts     (default 3 rounds)
 *
 * Rounds alternate floor and up on the same cluster, each followed by its own teardown (not
 * timed), and the medians are compared. Needs the e2e toolchain (bash test/e2e/toolchain/build.sh).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { main as cli } from "../../bootstrap/cli";
import { PulumiEngine } from "../../bootstrap/drill/engine";
import { cliEnv, releaseDeletedApplications, requireToolchain, scratchProject } from "../e2e/harness";
import { type Sandbox, startSandbox } from "../e2e/sandbox";
import { toolchainEnv } from "../e2e/toolchain";

const ROUNDS = Number(process.env.BENCH_UP_ROUNDS ?? 3);
const STACK = "sandbox";

interface Rendered {
  readonly file: string;
  readonly kind: string;
  readonly doc: any;
}

/** What `render` shows for the stack, one file per resource, in the program's creation order. */
async function renderStack(outDir: string, projectDir: string): Promise<Rendered[]> {
  let err = "";
  const code = await cli(["render", "--stack", STACK, "--show-secrets", "--out", outDir], { stdout: () => undefined, stderr: (s) => void (err += s), env: process.env, projectDir });
  if (code !== 0) throw new Error(`render failed: ${err}`);
  // The folder's own marker file (output-files.ts) starts with a dot and is no resource.
  const docs = fs.readdirSync(outDir).filter((f) => !f.startsWith(".")).sort().map((f) => {
    const doc = YAML.parse(fs.readFileSync(path.join(outDir, f), "utf8"));
    return { file: path.join(outDir, f), kind: doc.kind ?? (doc.chart ? "HelmRelease" : ""), doc };
  });
  const rank = (r: Rendered): number => ["Namespace", "Secret", "HelmRelease"].indexOf(r.kind) + 1 || 4;
  return docs.sort((a, b) => rank(a) - rank(b));
}

/** The floor: the rendered objects applied with kubectl and helm, one after the other. */
function applyByHand(sandbox: Sandbox, rendered: readonly Rendered[], workDir: string, projectDir: string): number {
  const env = toolchainEnv({ KUBECONFIG: sandbox.kubeconfig });
  const run = (bin: string, args: string[]) => execFileSync(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const started = performance.now();
  for (const r of rendered) {
    if (r.kind === "HelmRelease") {
      const values = path.join(workDir, "values.yaml");
      fs.writeFileSync(values, YAML.stringify(r.doc.values));
      run("helm", ["upgrade", "--install", r.doc.helmRelease, path.resolve(projectDir, r.doc.chart), "--namespace", r.doc.namespace, "--values", values, "--wait", "--timeout", "600s"]);
    } else {
      run("kubectl", ["apply", "--server-side", "-f", r.file]);
    }
  }
  return performance.now() - started;
}

function removeByHand(sandbox: Sandbox, rendered: readonly Rendered[]): void {
  const env = toolchainEnv({ KUBECONFIG: sandbox.kubeconfig });
  const release = rendered.find((r) => r.kind === "HelmRelease")!.doc;
  for (const r of rendered.filter((x) => x.kind !== "HelmRelease" && x.kind !== "Namespace" && x.kind !== "Secret")) {
    sandbox.kubectl(["patch", r.kind, r.doc.metadata.name, "-n", r.doc.metadata.namespace, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    sandbox.kubectl(["delete", r.kind, r.doc.metadata.name, "-n", r.doc.metadata.namespace, "--wait=true"]);
  }
  execFileSync("helm", ["uninstall", release.helmRelease, "--namespace", release.namespace, "--wait"], { env, stdio: "ignore" });
  sandbox.kubectl(["delete", "namespace", release.namespace, "--wait=true", "--timeout=180s"]);
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  try {
    requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm", "kubectl", "kube-apiserver");
  } catch (e) {
    console.log(`⚠ up benchmark skipped: ${(e as Error).message}`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-bootstrap-bench-up-"));
  const sandbox = await startSandbox({ dir: path.join(dir, "cluster") });
  try {
    // The scratch project holds the cached charts where the stack file points (charts.ts).
    const workDir = scratchProject(dir);
    fs.mkdirSync(path.join(dir, "render"));
    const rendered = await renderStack(path.join(dir, "render"), workDir);
    // The engine runs the toolchain's Pulumi CLI with the e2e's state folder and passphrase.
    Object.assign(process.env, cliEnv(dir));
    const engine = await PulumiEngine.open({ projectDir: workDir, stack: STACK, env: process.env, backend: { url: process.env.PULUMI_BACKEND_URL!, source: "PULUMI_BACKEND_URL" } });
    engine.useCluster({ kubeconfigFile: sandbox.kubeconfig, kubeconfig: fs.readFileSync(sandbox.kubeconfig, "utf8"), context: "sandbox" });
    const floor: number[] = [];
    const up: number[] = [];
    const quiet = (): void => undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      const f = applyByHand(sandbox, rendered, dir, workDir);
      floor.push(f);
      removeByHand(sandbox, rendered);

      const started = performance.now();
      const result = await engine.up(quiet, new AbortController().signal);
      const u = performance.now() - started;
      up.push(u);
      const t = result.timing!;
      // No Argo CD controller runs here to release the root Application's finalizer at destroy.
      const release = releaseDeletedApplications({ kubeconfig: sandbox.kubeconfig, kubectl: (a, i) => sandbox.kubectl(a, i), wipe: async () => undefined, close: async () => undefined }, "argocd");
      try {
        await engine.destroy(quiet);
      } finally {
        release();
      }
      const where = `engine start ${s(t.engineStartMs)}, Helm ${s(t.helmMs)}, the rest ${s(t.totalMs - t.engineStartMs - t.helmMs)}`;
      console.log(`  round ${round}: floor (helm + kubectl apply of ${rendered.length} rendered resources) ${s(f)}, up (${result.changes.create ?? 0} creates) ${s(u)}: ${where}`);
    }
    const ratio = median(up) / median(floor);
    console.log(`► up on an empty sandbox: median ${s(median(up))} against the floor's ${s(median(floor))}: ${ratio.toFixed(2)}x (goal: at most 1.2x) ${ratio <= 1.2 ? "✔" : "✗"}`);
  } finally {
    await sandbox.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`✗ up benchmark failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
