/**
 * Benchmark of `check` on the hostile corpus (test/fixtures/hostile-corpus.ts: alias bombs,
 * catastrophic regexps, 200,000 comments, deep JSON, a 30 MB flow list, ...), as a user runs it,
 * and of the RE2 engine that matches repository patterns. Printed figures, not a timed test.
 *
 *   npm run bench                               (runs this last)
 *   ts-node --transpile-only test/bench/hostile.ts
 *   BENCH_HOSTILE_ROUNDS=5 ...                  (runs of the command; default 3)
 *
 * 1. writes the corpus into a temporary directory, with a fresh age key;
 * 2. runs `node bootstrap/gitops-bootstrap.js check --repo DIR --age-key-file KEY --json` (the
 *    compiled dist/; a run that falls back to ts-node is an error: `npm run build` first) once to
 *    warm the file cache, then N times: median wall time and median peak RSS (test/bench/rss-probe.js),
 *    against the goal of 5 s and 300 MB. Every run must exit 1 (the corpus has failing files)
 *    with a verdict on every file the corpus lists, or the benchmark fails;
 * 3. times matching one key with re2js (Go's RE2 semantics, linear time) against a JavaScript
 *    RegExp, for a usual `encrypted_regex` and for `(a+)+$` on a 41-character key (which the
 *    JavaScript engine takes exponential time for, so it is not run there).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compileGoRegExp } from "../../bootstrap/sops/go";
import { writeHostileCorpus } from "../fixtures/hostile-corpus";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "bootstrap", "gitops-bootstrap.js");
const PROBE = path.join(__dirname, "rss-probe.js");
const FALLBACK_NOTE = "note: running from the TypeScript sources";
const GOAL = { seconds: 5, mb: 300 };

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function rounds(): number {
  const raw = process.env.BENCH_HOSTILE_ROUNDS ?? "3";
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`BENCH_HOSTILE_ROUNDS must be a positive whole number, not ${JSON.stringify(raw)}`);
  return n;
}

function runCheck(repo: string, keyFile: string, rssFile: string): { ms: number; rss: number; stdout: string } {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, "check", "--repo", repo, "--age-key-file", keyFile, "--json"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 2 ** 20,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: `--require ${PROBE}`, BENCH_RSS_FILE: rssFile },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.stderr.includes(FALLBACK_NOTE)) throw new Error("the command ran from the TypeScript sources: run `npm run build` first");
  if (r.status !== 1) throw new Error(`check exited ${r.status} (expected 1: the corpus has failing files): ${r.stderr.slice(0, 500)}`);
  return { ms, rss: Number(fs.readFileSync(rssFile, "utf8")), stdout: r.stdout };
}

/** Nanoseconds per call of `test`, over `n` keys. */
function perKey(test: (key: string) => boolean, keys: readonly string[]): number {
  for (const k of keys.slice(0, 1000)) test(k);
  const started = process.hrtime.bigint();
  let hits = 0;
  for (const k of keys) if (test(k)) hits++;
  const ns = Number(process.hrtime.bigint() - started) / keys.length;
  if (hits < 0) throw new Error("unreachable");
  return ns;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-hostile-"));
  try {
    const corpus = await writeHostileCorpus(dir);
    const rssFile = path.join(dir, "rss");
    const judged = corpus.files.filter((f) => f.kind !== undefined);
    console.log(`► check on the hostile corpus (${corpus.files.length} files, ${(corpus.bytes / 2 ** 20).toFixed(1)} MB; ${os.availableParallelism()} cores; peak RSS by test/bench/rss-probe.js)`);
    runCheck(corpus.repo, corpus.keyFile, rssFile);
    const times: number[] = [];
    const peaks: number[] = [];
    for (let i = 0; i < rounds(); i++) {
      const run = runCheck(corpus.repo, corpus.keyFile, rssFile);
      const report = JSON.parse(run.stdout) as { files: { path: string; kind: string }[] };
      for (const f of judged) {
        const got = report.files.find((r) => r.path === f.path)?.kind;
        if (got !== f.kind) throw new Error(`${JSON.stringify(f.path)} (${f.what}): ${got ?? "no verdict"}, expected ${f.kind}`);
      }
      times.push(run.ms);
      peaks.push(run.rss);
    }
    const seconds = median(times) / 1000;
    const mb = median(peaks) / 2 ** 20;
    const within = seconds < GOAL.seconds && mb < GOAL.mb;
    console.log(`  whole corpus: ${seconds.toFixed(2)} s, peak RSS ${mb.toFixed(0)} MB (median of ${times.length}; goal under ${GOAL.seconds} s and ${GOAL.mb} MB: ${within ? "met" : "NOT met"})`);
    console.log(`  every one of the ${judged.length} files that may be SOPS files got its expected verdict; exit 1 each run`);

    const keys = Array.from({ length: 100_000 }, (_, i) => (i % 10 === 0 ? "stringData" : `key_${i}_${"x".repeat(i % 40)}`));
    const usual = "^(data|stringData)$";
    const re2 = compileGoRegExp(usual);
    const js = new RegExp(usual);
    console.log(`► matching one key (${keys.length.toLocaleString("en")} keys)`);
    console.log(`  ${usual}: re2js ${perKey((k) => re2.test(k), keys).toFixed(0)} ns/key, JavaScript RegExp ${perKey((k) => js.test(k), keys).toFixed(0)} ns/key`);
    const catastrophic = compileGoRegExp("(a+)+$");
    const hostileKeys = Array.from({ length: 10_000 }, () => `${"a".repeat(40)}!`);
    console.log(`  (a+)+$ on a 41-character key: re2js ${perKey((k) => catastrophic.test(k), hostileKeys).toFixed(0)} ns/key (a JavaScript RegExp needs about 2^40 steps)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`✗ ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
