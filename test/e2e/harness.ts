/**
 * Shared set-up for the end-to-end tests: a cluster (the local sandbox, or the user's own
 * throwaway cluster through GITOPS_BOOTSTRAP_E2E_KUBECONFIG), a scratch copy of the project so
 * stack files and state never touch the work tree, and a Pulumi stack driven through the
 * Automation API with a local file backend.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { bootstrap, rawConfigFromPulumi } from "../../bootstrap/program";
import { Sandbox, type SandboxOptions, startSandbox } from "./sandbox";
import { markForRelease, putChartsInto } from "./charts";
import { crdFileArgs, toolchainEnv, toolchainPath } from "./toolchain";

export const PROJECT_DIR = path.resolve(__dirname, "../..");

/** Set to a kubeconfig to run against your own throwaway cluster (kind, ...) instead of the sandbox. */
export const EXTERNAL_KUBECONFIG = process.env.GITOPS_BOOTSTRAP_E2E_KUBECONFIG;

/** A cluster the tests may wipe. */
export interface TestCluster {
  readonly kubeconfig: string;
  kubectl(args: readonly string[], input?: string): string;
  /** Everything the stack created is gone, as after losing the cluster. */
  wipe(): Promise<void>;
  /** The sandbox's Service network (Sandbox.routeService), when opened with `serviceNetwork`. */
  routeService?(service: { readonly namespace: string; readonly name: string; readonly port: number }, targetPort: number): Promise<void>;
  /** Stops the API server and starts it again (sandbox only). */
  restartApiServer?(): Promise<void>;
  close(): Promise<void>;
}

class SandboxCluster implements TestCluster {
  constructor(private sandbox: Sandbox, private readonly dir: string, readonly kubeconfig: string, private readonly options: ClusterOptions) {}

  kubectl(args: readonly string[], input?: string): string {
    return this.sandbox.kubectl(args, input);
  }

  /** The real disaster: stop the cluster, delete its data, start a new one (new port, new certificates). */
  async wipe(): Promise<void> {
    await this.sandbox.destroy();
    this.sandbox = await startSandbox({ ...this.options, dir: path.join(this.dir, "cluster") });
    fs.copyFileSync(this.sandbox.kubeconfig, this.kubeconfig);
  }

  routeService(service: { readonly namespace: string; readonly name: string; readonly port: number }, targetPort: number): Promise<void> {
    return this.sandbox.routeService(service, targetPort);
  }

  async restartApiServer(): Promise<void> {
    await this.sandbox.restart();
    fs.copyFileSync(this.sandbox.kubeconfig, this.kubeconfig);
  }

  async close(): Promise<void> {
    await this.sandbox.destroy();
  }
}

class ExternalCluster implements TestCluster {
  constructor(readonly kubeconfig: string) {}

  kubectl(args: readonly string[], input?: string): string {
    return execFileSync("kubectl", ["--kubeconfig", this.kubeconfig, ...args], { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  }

  /** Without control over the user's cluster, losing what the stack created stands in for losing the cluster. */
  async wipe(): Promise<void> {
    this.kubectl(["patch", "applications.argoproj.io", "--all", "-n", "argocd", "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    this.kubectl(["delete", "namespace", "argocd", "--ignore-not-found", "--wait=true", "--timeout=180s"]);
  }

  async close(): Promise<void> {}
}

/** What a test asks of the sandbox (kept across wipes); an external cluster has its own. */
export type ClusterOptions = Pick<SandboxOptions, "serviceNetwork">;

/** Starts the sandbox (or connects to the external cluster) with the Argo CD and Flux CRDs installed. */
export async function openCluster(dir: string, options: ClusterOptions = {}): Promise<TestCluster> {
  const kubeconfig = path.join(dir, "kubeconfig");
  if (EXTERNAL_KUBECONFIG) {
    fs.copyFileSync(EXTERNAL_KUBECONFIG, kubeconfig);
    const cluster = new ExternalCluster(kubeconfig);
    for (const reconciler of ["argo-cd", "flux"] as const) {
      const names = cluster.kubectl(["apply", "--server-side", ...crdFileArgs(reconciler), "-o", "name"]).split("\n").filter(Boolean);
      markForRelease((a) => cluster.kubectl(a), names, reconciler);
    }
    return cluster;
  }
  const sandbox = await startSandbox({ ...options, dir: path.join(dir, "cluster") });
  fs.copyFileSync(sandbox.kubeconfig, kubeconfig);
  return new SandboxCluster(sandbox, dir, kubeconfig, options);
}

/**
 * A scratch copy of the project (node_modules linked), so the stack file the Automation API
 * writes (encryption salt, config) and the Pulumi state stay out of the work tree.
 */
export function scratchProject(dir: string): string {
  const work = path.join(dir, "project");
  fs.mkdirSync(work, { recursive: true });
  // dist/ (the compiled CLI, when built) with its times, so the bin shim runs it as a user's would.
  for (const entry of ["Pulumi.yaml", "package.json", "tsconfig.json", "tsconfig.build.json", "bootstrap", "components", "dist", "examples", "stacks"]) {
    if (entry === "dist" && !fs.existsSync(path.join(PROJECT_DIR, entry))) continue;
    fs.cpSync(path.join(PROJECT_DIR, entry), path.join(work, entry), { recursive: true, preserveTimestamps: true });
  }
  putChartsInto(work);
  fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(work, "node_modules"));
  return work;
}

export interface StackHandle {
  readonly stack: Stack;
  readonly workDir: string;
  /** Engine output of every operation, for failure messages. */
  readonly log: string[];
}

/** Creates a stack in a scratch project, with a local file backend and a passphrase. */
export async function openStack(dir: string, stackName: string, kubeconfig: string): Promise<StackHandle> {
  const workDir = scratchProject(dir);
  const envVars: Record<string, string> = {
    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase-not-secret",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: EXTERNAL_KUBECONFIG ? "false" : "true",
    KUBECONFIG: kubeconfig,
  };
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  let pulumiCommand: PulumiCommand;
  if (EXTERNAL_KUBECONFIG) {
    pulumiCommand = await PulumiCommand.get();
  } else {
    const pulumiBin = toolchainPath().split(":").find((d) => fs.existsSync(path.join(d, "pulumi")));
    if (!pulumiBin) throw new Error("the pulumi CLI is not in the toolchain: bash test/e2e/toolchain/build.sh pulumi");
    pulumiCommand = await PulumiCommand.get({ root: path.dirname(pulumiBin) });
    envVars.PATH = toolchainEnv().PATH!;
    envVars.PULUMI_HOME = path.join(dir, "pulumi-home");
  }
  // Inline program: the engine talks to the program in this process, so no Node.js language host
  // plugin is needed (the module proxy here does not serve it). Same program, same config.
  // A rejected inline program leaves a rejected promise behind in this (jest) process, which jest
  // reports as a suite failure; so the program's error is logged as an engine error instead. The
  // engine then fails the update with the same message, exactly as with a thrown RunError.
  const program = async () => {
    try {
      return await bootstrap(rawConfigFromPulumi(workDir));
    } catch (e) {
      pulumi.log.error((e as Error).message);
      return {};
    }
  };
  const stack = await LocalWorkspace.createOrSelectStack({ stackName, projectName: "gitops-bootstrap", program }, { workDir, envVars, pulumiCommand });
  return { stack, workDir, log: [] };
}

/**
 * Fails, saying how to build them, unless these binaries are in the e2e toolchain. A scenario
 * that cannot run is a failure, not a skip. Against an external cluster, the user's own Pulumi
 * (which downloads the provider plugin as usual) and tools are used.
 */
export function requireToolchain(...bins: string[]): void {
  if (EXTERNAL_KUBECONFIG) return;
  const dirs = toolchainPath().split(":");
  const missing = bins.filter((b) => !dirs.some((d) => fs.existsSync(path.join(d, b))));
  if (missing.length) {
    throw new Error(`the e2e toolchain lacks ${missing.join(", ")}: build it with \`bash test/e2e/toolchain/build.sh\` (see test/e2e/toolchain/README.md)`);
  }
}

/**
 * The environment for running the CLI (restore, drill) as a user would, with its Pulumi state,
 * passphrase and plugin home under the test's `dir` and the toolchain first on PATH, where the
 * provider plugin is found; a missing plugin is an error, not a download.
 */
export function cliEnv(dir: string): NodeJS.ProcessEnv {
  // The state folder exists, as after `pulumi login file://…`: restore refuses a missing one.
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  return toolchainEnv({
    PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase-not-secret",
    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
    PULUMI_HOME: path.join(dir, "pulumi-home"),
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gitops-bootstrap-${prefix}-`));
}

/**
 * Argo CD's part at deletion: the controller removes `resources-finalizer.argocd.argoproj.io`
 * once it has deleted what the Application deployed. No controller runs in the sandbox, so the
 * tests do it, openly, for Applications being deleted.
 */
export function releaseDeletedApplications(cluster: TestCluster, namespace: string): () => void {
  const timer = setInterval(() => {
    try {
      const apps = JSON.parse(cluster.kubectl(["get", "applications.argoproj.io", "-n", namespace, "-o", "json"])) as {
        items: { metadata: { name: string; deletionTimestamp?: string; finalizers?: string[] } }[];
      };
      for (const app of apps.items) {
        if (app.metadata.deletionTimestamp && app.metadata.finalizers?.length) {
          cluster.kubectl(["patch", "applications.argoproj.io", app.metadata.name, "-n", namespace, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
        }
      }
    } catch {
      // namespace or CRD gone: nothing left to release
    }
  }, 500);
  return () => clearInterval(timer);
}
