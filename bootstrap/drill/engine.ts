/**
 * `pulumi up --refresh` and `pulumi destroy` of this project's stack through the Automation API,
 * with one progress line per resource change from the engine events. The program runs inline
 * (this process), so the stack config in stacks/ and the program are exactly those of
 * `pulumi up`, without a Node.js language host plugin.
 */
import * as os from "node:os";
import { type EngineEvent, LocalWorkspace, type Stack, StackNotFoundError } from "@pulumi/pulumi/automation";
import { CONFIG_NAMESPACE } from "../../components/defaults";
import { UsageError } from "../../components/errors";
import { type TargetCluster, bootstrap, rawConfigFromPulumi } from "../program";
import { type StateBackend, hasPassphrase, printableBackend, stackNeedsPassphrase } from "../config/pulumi-backend";
import { type UpTiming, UpTimeline, changesOf } from "../cli-common/up-timing";

export class EngineSetupError extends UsageError {}

export interface DeployResult {
  /** Resource changes by operation (`create: 4`, `update: 1`). */
  readonly changes: Readonly<Record<string, number>>;
  /** Where the operation's time went (engine start, Helm), when the engine reports its events. */
  readonly timing?: UpTiming;
}

/** What `restore` and `drill` need from a deployment engine. */
export interface DeployEngine {
  /** One line for the progress output, e.g. `pulumi up --refresh (stack dev, backend file://...)`. */
  readonly description: string;
  up(onLine: (line: string) => void, signal: AbortSignal): Promise<DeployResult>;
  destroy(onLine: (line: string) => void, signal?: AbortSignal): Promise<DeployResult>;
}

/** The one cluster the engine deploys to: a single-context kubeconfig, as a file and as its text. */
export interface EngineCluster extends TargetCluster {
  /** The same kubeconfig as a file (0600), the engine's KUBECONFIG. */
  readonly kubeconfigFile: string;
}

export interface PulumiEngineOptions {
  readonly projectDir: string;
  readonly stack: string;
  readonly env: NodeJS.ProcessEnv;
  /** Where the stack's state is: the CLI's choice for restore, the drill's own for the drill. */
  readonly backend: StateBackend;
}

/** Checks the environment before anything runs; throws EngineSetupError naming what to set. */
export function engineEnvironment(options: PulumiEngineOptions): Record<string, string> {
  const backend = options.backend.url;
  if (stackNeedsPassphrase(options.projectDir, options.stack, backend) && !hasPassphrase(options.env)) {
    throw new EngineSetupError(
      `the stack ${options.stack} encrypts its secrets with a passphrase (state in ${printableBackend(backend)}): set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE`,
    );
  }
  const vars: Record<string, string> = { PULUMI_BACKEND_URL: backend, PULUMI_SKIP_UPDATE_CHECK: "true" };
  // The statically built Pulumi CLI needs $USER ("user: Current requires cgo or $USER set"); containers
  // and some CI runners have none: the operating system's user name stands in.
  if (!options.env.USER) vars.USER = userName();
  return vars;
}

/** The operating system's name for this process's user, or "gitops-bootstrap" where it has none. */
function userName(): string {
  try {
    return os.userInfo().username || "gitops-bootstrap";
  } catch {
    return "gitops-bootstrap";
  }
}

/**
 * The stack as the Automation API's `up` and `destroy` see it, minus what they do after the
 * engine ended: `up` reads the stack outputs twice and the history once, `destroy` the history,
 * three and one more Pulumi CLI runs (each loads the state and unlocks its secrets, 0.2 to 0.5 s)
 * whose results nothing here uses; the changes come from the engine's summary event instead.
 */
function withoutReadBack(stack: Stack): Stack {
  return Object.create(stack, { outputs: { value: async () => ({}) }, info: { value: async () => undefined } }) as Stack;
}

const QUIET_OPS = new Set(["same", "read", "refresh"]);

/** Turns engine events into progress lines: each finished resource change, warnings and errors. */
export function engineEventLine(event: EngineEvent): string | undefined {
  const done = event.resOutputsEvent?.metadata;
  if (done && !QUIET_OPS.has(done.op)) {
    const name = done.urn.split("::").pop();
    return `  ✔ ${done.op} ${done.type} ${name}`;
  }
  const failed = event.resOpFailedEvent?.metadata;
  if (failed) return `  ✗ ${failed.op} ${failed.type} ${failed.urn.split("::").pop()} failed`;
  const diag = event.diagnosticEvent;
  if (diag && (diag.severity === "error" || diag.severity === "warning") && !diag.ephemeral) {
    const where = diag.urn ? ` (${diag.urn.split("::").pop()})` : "";
    return `  ${diag.severity === "error" ? "✗" : "!"} ${diag.severity}${where}: ${diag.message.trim().replace(/\n+/g, "\n    ")}`;
  }
  return undefined;
}

export class PulumiEngine implements DeployEngine {
  private constructor(
    readonly stack: Stack,
    readonly description: string,
    private readonly target: { cluster?: EngineCluster },
  ) {}

  /** Selects (or creates) the stack. Nothing is deployed until {@link useCluster} names the cluster. */
  static async open(options: PulumiEngineOptions): Promise<PulumiEngine> {
    const envVars = engineEnvironment(options);
    const target: { cluster?: EngineCluster } = {};
    const program = async () => bootstrap(rawConfigFromPulumi(options.projectDir), { repoSecretsCheck: false, cluster: target.cluster });
    let stack: Stack;
    let created = false;
    try {
      const args = { stackName: options.stack, projectName: CONFIG_NAMESPACE, program };
      const workspace = { workDir: options.projectDir, envVars };
      try {
        stack = await LocalWorkspace.selectStack(args, workspace);
      } catch (e) {
        if (!(e instanceof StackNotFoundError)) throw e;
        stack = await LocalWorkspace.createStack(args, workspace);
        created = true;
      }
    } catch (e) {
      const message = (e as Error).message;
      if (/ENOENT|not find|no such file/i.test(message) && /pulumi/i.test(message)) {
        throw new EngineSetupError("the Pulumi CLI was not found: install it (https://www.pulumi.com/docs/install/) and put `pulumi` on PATH");
      }
      const where = printableBackend(envVars.PULUMI_BACKEND_URL);
      throw new EngineSetupError(`cannot select the Pulumi stack ${options.stack} in ${where}: ${message.split("\n").find((l) => /error/i.test(l)) ?? message.split("\n")[0]}`);
    }
    const fresh = created ? ", a new stack: this backend had no state for it" : "";
    return new PulumiEngine(stack, `pulumi up --refresh (stack ${options.stack}${fresh}, backend ${printableBackend(envVars.PULUMI_BACKEND_URL)})`, target);
  }

  /**
   * The cluster for `up` and `destroy`: the provider gets its kubeconfig and context from the
   * program, and the engine's KUBECONFIG is its file, so nothing falls back to another kubeconfig.
   */
  useCluster(cluster: EngineCluster): void {
    this.target.cluster = cluster;
    this.stack.workspace.envVars.KUBECONFIG = cluster.kubeconfigFile;
  }

  private pinned(): void {
    if (!this.target.cluster) throw new Error("the engine was given no cluster: useCluster() comes before up and destroy");
  }

  // runProgram: the refresh and the destroy configure the provider from the program (the cluster
  // of this run), not from the inputs the state kept from the last run, which may be a lost cluster.
  async up(onLine: (line: string) => void, signal: AbortSignal): Promise<DeployResult> {
    this.pinned();
    return this.timed(onLine, (onEvent) => withoutReadBack(this.stack).up({ refresh: true, runProgram: true, onEvent, color: "never", signal }));
  }

  async destroy(onLine: (line: string) => void, signal?: AbortSignal): Promise<DeployResult> {
    this.pinned();
    return this.timed(onLine, (onEvent) => withoutReadBack(this.stack).destroy({ runProgram: true, onEvent, color: "never", signal }));
  }

  private async timed(onLine: (line: string) => void, run: (onEvent: (e: EngineEvent) => void) => Promise<unknown>): Promise<DeployResult> {
    const timeline = new UpTimeline(Date.now());
    const onEvent = (e: EngineEvent): void => {
      timeline.add(e, Date.now());
      const line = engineEventLine(e);
      if (line) onLine(line);
    };
    await run(onEvent);
    const timing = timeline.finish(Date.now());
    // The engine sends its summary before it exits; should an engine not, the history has the counts.
    const changes = timing.changes ?? changesOf((await this.stack.info())?.resourceChanges);
    return { changes, timing };
  }
}
