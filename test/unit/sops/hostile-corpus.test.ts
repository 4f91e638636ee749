/**
 * `check`, the installed command in its own process, on a repository built to hang, exhaust or
 * crash it (test/fixtures/hostile-corpus.ts): every file gets a verdict, the run ends with 0, 1 or
 * 3 (never 2, "failed unexpectedly") well within the timeout, and nothing printed carries a raw
 * control character.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type HostileCorpus, ESCAPE_NAME, writeHostileCorpus } from "../../fixtures/hostile-corpus";
import { tempDir } from "./helpers";

const ROOT = path.resolve(__dirname, "../../..");
const TIMEOUT_MS = 120_000;
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `gitops-bootstrap check` as a user does, killed if it outlives the test's budget. */
function check(args: readonly string[]): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(ROOT, "bootstrap/gitops-bootstrap.js"), "check", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => void (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => void (stderr += d.toString("utf8")));
  const killer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS - 10_000);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe("check on a hostile repository", () => {
  let tmp: ReturnType<typeof tempDir>;
  let corpus: HostileCorpus;
  beforeAll(async () => {
    tmp = tempDir("hostile-corpus-");
    corpus = await writeHostileCorpus(tmp.dir);
  }, TIMEOUT_MS);
  afterAll(() => tmp.cleanup());

  it(
    "gives every file a verdict and exits 1 (some fail), never 2, without hanging",
    async () => {
      const r = await check(["--repo", corpus.repo, "--age-key-file", corpus.keyFile, "--json"]);
      expect(r.stderr).not.toContain("failed unexpectedly");
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout) as { files: { path: string; kind: string; detail: string }[]; warnings: string[] };
      for (const file of corpus.files) {
        const found = report.files.find((f) => f.path === file.path);
        if (file.kind === undefined) {
          // Not a SOPS file: not judged, so not listed (a listed one would be a wrong verdict).
          expect({ file: file.path, listed: found?.kind }).toEqual({ file: file.path, listed: undefined });
          continue;
        }
        expect({ file: file.path, kind: found?.kind }).toEqual({ file: file.path, kind: file.kind });
        if (file.detail) expect(found?.detail).toMatch(file.detail);
      }
      for (const warning of corpus.warnings) expect(report.warnings).toContainEqual(expect.stringMatching(warning));
      expect(r.stdout).not.toMatch(RAW_CONTROL);
    },
    TIMEOUT_MS,
  );

  it(
    "prints a file name's escape codes escaped, on the failure line of that file",
    async () => {
      const small = path.join(tmp.dir, "small");
      fs.mkdirSync(small);
      for (const file of ["good/secret.sops.yaml", `escape/${ESCAPE_NAME}`]) {
        fs.mkdirSync(path.join(small, path.dirname(file)), { recursive: true });
        fs.copyFileSync(path.join(corpus.repo, file), path.join(small, file));
      }
      const r = await check(["--repo", small, "--age-key-file", corpus.keyFile]);
      expect(r.code).toBe(1);
      expect(r.stdout).not.toMatch(RAW_CONTROL);
      const lines = r.stdout.split("\n");
      expect(lines).toContain("✔ good/secret.sops.yaml  ok");
      expect(lines).toContainEqual(expect.stringMatching(/^✗ escape\/\\x1b\[2K\\x0d\\x1b\[32m✔ looks-fine\\x1b\[0m\\x9b1A\\u202eevil\.sops\.yaml {2}malformed: /));
    },
    TIMEOUT_MS,
  );
});
