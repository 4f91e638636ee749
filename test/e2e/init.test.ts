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

test("two environments made by init in one repository, encrypted by the real sops: each stack's check judges its own files", () => {
  const project = scratchProject(root);
  const home = path.join(root, "home");
  const repo = path.join(root, "cluster-state");
  fs.mkdirSync(home);
  const env = toolchainEnv({ HOME: home, CI: "true" });
  delete env.SOPS_AGE_KEY_FILE;
  delete env.SOPS_AGE_KEY;
  const bin = path.join(project, "bootstrap/gitops-bootstrap.js");
  const run = (cmd: string, args: string[], cwd = project) => spawnSync(cmd, args, { cwd, env, encoding: "utf8" });
  const url = "https://git.example.com/platform/cluster-state.git";
  const recipients: Record<string, string> = {};
  for (const [stack, extra] of [["a", []], ["b", ["--post-quantum", "--reconciler", "flux"]]] as const) {
    fs.mkdirSync(path.join(repo, "clusters", stack), { recursive: true });
    const init = run(process.execPath, [bin, "init", "--stack", stack, "--repo-url", url, "--gitops-repo", repo, ...extra]);
    expect(init.status).toBe(0);
    recipients[stack] = /public key (age1[0-9a-z]+)/.exec(init.stderr)![1];
  }
  const write = (file: string, doc: unknown): void => {
    fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
    fs.writeFileSync(path.join(repo, file), YAML.stringify(doc));
  };
  const secret = (name: string) => ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: "apps" }, stringData: { password: `pw-${name}` } });
  // With explicit --age, from outside the repository (sops refuses a file its .sops.yaml has no rule for).
  const sops = (file: string, ...args: string[]) => {
    const r = args.length === 0 ? run("sops", ["encrypt", "--in-place", file], repo) : run("sops", ["encrypt", "--in-place", ...args, path.join(repo, file)], root);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  };
  // a: Argo CD; its root folder's Application points at a kustomization whose KSOPS generator names a file outside it.
  write("clusters/a/apps.yaml", { apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name: "web" }, spec: { source: { repoURL: url, path: "apps/web" } } });
  write("apps/web/kustomization.yaml", { generators: ["secret-generator.yaml"] });
  write("apps/web/secret-generator.yaml", { apiVersion: "viaduct.ai/v1", kind: "ksops", metadata: { name: "web" }, files: ["../../secrets/web.sops.yaml"] });
  write("clusters/a/db.yaml", secret("db-a"));
  sops("clusters/a/db.yaml");
  write("secrets/web.sops.yaml", secret("web"));
  sops("secrets/web.sops.yaml", "--age", recipients.a, "--encrypted-regex", "^(data|stringData)$");
  // b: Flux, post-quantum; its own files only.
  write("clusters/b/db.yaml", secret("db-b"));
  sops("clusters/b/db.yaml");

  const checkA = run(process.execPath, [bin, "check", "--stack", "a", "--repo", repo]);
  expect(checkA.stdout).toContain("✔ clusters/a/db.yaml  ok");
  expect(checkA.stdout).toContain("✔ secrets/web.sops.yaml  ok");
  expect(checkA.stdout).toContain("– 1 SOPS file for other environments, not judged");
  expect(checkA.status).toBe(0);
  const checkB = run(process.execPath, [bin, "check", "--stack", "b", "--repo", repo]);
  expect(checkB.stdout).toContain("✔ clusters/b/db.yaml  ok");
  expect(checkB.stdout).toContain("– 2 SOPS files for other environments, not judged");
  expect(checkB.status).toBe(0);

  // The KSOPS file re-encrypted only to b's key: a's cluster cannot decrypt it, and a's check says so.
  write("secrets/web.sops.yaml", secret("web"));
  sops("secrets/web.sops.yaml", "--age", recipients.b, "--encrypted-regex", "^(data|stringData)$");
  const broken = run(process.execPath, [bin, "check", "--stack", "a", "--repo", repo]);
  expect(broken.stdout).toMatch(/✗ secrets\/web\.sops\.yaml {2}wrong key/);
  expect(broken.status).toBe(1);
});
