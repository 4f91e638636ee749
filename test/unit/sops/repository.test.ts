/**
 * The repository walk: a directory on disk, a Git work tree at a revision (from Git objects,
 * not the working tree), a Git URL cloned to a temporary directory that is removed afterwards.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkRepository } from "../../../bootstrap/sops/check";
import { RepositoryError, isGitUrl, readRepository, redactUrl } from "../../../bootstrap/sops/repository";
import { KEYS, fixture, fixtureText, tempDir, writeFiles } from "./helpers";

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" },
  }).trim();
}

function cloneTempDirs(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith("gitops-bootstrap-check-"));
}

const AGE_KEY = fixtureText(KEYS.age);

describe("repository walk", () => {
  let repo: { dir: string; cleanup: () => void };
  let commit: string;

  beforeAll(() => {
    repo = tempDir();
    git(repo.dir, "init", "--quiet", "--initial-branch=main");
    writeFiles(repo.dir, {
      "apps/secret.yaml": fixture("flux/algorithms/age.yaml"),
      "apps/env.env": fixture("flux/envs/env.env"),
      "apps/kustomization.yaml": "resources:\n  - secret.yaml\n",
      ".sops.yaml": fixture("flux/.sops.yaml"),
      "README.md": "# demo (mentions sops, is not one)\n",
    });
    git(repo.dir, "add", "-A");
    git(repo.dir, "commit", "--quiet", "-m", "good secrets");
    commit = git(repo.dir, "rev-parse", "HEAD");
    // The working tree now differs from the commit: a tampered secret, a new broken file.
    fs.writeFileSync(path.join(repo.dir, "apps/secret.yaml"), fixtureText("flux/algorithms/age.yaml").replace("kind: Secret", "kind: Secrets"));
    writeFiles(repo.dir, { "apps/extra.yaml": fixture("flux/global/secret.yaml") });
  });
  afterAll(() => repo.cleanup());

  it("at a revision, sees the committed files, not the working tree", async () => {
    for (const revision of ["HEAD", "main", commit, commit.slice(0, 10)]) {
      const report = await checkRepository({ source: repo.dir, revision, identities: AGE_KEY });
      expect(report.commit).toBe(commit);
      expect(report.files.map((f) => [f.path, f.kind])).toEqual([
        ["apps/env.env", "ok"],
        ["apps/secret.yaml", "ok"],
      ]);
      expect(report.ok).toBe(true);
    }
  });

  it("without a revision, sees the directory as it is on disk", async () => {
    const report = await checkRepository({ source: repo.dir, identities: AGE_KEY });
    expect(report.commit).toBeUndefined();
    expect(report.files.map((f) => [f.path, f.kind])).toEqual([
      ["apps/env.env", "ok"],
      ["apps/extra.yaml", "wrong-key"],
      ["apps/secret.yaml", "mac-mismatch"],
    ]);
    expect(report.ok).toBe(false);
  });

  it("reads a subdirectory of a work tree at a revision, with paths relative to it", async () => {
    const snapshot = await readRepository({ source: path.join(repo.dir, "apps"), revision: "HEAD" });
    expect(snapshot.candidates.map((c) => c.path).sort()).toEqual(["env.env", "secret.yaml"]);
  });

  it("clones a Git URL (branch, full and short commit, default branch) and removes the clone", async () => {
    const before = cloneTempDirs();
    for (const revision of [undefined, "main", commit, commit.slice(0, 8)]) {
      const report = await checkRepository({ source: `file://${repo.dir}`, revision, identities: AGE_KEY });
      expect(report.commit).toBe(commit);
      expect(report.files.map((f) => f.kind)).toEqual(["ok", "ok"]);
    }
    expect(cloneTempDirs()).toEqual(before);
  });

  it("fails clearly for an unknown revision, a missing path, a revision on a plain directory", async () => {
    await expect(readRepository({ source: repo.dir, revision: "no-such-branch" })).rejects.toThrow(/revision "no-such-branch" is not a commit/);
    await expect(readRepository({ source: path.join(repo.dir, "missing") })).rejects.toThrow(RepositoryError);
    const plain = tempDir();
    try {
      await expect(readRepository({ source: plain.dir, revision: "HEAD" })).rejects.toThrow(/not a Git work tree/);
    } finally {
      plain.cleanup();
    }
    const before = cloneTempDirs();
    await expect(readRepository({ source: `file://${repo.dir}-missing`, revision: "main" })).rejects.toThrow(RepositoryError);
    expect(cloneTempDirs()).toEqual(before);
  });

  it("skips .git, big files and binary files cheaply, and recognises SOPS files by content", async () => {
    const dir = tempDir();
    try {
      writeFiles(dir.dir, {
        "a/not-named-like-a-secret.txt": fixture("flux/algorithms/age.yaml"),
        "a/big.yaml": Buffer.alloc(8192, "sops "),
        "a/image.png": Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0]), Buffer.from("sops")]),
        ".git/config": "sops",
      });
      fs.symlinkSync(path.join(dir.dir, "a/not-named-like-a-secret.txt"), path.join(dir.dir, "a/link.yaml"));
      const snapshot = await readRepository({ source: dir.dir, maxFileBytes: 4096 });
      expect(snapshot.candidates.map((c) => c.path)).toEqual(["a/not-named-like-a-secret.txt"]);
      expect(snapshot.skipped).toBe(2);
      const report = await checkRepository({ source: dir.dir, identities: AGE_KEY });
      expect(report.files).toMatchObject([{ path: "a/not-named-like-a-secret.txt", kind: "ok", format: "yaml" }]);
    } finally {
      dir.cleanup();
    }
  });

  it("tells URLs from paths and never shows credentials", () => {
    expect(isGitUrl("https://github.com/org/repo.git")).toBe(true);
    expect(isGitUrl("git@github.com:org/repo.git")).toBe(true);
    expect(isGitUrl("ssh://git@host/org/repo.git")).toBe(true);
    expect(isGitUrl("./gitops")).toBe(false);
    expect(isGitUrl("/abs/path")).toBe(false);
    expect(redactUrl("cannot clone https://user:ghp_token@github.com/o/r.git")).toBe("cannot clone https://***@github.com/o/r.git");
  });
});
