/**
 * The npm package as a Pulumi user installs it: `npm pack` of the project, installed from the
 * tarball into a TypeScript program in a temporary folder that makes its own Kubernetes provider
 * from the sandbox's kubeconfig, takes the age key and the Git password from secret config, and
 * adds one `GitOpsCluster` (Flux). The program is compiled with a plain strict tsconfig against
 * the package's typings, then `pulumi up` runs it with the real engine and Kubernetes provider;
 * Flux's real source-controller and kustomize-controller sync the example repository from the
 * HTTPS Git server (credentials, private CA), run as the real flux2 chart's pods. The root
 * Kustomization becomes Ready and the SOPS Secret is decrypted. No Node.js language host is served by the module proxy here, so `up` runs
 * the compiled program through the Automation API's inline program, from the consumer's own
 * @pulumi/pulumi (the copy the package resolves to), in a child process.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { FLUX } from "../../components/defaults";
import { chartFile } from "./charts";
import { type ExpectedSecret, DEMO_KEY_FILE, clusterSecretDigests, expectedSecret } from "./demo-repo";
import { type FluxControllers, startFluxControllers } from "./flux-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { PROJECT_DIR, type TestCluster, openCluster, requireToolchain, tempDir } from "./harness";
import { toolchainEnv, toolchainPath } from "./toolchain";

jest.setTimeout(15 * 60 * 1000);

const REPO = "gitops-bootstrap";
const SOPS_FILE = "examples/gitops-repo-flux/workloads/demo-secret/demo-credentials.sops.yaml";
const PASSPHRASE = "e2e-passphrase-not-secret";

let dir: string;
let cluster: TestCluster;
let git: GitServer;
let flux: FluxControllers;
let consumer: string;
let tarball: string;
let secret: ExpectedSecret;
const password = randomBytes(18).toString("base64url");
const ageKey = fs.readFileSync(DEMO_KEY_FILE, "utf8").match(/AGE-SECRET-KEY-1[0-9A-Z]+/)![0];
/** What the test measured, printed once at the end. */
const figures: string[] = [];

const rootPackage = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { dependencies: Record<string, string> };

/** The program a user writes: their cluster's provider, their secrets, one GitOpsCluster. */
const PROGRAM = `import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GitOpsCluster, Reconciler } from "gitops-bootstrap";

const config = new pulumi.Config();
// The cluster to bootstrap; in a real program, the provider of the cluster this program creates.
const provider = new k8s.Provider("cluster", { kubeconfig: config.requireSecret("kubeconfig") });

const cluster = new GitOpsCluster(
  "gitops",
  {
    reconciler: Reconciler.Flux,
    repo: {
      url: config.require("repoUrl"),
      revision: "main",
      path: "examples/gitops-repo-flux/apps",
      credentials: { username: "flux", password: config.requireSecret("repoPassword") },
      caCertificates: config.require("repoCa"),
    },
    ageKey: config.requireSecret("ageKey"),
    flux: { chartRepo: config.require("fluxChart") },
  },
  { provider },
);

export const namespace = cluster.reconcilerNamespace;
export const kustomization = cluster.kustomizationName;
`;

/** Runs the compiled program with the Automation API (inline), as \`pulumi up\` would; config on stdin. */
const DRIVER = `"use strict";
const fs = require("node:fs");
const { LocalWorkspace, PulumiCommand } = require("@pulumi/pulumi/automation");

(async () => {
  const { config } = JSON.parse(fs.readFileSync(0, "utf8"));
  const pulumiCommand = await PulumiCommand.get({ root: process.env.PULUMI_CLI_ROOT });
  const stack = await LocalWorkspace.createOrSelectStack(
    { projectName: "gitops-consumer", stackName: "dev", program: async () => require("./index.js") },
    { workDir: __dirname, pulumiCommand },
  );
  for (const [key, { value, secret }] of Object.entries(config)) await stack.setConfig(key, { value, secret });
  const result = await stack.up({ onOutput: (line) => process.stderr.write(line), color: "never" });
  const outputs = Object.fromEntries(Object.entries(result.outputs).map(([k, o]) => [k, o.value]));
  process.stdout.write(JSON.stringify({ outputs, changes: result.summary.resourceChanges }));
})().catch((e) => {
  process.stderr.write(String(e && e.message ? e.message : e));
  process.exit(1);
});
`;

function run(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync(cmd, [...args], { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
}

/** `npm pack` of a copy of the project (its `prepare` builds dist/ there, not in the work tree). */
function pack(): string {
  const src = path.join(dir, "source");
  fs.mkdirSync(src);
  for (const entry of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "index.ts", "bootstrap", "components", "README.md", "LICENSE"]) {
    fs.cpSync(path.join(PROJECT_DIR, entry), path.join(src, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(src, "node_modules"));
  const out = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", dir], src)) as { filename: string; files: { path: string }[] }[];
  packedFiles = out[0].files.map((f) => f.path);
  return path.join(dir, out[0].filename);
}
let packedFiles: string[] = [];

/** Runs a command with `input` on its stdin, without blocking this event loop (the controllers' kubelet part runs on it). */
function runWithInput(bin: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; input: string }): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: options.cwd, env: options.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ status: code ?? (signal ? 128 : -1), stdout, stderr }));
    child.stdin.end(options.input);
  });
}

let upCount = 0;
/** `pulumi up` of the consumer's program; its outputs and resource changes. */
async function up(): Promise<{ outputs: Record<string, unknown>; changes: Record<string, number> }> {
  const pulumiBin = toolchainPath().split(":").find((d) => fs.existsSync(path.join(d, "pulumi")));
  if (!pulumiBin) throw new Error("the pulumi CLI is not in the toolchain: bash test/e2e/toolchain/build.sh pulumi");
  const config = {
    "gitops-consumer:kubeconfig": { value: fs.readFileSync(cluster.kubeconfig, "utf8"), secret: true },
    "gitops-consumer:repoUrl": { value: git.url(REPO), secret: false },
    "gitops-consumer:repoCa": { value: git.caPem, secret: false },
    "gitops-consumer:repoPassword": { value: password, secret: true },
    "gitops-consumer:ageKey": { value: `${ageKey}\n`, secret: true },
    // The real flux2 chart, from the toolchain cache (build.sh charts): no chart repository is reachable here.
    "gitops-consumer:fluxChart": { value: chartFile(FLUX.chart), secret: false },
  };
  // The state folder exists, as after `pulumi login file://…`.
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  const started = Date.now();
  const r = await runWithInput(process.execPath, ["driver.js"], {
    cwd: consumer,
    input: JSON.stringify({ config }),
    env: toolchainEnv({
      PULUMI_CLI_ROOT: path.dirname(pulumiBin),
      PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      PULUMI_HOME: path.join(dir, "pulumi-home"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      KUBECONFIG: cluster.kubeconfig,
    }),
  });
  const output = `${r.stdout}${r.stderr}`;
  expect(output).not.toContain(ageKey);
  expect(output).not.toContain(password);
  if (r.status !== 0) throw new Error(`pulumi up of the consumer exited ${r.status}:\n${r.stderr}`);
  figures.push(`up #${++upCount}: ${Date.now() - started} ms`);
  return JSON.parse(r.stdout);
}

/** Polls until `check` returns a value; fails with `status()` and the controllers' log tails. */
async function waitFor<T>(what: string, check: () => T | undefined, status: () => string, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    flux.assertRunning();
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000}s\n${status()}\n${flux.logTail(20)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

function kustomizations(): { metadata: { name: string }; status?: { conditions?: Condition[] } }[] {
  return JSON.parse(cluster.kubectl(["get", "kustomizations.kustomize.toolkit.fluxcd.io", "-n", FLUX.namespace, "-o", "json"])).items;
}

beforeAll(async () => {
  requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm", "kubectl");
  dir = tempDir("package-consumer");
  let started = Date.now();
  tarball = pack();
  figures.push(`npm pack (with its build): ${Date.now() - started} ms, ${fs.statSync(tarball).size} bytes`);
  consumer = path.join(dir, "consumer");
  fs.mkdirSync(consumer);
  const dependencies = { "gitops-bootstrap": `file:${tarball}`, "@pulumi/pulumi": rootPackage.dependencies["@pulumi/pulumi"], "@pulumi/kubernetes": rootPackage.dependencies["@pulumi/kubernetes"] };
  fs.writeFileSync(path.join(consumer, "package.json"), `${JSON.stringify({ name: "gitops-consumer", private: true, dependencies }, null, 2)}\n`);
  started = Date.now();
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], consumer);
  figures.push(`npm install of the tarball and the SDKs: ${Date.now() - started} ms`);
  fs.writeFileSync(path.join(consumer, "index.ts"), PROGRAM);
  fs.writeFileSync(path.join(consumer, "driver.js"), DRIVER);
  // A user's plain strict tsconfig: no rootDir or ignoreDeprecations to reach into the package.
  const tsconfig = { compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", types: [], skipLibCheck: false }, files: ["index.ts"] };
  fs.writeFileSync(path.join(consumer, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));

  cluster = await openCluster(dir);
  git = await startGitServer({
    dir: path.join(dir, "git"),
    repos: { [REPO]: { dir: PROJECT_DIR, include: ["examples/gitops-repo-flux"] } },
    auth: { username: "flux", password },
  });
  // The controllers start as the chart's pods once \`up\` has installed it.
  flux = await startFluxControllers({ dir: path.join(dir, "flux"), kubeconfig: cluster.kubeconfig, asChartPods: true });
  secret = await expectedSecret(SOPS_FILE);
});

afterAll(async () => {
  if (figures.length) console.log(`package-consumer figures:\n  ${figures.join("\n  ")}`);
  await flux?.stop();
  await git?.stop();
  await cluster?.close();
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

test("the tarball holds the compiled library with its typings and the command, nothing else of the repository", () => {
  expect(packedFiles).toEqual(expect.arrayContaining(["package.json", "dist/index.js", "dist/index.d.ts", "dist/components/gitops-cluster.d.ts", "dist/bootstrap/cli.js", "bootstrap/gitops-bootstrap.js"]));
  expect(packedFiles.filter((f) => /^(test|examples|stacks|components|bootstrap\/(?!gitops-bootstrap\.js$))|\.ts$(?<!\.d\.ts)|\.map$/.test(f))).toEqual([]);
  const installed = path.join(consumer, "node_modules/gitops-bootstrap");
  // No TypeScript compiler comes with it.
  expect(fs.existsSync(path.join(consumer, "node_modules/typescript"))).toBe(false);
  expect(fs.existsSync(path.join(consumer, "node_modules/ts-node"))).toBe(false);
  // The command runs from the installed package.
  expect(run(process.execPath, [path.join(installed, "bootstrap/gitops-bootstrap.js"), "--help"], consumer)).toContain("Usage: gitops-bootstrap");
});

test("the library entry loads no command-line code", () => {
  const loaded = run(process.execPath, ["-e", 'require("gitops-bootstrap"); console.log(Object.keys(require.cache).join("\\n"))'], consumer).split("\n");
  const ours = loaded.filter((f) => f.includes("node_modules/gitops-bootstrap/"));
  expect(ours).toContain(path.join(consumer, "node_modules/gitops-bootstrap/dist/index.js"));
  expect(ours.filter((f) => /\/(cli|init|render|check|audit|drill|restore|progress|output-files)(\.js|\/)/.test(f))).toEqual([]);
  expect(loaded.filter((f) => /node_modules\/(commander|log-update)\//.test(f))).toEqual([]);
});

test("the program compiles against the package's typings with a plain strict tsconfig", () => {
  // The project's own compiler (the consumer installs none): the typings come from the consumer's node_modules.
  run(process.execPath, [path.join(PROJECT_DIR, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json", "--outDir", "."], consumer);
  expect(fs.existsSync(path.join(consumer, "index.js"))).toBe(true);
});

test("pulumi up bootstraps the cluster on the Flux path: the root Kustomization Ready, the SOPS Secret decrypted", async () => {
  const { outputs, changes } = await up();
  expect(outputs).toEqual({ namespace: FLUX.namespace, kustomization: "root" });
  expect(changes.create).toBeGreaterThanOrEqual(7);
  const started = Date.now();
  await waitFor(
    "root Kustomization Ready",
    () => kustomizations().find((k) => k.metadata.name === "root" && k.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")),
    () => JSON.stringify(kustomizations().map((k) => [k.metadata.name, k.status?.conditions]), null, 1),
  );
  await waitFor(`Secret ${secret.namespace}/${secret.name}`, () => clusterSecretDigests((a) => cluster.kubectl(a), secret.name, secret.namespace), () => "");
  figures.push(`up -> root Ready and the Secret decrypted: ${Date.now() - started} ms more`);
  expect(clusterSecretDigests((a) => cluster.kubectl(a), secret.name, secret.namespace)).toEqual(secret.digests);
  // source-controller fetched with the password the program took from secret config.
  expect(git.accessLog().some((l) => / 200 flux$/.test(l))).toBe(true);
});

test("the state holds the age key, the Git password and the kubeconfig only encrypted", () => {
  const stateFile = path.join(dir, "state/.pulumi/stacks/gitops-consumer/dev.json");
  const state = fs.readFileSync(stateFile, "utf8");
  expect(state).toContain("gitops-bootstrap:index:GitOpsCluster");
  // Neither as given nor as the base64 a Secret's data holds.
  for (const plain of [ageKey, `${ageKey}\n`, password]) {
    expect(state).not.toContain(plain);
    expect(state).not.toContain(Buffer.from(plain).toString("base64"));
  }
  expect(state).not.toContain(fs.readFileSync(cluster.kubeconfig, "utf8").match(/client-key-data: (\S+)/)?.[1] ?? "no client key in the kubeconfig");
  // The age key Secret's data is there, encrypted.
  const ageSecret = JSON.parse(state).checkpoint.latest.resources.find((r: { urn: string }) => r.urn.endsWith("::gitops-flux-age-key-secret"));
  expect(JSON.stringify(ageSecret.inputs)).toContain('"ciphertext"');
});

test("a second pulumi up changes nothing", async () => {
  const { changes } = await up();
  expect(Object.entries(changes).filter(([op]) => op !== "same")).toEqual([]);
});
