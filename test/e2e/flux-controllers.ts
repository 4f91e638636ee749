/**
 * The real Flux controllers for the e2e tests: source-controller and kustomize-controller,
 * built from their Go modules by test/e2e/toolchain/build.sh (Flux 2.9's pair, v1.9.6; the
 * chart the product installs pins Flux 2.8, whose GitRepository v1 and Kustomization v1 APIs
 * are the same), run as local processes against a cluster's kubeconfig instead of the flux2
 * chart's pods (no container runtime here). Every listener is on 127.0.0.1 on a free port;
 * kustomize-controller downloads artifacts from source-controller's storage server on loopback,
 * as it would from the in-cluster Service. Logs go to files, for failure messages.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FLUX } from "../../components/defaults";
import { ChartPods, withOurFlags } from "./chart-pods";
import { markForRelease } from "./charts";
import { freePort, httpStatus, killLeftovers, startedOrStopped, terminate, watchParent } from "./processes";
import { toolchainEnv, toolchainPath } from "./toolchain";

const BUILD_HINT = "build them with `bash test/e2e/toolchain/build.sh flux-source-controller flux-kustomize-controller` (see test/e2e/toolchain/README.md)";

/** The controllers' binaries and CRD folders in the toolchain cache. */
export interface FluxToolchain {
  readonly sourceController: string;
  readonly kustomizeController: string;
  /** The CRDs the binaries were built with: every source.toolkit.fluxcd.io CRD and the Kustomization CRD. */
  readonly crdDirs: readonly string[];
}

/**
 * Finds the controllers in the e2e toolchain (`build.sh --print-path`); throws, saying how to
 * build them, when one is missing. A scenario that cannot run fails; it is not skipped.
 */
export function fluxToolchain(): FluxToolchain {
  const dirs = toolchainPath().split(":").filter(Boolean);
  const find = (tool: string, bin: string) => {
    const dir = dirs.find((d) => new RegExp(`/${tool}-v[^/]+/bin$`).test(d) && fs.existsSync(path.join(d, bin)));
    return dir && { bin: path.join(dir, bin), crds: path.join(path.dirname(dir), "crds") };
  };
  const source = find("flux-source-controller", "source-controller");
  const kustomize = find("flux-kustomize-controller", "kustomize-controller");
  const missing = [!source && "flux-source-controller", !kustomize && "flux-kustomize-controller"].filter(Boolean);
  if (!source || !kustomize) throw new Error(`the e2e toolchain lacks ${missing.join(" and ")}: ${BUILD_HINT}`);
  for (const d of [source.crds, kustomize.crds]) {
    if (!fs.existsSync(d) || !fs.readdirSync(d).some((f) => f.endsWith(".yaml"))) throw new Error(`no CRDs in ${d}: rebuild the tool (delete its directory), ${BUILD_HINT}`);
  }
  return { sourceController: source.bin, kustomizeController: kustomize.bin, crdDirs: [source.crds, kustomize.crds] };
}

function kubectl(kubeconfig: string, args: readonly string[]): string {
  return execFileSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { env: toolchainEnv(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}

/**
 * Installs the CRDs the controllers were built with (server-side apply, forced, so they replace
 * what the sandbox installed) and waits until they are Established.
 * The controllers need all of them: source-controller exits at once without the Bucket CRD, and
 * kustomize-controller waits for the OCIRepository and ExternalArtifact ones.
 */
export async function installFluxCrds(kubeconfig: string, toolchain: FluxToolchain = fluxToolchain()): Promise<string[]> {
  const names: string[] = [];
  for (const dir of toolchain.crdDirs) {
    const out = kubectl(kubeconfig, ["apply", "--server-side", "--force-conflicts", "--field-manager=gitops-bootstrap-e2e", "-f", dir, "-o", "name"]);
    names.push(...out.split("\n").filter(Boolean));
  }
  markForRelease((a) => kubectl(kubeconfig, a), names, "flux");
  // `kubectl wait` gives up at once on a CRD with no status yet; ask again until the deadline.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      kubectl(kubeconfig, ["wait", "--for=condition=Established", "--timeout=10s", ...names]);
      return names;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`Flux CRDs not Established after 60s: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}


export interface FluxControllersOptions {
  /** Where logs, the artifact storage and temporary files go. Created if missing. */
  readonly dir: string;
  /** The cluster to reconcile. */
  readonly kubeconfig: string;
  /** The namespace the controllers watch (RUNTIME_NAMESPACE), as the chart's release namespace. @default FLUX.namespace ("flux-system") */
  readonly namespace?: string;
  /** Install the CRDs first (installFluxCrds). @default true */
  readonly installCrds?: boolean;
  /** How long to wait for both to report healthy. @default 60_000 */
  readonly readyTimeoutMs?: number;
  /**
   * Run as the flux2 chart's pods: each controller starts once the chart's Deployment and
   * ServiceAccount exist (after `up`), with that ServiceAccount's token (so with only the chart's
   * RBAC), the Deployment's flags and environment, and stops when the Deployment goes, as the
   * kubelet runs a pod. start() then returns at once. Without it: the admin kubeconfig, at once.
   * @default false
   */
  readonly asChartPods?: boolean;
}

export type FluxControllerName = "source-controller" | "kustomize-controller";

export interface FluxControllers {
  readonly namespace: string;
  /** The kubeconfig they run against. */
  readonly kubeconfig: string;
  /** source-controller's artifact server (`http://127.0.0.1:<port>`), where kustomize-controller downloads from. */
  readonly storageUrl: string;
  /** A controller's log file (JSON lines, appended across restarts). */
  logFile(name: FluxControllerName): string;
  /** The last lines of both logs, for a failure message. */
  logTail(lines?: number): string;
  /** Throws, with the log tail, if a controller has exited since it started. */
  assertRunning(): void;
  /**
   * Stops both and starts them again, against `kubeconfig` if given (a new cluster after a
   * wipe: the CRDs are installed there first, the artifact storage starts empty).
   */
  restart(kubeconfig?: string): Promise<void>;
  stop(): Promise<void>;
}

interface Running {
  readonly name: FluxControllerName;
  readonly child: ChildProcess;
  readonly healthUrl: string;
}



class LocalFluxControllers implements FluxControllers {
  private running: Running[] = [];
  private watchdog: ChildProcess | undefined;
  private storagePort = 0;

  constructor(
    private readonly dir: string,
    public kubeconfig: string,
    readonly namespace: string,
    private readonly toolchain: FluxToolchain,
    private readonly installCrds: boolean,
    private readonly readyTimeoutMs: number,
    private readonly asChartPods: boolean,
  ) {}

  private pods: ChartPods | undefined;

  get storageUrl(): string {
    return `http://127.0.0.1:${this.storagePort}`;
  }

  logFile(name: FluxControllerName): string {
    return path.join(this.dir, "logs", `${name}.log`);
  }

  logTail(lines = 40): string {
    return (["source-controller", "kustomize-controller"] as const)
      .map((name) => {
        const file = this.logFile(name);
        const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "(no log)";
        return `--- last lines of ${file} ---\n${text}`;
      })
      .join("\n");
  }

  assertRunning(): void {
    // A chart pod's process is started again by its supervisor, as a crashed container is.
    if (this.asChartPods) return;
    const gone = this.running.filter((r) => r.child.exitCode !== null || r.child.signalCode !== null);
    if (gone.length) {
      const what = gone.map((r) => `${r.name} exited (${r.child.exitCode ?? r.child.signalCode})`).join(", ");
      throw new Error(`flux controllers: ${what}\n${this.logTail()}`);
    }
  }

  private spawnLogged(name: FluxControllerName, bin: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    fs.appendFileSync(this.logFile(name), `--- ${bin} ${args.join(" ")} ---\n`);
    const logFd = fs.openSync(this.logFile(name), "a");
    const child = spawn(bin, args, { env, stdio: ["ignore", logFd, logFd] });
    fs.closeSync(logFd);
    child.on("error", (e) => fs.appendFileSync(this.logFile(name), `spawn error: ${e.message}\n`));
    if (this.pods) fs.writeFileSync(path.join(this.dir, "pids"), [...this.pods.pids(), child.pid].map((p) => `${p}\n`).join(""));
    return child;
  }

  private launch(name: FluxControllerName, bin: string, args: string[], env: NodeJS.ProcessEnv, healthPort: number): void {
    const child = this.spawnLogged(name, bin, args, env);
    this.running.push({ name, child, healthUrl: `http://127.0.0.1:${healthPort}/readyz` });
    fs.writeFileSync(path.join(this.dir, "pids"), this.running.map((r) => `${r.child.pid}\n`).join(""));
  }

  async start(): Promise<void> {
    for (const sub of ["logs", "tmp"]) fs.mkdirSync(path.join(this.dir, sub), { recursive: true });
    if (this.installCrds) await installFluxCrds(this.kubeconfig, this.toolchain);
    const storage = path.join(this.dir, "storage");
    fs.rmSync(storage, { recursive: true, force: true });
    fs.mkdirSync(storage, { recursive: true });
    this.storagePort = await freePort();
    const ports = { sourceMetrics: await freePort(), sourceHealth: await freePort(), kustomizeMetrics: await freePort(), kustomizeHealth: await freePort() };
    // Ours, in place of the chart's: loopback listeners, the local storage, no leader election,
    // no notification-controller (events are only logged).
    const ours = (metrics: number, health: number): Record<string, string> => ({
      "metrics-addr": `127.0.0.1:${metrics}`,
      "health-addr": `127.0.0.1:${health}`,
      "events-addr": "",
      "enable-leader-election": "false",
    });
    const sourceOurs = {
      ...ours(ports.sourceMetrics, ports.sourceHealth),
      "storage-path": storage,
      "storage-addr": `127.0.0.1:${this.storagePort}`,
      "storage-adv-addr": `127.0.0.1:${this.storagePort}`,
    };
    const kustomizeOurs = ours(ports.kustomizeMetrics, ports.kustomizeHealth);
    // KUBECONFIG, not --kubeconfig: the controllers parse pflags, where controller-runtime's
    // --kubeconfig (a Go flag) is not registered. TMPDIR: their clones and builds stay in dir.
    const env = (kubeconfig: string, chartEnv: Record<string, string> = {}): NodeJS.ProcessEnv => ({
      ...chartEnv,
      PATH: process.env.PATH,
      HOME: this.dir,
      TMPDIR: path.join(this.dir, "tmp"),
      KUBECONFIG: kubeconfig,
      RUNTIME_NAMESPACE: this.namespace,
    });
    const flags = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `--${k}=${v}`);
    const specs = [
      { name: "source-controller" as const, bin: this.toolchain.sourceController, ours: sourceOurs, health: ports.sourceHealth },
      { name: "kustomize-controller" as const, bin: this.toolchain.kustomizeController, ours: kustomizeOurs, health: ports.kustomizeHealth },
    ];
    if (!this.asChartPods) {
      for (const c of specs) this.launch(c.name, c.bin, [...flags(c.ours), "--log-level=info"], env(this.kubeconfig), c.health);
      this.watchdog = watchParent(this.running.map((r) => r.child.pid!));
      await this.waitHealthy();
      return;
    }
    // As the chart's pods: started once the chart has made their Deployments and ServiceAccounts.
    this.pods = new ChartPods(
      this.kubeconfig,
      this.namespace,
      this.dir,
      specs.map((c) => ({
        name: c.name,
        workload: { kind: "Deployment" as const, name: c.name },
        start: (container) => this.spawnLogged(c.name, c.bin, withOurFlags(container.args, c.ours), env(container.kubeconfig, container.env)),
      })),
      (name, line) => fs.appendFileSync(this.logFile(name as FluxControllerName), `${line}\n`),
    );
    this.pods.start();
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    const pending = new Set(this.running.map((r) => r.healthUrl));
    pending.add(`${this.storageUrl}/`);
    while (pending.size > 0) {
      this.assertRunning();
      for (const url of [...pending]) {
        const status = await httpStatus(url);
        // The storage server answers 404 for / (no artifact there): it is up.
        if (status === 200 || (url.endsWith(":" + this.storagePort + "/") && status === 404)) pending.delete(url);
      }
      if (pending.size === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`flux controllers: not healthy after ${this.readyTimeoutMs / 1000}s (waiting for ${[...pending].join(", ")})\n${this.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(): Promise<void> {
    await this.pods?.stop();
    this.pods = undefined;
    this.watchdog?.kill("SIGKILL");
    this.watchdog = undefined;
    await Promise.all(this.running.map(({ child }) => terminate(child)));
    this.running = [];
    fs.rmSync(path.join(this.dir, "pids"), { force: true });
  }

  async restart(kubeconfig?: string): Promise<void> {
    await this.stop();
    if (kubeconfig) this.kubeconfig = kubeconfig;
    await this.start();
  }
}


/**
 * Starts source-controller and kustomize-controller against `kubeconfig` (installing their
 * CRDs first) and waits until both report healthy and the artifact server answers. Throws,
 * saying how to build them, if the toolchain lacks them. Call `stop()` when done.
 */
export async function startFluxControllers(options: FluxControllersOptions): Promise<FluxControllers> {
  const toolchain = fluxToolchain();
  fs.mkdirSync(options.dir, { recursive: true });
  killLeftovers(path.join(options.dir, "pids"));
  const controllers = new LocalFluxControllers(
    options.dir,
    options.kubeconfig,
    options.namespace ?? FLUX.namespace,
    toolchain,
    options.installCrds ?? true,
    options.readyTimeoutMs ?? 60_000,
    options.asChartPods ?? false,
  );
  return startedOrStopped(controllers);
}
