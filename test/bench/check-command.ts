/**
 * Benchmark of the whole `check` command as a user runs it (printed figures, not a timed test),
 * against a shell loop of the real `sops decrypt` over the same files.
 *
 *   npm run bench                        (runs this after test/bench/run.ts)
 *   ts-node --transpile-only test/bench/check-command.ts
 *   BENCH_COMMAND_SIZES=10,100 ...       (repository sizes; default 10,100,1000)
 *   BENCH_KEEP=1 ...                     (keep the generated repositories and key)
 *
 * test/bench/run.ts measures the check in-process; this measures what a user waits for:
 * `node bootstrap/gitops-bootstrap.js check --repo DIR --age-key-file KEY`, the installed bin
 * shim running the compiled dist/ (built first when missing or older than the sources; a run that
 * falls back to ts-node is an error), in a fresh process each time. For each size N:
 *
 * 1. generates a repository of N SOPS files of mixed stores with run.ts's generator (in-process
 *    encryption to a fresh age key), plus ordinary files (kustomization.yaml, .sops.yaml, a
 *    README, a plain ConfigMap and a plain JSON file) that the check must pass over;
 * 2. runs the command once to warm the file cache, then 3 times: median wall time and median peak
 *    RSS (GNU /usr/bin/time, else test/bench/rss-probe.js). Every run must exit 0 and print
 *    `✔ N SOPS files verified`, or the benchmark fails;
 * 3. times `sops decrypt FILE > /dev/null` over the same N files, one process per file,
 *    sequentially, in a bash `while read` loop (every one must exit 0).
 *
 * Needs the sops binary (test/bench/sops-binary.ts findSops); without it, it says how to build it
 * and exits 1.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import { type Generated, generate } from "./run";
import { findSops } from "./sops-binary";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "bootstrap", "gitops-bootstrap.js");
const COMPILED = path.join(ROOT, "dist", "bootstrap", "cli.js");
const PROBE = path.join(__dirname, "rss-probe.js");
const GNU_TIME = "/usr/bin/time";
const ROUNDS = 3;
/** What the bin shim prints on stderr when it runs the sources through ts-node instead of dist/. */
const FALLBACK_NOTE = "note: running from the TypeScript sources";

function sizes(): number[] {
  const raw = process.env.BENCH_COMMAND_SIZES ?? "10,100,1000";
  const out = raw.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (out.length === 0 || out.some((n) => !Number.isSafeInteger(n) || n < 1)) {
    throw new Error(`BENCH_COMMAND_SIZES must be positive whole numbers separated by commas, not ${JSON.stringify(raw)}`);
  }
  return out;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (ms: number): string => (ms / 1000).toFixed(2);
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

// --- dist/ must be current, so the shim runs the compiled command --------------------------

/** Newest .ts under the folders the shim compares dist/ with (same rule as bootstrap/gitops-bootstrap.js). */
function newestSource(): number {
  let newest = 0;
  for (const dir of ["bootstrap", "components"]) {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

function compiledIsCurrent(): boolean {
  try {
    return fs.statSync(COMPILED).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

/** Builds dist/ when it is missing or older than the sources. */
function ensureCompiled(): void {
  if (compiledIsCurrent()) return;
  process.stdout.write(`► dist/ is ${fs.existsSync(COMPILED) ? "older than the sources" : "missing"}: npm run build\n`);
  execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
  if (!compiledIsCurrent()) throw new Error("dist/ is still older than the sources after `npm run build` (are they being edited?)");
}

// --- peak RSS of a child process -------------------------------------------------------------

/** GNU time when it works here (it measures the process as it is), else the preloaded probe. */
function gnuTimeWorks(): boolean {
  const out = path.join(os.tmpdir(), `bench-time-${process.pid}`);
  try {
    const r = spawnSync(GNU_TIME, ["-f", "%M", "-o", out, "true"], { stdio: "ignore" });
    return r.status === 0 && /^\d+$/.test(fs.readFileSync(out, "utf8").trim().split("\n").pop() ?? "");
  } catch {
    return false;
  } finally {
    fs.rmSync(out, { force: true });
  }
}

interface Run {
  readonly ms: number;
  readonly rss: number;
  readonly summary: string;
}

let interrupted = false;

function failIfInterrupted(r: SpawnSyncReturns<unknown>): void {
  if (interrupted || r.signal === "SIGINT") {
    interrupted = true;
    throw new Error("interrupted");
  }
}

/** One fresh `gitops-bootstrap check` of `dir`; fails unless it exits 0 and verified exactly `n` SOPS files. */
function runCommand(dir: string, keyFile: string, n: number, useGnuTime: boolean): Run {
  ensureCompiled();
  const rssFile = path.join(os.tmpdir(), `bench-check-command-rss-${process.pid}`);
  fs.rmSync(rssFile, { force: true });
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.GITOPS_BOOTSTRAP_FROM_SOURCES;
  delete env.CI;
  const command = [process.execPath, BIN, "check", "--repo", dir, "--age-key-file", keyFile];
  let file: string;
  let args: string[];
  if (useGnuTime) {
    [file, args] = [GNU_TIME, ["-f", "%M", "-o", rssFile, ...command]];
  } else {
    [file, args] = [command[0], command.slice(1)];
    env.BENCH_RSS_FILE = rssFile;
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --require ${PROBE}`.trim();
  }
  const started = performance.now();
  const r = spawnSync(file, args, { cwd: ROOT, env, encoding: "utf8", maxBuffer: 256 * 2 ** 20 });
  const ms = performance.now() - started;
  failIfInterrupted(r);
  try {
    const what = `gitops-bootstrap check of ${n} files`;
    const tail = (s: string): string => s.trim().split("\n").slice(-5).join("\n");
    if (r.error) throw new Error(`${what} did not start: ${r.error.message}`);
    if (r.stderr.includes(FALLBACK_NOTE)) throw new Error(`${what} ran from the TypeScript sources, not dist/: ${tail(r.stderr)}`);
    if (r.status !== 0) throw new Error(`${what} exited ${r.status ?? r.signal}:\n${tail(r.stdout)}\n${tail(r.stderr)}`);
    const summary = /^✔ (\d+) SOPS files? verified\b.*$/m.exec(r.stdout);
    if (!summary || Number(summary[1]) !== n) {
      throw new Error(`${what}: the summary does not say ${n} files verified:\n${tail(r.stdout)}\n${tail(r.stderr)}`);
    }
    const kb = useGnuTime ? Number(fs.readFileSync(rssFile, "utf8").trim().split("\n").pop()) : Number(fs.readFileSync(rssFile, "utf8")) / 1024;
    if (!Number.isFinite(kb) || kb <= 0) throw new Error(`${what}: no peak RSS measured`);
    return { ms, rss: kb * 1024, summary: summary[0] };
  } finally {
    fs.rmSync(rssFile, { force: true });
  }
}

// --- the sops loop -----------------------------------------------------------------------------

const LOOP = `while IFS= read -r f; do
  "$0" decrypt "$f" > /dev/null || { printf 'sops decrypt %s failed\\n' "$f" >&2; exit 1; }
done < "$1"`;

/** `sops decrypt` of every file, one process each, in a bash loop; wall time in ms. */
function sopsLoop(sops: string, dir: string, keyFile: string, files: readonly Generated[], listFile: string): number {
  fs.writeFileSync(listFile, files.map((g) => path.join(dir, g.file) + "\n").join(""));
  const env: NodeJS.ProcessEnv = { ...process.env, SOPS_DISABLE_VERSION_CHECK: "1", SOPS_AGE_KEY_FILE: keyFile };
  delete env.SOPS_AGE_KEY;
  const started = performance.now();
  const r = spawnSync("bash", ["-c", LOOP, sops, listFile], { env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  const ms = performance.now() - started;
  failIfInterrupted(r);
  if (r.error) throw new Error(`the sops loop did not start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`the sops loop exited ${r.status ?? r.signal}: ${r.stderr.trim().split("\n").slice(-5).join("\n")}`);
  return ms;
}

// --- the repository ----------------------------------------------------------------------------

/** Ordinary files beside the generated ones (which already include kustomization.yaml and .sops.yaml). */
function writePlainFiles(dir: string): void {
  fs.writeFileSync(path.join(dir, "README.md"), "# bench repository\n\nGenerated by test/bench/check-command.ts.\n");
  fs.mkdirSync(path.join(dir, "base"), { recursive: true });
  fs.writeFileSync(path.join(dir, "base", "configmap.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: info\n");
  fs.writeFileSync(path.join(dir, "base", "settings.json"), JSON.stringify({ replicas: 2, features: ["a", "b"] }, null, 2) + "\n");
}

interface Row {
  readonly files: number;
  readonly commandMs: number;
  readonly commandRss: number;
  readonly loopMs: number;
}

async function main(): Promise<void> {
  const counts = sizes();
  const sops = findSops();
  if (!sops) {
    console.error("✗ no sops binary found: build it with `bash test/e2e/toolchain/build.sh sops` (or set SOPS_BIN to one)");
    process.exitCode = 1;
    return;
  }
  ensureCompiled();
  const useGnuTime = gnuTimeWorks();
  console.log(
    `► check command vs. sops loop (${counts.join(", ")} files; ${os.availableParallelism()} cores; sops ${sops}; peak RSS by ${useGnuTime ? GNU_TIME : "test/bench/rss-probe.js"})`,
  );

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-bootstrap-bench-command-"));
  const onSigint = (): void => {
    interrupted = true;
  };
  process.on("SIGINT", onSigint);
  const rows: Row[] = [];
  try {
    const identity = await age.generateX25519Identity();
    const recipient = await age.identityToRecipient(identity);
    const keyFile = path.join(tmp, "age.txt");
    fs.writeFileSync(keyFile, `# bench key\n${identity}\n`, { mode: 0o600 });

    for (const n of counts) {
      const dir = path.join(tmp, `repo-${n}`);
      fs.mkdirSync(dir);
      let t = performance.now();
      const generated = await generate(dir, recipient, n);
      writePlainFiles(dir);
      if (interrupted) throw new Error("interrupted");
      const stores = [...new Set(generated.map((g) => g.store))].join(", ");
      console.log(`► ${n} files: generated (${stores}) in ${seconds(performance.now() - t)} s`);

      const warm = runCommand(dir, keyFile, n, useGnuTime);
      const runs = Array.from({ length: ROUNDS }, () => runCommand(dir, keyFile, n, useGnuTime));
      const commandMs = median(runs.map((r) => r.ms));
      const commandRss = median(runs.map((r) => r.rss));
      console.log(
        `  command: ${runs.map((r) => seconds(r.ms)).join(" / ")} s, ${runs.map((r) => mb(r.rss)).join(" / ")} MB (warm-up ${seconds(warm.ms)} s); "${runs[0].summary.slice(0, 40)}…"`,
      );

      t = performance.now();
      const loopMs = sopsLoop(sops, dir, keyFile, generated, path.join(tmp, `files-${n}.txt`));
      console.log(`  sops loop: ${seconds(loopMs)} s (${Math.round((loopMs / n) * 10) / 10} ms a file)`);
      rows.push({ files: n, commandMs, commandRss, loopMs });
    }
  } finally {
    process.off("SIGINT", onSigint);
    if (process.env.BENCH_KEEP) console.log(`(kept ${tmp})`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }

  console.log("");
  console.log(`check command (median of ${ROUNDS} fresh runs: wall time, peak RSS) vs. a loop of sops decrypt; ratio = sops loop ÷ command`);
  console.log("| files | command (s, MB) | sops loop (s) | ratio |");
  console.log("| ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    console.log(`| ${r.files.toLocaleString("en-US")} | ${seconds(r.commandMs)} s, ${mb(r.commandRss)} MB | ${seconds(r.loopMs)} s | ${(r.loopMs / r.commandMs).toFixed(1)}× |`);
  }
}

main().catch((err: unknown) => {
  console.error(`✗ ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = interrupted ? 130 : 1;
});
