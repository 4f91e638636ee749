/**
 * Start-up benchmark of the command line (printed figures, not a timed test): each command runs
 * as a user runs it, `node bootstrap/gitops-bootstrap.js ...` in a fresh process, first from the
 * compiled dist/ (what `npm install` builds) and then from the TypeScript sources through ts-node
 * (how every command ran before dist/ existed). Prints the median wall time and peak RSS of each.
 *
 *   npm run bench                                   (runs this first)
 *   BENCH_STARTUP_ROUNDS=9 ts-node --transpile-only test/bench/startup.ts   (default 5 rounds)
 *
 * Targets on this machine (2 cores): --help under 150 ms, check of examples/gitops-repo under
 * 0.5 s, render --stack demo under 2 s.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 5);
const BIN = path.join(ROOT, "bootstrap", "gitops-bootstrap.js");
const PROBE = path.join(__dirname, "rss-probe.js");

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly targetMs: number;
}

const CASES: readonly Case[] = [
  { name: "--help", args: ["--help"], targetMs: 150 },
  { name: "check examples/gitops-repo", args: ["check", "--repo", "examples/gitops-repo", "--age-key-file", "examples/gitops-repo/demo-age-key.txt"], targetMs: 500 },
  { name: "render --stack demo", args: ["render", "--stack", "demo"], targetMs: 2000 },
];

interface Figures {
  readonly ms: number;
  readonly rss: number;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function runOnce(args: readonly string[], fromSources: boolean): Figures {
  const rssFile = path.join(os.tmpdir(), `bench-rss-${process.pid}`);
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--require ${PROBE}`, ...(fromSources ? { GITOPS_BOOTSTRAP_FROM_SOURCES: "1" } : {}) };
  delete env.CI;
  const started = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env, encoding: "utf8" });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`gitops-bootstrap ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const rss = Number(fs.readFileSync(rssFile, "utf8"));
  fs.rmSync(rssFile, { force: true });
  return { ms, rss };
}

function measure(c: Case, fromSources: boolean): Figures {
  runOnce(c.args, fromSources); // warm the file cache
  const runs = Array.from({ length: ROUNDS }, () => runOnce(c.args, fromSources));
  return { ms: median(runs.map((r) => r.ms)), rss: median(runs.map((r) => r.rss)) };
}

function main(): void {
  process.stdout.write("► building dist/ (npm run build)\n");
  execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
  process.stdout.write(`► command start-up, median of ${ROUNDS} fresh processes (${os.cpus().length} cores)\n`);
  let missed = 0;
  for (const c of CASES) {
    const before = measure(c, true);
    const after = measure(c, false);
    const ok = after.ms < c.targetMs;
    if (!ok) missed++;
    const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`;
    process.stdout.write(
      `${ok ? "✔" : "✗"} ${c.name.padEnd(28)} compiled ${after.ms.toFixed(0).padStart(5)} ms ${mb(after.rss).padStart(7)}` +
        `   from sources (ts-node) ${before.ms.toFixed(0).padStart(5)} ms ${mb(before.rss).padStart(7)}   target < ${c.targetMs} ms\n`,
    );
  }
  process.stdout.write(missed === 0 ? "✔ every start-up target met\n" : `✗ ${missed} start-up target(s) missed\n`);
  launchers();
}

/**
 * `--help` as the README runs it (`npx gitops-bootstrap`, which starts npm first) against the
 * executable itself (what `npm link` / a global install / `node_modules/.bin` run): the price of
 * npx, measured, not guessed.
 */
function launchers(): void {
  const ways: readonly { name: string; cmd: string; args: readonly string[] }[] = [
    { name: "npx gitops-bootstrap --help", cmd: "npx", args: ["--no-install", "gitops-bootstrap", "--help"] },
    { name: "./bootstrap/gitops-bootstrap.js --help", cmd: BIN, args: ["--help"] },
  ];
  process.stdout.write(`► how it is started: --help, median of ${ROUNDS} fresh processes\n`);
  for (const w of ways) {
    const once = (): number => {
      const started = performance.now();
      const r = spawnSync(w.cmd, [...w.args], { cwd: ROOT, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${w.name} exited ${r.status}: ${r.stderr}`);
      return performance.now() - started;
    };
    once();
    const ms = median(Array.from({ length: ROUNDS }, once));
    process.stdout.write(`  ${w.name.padEnd(40)} ${ms.toFixed(0).padStart(5)} ms\n`);
  }
}

main();
