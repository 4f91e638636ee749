/**
 * A Git source streams its blobs: big files that are not SOPS files (nor configs, SealedSecrets or
 * GitOps manifests) are sniffed as they stream and never held whole, so memory stays far below
 * their size; a big file that is wanted is read again on its own.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Sniffer, readRepository } from "../../../bootstrap/sops/repository";

jest.setTimeout(180_000);

const MiB = 2 ** 20;
const SMALL = "password: ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]\n";
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "repository-memory-"));
  const git = (...args: string[]): void => {
    execFileSync("git", args, { cwd: dir, stdio: "ignore", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com", GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" } });
  };
  git("init", "--quiet", "--initial-branch=main");
  // Three different 50 MiB text files that are none of what the check reads.
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, `big-${i}.log`), Buffer.alloc(50 * MiB, `line ${i} of a large plain log file\n`));
  // A 6 MiB file that only shows it may be a SOPS file at its very end, and a small one.
  fs.writeFileSync(path.join(dir, "late.yaml"), Buffer.concat([Buffer.alloc(6 * MiB, "plain: text\n"), Buffer.from("note: encrypted with sops\n")]));
  fs.writeFileSync(path.join(dir, "small.sops.yaml"), SMALL);
  git("add", "-A");
  git("commit", "--quiet", "-m", "big files");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("150 MiB of big plain blobs are streamed, not held: the Buffers in use stay far below their size", async () => {
  global.gc?.();
  const base = process.memoryUsage();
  let peakBuffers = 0;
  let peakRss = 0;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers - base.arrayBuffers);
    peakRss = Math.max(peakRss, m.rss - base.rss);
  }, 5);
  try {
    const snapshot = await readRepository({ source: dir, revision: "main" });
    expect(snapshot.candidates.map((c) => [c.path, c.content.length])).toEqual([
      ["late.yaml", 6 * MiB + "note: encrypted with sops\n".length],
      ["small.sops.yaml", SMALL.length],
    ]);
    expect(snapshot.fileCount).toBe(5);
  } finally {
    clearInterval(sample);
  }
  // Reading every blob into one buffer (the old way) held over 150 MiB of Buffers at once.
  process.stdout.write(`peak Buffer memory ${(peakBuffers / MiB).toFixed(1)} MiB, peak RSS growth ${(peakRss / MiB).toFixed(1)} MiB\n`);
  expect(peakBuffers).toBeLessThan(48 * MiB);
});

test("the sniffer finds a marker split across chunks, however small, and a NUL only in the first 8000 bytes", () => {
  const sniff = (...chunks: string[]) => {
    const s = new Sniffer();
    for (const c of chunks) s.push(Buffer.from(c));
    return s.result();
  };
  expect(sniff("plain text so", "ps: x").mentionsSops).toBe(true);
  expect(sniff("E", "N", "C", "[AES256_G", "CM,data:").mentionsSops).toBe(true);
  expect(sniff("kind: Sealed", "Secret").mentionsSealedSecret).toBe(true);
  expect(sniff("apiVersion: external-secrets", ".io/v1").mentionsExternalSecrets).toBe(true);
  expect(sniff("kind: Git", "Repo", "sitory").mentionsGitOpsKind).toBe(true);
  expect(sniff("so", "x", "ps")).toEqual({ binary: false, mentionsSops: false, mentionsSealedSecret: false, mentionsExternalSecrets: false, mentionsGitOpsKind: false });
  expect(sniff("a\0b").binary).toBe(true);
  expect(sniff("x".repeat(8000), "\0").binary).toBe(false);
});
