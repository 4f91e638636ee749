/** verifyRepoSecrets: the SOPS check that runs before any resource is registered. */
import * as fs from "node:fs";
import * as path from "node:path";
import * as age from "age-encryption";
import { resolveConfig } from "../../bootstrap/config/stack-config";
import { verifyRepoSecretsBeforeUp } from "../../bootstrap/program";
import { checkRepository } from "../../bootstrap/sops";
import { RepositoryError } from "../../bootstrap/sops/repository";

const projectDir = path.resolve(__dirname, "../..");
const exampleRepo = path.join(projectDir, "examples/gitops-repo");
const demoKey = fs.readFileSync(path.join(exampleRepo, "demo-age-key.txt"), "utf8");

async function configWith(key: string, repoPath = "workloads") {
  const cfg = await resolveConfig({
    // The stack's root is the folder that holds the SOPS file: only what it reaches is judged.
    values: { environment: "test", repo: JSON.stringify({ url: "https://git.example.com/org/repo.git", path: repoPath }), ageKey: key },
    secretKeys: new Set(["ageKey"]),
    baseDir: projectDir,
  });
  // Point the check at the example repository on disk (a URL the config accepts cannot be local).
  return { ...cfg, repo: { ...cfg.repo, url: exampleRepo } };
}

function logger() {
  const lines: string[] = [];
  return { lines, info: (m: string) => void lines.push(`info ${m}`), warn: (m: string) => void lines.push(`warn ${m}`) };
}

test("passes, and says so, when the stack's key decrypts every SOPS file", async () => {
  const log = logger();
  await verifyRepoSecretsBeforeUp(await configWith(demoKey), checkRepository, log);
  expect(log.lines).toEqual([expect.stringMatching(/^info verifyRepoSecrets: 1 SOPS file\(s\) that workloads reaches in .* decrypt with the stack's age key$/)]);
});

test("stops the update, naming each file, when the key does not match", async () => {
  const wrong = await age.generateX25519Identity();
  const log = logger();
  const run = verifyRepoSecretsBeforeUp(await configWith(wrong), checkRepository, log);
  await expect(run).rejects.toThrow(/does not verify 1 SOPS file\(s\)[\s\S]*✗ workloads\/demo-secret\/demo-credentials\.sops\.yaml {2}wrong key/);
  await expect(verifyRepoSecretsBeforeUp(await configWith(wrong), checkRepository, log)).rejects.not.toThrow(wrong);
});

test("another environment's file (outside what the root reaches, not encrypted to the key) is counted, not a failure", async () => {
  const log = logger();
  await verifyRepoSecretsBeforeUp(await configWith(await age.generateX25519Identity(), "apps"), checkRepository, log);
  expect(log.lines).toEqual([expect.stringMatching(/^info verifyRepoSecrets: 0 SOPS file\(s\) that apps reaches in .*; 1 SOPS file for other environments, not judged$/)]);
});

test("an unreachable repository is a warning, not an error, and credentials in messages are hidden", async () => {
  const log = logger();
  const unreachable = async () => {
    throw new RepositoryError("git clone https://bot:s3cret@git.example.com/org/repo.git failed: could not resolve host");
  };
  await verifyRepoSecretsBeforeUp(await configWith(demoKey), unreachable, log);
  expect(log.lines).toHaveLength(1);
  expect(log.lines[0]).toMatch(/^warn verifyRepoSecrets: could not read .* SOPS files not checked\. Set gitops-bootstrap:verifyRepoSecrets false/);
  expect(log.lines[0]).not.toContain("s3cret");
});
