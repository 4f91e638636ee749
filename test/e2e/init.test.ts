/**
 * A new user's first run, with the installed command and the real sops: `init` makes the key,
 * the .sops.yaml rule and the stack; the real `sops encrypt` picks the new recipient from that
 * rule; the real `sops decrypt` opens the file with the key file init appended to; `render` and
 * `check --stack` accept the stack. X25519 and post-quantum. Then init's next steps, followed as
 * printed, to the decrypted Secret in a cluster (Argo CD and Flux).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import type { RunReport } from "../../bootstrap/cli-common/drill-report";
import { startArgoControllers } from "./argo-controllers";
import { clusterSecretDigests, digestValues } from "./demo-repo";
import { startFluxControllers } from "./flux-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { PROJECT_DIR, type TestCluster, cliEnv, openCluster, requireToolchain, scratchProject, tempDir } from "./harness";
import { runAsync } from "./processes";
import { toolchainEnv } from "./toolchain";
import { steps } from "../unit/init-steps";

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

/**
 * init's next steps followed as printed, up to a decrypted Secret in a cluster, for Argo CD and
 * for Flux: init into a fresh clone of a GitOps repository served over HTTPS (git-server.ts);
 * the Secret written where step 1 says; every printed shell line run as printed, through bash,
 * from the project (the real sops encrypts, .sops.yaml picking the recipient; git commits and
 * pushes over HTTPS; `npx gitops-bootstrap check` and `render`); for Argo CD the file listed in
 * the KSOPS generator as step 3 shows. Then the deploy: `pulumi stack init && pulumi up` needs
 * the Pulumi CLI's Node.js language host, which is not served here, so `restore` runs the same
 * `pulumi up` through the Automation API (and waits, and checks the Secrets exist), on the stack
 * init wrote, pointed only at the test's CA and the local stand-in chart. The reconcilers are
 * real (argo-controllers.ts with the KSOPS stand-in, flux-controllers.ts). The Secret's value is
 * compared by digest, never printed.
 */
describe.each([["argocd", "lab"], ["flux", "edge"]] as ["argocd" | "flux", string][])("%s: init's printed steps lead to the decrypted Secret in the cluster", (reconciler, stack) => {
  const REPO = `cluster-state-${reconciler}`;
  const value = `init-steps-${randomBytes(12).toString("hex")}`;
  let dir: string;
  let cluster: TestCluster;
  let git: GitServer;
  let controllers: { stop(): Promise<void>; logTail(lines?: number): string };
  let work: string;
  let home: string;
  let checkout: string;

  beforeAll(async () => {
    requireToolchain("sops", "pulumi", "pulumi-resource-kubernetes", "helm");
    dir = tempDir(`init-steps-${reconciler}`);
    cluster = await openCluster(dir);
    const seed = path.join(dir, "seed");
    fs.mkdirSync(seed);
    fs.writeFileSync(path.join(seed, "README.md"), "# cluster state\n");
    git = await startGitServer({ dir: path.join(dir, "git"), repos: { [REPO]: seed } });
    // The server has no users, and http-backend takes pushes only from one unless the repository
    // allows anonymous pushes: this one does, as a hosting service's repository lets its owner push.
    execFileSync("git", ["config", "http.receivepack", "true"], { cwd: path.join(dir, "git", "repos", `${REPO}.git`) });
    controllers =
      reconciler === "argocd"
        ? await startArgoControllers({ dir: path.join(dir, "argo"), kubeconfig: cluster.kubeconfig, asChartPods: true })
        : await startFluxControllers({ dir: path.join(dir, "flux"), kubeconfig: cluster.kubeconfig, asChartPods: true });
    work = scratchProject(dir);
    // `npx gitops-bootstrap` installs the project into npx's cache, whose `prepare` builds it with this.
    fs.copyFileSync(path.join(PROJECT_DIR, "tsconfig.build.json"), path.join(work, "tsconfig.build.json"));
    home = path.join(dir, "home");
    fs.mkdirSync(home);
    checkout = path.join(dir, "cluster-state");
  }, 5 * 60 * 1000);

  afterAll(async () => {
    await controllers?.stop();
    await git?.stop();
    await cluster?.close();
    if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }, 2 * 60 * 1000);

  /** What a user's shell has: the toolchain (sops) on PATH, a git that trusts the server's CA and has an identity. */
  function userEnv(): NodeJS.ProcessEnv {
    const env = toolchainEnv({
      HOME: home,
      CI: "true",
      GIT_SSL_CAINFO: git.caFile,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_TERMINAL_PROMPT: "0",
      GIT_AUTHOR_NAME: "init e2e",
      GIT_AUTHOR_EMAIL: "init-e2e@gitops-bootstrap.invalid",
      GIT_COMMITTER_NAME: "init e2e",
      GIT_COMMITTER_EMAIL: "init-e2e@gitops-bootstrap.invalid",
      npm_config_update_notifier: "false",
    });
    delete env.SOPS_AGE_KEY_FILE;
    delete env.SOPS_AGE_KEY;
    return env;
  }

  /** A printed command line, as pasted into bash in the project. */
  function paste(line: string): { code: number; output: string } {
    const r = spawnSync("bash", ["-c", line], { cwd: work, env: userEnv(), encoding: "utf8" });
    return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
  }

  function pasteOk(line: string): string {
    const r = paste(line);
    if (r.code !== 0) throw new Error(`\`${line}\` exited ${r.code}:\n${r.output}`);
    return r.output;
  }

  test("init, the steps as printed, then the deploy: the cluster has the Secret with the value the test wrote", async () => {
    const env = userEnv();
    execFileSync("git", ["clone", "--quiet", git.url(REPO), checkout], { env, stdio: "pipe" });
    const bin = path.join(work, "bootstrap/gitops-bootstrap.js");
    const init = spawnSync(process.execPath, [bin, "init", "--stack", stack, "--repo-url", git.url(REPO), "--gitops-repo", checkout, "--reconciler", reconciler, ...(reconciler === "flux" ? ["--revision", git.branch] : [])], { cwd: work, env, encoding: "utf8" });
    if (init.status !== 0) throw new Error(`init exited ${init.status}:\n${init.stdout}${init.stderr}`);
    const all = steps(init.stdout);
    const step = (text: RegExp) => {
      const s = all.find((x) => text.test(x.text));
      if (!s) throw new Error(`init printed no step matching ${text}:\n${init.stdout}`);
      return s;
    };

    // 1. The Secret, plain, where the step says.
    const secretFile = step(/^Write a Secret/).commands[0].split(/\s+/)[0];
    expect(secretFile.startsWith(`${checkout}/`)).toBe(true);
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "init-steps", namespace: "default" }, type: "Opaque", stringData: { password: value } };
    fs.writeFileSync(secretFile, YAML.stringify(secret));
    // 2. Encrypted by the real sops, as printed.
    for (const line of step(/^Encrypt it/).commands) pasteOk(line);
    const encrypted = YAML.parse(fs.readFileSync(secretFile, "utf8"));
    expect(encrypted.sops.age.map((a: { recipient: string }) => a.recipient)).toEqual([/public key (age1[0-9a-z]+)/.exec(init.stderr)![1]]);
    expect(encrypted.stringData.password).toMatch(/^ENC\[AES256_GCM,/);
    // 3 (Argo CD). Listed in the KSOPS generator, as the step shows.
    const list = all.find((s) => /^List it under files in /.test(s.text));
    expect(list !== undefined).toBe(reconciler === "argocd");
    if (list) {
      const generatorFile = path.join(checkout, /^List it under files in (\S+)/.exec(list.text)![1]);
      const generator = YAML.parseDocument(fs.readFileSync(generatorFile, "utf8"));
      generator.set("files", YAML.parse(list.commands.join("\n")).files);
      fs.writeFileSync(generatorFile, generator.toString());
    }
    // Commit; check and render; push: each line as printed.
    for (const line of step(/^Commit them/).commands) pasteOk(line);
    const [checkLine, renderLine] = step(/^Prove the key/).commands;
    const checked = pasteOk(checkLine);
    expect(checked).toContain(`✔ ${path.relative(checkout, secretFile)}  ok`);
    expect(checked).not.toContain(value);
    expect(pasteOk(renderLine)).not.toContain(value);
    const deploy = step(/^Push, then deploy/).commands;
    expect(deploy).toEqual([`(cd ${checkout} && git push)`, `pulumi stack init ${stack} && pulumi up`]);
    pasteOk(deploy[0]);
    expect(git.head(REPO)).toBe(execFileSync("git", ["rev-parse", "HEAD"], { cwd: checkout, env, encoding: "utf8" }).trim());

    // The deploy, on the stack init wrote: only the test's CA and the local stand-in chart added.
    const stackFile = path.join(work, "stacks", `Pulumi.${stack}.yaml`);
    const doc = YAML.parseDocument(fs.readFileSync(stackFile, "utf8"));
    doc.setIn(["config", "gitops-bootstrap:repo", "caFile"], git.caFile);
    doc.setIn(["config", `gitops-bootstrap:${reconciler}`], { chartRepo: `test/e2e/charts/${reconciler === "argocd" ? "argo-cd" : "flux2"}.tgz` });
    fs.writeFileSync(stackFile, doc.toString());
    const reportDir = path.join(dir, "report");
    // Asynchronously: the Argo CD helpers' kubelet part (restarting the application-controller
    // that exits while argocd-cm is missing, writing the mounted age key) runs on this event loop.
    const restore = await runAsync(process.execPath, [bin, "restore", "--stack", stack, "--kubeconfig", cluster.kubeconfig, "--report-dir", reportDir, "--timeout", "5m", "--failure-grace", "10s"], {
      env: { ...cliEnv(dir), HOME: home },
    });
    const output = `${restore.stdout}${restore.stderr}`;
    if (restore.status !== 0) throw new Error(`restore exited ${restore.status}:\n${output}\n${controllers.logTail(30)}`);
    expect(output).not.toContain(value);
    const report = JSON.parse(fs.readFileSync(path.join(reportDir, "report.json"), "utf8")) as RunReport;
    expect(report.outcome).toBe("recovered");
    expect(report.secrets).toEqual([{ file: path.relative(checkout, secretFile), name: "init-steps", namespace: "default", found: true }]);
    if (reconciler === "argocd") {
      expect(report.apps.map((a) => [a.name, a.status]).sort()).toEqual([[`${stack}-secrets`, "Synced/Healthy"], ["root", "Synced/Healthy"]]);
    }
    // Decrypted: the value the test wrote, by digest.
    expect(clusterSecretDigests((a) => cluster.kubectl(a), "init-steps", "default")).toEqual(digestValues({ password: value }));
  }, 15 * 60 * 1000);

  // Argo CD's Application for the Secrets exists from the first deploy; before the generator lists
  // a file it must sync (nothing) and be healthy, so a new environment is not broken.
  if (reconciler === "argocd") {
    test("deployed before any Secret: the Secrets' Application is synced and healthy, with nothing in it", async () => {
      await cluster.wipe();
      await (controllers as Awaited<ReturnType<typeof startArgoControllers>>).restart(cluster.kubeconfig);
      // A repository of its own: check (and so restore) judges every SOPS file of the repository,
      // and lab's Secret is encrypted to lab's key only.
      const fresh = path.join(dir, "cluster-state-empty");
      const env = userEnv();
      pasteOk(`git init --quiet --initial-branch=main ${fresh} && git -C ${fresh} commit --quiet --allow-empty -m start && git -C ${fresh} push --quiet ${git.url(REPO)} main:refs/heads/empty`);
      const bin = path.join(work, "bootstrap/gitops-bootstrap.js");
      const init = spawnSync(process.execPath, [bin, "init", "--stack", "empty", "--repo-url", git.url(REPO), "--revision", "empty", "--gitops-repo", fresh], { cwd: work, env, encoding: "utf8" });
      if (init.status !== 0) throw new Error(`init exited ${init.status}:\n${init.stdout}${init.stderr}`);
      pasteOk(steps(init.stdout).find((s) => /^Commit them/.test(s.text))!.commands[0]);
      pasteOk(`git -C ${fresh} push --quiet ${git.url(REPO)} main:refs/heads/empty`);
      const stackFile = path.join(work, "stacks", "Pulumi.empty.yaml");
      const doc = YAML.parseDocument(fs.readFileSync(stackFile, "utf8"));
      doc.setIn(["config", "gitops-bootstrap:repo", "caFile"], git.caFile);
      doc.setIn(["config", "gitops-bootstrap:argocd"], { chartRepo: "test/e2e/charts/argo-cd.tgz" });
      fs.writeFileSync(stackFile, doc.toString());
      const reportDir = path.join(dir, "report-empty");
      const restore = await runAsync(process.execPath, [bin, "restore", "--stack", "empty", "--kubeconfig", cluster.kubeconfig, "--report-dir", reportDir, "--timeout", "5m", "--failure-grace", "10s"], {
        env: { ...cliEnv(dir), HOME: home },
      });
      if (restore.status !== 0) throw new Error(`restore exited ${restore.status}:\n${restore.stdout}${restore.stderr}\n${controllers.logTail(30)}`);
      const report = JSON.parse(fs.readFileSync(path.join(reportDir, "report.json"), "utf8")) as RunReport;
      expect(report.apps.map((a) => [a.name, a.status]).sort()).toEqual([["empty-secrets", "Synced/Healthy"], ["root", "Synced/Healthy"]]);
      const app = JSON.parse(cluster.kubectl(["get", "applications.argoproj.io", "empty-secrets", "-n", "argocd", "-o", "json"]));
      expect(app.status.resources ?? []).toEqual([]);
    }, 15 * 60 * 1000);
  }

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
  for (const [stack, extra] of [["a", []], ["b", ["--post-quantum", "--reconciler", "flux", "--revision", "main"]]] as const) {
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

  // b (Flux) names its branch, so its check reads the commit: the repository is a Git repository.
  const commit = (message: string): void => {
    for (const args of [["init", "--quiet", "--initial-branch=main"], ["add", "-A"], ["-c", "user.name=e2e", "-c", "user.email=e2e@gitops-bootstrap.invalid", "commit", "--quiet", "-m", message]]) {
      expect(run("git", args, repo).status).toBe(0);
    }
  };
  commit("two environments");
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
  commit("web re-encrypted to b only");
  const broken = run(process.execPath, [bin, "check", "--stack", "a", "--repo", repo]);
  expect(broken.stdout).toMatch(/✗ secrets\/web\.sops\.yaml {2}wrong key/);
  expect(broken.status).toBe(1);
});
