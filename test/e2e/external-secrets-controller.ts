/**
 * The real External Secrets Operator (v0.16.2, built from its module by the toolchain) as the
 * external-secrets chart's three pods, local processes (chart-pods.ts ChartPods: each starts once
 * the chart made its Deployment and ServiceAccount, with a token of that ServiceAccount, so with
 * only the chart's RBAC, and the Deployment's arguments):
 * - the controller (`external-secrets`): stores and ExternalSecrets;
 * - the cert-controller (`external-secrets certcontroller`): makes the webhook's certificate into
 *   the Secret `external-secrets-webhook` and injects its CA into the ValidatingWebhookConfigurations;
 * - the webhook (`external-secrets webhook`): validates stores and ExternalSecrets. The chart's
 *   configurations name its Service, and the API server calls it there (failurePolicy Fail: no
 *   store can be created while it does not answer).
 * Replaced, as for a local process: listeners on loopback ports, no leader election, and the
 * webhook's --cert-dir. What the kubelet does besides starting them is done here too: the
 * webhook's Secret volume is written to its cert dir (and kept current), and, in place of
 * kube-proxy, the sandbox's Service network (sandbox.ts routeService) takes the API server's
 * connections to the webhook's Service to the local webhook. TLS is end to end: the API server
 * checks the certificate the real cert-controller made against the caBundle it injected.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { EXTERNAL_SECRETS } from "../../components/defaults";
import { ChartPods, kubectlAsync, withOurFlags } from "./chart-pods";
import { freePort, httpStatus } from "./processes";
import { toolchainPath } from "./toolchain";

/** The Helm release the product installs, and its default namespace (the stack's `externalSecrets.namespace`). */
export const ESO_RELEASE = EXTERNAL_SECRETS.releaseName;
export const ESO_NAMESPACE = EXTERNAL_SECRETS.namespace;

export type ExternalSecretsPodName = "controller" | "cert-controller" | "webhook";

/** The chart's workload of each pod: `<fullname>`, `<fullname>-cert-controller`, `<fullname>-webhook`. */
const WORKLOADS: Record<ExternalSecretsPodName, string> = {
  controller: ESO_RELEASE,
  "cert-controller": `${ESO_RELEASE}-cert-controller`,
  webhook: `${ESO_RELEASE}-webhook`,
};

/** The webhook's Service and port (the chart's webhook-service.yaml), and the Secret its pod mounts. */
const WEBHOOK_SERVICE = { name: `${ESO_RELEASE}-webhook`, port: 443 };
const WEBHOOK_SECRET = `${ESO_RELEASE}-webhook`;

const KUBELET_SYNC_MS = 1000;

export function externalSecretsBinary(): string {
  const dir = toolchainPath()
    .split(":")
    .find((d) => fs.existsSync(path.join(d, "external-secrets")));
  if (!dir) throw new Error("the e2e toolchain lacks external-secrets: build it with `bash test/e2e/toolchain/build.sh external-secrets` (see test/e2e/toolchain/README.md)");
  return path.join(dir, "external-secrets");
}

export interface ExternalSecretsOperatorOptions {
  /** Logs, kubeconfigs and the webhook's cert dir go here. Created if missing. */
  readonly dir: string;
  /** The cluster's admin kubeconfig: the kubelet's view (it lists the chart's workloads, reads the webhook's Secret). */
  readonly kubeconfig: string;
  /** The release's namespace. @default ESO_NAMESPACE */
  readonly namespace?: string;
  /**
   * The Service network (TestCluster.routeService, a sandbox opened with `serviceNetwork`). Without
   * it the webhook is not served: install the chart with `webhook.create=false` and
   * `certController.create=false` then.
   */
  readonly routeService?: (service: { namespace: string; name: string; port: number }, targetPort: number) => Promise<void>;
}

export interface ExternalSecretsOperator {
  logFile(name: ExternalSecretsPodName): string;
  /** The last lines of every log, for a failure message. */
  logTail(lines?: number): string;
  /** How often a pod's process was started again after it exited. */
  restarts(name: ExternalSecretsPodName): number;
  /** Resolves once the webhook reports ready (its certificate valid) and its Service is routed; throws after `timeoutMs`. */
  webhookServing(timeoutMs?: number): Promise<void>;
  /** Against another cluster (a new sandbox after a wipe): every process stops, and starts again once the chart is there. */
  retarget(kubeconfig: string): Promise<void>;
  stop(): Promise<void>;
}

class LocalExternalSecretsOperator implements ExternalSecretsOperator {
  private readonly pods: ChartPods;
  private readonly namespace: string;
  private readonly certDir: string;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private routed = false;

  constructor(
    private readonly options: ExternalSecretsOperatorOptions,
    private kubeconfig: string,
    private readonly ports: { controllerMetrics: number; certMetrics: number; certHealth: number; webhook: number; webhookMetrics: number; webhookHealth: number },
  ) {
    const bin = externalSecretsBinary();
    this.namespace = options.namespace ?? ESO_NAMESPACE;
    this.certDir = path.join(options.dir, "webhook-certs");
    for (const d of ["logs", this.certDir]) fs.mkdirSync(path.resolve(options.dir, d), { recursive: true });
    const ours: Record<ExternalSecretsPodName, Record<string, string | null>> = {
      controller: { "metrics-addr": `127.0.0.1:${ports.controllerMetrics}`, "enable-leader-election": "false" },
      "cert-controller": { "metrics-addr": `127.0.0.1:${ports.certMetrics}`, "healthz-addr": `127.0.0.1:${ports.certHealth}`, "enable-leader-election": "false" },
      // The webhook server binds every interface on --port (the binary has no host flag).
      webhook: { port: String(ports.webhook), "cert-dir": this.certDir, "metrics-addr": `127.0.0.1:${ports.webhookMetrics}`, "healthz-addr": `127.0.0.1:${ports.webhookHealth}` },
    };
    const names = (options.routeService ? ["controller", "cert-controller", "webhook"] : ["controller"]) as ExternalSecretsPodName[];
    this.pods = new ChartPods(
      kubeconfig,
      this.namespace,
      options.dir,
      names.map((name) => ({
        name,
        workload: { kind: "Deployment" as const, name: WORKLOADS[name] },
        // KUBECONFIG: controller-runtime's --kubeconfig is a Go flag, which the cobra commands do not parse.
        start: (container) => this.spawnLogged(name, bin, withOurFlags(container.args, ours[name]), { ...container.env, PATH: process.env.PATH, HOME: options.dir, KUBECONFIG: container.kubeconfig }),
      })),
      (name, line) => fs.appendFileSync(this.logFile(name as ExternalSecretsPodName), `${line}\n`),
    );
  }

  logFile(name: ExternalSecretsPodName): string {
    return path.join(this.options.dir, "logs", `${name}.log`);
  }

  logTail(lines = 30): string {
    return (["controller", "cert-controller", "webhook"] as const)
      .filter((name) => fs.existsSync(this.logFile(name)))
      .map((name) => `--- last lines of ${this.logFile(name)} ---\n${fs.readFileSync(this.logFile(name), "utf8").trimEnd().split("\n").slice(-lines).join("\n")}`)
      .join("\n");
  }

  restarts(name: ExternalSecretsPodName): number {
    return this.pods.restarts(name);
  }

  private spawnLogged(name: ExternalSecretsPodName, bin: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    fs.appendFileSync(this.logFile(name), `--- ${bin} ${args.join(" ")} ---\n`);
    const fd = fs.openSync(this.logFile(name), "a");
    const child = spawn(bin, args, { env, stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    child.on("error", (e) => fs.appendFileSync(this.logFile(name), `spawn error: ${e.message}\n`));
    return child;
  }

  start(): void {
    this.pods.start();
    if (!this.options.routeService) return;
    this.timer ??= setInterval(() => {
      this.syncing ??= this.kubeletAndServiceNetwork()
        .catch((e: Error) => fs.appendFileSync(this.logFile("webhook"), `${new Date().toISOString()} --- kubelet: ${e.message.trim().split("\n").pop()} ---\n`))
        .finally(() => (this.syncing = undefined));
    }, KUBELET_SYNC_MS);
  }

  /**
   * The kubelet's Secret volume (the webhook's certificate, written once the cert-controller has
   * made it, and again when it changes) and kube-proxy's route to the webhook's Service.
   */
  private async kubeletAndServiceNetwork(): Promise<void> {
    const out = await kubectlAsync(this.kubeconfig, ["get", "secret", WEBHOOK_SECRET, "-n", this.namespace, "--ignore-not-found", "-o", "json"]);
    const data = out.trim() ? ((JSON.parse(out) as { data?: Record<string, string> }).data ?? {}) : {};
    for (const [key, value] of Object.entries(data)) {
      const file = path.join(this.certDir, key);
      const bytes = Buffer.from(value, "base64");
      if (fs.existsSync(file) && fs.readFileSync(file).equals(bytes)) continue;
      fs.writeFileSync(`${file}.tmp`, bytes, { mode: 0o600 });
      fs.renameSync(`${file}.tmp`, file);
    }
    if (!this.routed) {
      const services = await kubectlAsync(this.kubeconfig, ["get", "service", WEBHOOK_SERVICE.name, "-n", this.namespace, "--ignore-not-found", "-o", "name"]);
      if (!services.trim()) return;
      await this.options.routeService!({ namespace: this.namespace, name: WEBHOOK_SERVICE.name, port: WEBHOOK_SERVICE.port }, this.ports.webhook);
      this.routed = true;
      fs.appendFileSync(this.logFile("webhook"), `${new Date().toISOString()} --- Service ${this.namespace}/${WEBHOOK_SERVICE.name}:${WEBHOOK_SERVICE.port} routed to 127.0.0.1:${this.ports.webhook} (the test plays kube-proxy) ---\n`);
    }
  }

  async webhookServing(timeoutMs = 120_000): Promise<void> {
    if (!this.options.routeService) throw new Error("the webhook is not served without the sandbox's Service network (routeService)");
    const deadline = Date.now() + timeoutMs;
    while (!this.routed || (await httpStatus(`http://127.0.0.1:${this.ports.webhookHealth}/readyz`)) !== 200) {
      if (Date.now() > deadline) throw new Error(`the ESO webhook is not serving after ${timeoutMs / 1000}s (routed: ${this.routed})\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async retarget(kubeconfig: string): Promise<void> {
    await this.stopKubelet();
    this.kubeconfig = kubeconfig;
    this.routed = false;
    fs.rmSync(this.certDir, { recursive: true, force: true });
    fs.mkdirSync(this.certDir, { recursive: true });
    await this.pods.retarget(kubeconfig);
    this.start();
  }

  private async stopKubelet(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.syncing;
  }

  async stop(): Promise<void> {
    await this.stopKubelet();
    await this.pods.stop();
  }
}

/**
 * Starts the operator's chart pods against `kubeconfig`: returns at once; each process starts
 * when its Deployment appears (after `up` or `helm install`) and stops when it goes.
 */
export async function startExternalSecretsOperator(options: ExternalSecretsOperatorOptions): Promise<ExternalSecretsOperator> {
  fs.mkdirSync(options.dir, { recursive: true });
  const ports = {
    controllerMetrics: await freePort(),
    certMetrics: await freePort(),
    certHealth: await freePort(),
    webhook: await freePort(),
    webhookMetrics: await freePort(),
    webhookHealth: await freePort(),
  };
  const operator = new LocalExternalSecretsOperator(options, options.kubeconfig, ports);
  operator.start();
  return operator;
}
