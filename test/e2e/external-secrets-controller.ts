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
import { READINESS_PROBED_BY_TEST } from "./sandbox";
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

/**
 * The webhook's values for an e2e stack: its pod carries the annotation that keeps kwok from
 * marking it Ready at once (sandbox.ts), and the kubelet's readiness probe is played here.
 */
export const WEBHOOK_PROBED_VALUES = { webhook: { podAnnotations: { [READINESS_PROBED_BY_TEST]: "true" } } };

/** The pod address given to a probed pod: kwok hands out the start of the sandbox's 10.0.0.0/24 first. */
const PROBED_POD_IP = "10.0.0.254";

interface PodLike {
  metadata: { name: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

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
    await this.webhookReadinessProbe();
  }

  /**
   * The test plays the kubelet's readiness probe for the webhook pod. kwok leaves a pod with
   * READINESS_PROBED_BY_TEST Pending (sandbox.ts); once the local webhook answers the probe of
   * the chart's Deployment (its path, on the port of the Deployment's --healthz-addr, which runs
   * here on a loopback port), the pod becomes Running and Ready. So the Deployment, and the Helm
   * release that waits for it, is ready only when the webhook serves, as on a real cluster where
   * the kubelet holds the pod back until /readyz answers. Pods without the annotation are kwok's.
   */
  private async webhookReadinessProbe(): Promise<void> {
    const deployment = await kubectlAsync(this.kubeconfig, ["get", "deployment", WORKLOADS.webhook, "-n", this.namespace, "--ignore-not-found", "-o", "json"]);
    if (!deployment.trim()) return;
    const spec = (JSON.parse(deployment) as { spec: { selector: { matchLabels: Record<string, string> }; template: { spec: { containers: { args?: string[]; readinessProbe?: { httpGet?: { path?: string; port: number | string } } }[] } } } }).spec;
    const selector = Object.entries(spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(",");
    const pods = (JSON.parse(await kubectlAsync(this.kubeconfig, ["get", "pods", "-n", this.namespace, "-l", selector, "-o", "json"])) as { items: PodLike[] }).items;
    const waiting = pods.filter((p) => p.metadata.annotations?.[READINESS_PROBED_BY_TEST] !== undefined && !p.metadata.deletionTimestamp && p.spec.nodeName && !p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
    if (waiting.length === 0) return;
    const container = spec.template.spec.containers[0];
    const probe = container.readinessProbe?.httpGet;
    const healthzPort = container.args?.find((a) => a.startsWith("--healthz-addr="))?.split(":").pop();
    if (!probe || healthzPort !== String(probe.port)) {
      throw new Error(`the webhook Deployment's readinessProbe (${JSON.stringify(probe)}) is not an httpGet on its --healthz-addr port (${healthzPort}): cannot play it`);
    }
    if ((await httpStatus(`http://127.0.0.1:${this.ports.webhookHealth}${probe.path ?? "/"}`)) !== 200) return;
    const now = new Date().toISOString();
    for (const pod of waiting) {
      const status = {
        phase: "Running",
        hostIP: "10.0.0.1",
        podIP: PROBED_POD_IP,
        podIPs: [{ ip: PROBED_POD_IP }],
        startTime: now,
        conditions: ["Initialized", "Ready", "ContainersReady"].map((type) => ({ type, status: "True", lastTransitionTime: now })),
        containerStatuses: pod.spec.containers.map((c) => ({ name: c.name, image: c.image, imageID: "", ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } })),
      };
      await kubectlAsync(this.kubeconfig, ["patch", "pod", pod.metadata.name, "-n", this.namespace, "--subresource=status", "--type=strategic", "-p", JSON.stringify({ status })]);
      fs.appendFileSync(this.logFile("webhook"), `${now} --- pod ${pod.metadata.name} Ready: ${probe.path} answered 200 (the test plays the kubelet's readiness probe) ---\n`);
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
