/**
 * The stack as a user keeps it, with the real Pulumi CLI and engine: logged in to a local backend
 * with `pulumi login file://…` (no PULUMI_BACKEND_URL), the age key moved into encrypted config
 * (`pulumi config set --secret`, the recipe `init` prints) and a Helm value set as a secret.
 * - `check --stack` verifies the repository's SOPS files with that key (decrypted through Pulumi),
 *   and without the passphrase stops with exit 2 saying what to set, instead of "wrong key";
 * - a plain `pulumi up` keeps the secret Helm value only as ciphertext in the state;
 * - `restore` then works on that same state (the login's backend, printed first): 0 replaces,
 *   nothing left in the drill's own state folder.
 * The `up` is the Automation API's (the CLI and engine, with the program inline): the Node.js
 * language host the CLI would start for `pulumi up` is not in the toolchain.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { bootstrap, rawConfigFromPulumi } from "../../bootstrap/program";
import type { RunReport } from "../../bootstrap/cli-common/drill-report";
import { DEMO_KEY_FILE, type ExpectedSecret, clusterSecretDigests, expectedSecret, pointStackAt } from "./demo-repo";
import { type FluxControllers, startFluxControllers } from "./flux-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { PROJECT_DIR, type TestCluster, openCluster, requireToolchain, scratchProject, tempDir } from "./harness";
import { runAsync } from "./processes";
import { toolchainEnv, toolchainPath } from "./toolchain";

jest.setTimeout(10 * 60 * 1000);

const STACK = "flux-sandbox";
const REPO = "gitops-bootstrap";
const PASSPHRASE = "e2e-passphrase-not-secret";
const HELM_SECRET = "e2e-helm-value-kept-as-ciphertext";
const SOPS_FILE = "examples/gitops-repo-flux/workloads/demo-secret/demo-credentials.sops.yaml";

let dir: string;
let cluster: TestCluster;
let git: GitServer;
let flux: FluxControllers;
let work: string;
let secret: ExpectedSecret;
let ageKey: string;
let userState: string;

/** The user's shell: logged in with `pulumi login file://…` (PULUMI_HOME), no PULUMI_BACKEND_URL. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = toolchainEnv({
    PULUMI_HOME: path.join(dir, "pulumi-home"),
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // Where the drill would keep its own state: restore must not use it.
    XDG_STATE_HOME: path.join(dir, "xdg-state"),
    ...(cluster ? { KUBECONFIG: cluster.kubeconfig } : {}),
    ...extra,
  });
  delete env.PULUMI_BACKEND_URL;
  delete env.PULUMI_ACCESS_TOKEN;
  return env;
}

function pulumiCli(args: string[], input?: string, env = userEnv()): string {
  const r = spawnSync("pulumi", ["--non-interactive", ...args], { cwd: work, env, input, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function cli(args: string[], env: NodeJS.ProcessEnv): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(work, "bootstrap", "gitops-bootstrap.js"), ...args], { cwd: work, env, encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function expectNoPlaintext(text: string): void {
  for (const s of [ageKey, HELM_SECRET, ...secret.values.filter((v) => v.length >= 8)]) expect(text.includes(s)).toBe(false);
}

beforeAll(async () => {
  requireToolchain("pulumi");
  dir = tempDir("stack-secrets");
  git = await startGitServer({ dir: path.join(dir, "git"), repos: { [REPO]: { dir: PROJECT_DIR, include: ["examples/gitops-repo-flux"] } } });
  work = scratchProject(dir);
  pointStackAt(work, STACK, { url: git.url(REPO), revision: git.branch, caFile: git.caFile });
  secret = await expectedSecret(SOPS_FILE);
  ageKey = fs.readFileSync(DEMO_KEY_FILE, "utf8").match(/AGE-SECRET-KEY-1[0-9A-Z]+/)![0];

  // As a user sets the stack up: log in, create the stack, move the key into encrypted config.
  userState = path.join(dir, "user-state");
  fs.mkdirSync(userState);
  pulumiCli(["login", `file://${userState}`]);
  pulumiCli(["stack", "init", STACK]);
  pulumiCli(["config", "rm", "gitops-bootstrap:ageKeyFile"]);
  pulumiCli(["config", "set", "--secret", "gitops-bootstrap:ageKey"], `${ageKey}\n`);
  pulumiCli(["config", "set", "--secret", "--path", "gitops-bootstrap:flux.values.e2e.token", HELM_SECRET]);
  const stackFile = fs.readFileSync(path.join(work, "stacks", `Pulumi.${STACK}.yaml`), "utf8");
  expect(stackFile).not.toContain(ageKey);
  expect(stackFile).not.toContain(HELM_SECRET);
});

afterAll(async () => {
  await git?.stop();
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

test("check --stack verifies the repository with the age key from encrypted config", () => {
  const r = cli(["check", "--stack", STACK], userEnv());
  if (r.code !== 0) throw new Error(`check exited ${r.code}:\n${r.stdout}${r.stderr}`);
  expect(r.stdout).toContain("1 age identity");
  expect(r.stdout).not.toContain("wrong key");
  expect(r.stdout).toMatch(/✔ .*verified: every value decrypts and every MAC matches/);
  expectNoPlaintext(`${r.stdout}${r.stderr}`);
});

test("check --stack without the passphrase: exit 2 naming PULUMI_CONFIG_PASSPHRASE and --age-key-file, no verdict", () => {
  const env = userEnv();
  delete env.PULUMI_CONFIG_PASSPHRASE;
  const r = cli(["check", "--stack", STACK], env);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("holds gitops-bootstrap:ageKey encrypted");
  expect(r.stderr).toContain("PULUMI_CONFIG_PASSPHRASE");
  expect(r.stderr).toContain("--age-key-file F");
  expect(r.stdout).toBe("");
  const wrong = cli(["check", "--stack", STACK], userEnv({ PULUMI_CONFIG_PASSPHRASE: "not-the-passphrase" }));
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toContain("incorrect passphrase");
});

test("restore with no backend configured stops before anything runs and says how to choose one", () => {
  const args = ["--kubeconfig", path.join(dir, "no-such-kubeconfig")];
  const r = cli(["restore", "--stack", STACK, ...args], userEnv({ PULUMI_HOME: path.join(dir, "no-login") }));
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("pulumi login <backend>");
  expect(r.stderr).toContain("PULUMI_BACKEND_URL");
});

describe("on a cluster", () => {
  beforeAll(async () => {
    requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm");
    cluster = await openCluster(dir);
  });

  afterAll(async () => {
    await flux?.stop();
    await cluster?.close();
  });

  test("a plain pulumi up keeps the secret Helm value (and the key) only as ciphertext in the state", async () => {
    const program = async () => {
      try {
        return await bootstrap(rawConfigFromPulumi(work));
      } catch (e) {
        pulumi.log.error((e as Error).message);
        return {};
      }
    };
    const pulumiBin = toolchainPath().split(":").find((d) => fs.existsSync(path.join(d, "pulumi")))!;
    const env = userEnv();
    const wanted = /^(PULUMI_|KUBECONFIG$|PATH$|HOME$)/;
    const envVars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && wanted.test(e[0])));
    const stack = await LocalWorkspace.selectStack(
      { stackName: STACK, projectName: "gitops-bootstrap", program },
      { workDir: work, envVars, pulumiCommand: await PulumiCommand.get({ root: path.dirname(pulumiBin) }) },
    );
    const result = await stack.up({ color: "never" });
    expect(result.summary.result).toBe("succeeded");
    const exported = pulumiCli(["stack", "export", "--stack", STACK]);
    expectNoPlaintext(exported);
    const release = (JSON.parse(exported).deployment.resources as { type: string; inputs: { values: unknown }; outputs: { values: unknown } }[]).find(
      (r) => r.type === "kubernetes:helm.sh/v3:Release",
    )!;
    const ciphertext = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: expect.any(String) };
    expect(release.inputs.values).toEqual(ciphertext);
    expect(release.outputs.values).toEqual(ciphertext);
    // It is there, encrypted: the stack's passphrase opens it.
    expect(pulumiCli(["stack", "export", "--stack", STACK, "--show-secrets"])).toContain(HELM_SECRET);
  });

  describe("with Flux's controllers", () => {
    beforeAll(async () => {
      flux = await startFluxControllers({ dir: path.join(dir, "flux"), kubeconfig: cluster.kubeconfig, asChartPods: true });
    });

    test("restore works on the state that up wrote (the login's backend, printed first): 0 replaces, no second state", async () => {
      const reportDir = path.join(dir, "report");
      const args = ["--kubeconfig", cluster.kubeconfig, "--report-dir", reportDir, "--timeout", "3m", "--failure-grace", "3s"];
      // Asynchronously: Flux's controllers start (as the chart's pods) on this event loop.
      const r = await runAsync(process.execPath, [path.join(work, "bootstrap", "gitops-bootstrap.js"), "restore", "--stack", STACK, ...args], { cwd: work, env: userEnv() });
      const code = r.status;
      const output = `${r.stdout}${r.stderr}`;
      if (code !== 0) throw new Error(`restore exited ${code}:\n${output}`);
      expect(output.split("\n")[0]).toBe(`► state: file://${userState} (from pulumi login)`);
      const report = JSON.parse(fs.readFileSync(path.join(reportDir, "report.json"), "utf8")) as RunReport;
      expect(report.outcome).toBe("recovered");
      expect(report.changes.replace ?? 0).toBe(0);
      expect(report.changes.create ?? 0).toBe(0);
      expect(clusterSecretDigests((a) => cluster.kubectl(a), secret.name, secret.namespace)).toEqual(secret.digests);
      expect(fs.existsSync(path.join(dir, "xdg-state"))).toBe(false);
      // One stack in the one backend, with both updates in its history (up, then restore's).
      const history = JSON.parse(pulumiCli(["stack", "history", "--stack", STACK, "--json"])) as unknown[];
      expect(history.length).toBeGreaterThanOrEqual(2);
      // The refresh read the release back from the cluster: its values are still only ciphertext.
      expectNoPlaintext(pulumiCli(["stack", "export", "--stack", STACK]));
      expectNoPlaintext(output);
    });
  });
});
