/**
 * `check` against a real Git server over HTTPS whose certificate comes from a private CA (the
 * test's own, test/e2e/git-server.ts): the clone trusts `--ca-file` (or the stack's
 * `repo.caFile` with `--stack`), and without it fails with the TLS error, saying it could not
 * clone. The same clone serves `pulumi up`'s verifyRepoSecrets and `restore`/`drill`. A server
 * that needs basic auth gets the user and token of `--repo https://user:token@…` while no git
 * command line holds them (a `git` first on PATH records every one).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "../../bootstrap/cli";
import { type GitServer, startGitServer } from "./git-server";
import { PROJECT_DIR, scratchProject, tempDir } from "./harness";

jest.setTimeout(120_000);

const KEY_FILE = path.join(PROJECT_DIR, "examples/gitops-repo/demo-age-key.txt");
let dir: string;
let server: GitServer;

beforeAll(async () => {
  dir = tempDir("check-https");
  server = await startGitServer({ dir: path.join(dir, "git"), repos: { state: { dir: PROJECT_DIR, include: ["examples/gitops-repo"] } } });
});

afterAll(async () => {
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], projectDir = PROJECT_DIR): Promise<{ code: number; out: string }> {
  let out = "";
  const io = { stdout: (s: string) => void (out += s), stderr: (s: string) => void (out += s), env: { ...process.env, SOPS_AGE_KEY_FILE: undefined, SOPS_AGE_KEY: undefined }, projectDir };
  return { code: await main(args, io), out };
}

test("with the CA, the https clone is checked: the demo SOPS file verifies", async () => {
  const r = await cli(["check", "--repo", server.url("state"), "--revision", server.branch, "--age-key-file", KEY_FILE, "--ca-file", server.caFile]);
  expect(r.out).toMatch(/✔ examples\/gitops-repo\/workloads\/demo-secret\/demo-credentials\.sops\.yaml/);
  expect(r.code).toBe(0);
});

test("without the CA, the clone fails on the certificate and says it could not clone", async () => {
  const r = await cli(["check", "--repo", server.url("state"), "--revision", server.branch, "--age-key-file", KEY_FILE]);
  expect(r.code).toBe(2);
  expect(r.out).toMatch(/cannot clone https:\/\/127\.0\.0\.1:\d+\/.*(certificate|SSL)/i);
});

test("check --stack takes repo.caFile from the stack", async () => {
  const work = scratchProject(dir);
  fs.writeFileSync(
    path.join(work, "stacks", "Pulumi.https.yaml"),
    [
      "config:",
      "  gitops-bootstrap:environment: https",
      "  gitops-bootstrap:repo:",
      `    url: ${server.url("state")}`,
      `    revision: ${server.branch}`,
      "    path: examples/gitops-repo/apps",
      `    caFile: ${server.caFile}`,
      "  gitops-bootstrap:ageKeyFile: examples/gitops-repo/demo-age-key.txt",
      "",
    ].join("\n"),
  );
  const r = await cli(["check", "--stack", "https"], work);
  expect(r.out).toMatch(/✔ examples\/gitops-repo\/workloads\/demo-secret\/demo-credentials\.sops\.yaml/);
  expect(r.code).toBe(0);
});

test("a server that needs basic auth: check --repo https://user:token@… clones with them, and no git command line holds the token", async () => {
  const auth = { username: "ci-bot", password: "e2e-t0ken-5d1f0c" };
  const guarded = await startGitServer({ dir: path.join(dir, "git-auth"), repos: { state: { dir: PROJECT_DIR, include: ["examples/gitops-repo"] } }, auth });
  const bin = path.join(dir, "bin");
  const argvLog = path.join(dir, "git-argv.log");
  fs.mkdirSync(bin, { recursive: true });
  const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
  fs.writeFileSync(path.join(bin, "git"), `#!/bin/sh\nprintf '%s\\n' "git $*" >> '${argvLog}'\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
  const savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath}`;
  try {
    const withToken = guarded.url("state").replace("https://", `https://${auth.username}:${auth.password}@`);
    const r = await cli(["check", "--repo", withToken, "--revision", guarded.branch, "--age-key-file", KEY_FILE, "--ca-file", guarded.caFile]);
    expect(r.out).toMatch(/✔ examples\/gitops-repo\/workloads\/demo-secret\/demo-credentials\.sops\.yaml/);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain(auth.password);
    const argv = fs.readFileSync(argvLog, "utf8");
    expect(argv).toContain(`git clone --quiet --bare --depth 1 --branch ${guarded.branch} -- ${guarded.url("state")} `);
    expect(argv).not.toContain(auth.password);
    expect(guarded.accessLog().some((l) => / 200 ci-bot$/.test(l))).toBe(true);
    // Without them, the server refuses and the check says it could not clone.
    const refused = await cli(["check", "--repo", guarded.url("state"), "--revision", guarded.branch, "--age-key-file", KEY_FILE, "--ca-file", guarded.caFile]);
    expect(refused.code).toBe(2);
  } finally {
    process.env.PATH = savedPath;
    await guarded.stop();
  }
});
