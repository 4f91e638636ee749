/**
 * The real Argo CD for the e2e tests: redis, the repo-server and the application-controller
 * (the multi-call `argocd` binary of Argo CD v3.6.1 built from its Go module, Debian's redis,
 * kustomize v5.8.3: test/e2e/toolchain/build.sh), run as local processes against a cluster's
 * kubeconfig instead of the argo-cd chart's pods (no container runtime here).
 *
 * What a pod would get from the cluster, these processes get from the same objects, read from
 * the cluster and written to files as the kubelet mounts them (and refreshed, as the kubelet
 * refreshes mounted Secrets and ConfigMaps):
 * - the `sops-age` Secret's `age.agekey` -> the file SOPS_AGE_KEY_FILE names (the product's
 *   Secret is what KSOPS decrypts with);
 * - the `argocd-tls-certs-cm` ConfigMap -> ARGOCD_TLS_DATA_PATH (a file per Git host, as the
 *   chart mounts it at /app/config/tls), so the Git server's CA the product configures is the
 *   one the repo-server trusts.
 * KSOPS is the stand-in test/e2e/ksops/ksops (KSOPS' module is not served), which runs the real
 * sops. Every listener is on 127.0.0.1 on a free port. The application-controller binds its
 * metrics listener to 0.0.0.0 with no flag to change it, so it runs in a private network
 * namespace (`unshare --net`, argo-netns-bridge.js) reaching the API server, the repo-server and
 * redis through Unix sockets; where that is not possible it runs on the host network and says so.
 * Logs go to files, for failure messages.
 *
 * With `asChartPods`, the processes are the argo-cd chart's pods (chart-pods.ts): each starts once
 * the chart `up` installs has made its workload, as that workload's ServiceAccount (a bound token:
 * only what the chart's RBAC grants), with the workload's environment (argocd-cmd-params-cm,
 * argocd-cm, the argocd-redis Secret resolved) and flags, ours only where a local process needs
 * them (loopback addresses, plaintext between the processes, files in place of mounts). The
 * chart's redis-secret-init Job runs as the real `argocd admin redis-initial-password`. A process
 * that exits is started again after the kubelet's back-off; one whose workload goes is stopped.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { AGE_SECRET, ARGOCD } from "../../components/defaults";
import { ChartPods, kubectlAsync, withOurFlags } from "./chart-pods";
import { markForRelease } from "./charts";
import { freePort, httpStatus, killLeftovers, startedOrStopped, terminate } from "./processes";
import { toolchainEnv, toolchainPath } from "./toolchain";

const BUILD_HINT = "build them with `bash test/e2e/toolchain/build.sh argocd kustomize redis sops helm` (see test/e2e/toolchain/README.md)";

/** The ConfigMap the argo-cd chart makes from `configs.tls.certificates` and mounts at /app/config/tls. */
export const TLS_CERTS_CONFIGMAP = "argocd-tls-certs-cm";

/** The KSOPS stand-in's directory (put first on the repo-server's PATH). */
export const KSOPS_STAND_IN_DIR = path.join(__dirname, "ksops");

/** The binaries the processes need, from the toolchain cache. */
export interface ArgoToolchain {
  /** The multi-call binary (role from ARGOCD_BINARY_NAME). */
  readonly argocd: string;
  /** argocd's bin dir: also holds git-verify-wrapper.sh, which the repo-server runs from PATH. */
  readonly argocdBinDir: string;
  /** The CRDs of the built version (Application, AppProject, ApplicationSet). */
  readonly crdDir: string;
  readonly redisServer: string;
}

/**
 * Finds Argo CD, kustomize, redis, sops and helm in the e2e toolchain; throws, saying how to
 * build them, when one is missing. A scenario that cannot run fails; it is not skipped.
 */
export function argoToolchain(): ArgoToolchain {
  const dirs = toolchainPath().split(":").filter(Boolean);
  const find = (tool: string, bin: string) => dirs.find((d) => new RegExp(`/${tool}-[^/]+/bin$`).test(d) && fs.existsSync(path.join(d, bin)));
  const argocd = find("argocd", "argocd");
  const wanted: [string, string][] = [["argocd", "argocd"], ["argocd", "git-verify-wrapper.sh"], ["kustomize", "kustomize"], ["redis", "redis-server"], ["sops", "sops"], ["helm", "helm"]];
  const missing = wanted.filter(([tool, bin]) => !find(tool, bin)).map(([tool, bin]) => `${tool} (${bin})`);
  if (missing.length) throw new Error(`the e2e toolchain lacks ${missing.join(", ")}: ${BUILD_HINT}`);
  const crdDir = path.join(path.dirname(argocd!), "crds");
  if (!fs.existsSync(crdDir) || !fs.readdirSync(crdDir).some((f) => f.endsWith(".yaml"))) throw new Error(`no CRDs in ${crdDir}: rebuild argocd (delete its directory), ${BUILD_HINT}`);
  if (!fs.existsSync(path.join(KSOPS_STAND_IN_DIR, "ksops"))) throw new Error(`the KSOPS stand-in ${KSOPS_STAND_IN_DIR}/ksops is missing`);
  return { argocd: path.join(argocd!, "argocd"), argocdBinDir: argocd!, crdDir, redisServer: path.join(find("redis", "redis-server")!, "redis-server") };
}

function kubectl(kubeconfig: string, args: readonly string[]): string {
  return execFileSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { env: toolchainEnv(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}


/**
 * Installs the CRDs of the built Argo CD (server-side apply, forced, over what the
 * sandbox installed) and waits until they are Established.
 */
export function installArgoCrds(kubeconfig: string, toolchain: ArgoToolchain = argoToolchain()): string[] {
  const out = kubectl(kubeconfig, ["apply", "--server-side", "--force-conflicts", "--field-manager=gitops-bootstrap-e2e", "-f", toolchain.crdDir, "-o", "name"]);
  const names = out.split("\n").filter(Boolean);
  markForRelease((a) => kubectl(kubeconfig, a), names, "argo-cd");
  kubectl(kubeconfig, ["wait", "--for=condition=Established", "--timeout=60s", ...names]);
  return names;
}

/** True when redis answers PING on 127.0.0.1:port. */
function redisPong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let got = "";
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(2000, () => done(false));
    s.on("error", () => done(false));
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      got += d.toString();
      if (got.includes("\r\n")) done(got.startsWith("+PONG"));
    });
  });
}

/** Whether `unshare --net` works here (root, or unprivileged user namespaces). */
function privateNetworkArgs(): string[] | undefined {
  const candidates = process.getuid?.() === 0 ? [["--net"], ["--net", "--map-root-user"]] : [["--net", "--map-root-user"]];
  for (const args of candidates) {
    try {
      execFileSync("unshare", [...args, "ip", "link", "set", "lo", "up"], { stdio: "ignore" });
      return args;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

export interface ArgoControllersOptions {
  /** Where logs, mounted files, caches and temporary files go. Created if missing. */
  readonly dir: string;
  /** The cluster to reconcile (the in-cluster destination https://kubernetes.default.svc). */
  readonly kubeconfig: string;
  /** Argo CD's namespace (the chart's release namespace). @default ARGOCD.namespace ("argocd") */
  readonly namespace?: string;
  /** Install the built CRDs first (installArgoCrds). @default true */
  readonly installCrds?: boolean;
  /** The application-controller's `--app-resync` (seconds). @default 30 */
  readonly appResyncSeconds?: number;
  /** How long to wait for all three to report healthy. @default 60_000 */
  readonly readyTimeoutMs?: number;
  /**
   * Run as the argo-cd chart's pods (chart-pods.ts ChartPods): each process starts once `up` has
   * installed the chart's workload and ServiceAccount, with that ServiceAccount's token (only the
   * chart's RBAC), the workload's environment and flags; it is started again when it exits (the
   * kubelet's back-off) and stopped when its workload goes. `start` then returns at once.
   * Without it: the sandbox's admin kubeconfig, started at once, healthy before `start` returns.
   * @default false
   */
  readonly asChartPods?: boolean;
  /**
   * Without asChartPods: also run the applicationset-controller (as chart pods it always runs,
   * the chart deploys it). @default false
   */
  readonly applicationSetController?: boolean;
}

export type ArgoProcessName = "redis-secret-init" | "redis" | "repo-server" | "application-controller" | "server" | "applicationset-controller";
const NAMES: readonly ArgoProcessName[] = ["redis-secret-init", "redis", "repo-server", "application-controller", "server", "applicationset-controller"];

export interface ArgoControllers {
  readonly namespace: string;
  readonly kubeconfig: string;
  /** `127.0.0.1:<port>`: the repo-server's gRPC address (plaintext). */
  readonly repoServerAddress: string;
  /**
   * Where the application-controller's metrics listener is reachable: "private network
   * namespace" (its 0.0.0.0 is a loopback of its own) or "all interfaces" (unshare unavailable).
   */
  readonly controllerMetricsExposure: "private network namespace" | "all interfaces";
  /** The file SOPS_AGE_KEY_FILE names: the `sops-age` Secret's key, copied from the cluster. */
  readonly ageKeyFile: string;
  /** ARGOCD_TLS_DATA_PATH: `argocd-tls-certs-cm`'s data, one file per host, copied from the cluster. */
  readonly tlsDataPath: string;
  logFile(name: ArgoProcessName): string;
  /** The last lines of every log, for a failure message. */
  logTail(lines?: number): string;
  /** Throws, with the log tails, if a process has exited and is not being restarted. */
  assertRunning(): void;
  /** How many times each process was started again after exiting (asChartPods). */
  restarts(): Record<ArgoProcessName, number>;
  /** Copies the mounted objects from the cluster now (as the kubelet does periodically). */
  syncMounts(): Promise<void>;
  /** Stops everything and starts again, against `kubeconfig` if given (a new cluster after a wipe). */
  restart(kubeconfig?: string): Promise<void>;
  stop(): Promise<void>;
}

interface Running {
  readonly name: ArgoProcessName;
  readonly child: ChildProcess;
}

class LocalArgoControllers implements ArgoControllers {
  private running: Running[] = [];
  private bridges: net.Server[] = [];
  private mountTimer: NodeJS.Timeout | undefined;
  private mountSync: Promise<void> | undefined;
  private ports = { redis: 0, repoServer: 0, repoMetrics: 0, controllerMetrics: 0, server: 0, serverMetrics: 0, appsetMetrics: 0, appsetProbe: 0, appsetWebhook: 0 };
  private readonly netnsArgs: string[] | undefined;
  private pods: ChartPods | undefined;

  constructor(
    private readonly dir: string,
    public kubeconfig: string,
    readonly namespace: string,
    private readonly toolchain: ArgoToolchain,
    private readonly installCrds: boolean,
    private readonly appResyncSeconds: number,
    private readonly readyTimeoutMs: number,
    private readonly asChartPods: boolean,
    private readonly applicationSetController: boolean,
  ) {
    this.netnsArgs = privateNetworkArgs();
  }

  get controllerMetricsExposure(): "private network namespace" | "all interfaces" {
    return this.netnsArgs ? "private network namespace" : "all interfaces";
  }

  get repoServerAddress(): string {
    return `127.0.0.1:${this.ports.repoServer}`;
  }

  get ageKeyFile(): string {
    return path.join(this.dir, "mounts", AGE_SECRET.volume, AGE_SECRET.key);
  }

  get tlsDataPath(): string {
    return path.join(this.dir, "mounts", "tls");
  }

  private get sockDir(): string {
    return path.join(this.dir, "sock");
  }

  logFile(name: ArgoProcessName): string {
    return path.join(this.dir, "logs", `${name}.log`);
  }

  logTail(lines = 40): string {
    return NAMES.map((name) => {
      const file = this.logFile(name);
      const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "(no log)";
      return `--- last lines of ${file} ---\n${text}`;
    }).join("\n");
  }

  assertRunning(): void {
    // A chart pod's process is started again after it exits, as a crashed container is.
    if (this.asChartPods) return;
    const gone = this.running.filter((r) => r.child.exitCode !== null || r.child.signalCode !== null);
    if (gone.length) {
      const what = gone.map((r) => `${r.name} exited (${r.child.exitCode ?? r.child.signalCode})`).join(", ");
      throw new Error(`argo cd: ${what}\n${this.logTail()}`);
    }
  }

  restarts(): Record<ArgoProcessName, number> {
    return Object.fromEntries(NAMES.map((n) => [n, this.pods?.restarts(n) ?? 0])) as Record<ArgoProcessName, number>;
  }

  /** `stdinPipe`: the bridge ends its program when this process goes (its stdin closes). */
  private spawnLogged(name: ArgoProcessName, bin: string, args: string[], env: NodeJS.ProcessEnv, stdinPipe = false): ChildProcess {
    fs.appendFileSync(this.logFile(name), `--- ${path.basename(bin)} ${args.join(" ")} ---\n`);
    const logFd = fs.openSync(this.logFile(name), "a");
    const child = spawn(bin, args, { env, stdio: [stdinPipe ? "pipe" : "ignore", logFd, logFd] });
    fs.closeSync(logFd);
    child.on("error", (e) => fs.appendFileSync(this.logFile(name), `spawn error: ${e.message}\n`));
    if (this.pods) fs.writeFileSync(path.join(this.dir, "pids"), [...this.pods.pids(), child.pid].map((p) => `${p}\n`).join(""));
    return child;
  }

  private launch(name: ArgoProcessName, child: ChildProcess): void {
    this.running.push({ name, child });
    this.writePids();
  }

  private writePids(): void {
    fs.writeFileSync(path.join(this.dir, "pids"), this.running.map((r) => `${r.child.pid}\n`).join(""));
  }

  /**
   * The kubelet's part: the `sops-age` Secret and `argocd-tls-certs-cm` written where the pod
   * would see them mounted. Missing objects leave the files absent (a pod would not start
   * without the Secret; here the repo-server waits, and sops fails until it appears).
   */
  syncMounts(): Promise<void> {
    this.mountSync ??= this.copyMounts().finally(() => (this.mountSync = undefined));
    return this.mountSync;
  }

  private async copyMounts(): Promise<void> {
    // "unreadable": the API server is restarting, and what was mounted stays (undefined: absent).
    const get = async (kind: string, name: string): Promise<{ data?: Record<string, string> } | undefined | "unreadable"> => {
      try {
        const out = await kubectlAsync(this.kubeconfig, ["get", kind, name, "-n", this.namespace, "--ignore-not-found", "-o", "json"]);
        return out.trim() ? JSON.parse(out) : undefined;
      } catch {
        return "unreadable";
      }
    };
    const secret = await get("secret", AGE_SECRET.name);
    if (secret === "unreadable") return;
    const key = secret?.data?.[AGE_SECRET.key];
    fs.mkdirSync(path.dirname(this.ageKeyFile), { recursive: true });
    if (key) {
      const tmp = `${this.ageKeyFile}.tmp`;
      fs.writeFileSync(tmp, Buffer.from(key, "base64"), { mode: 0o600 });
      fs.renameSync(tmp, this.ageKeyFile);
    } else if (secret) {
      fs.rmSync(this.ageKeyFile, { force: true });
    }
    const cm = await get("configmap", TLS_CERTS_CONFIGMAP);
    if (cm === "unreadable") return;
    fs.mkdirSync(this.tlsDataPath, { recursive: true });
    const data = cm?.data ?? {};
    for (const f of fs.readdirSync(this.tlsDataPath)) if (!(f in data) && !f.startsWith(".")) fs.rmSync(path.join(this.tlsDataPath, f), { force: true });
    for (const [host, pem] of Object.entries(data)) {
      // Argo CD refuses a host that escapes the directory; so does the kubelet's projection.
      if (host.includes("/") || host.startsWith(".")) continue;
      // Replaced whole, as the kubelet swaps a projected volume: rewritten in place every second,
      // the file would be empty for a moment, and a repo-server reading it then fails with
      // "x509: certificate signed by unknown authority".
      const file = path.join(this.tlsDataPath, host);
      if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === pem) continue;
      const tmp = path.join(this.tlsDataPath, `.${host}.tmp`);
      fs.writeFileSync(tmp, pem);
      fs.renameSync(tmp, file);
    }
  }

  /** Host side of the bridges: <sockdir>/<port>.sock -> 127.0.0.1:<port>. */
  private async openBridges(ports: number[]): Promise<void> {
    fs.mkdirSync(this.sockDir, { recursive: true });
    for (const port of ports) {
      const sock = path.join(this.sockDir, `${port}.sock`);
      fs.rmSync(sock, { force: true });
      const server = net.createServer((c) => {
        const up = net.connect({ host: "127.0.0.1", port });
        c.pipe(up);
        up.pipe(c);
        for (const [a, b] of [[c, up], [up, c]] as const) {
          a.on("error", () => b.destroy());
          a.on("close", () => b.destroy());
        }
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(sock, resolve);
      });
      this.bridges.push(server);
    }
  }

  async start(): Promise<void> {
    for (const sub of ["logs", "tmp", "home", "redis", "mounts", "ssh", "gpg", "plugins", "helm"]) fs.mkdirSync(path.join(this.dir, sub), { recursive: true });
    if (this.installCrds) installArgoCrds(this.kubeconfig, this.toolchain);
    this.ports = {
      redis: await freePort(),
      repoServer: await freePort(),
      repoMetrics: await freePort(),
      controllerMetrics: await freePort(),
      server: await freePort(),
      serverMetrics: await freePort(),
      appsetMetrics: await freePort(),
      appsetProbe: await freePort(),
      appsetWebhook: await freePort(),
    };
    const apiPort = Number(new URL(/server:\s*(\S+)/.exec(fs.readFileSync(this.kubeconfig, "utf8"))![1]).port);
    if (this.netnsArgs) await this.openBridges([apiPort, this.ports.repoServer, this.ports.redis]);
    await this.syncMounts();
    this.mountTimer = setInterval(() => void this.syncMounts(), 1000);
    if (this.asChartPods) return this.startAsChartPods();

    this.launch("redis", this.spawnLogged("redis", this.toolchain.redisServer, withOurFlags(["--save", "", "--appendonly", "no"], this.redisFlags(), "--name value"), this.env({ PATH: process.env.PATH })));
    this.launch("repo-server", this.spawnLogged("repo-server", this.toolchain.argocd, withOurFlags([], this.repoServerFlags()), this.repoServerEnv({})));
    this.launch("application-controller", this.spawnController(withOurFlags([], this.controllerFlags(this.kubeconfig)), this.controllerEnv(this.kubeconfig, {})));
    if (this.applicationSetController) {
      const env = this.controllerEnv(this.kubeconfig, {}, "argocd-applicationset-controller");
      this.launch("applicationset-controller", this.spawnLogged("applicationset-controller", this.toolchain.argocd, withOurFlags([], this.appsetFlags(this.kubeconfig)), env));
    }
    await this.waitHealthy();
  }

  private env(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return { HOME: path.join(this.dir, "home"), TMPDIR: path.join(this.dir, "tmp"), LANG: "C.UTF-8", ...extra };
  }

  /** Debian's redis on loopback, no persistence (the chart's redis has none either). */
  private redisFlags(): Record<string, string> {
    return { bind: "127.0.0.1", port: String(this.ports.redis), dir: path.join(this.dir, "redis") };
  }

  /**
   * The repo-server's flags: plaintext gRPC on loopback (no TLS between the local processes;
   * --client-ca-path= because the default mTLS path would be read otherwise), the local redis.
   */
  private repoServerFlags(): Record<string, string> {
    return {
      address: "127.0.0.1",
      port: String(this.ports.repoServer),
      "metrics-address": "127.0.0.1",
      "metrics-port": String(this.ports.repoMetrics),
      "disable-tls": "true",
      "client-ca-path": "",
      redis: `127.0.0.1:${this.ports.redis}`,
      loglevel: "info",
      logformat: "text",
    };
  }

  /**
   * The repo-server's environment over the chart's: the mounted files where this process finds
   * them (the age key, the TLS certificates, …), and kustomize, helm, git, sops, the KSOPS
   * stand-in and git-verify-wrapper.sh on PATH.
   */
  private repoServerEnv(chartEnv: Record<string, string>): NodeJS.ProcessEnv {
    return this.env({
      ...chartEnv,
      PATH: [KSOPS_STAND_IN_DIR, this.toolchain.argocdBinDir, toolchainPath(), process.env.PATH].join(":"),
      ARGOCD_BINARY_NAME: "argocd-repo-server",
      SOPS_AGE_KEY_FILE: this.ageKeyFile,
      ARGOCD_TLS_DATA_PATH: this.tlsDataPath,
      ARGOCD_SSH_DATA_PATH: path.join(this.dir, "ssh"),
      ARGOCD_GNUPGHOME: path.join(this.dir, "gpg"),
      ARGOCD_GPG_ENABLED: "false", // no GnuPG keys configured (the chart's default keyring is empty)
      ARGOCD_ASK_PASS_SOCK: path.join(this.dir, "askpass.sock"),
      ARGOCD_PLUGINSOCKFILEPATH: path.join(this.dir, "plugins"),
      HELM_CACHE_HOME: path.join(this.dir, "helm"),
      HELM_CONFIG_HOME: path.join(this.dir, "helm"),
      HELM_DATA_HOME: path.join(this.dir, "helm"),
    });
  }

  private controllerFlags(kubeconfig: string): Record<string, string> {
    return {
      kubeconfig,
      namespace: this.namespace,
      "repo-server": this.repoServerAddress,
      "repo-server-plaintext": "true",
      redis: `127.0.0.1:${this.ports.redis}`,
      "metrics-port": String(this.ports.controllerMetrics),
      "app-resync": String(this.appResyncSeconds),
      "status-processors": "2",
      "operation-processors": "2",
      loglevel: "info",
      logformat: "text",
    };
  }

  /**
   * The applicationset-controller (flags of v3.6.1's cmd/argocd-applicationset-controller): its
   * namespace only, the repo-server in plaintext, every listener (all default to all interfaces)
   * on 127.0.0.1, no SCM providers (no network here). Its controller-runtime manager reads the
   * cluster from KUBECONFIG (controllerEnv), not from --kubeconfig.
   */
  private appsetFlags(kubeconfig: string): Record<string, string> {
    return {
      kubeconfig,
      namespace: this.namespace,
      "metrics-addr": `127.0.0.1:${this.ports.appsetMetrics}`,
      "probe-addr": `127.0.0.1:${this.ports.appsetProbe}`,
      "webhook-addr": `127.0.0.1:${this.ports.appsetWebhook}`,
      "argocd-repo-server": this.repoServerAddress,
      "repo-server-plaintext": "true",
      "enable-leader-election": "false",
      "enable-scm-providers": "false",
      loglevel: "info",
      logformat: "text",
    };
  }

  /** argocd-server: plain HTTP on loopback, the local repo-server and redis, no static assets. */
  private serverFlags(kubeconfig: string): Record<string, string> {
    return {
      kubeconfig,
      namespace: this.namespace,
      insecure: "true",
      address: "127.0.0.1",
      port: String(this.ports.server),
      "metrics-address": "127.0.0.1",
      "metrics-port": String(this.ports.serverMetrics),
      "repo-server": this.repoServerAddress,
      "repo-server-plaintext": "true",
      redis: `127.0.0.1:${this.ports.redis}`,
      staticassets: path.join(this.dir, "home"),
      loglevel: "info",
      logformat: "text",
    };
  }

  /**
   * ARGOCD_FAKE_IN_CLUSTER: the in-cluster destination (https://kubernetes.default.svc) uses
   * KUBECONFIG instead of a pod's mounted service account token.
   */
  private controllerEnv(kubeconfig: string, chartEnv: Record<string, string>, binaryName = "argocd-application-controller"): NodeJS.ProcessEnv {
    return this.env({
      ...chartEnv,
      PATH: [this.toolchain.argocdBinDir, toolchainPath(), process.env.PATH].join(":"),
      ARGOCD_BINARY_NAME: binaryName,
      ARGOCD_FAKE_IN_CLUSTER: "true",
      KUBECONFIG: kubeconfig,
      KUBECACHEDIR: path.join(this.dir, "tmp", "kubecache"),
    });
  }

  /** The application-controller, in its private network namespace when possible (see argo-netns-bridge.js). */
  private spawnController(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    const apiPort = Number(new URL(/server:\s*(\S+)/.exec(fs.readFileSync(this.kubeconfig, "utf8"))![1]).port);
    if (!this.netnsArgs) {
      fs.appendFileSync(this.logFile("application-controller"), `NOTE: unshare --net is not possible here: the metrics listener (port ${this.ports.controllerMetrics}) binds all interfaces\n`);
      return this.spawnLogged("application-controller", this.toolchain.argocd, args, env);
    }
    const bridged = [apiPort, this.ports.repoServer, this.ports.redis].join(",");
    return this.spawnLogged(
      "application-controller",
      "unshare",
      [...this.netnsArgs, process.execPath, path.join(__dirname, "argo-netns-bridge.js"), this.sockDir, bridged, String(this.ports.controllerMetrics), "--", this.toolchain.argocd, ...args],
      env,
      true,
    );
  }

  /**
   * As the argo-cd chart's pods (ChartPods): each process starts once the chart has made its
   * workload and ServiceAccount, with that ServiceAccount's token, the workload's environment
   * (argocd-cmd-params-cm, argocd-cm, the argocd-redis Secret) and flags, ours in place of the
   * ones a local process needs. The chart's redis-secret-init Job is run too (the real
   * `argocd admin redis-initial-password`, under the Job's own Role): it makes the argocd-redis
   * Secret whose password redis requires and the others use.
   */
  private startAsChartPods(): void {
    this.pods = new ChartPods(
      this.kubeconfig,
      this.namespace,
      this.dir,
      [
        {
          name: "redis-secret-init",
          workload: { kind: "Job", name: "argocd-redis-secret-init" },
          start: (c) => this.spawnLogged("redis-secret-init", this.toolchain.argocd, ["admin", "redis-initial-password", `--kubeconfig=${c.kubeconfig}`, `--namespace=${this.namespace}`], this.env({ ...c.env, PATH: process.env.PATH })),
        },
        {
          name: "redis",
          workload: { kind: "Deployment", name: "argocd-redis" },
          start: (c) => this.spawnLogged("redis", this.toolchain.redisServer, withOurFlags(c.args, this.redisFlags(), "--name value"), this.env({ PATH: process.env.PATH })),
        },
        {
          name: "repo-server",
          workload: { kind: "Deployment", name: "argocd-repo-server", container: "repo-server" },
          start: (c) => this.spawnLogged("repo-server", this.toolchain.argocd, withOurFlags(c.args, this.repoServerFlags()), this.repoServerEnv(c.env)),
        },
        {
          // argocd-server: on a cluster it creates the `default` AppProject when it starts (the
          // chart does not render one), which every Application of the product names.
          name: "server",
          workload: { kind: "Deployment", name: "argocd-server" },
          start: (c) => this.spawnLogged("server", this.toolchain.argocd, withOurFlags(c.args, this.serverFlags(c.kubeconfig)), this.controllerEnv(c.kubeconfig, c.env, "argocd-server")),
        },
        {
          // The chart deploys it: Applications that ApplicationSets in Git generate come from it.
          name: "applicationset-controller",
          workload: { kind: "Deployment", name: "argocd-applicationset-controller" },
          start: (c) => this.spawnLogged("applicationset-controller", this.toolchain.argocd, withOurFlags(c.args, this.appsetFlags(c.kubeconfig)), this.controllerEnv(c.kubeconfig, c.env, "argocd-applicationset-controller")),
        },
        {
          name: "application-controller",
          workload: { kind: "StatefulSet", name: "argocd-application-controller" },
          start: (c) => this.spawnController(withOurFlags(c.args, this.controllerFlags(c.kubeconfig)), this.controllerEnv(c.kubeconfig, c.env)),
        },
      ],
      (name, line) => fs.appendFileSync(this.logFile(name as ArgoProcessName), `${line}\n`),
    );
    this.pods.start();
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    const checks: Record<Exclude<ArgoProcessName, "redis-secret-init" | "server">, () => Promise<boolean>> = {
      // It registers no health checks (/healthz answers 404): its metrics listener is up when it is.
      "applicationset-controller": async () => (await httpStatus(`http://127.0.0.1:${this.ports.appsetMetrics}/metrics`)) === 200,
      redis: () => redisPong(this.ports.redis),
      "repo-server": async () => (await httpStatus(`http://127.0.0.1:${this.ports.repoMetrics}/healthz?full=true`)) === 200,
      "application-controller": async () =>
        this.netnsArgs
          ? (await httpStatus("http://localhost/healthz", { socketPath: path.join(this.sockDir, `inside-${this.ports.controllerMetrics}.sock`) })) === 200
          : (await httpStatus(`http://127.0.0.1:${this.ports.controllerMetrics}/healthz`)) === 200,
    };
    const pending = new Set<keyof typeof checks>(["redis", "repo-server", "application-controller", ...(this.applicationSetController ? (["applicationset-controller"] as const) : [])]);
    while (pending.size > 0) {
      this.assertRunning();
      for (const name of [...pending]) if (await checks[name]()) pending.delete(name);
      if (pending.size === 0) return;
      if (Date.now() > deadline) throw new Error(`argo cd: not healthy after ${this.readyTimeoutMs / 1000}s (waiting for ${[...pending].join(", ")})\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(): Promise<void> {
    if (this.mountTimer) clearInterval(this.mountTimer);
    this.mountTimer = undefined;
    await this.mountSync;
    await this.pods?.stop();
    this.pods = undefined;
    // The controller first (it calls the others), redis last.
    for (const { child } of [...this.running].reverse()) {
      await terminate(child);
    }
    this.running = [];
    await Promise.all(this.bridges.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.bridges = [];
    for (const f of [path.join(this.dir, "pids"), path.join(this.sockDir, "program.pid")]) fs.rmSync(f, { force: true });
  }

  async restart(kubeconfig?: string): Promise<void> {
    await this.stop();
    if (kubeconfig) this.kubeconfig = kubeconfig;
    // A new cluster: nothing mounted from the old one survives (as a new pod).
    fs.rmSync(path.join(this.dir, "mounts"), { recursive: true, force: true });
    await this.start();
  }
}


/**
 * Starts redis, the repo-server and the application-controller against `kubeconfig` (installing
 * the CRDs first) and waits until all three report healthy. Throws, saying how to build them, if
 * the toolchain lacks them. Call `stop()` when done.
 */
export async function startArgoControllers(options: ArgoControllersOptions): Promise<ArgoControllers> {
  const toolchain = argoToolchain();
  fs.mkdirSync(options.dir, { recursive: true });
  // Left behind by a crashed earlier run: the processes, and the network-namespace bridge.
  for (const file of [path.join(options.dir, "pids"), path.join(options.dir, "sock", "program.pid")]) killLeftovers(file);
  const controllers = new LocalArgoControllers(
    options.dir,
    options.kubeconfig,
    options.namespace ?? ARGOCD.namespace,
    toolchain,
    options.installCrds ?? true,
    options.appResyncSeconds ?? 30,
    options.readyTimeoutMs ?? 60_000,
    options.asChartPods ?? false,
    options.applicationSetController ?? false,
  );
  return startedOrStopped(controllers);
}
