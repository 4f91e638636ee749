/**
 * A new user's first run, with the installed command and the real sops: `init` makes the key,
 * the .sops.yaml rule and the stack; the real `sops encrypt` picks the new recipient from that
 * rule; the real `sops decrypt` opens the file with the key file init appended to; `render` and
 * `check --stack` accept the stack. X25519 and post-quantum.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { requireToolchain, scratchProject } from "./harness";
import { toolchainEnv } from "./toolchain";

jest.setTimeout(120_000);

let root: string;
beforeAll(() => requireToolchain("sops"));
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-init-"));
});
afterEach(() => {
  if (!process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(root, { recursive: true, force: true });
});

test.each([
  ["X25519", [] as string[], /^age1[0-9a-z]{58}$/],
  ["post-quantum", ["--post-quantum"], /^age1pq1/],
])("%s: init, then the real sops encrypts to the new rule and check --stack proves it", (_kind, extra, recipientShape) => {
  const project = scratchProject(root);
  const home = path.join(root, "home");
  const repo = path.join(root, "cluster-state");
  fs.mkdirSync(home);
  fs.mkdirSync(path.join(repo, "clusters/qa"), { recursive: true });
  const env = toolchainEnv({ HOME: home, CI: "true" });
  delete env.SOPS_AGE_KEY_FILE;
  delete env.SOPS_AGE_KEY;
  const bin = path.join(project, "bootstrap/gitops-bootstrap.js");
  const run = (cmd: string, args: string[], cwd = project) => spawnSync(cmd, args, { cwd, env, encoding: "utf8" });

  const init = run(process.execPath, [bin, "init", "--stack", "qa", "--repo-url", "https://git.example.com/platform/cluster-state.git", "--gitops-repo", repo, ...extra]);
  expect(init.stderr).toContain("✔ wrote stacks/Pulumi.qa.yaml");
  expect(init.status).toBe(0);
  const recipient = /public key (age1[0-9a-z]+)/.exec(init.stderr)![1];
  expect(recipient).toMatch(recipientShape);
  expect(init.stdout + init.stderr).not.toMatch(/AGE-SECRET-KEY/);

  // The real sops, in the GitOps repository, with nothing but the .sops.yaml init wrote.
  const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "apps" }, stringData: { password: "made-by-init-e2e" } };
  fs.writeFileSync(path.join(repo, "clusters/qa/db.yaml"), YAML.stringify(secret));
  const encrypt = run("sops", ["encrypt", "--in-place", "clusters/qa/db.yaml"], repo);
  expect(encrypt.stderr).toBe("");
  expect(encrypt.status).toBe(0);
  const encrypted = YAML.parse(fs.readFileSync(path.join(repo, "clusters/qa/db.yaml"), "utf8"));
  expect(encrypted.sops.age.map((a: { recipient: string }) => a.recipient)).toEqual([recipient]);
  expect(encrypted.stringData.password).toMatch(/^ENC\[AES256_GCM,/);
  expect(encrypted.metadata.name).toBe("db");

  // sops reads the key file init appended to (its default location under HOME).
  const decrypt = run("sops", ["decrypt", "clusters/qa/db.yaml"], repo);
  expect(decrypt.status).toBe(0);
  expect(YAML.parse(decrypt.stdout).stringData.password).toBe("made-by-init-e2e");

  const check = run(process.execPath, [bin, "check", "--stack", "qa", "--repo", repo]);
  expect(check.stdout).toContain("✔ clusters/qa/db.yaml  ok");
  expect(check.status).toBe(0);
  const render = run(process.execPath, [bin, "render", "--stack", "qa"]);
  expect(render.status).toBe(0);
  expect(render.stderr).toContain(`"ageRecipients":["${recipient}"]`);
});
