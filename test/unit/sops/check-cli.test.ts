/** `gitops-bootstrap check`: output in the flux CLI style, JSON output, exit codes, identities. */
import * as path from "node:path";
import { type CliIo, main } from "../../../bootstrap/cli";
import { FIXTURES, KEYS, fixture, fixtureText, tempDir, writeFiles } from "./helpers";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), env, projectDir: process.cwd() };
  const code = await main(["check", ...argv], io);
  return { code, stdout, stderr };
}

const FLUX = path.join(FIXTURES, "flux");
const AGE_KEY_FILE = path.join(FIXTURES, KEYS.age);

describe("gitops-bootstrap check", () => {
  let good: { dir: string; cleanup: () => void };
  beforeAll(() => {
    good = tempDir();
    writeFiles(good.dir, {
      "apps/secret.yaml": fixture("flux/algorithms/age.yaml"),
      "apps/env.env": fixture("flux/envs/env.env"),
      "apps/cert.txt": fixture("flux/files/file.txt"),
    });
  });
  afterAll(() => good.cleanup());

  it("exits 0 and prints one ✔ line per file and a summary when every file verifies", async () => {
    const r = await run(["--repo", good.dir, "--age-key-file", AGE_KEY_FILE]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      expect.stringMatching(/^SOPS files in .*, checked with 1 age identity \(age1ulaqjxa6…3ufhtw\)$/),
      "✔ apps/cert.txt  ok",
      "✔ apps/env.env  ok",
      "✔ apps/secret.yaml  ok",
      "✔ 3 SOPS files verified: every value decrypts and every MAC matches",
      "",
    ]);
    expect(r.stderr).toBe("");
  });

  it("exits 1 and says why for each failing file, with the .sops.yaml warning", async () => {
    const r = await run(["--repo", FLUX, "--age-key-file", AGE_KEY_FILE]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines).toContain("✔ algorithms/age.yaml  ok");
    expect(lines).toContainEqual(expect.stringMatching(/^✗ algorithms\/age-pq\.yaml {2}wrong key: it is encrypted for age1pq1/));
    expect(lines).toContainEqual(expect.stringMatching(/^✗ algorithms\/pgp\.yaml {2}not age: /));
    expect(lines).toContainEqual(expect.stringMatching(/^⚠ \.sops\.yaml: creation rule 1 \(path_regex pgp\\\.yaml\$\) applies to 1 SOPS file/));
    // Two plaintext Secrets (vault.yaml, inside/secret.yaml) that the `\.yaml$` rule says are encrypted: sops refuses them.
    for (const plain of ["algorithms\\/vault", "inside\\/secret"]) {
      const reason = "malformed: it has no sops metadata, so sops cannot decrypt it, but creation rule 2 of \\.sops\\.yaml covers it and would encrypt values in it";
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^✗ ${plain}\\.yaml {2}${reason}`)));
    }
    expect(lines).toContain("✗ 5 of 12 SOPS files failed (2 wrong key, 1 not age, 2 malformed)");
  });

  it("--json prints one machine-readable document", async () => {
    const r = await run(["--repo", FLUX, "--age-key-file", AGE_KEY_FILE, "--json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ ok: false, recipients: ["age1ulaqjxa694yckl4p8me52t3vnwkag5mrf99n3e9y3kfs97uwryhs3ufhtw"], counts: { ok: 7, "wrong-key": 2, "not-age": 1 } });
    expect(report.files.find((f: { path: string }) => f.path === "algorithms/age-pq.yaml")).toMatchObject({ kind: "wrong-key", format: "yaml" });
    expect(report.warnings).toHaveLength(1);
  });

  it("takes identities from SOPS_AGE_KEY_FILE and SOPS_AGE_KEY when no flag is given", async () => {
    const pqLine = fixtureText(KEYS.agePq).split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-PQ-")) as string;
    const r = await run(["--repo", FLUX, "--json"], { SOPS_AGE_KEY_FILE: AGE_KEY_FILE, SOPS_AGE_KEY: pqLine });
    const report = JSON.parse(r.stdout);
    expect(report.recipients).toHaveLength(2);
    expect(report.counts).toMatchObject({ ok: 8, "wrong-key": 1 });
  });

  it.each([
    [["--repo", FLUX], {}, /no age identity: pass --age-key-file/],
    [["--repo", FLUX, "--age-key-file", "/nonexistent/keys.txt"], {}, /cannot read the age key file \/nonexistent\/keys\.txt/],
    [["--repo", path.join(FLUX, "missing"), "--age-key-file", AGE_KEY_FILE], {}, /no such directory/],
    [["--repo"], {}, /✗ option '--repo <path\|url>' argument missing/],
    [["--stak", "dev"], {}, /✗ unknown option '--stak'\n\(Did you mean --stack\?\)/],
    [["extra"], {}, /✗ too many arguments for 'check'/],
  ] as [string[], NodeJS.ProcessEnv, RegExp][])("exits 2 on a usage or config error: %j", async (argv, env, message) => {
    const r = await run(argv, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  it("exits 2 for --revision on a directory that is not a Git work tree", async () => {
    const r = await run(["--repo", good.dir, "--revision", "HEAD", "--age-key-file", AGE_KEY_FILE]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a Git work tree/);
  });

  it("exits 2 for a key file that holds no age identity, without quoting it", async () => {
    const dir = tempDir();
    try {
      writeFiles(dir.dir, { "keys.txt": "# my key\nnot-a-key-but-maybe-a-password\n" });
      const r = await run(["--repo", good.dir, "--age-key-file", path.join(dir.dir, "keys.txt")]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/line 2 of .*keys\.txt is not an age identity/);
      expect(r.stderr).not.toContain("not-a-key-but-maybe-a-password");
    } finally {
      dir.cleanup();
    }
  });

  it("exits 2 for an empty key file (only comments), by flag or SOPS_AGE_KEY_FILE; not when SOPS_AGE_KEY has the key", async () => {
    const dir = tempDir();
    try {
      const empty = path.join(dir.dir, "empty.txt");
      writeFiles(dir.dir, { "empty.txt": "# created: 2026-11-30\n# public key: age1none\n" });
      const byFlag = await run(["--repo", good.dir, "--age-key-file", empty]);
      expect(byFlag.stderr).toBe(`✗ the key file ${empty} (--age-key-file) has no age identity: expected AGE-SECRET-KEY-1… lines, as age-keygen writes\n`);
      expect(byFlag.code).toBe(2);
      const byEnv = await run(["--repo", good.dir], { SOPS_AGE_KEY_FILE: empty });
      expect(byEnv.stderr).toContain(`the key file ${empty} (SOPS_AGE_KEY_FILE) has no age identity`);
      expect(byEnv.code).toBe(2);
      const withKey = await run(["--repo", good.dir], { SOPS_AGE_KEY_FILE: empty, SOPS_AGE_KEY: fixtureText(KEYS.age) });
      expect(withKey.code).toBe(0);
    } finally {
      dir.cleanup();
    }
  });

  it("--help prints the usage and exits 0", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: gitops-bootstrap check");
  });
});
