/**
 * Benchmark of reading a Git source with big blobs that are not SOPS files (printed figures, not
 * a timed test): a repository with 6 × 200 MiB plain log files and one small SOPS file, read at
 * a revision (from Git objects, as for a URL's clone) in a fresh process, which reports its time
 * and peak RSS. Blobs are streamed and sniffed one at a time, so the peak stays far below the
 * 1.2 GiB of blobs (the reader that loaded every blob into one buffer peaked at about 2.5 GB).
 *
 *   npm run bench                       (runs this too)
 *   ts-node --transpile-only test/bench/git-source.ts
 *   BENCH_GIT_BLOBS=6 BENCH_GIT_BLOB_MIB=200 ...   (how many big blobs, and their size)
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import { readRepository } from "../../bootstrap/sops/repository";
import { writeSopsYaml } from "../../bootstrap/sops/writer";

const MiB = 2 ** 20;

async function child(repo: string): Promise<void> {
  const baselineMB = process.memoryUsage().rss / MiB;
  const started = performance.now();
  const snapshot = await readRepository({ source: repo, revision: "main" });
  const ms = performance.now() - started;
  process.stdout.write(JSON.stringify({ ms, candidates: snapshot.candidates.length, files: snapshot.fileCount, maxRssMB: process.resourceUsage().maxRSS / 1024, baselineMB }) + "\n");
}

async function main(): Promise<void> {
  const blobs = Number(process.env.BENCH_GIT_BLOBS ?? "6");
  const size = Number(process.env.BENCH_GIT_BLOB_MIB ?? "200");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-git-source-"));
  const env = { ...process.env, GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "bench@example.com", GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "bench@example.com", GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };
  try {
    execFileSync("git", ["init", "--quiet", "--initial-branch=main"], { cwd: dir, env });
    const identity = await age.generateX25519Identity();
    fs.writeFileSync(path.join(dir, "secret.sops.yaml"), await writeSopsYaml([{ password: "bench" }], { recipients: [await age.identityToRecipient(identity)] }));
    // One at a time: written, added (compressed fast), removed from the work tree.
    for (let i = 0; i < blobs; i++) {
      const file = path.join(dir, `big-${i}.log`);
      fs.writeFileSync(file, Buffer.alloc(size * MiB, `line ${i} of a large plain log file\n`));
      execFileSync("git", ["-c", "core.compression=1", "add", "--", path.basename(file)], { cwd: dir, env });
      fs.rmSync(file);
    }
    execFileSync("git", ["add", "secret.sops.yaml"], { cwd: dir, env });
    execFileSync("git", ["commit", "--quiet", "-m", "big blobs"], { cwd: dir, env });
    const out = execFileSync(process.execPath, [require.resolve("ts-node/dist/bin"), "--transpile-only", __filename, "--child", dir], { encoding: "utf8" });
    const r = JSON.parse(out.trim().split("\n").pop() as string) as { ms: number; candidates: number; files: number; maxRssMB: number; baselineMB: number };
    console.log(`Git source with ${blobs} × ${size} MiB plain blobs and 1 SOPS file: read in ${(r.ms / 1000).toFixed(1)} s, peak RSS ${r.maxRssMB.toFixed(0)} MB (${r.baselineMB.toFixed(0)} MB before reading), ${r.candidates} candidate(s) of ${r.files} files`);
    if (r.candidates !== 1) throw new Error(`expected 1 candidate, got ${r.candidates}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") void child(process.argv[3]);
else
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
