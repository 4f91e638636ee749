/**
 * A throwaway Kubernetes cluster on loopback, made of real binaries built from Go modules
 * (test/e2e/toolchain/build.sh): etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
 * and kwok, which plays the kubelet for fake nodes so Deployments become Available. No Docker,
 * no network beyond 127.0.0.1. The real Argo CD and Flux CRDs are installed (from the modules of
 * the controllers the e2e runs, `build.sh crds`), so the API server validates custom resources
 * against their real schemas.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { makeTestCertificates } from "./git-server";
import { freePort, httpStatus, killLeftovers, runAsync, startedOrStopped, terminate } from "./processes";
import { markForRelease } from "./charts";
import { crdFileArgs, toolchainPath } from "./toolchain";
import * as YAML from "yaml";

/** Annotation kwok uses to pick the nodes it manages. */
const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";

/**
 * A pod with this annotation is not made Running and Ready by kwok: the test that runs its
 * process plays the kubelet for it, and marks it Ready only once the process's readiness probe
 * answers (external-secrets-controller.ts), so that "Deployment ready" means what it means on a
 * real cluster. Every other pod is kwok's, as before.
 */
export const READINESS_PROBED_BY_TEST = "e2e.gitops-bootstrap/readiness-probe";

export interface Sandbox {
  readonly dir: string;
  readonly kubeconfig: string;
  /** The API server's address (https://127.0.0.1:port). */
  readonly server: string;
  /** Runs the toolchain's kubectl against the sandbox. */
  kubectl(args: readonly string[], input?: string): string;
  /**
   * The Service network's part (kube-proxy's) for the API server's calls to a Service (webhooks):
   * connections to the Service's ClusterIP and `port` reach 127.0.0.1:`targetPort`, where a local
   * process plays the Service's pod. Needs `serviceNetwork`; throws while the Service does not exist.
   */
  routeService(service: { readonly namespace: string; readonly name: string; readonly port: number }, targetPort: number): Promise<void>;
  /** The bearer token of one of the `users` (or `admin`). */
  tokenOf(user: string): string;
  /** Every request of the `auditUsers` so far (nothing else is recorded). */
  auditedRequests(): readonly AuditedRequest[];
  /** Stops every process, keeping the data (a restart comes back with the same objects). */
  stop(): Promise<void>;
  /** Starts the stopped processes again on the same data and ports. */
  restart(): Promise<void>;
  /** Stops everything and deletes the data: what a disaster leaves. */
  destroy(): Promise<void>;
}

export interface SandboxOptions {
  /** Where data, certificates, logs and the kubeconfig go. Created if missing. */
  readonly dir: string;
  /** Fake nodes to register. @default 1 */
  readonly nodes?: number;
  /** Install the Argo CD and Flux CRDs from the toolchain cache (toolchain.ts sandboxCrdFiles). @default true */
  readonly installCrds?: boolean;
  /** Users besides `admin`, authenticated by a token and in no group: what they may do is up to RBAC. */
  readonly users?: readonly string[];
  /**
   * Requests refused before RBAC looks at them, as CEL conditions on the SubjectAccessReview
   * (`request.user`, `request.resourceAttributes`): each is a webhook authorizer whose match
   * condition sends only those requests to a webhook of the sandbox that denies all it is asked,
   * so they get HTTP 403 Forbidden. (admin, in system:masters, is never asked about.)
   */
  readonly deny?: readonly string[];
  /** Users whose every request the API server records (audit level Metadata): see auditedRequests(). */
  readonly auditUsers?: readonly string[];
  /**
   * The API server reaches Services (admission and conversion webhooks) through the sandbox's
   * Service network (service-network.js), where routeService() says which local process plays a
   * Service's pod. Without it, a webhook's Service is unreachable, as kwok's pods run nothing.
   * @default false
   */
  readonly serviceNetwork?: boolean;
}

export interface AuditedRequest {
  readonly user: string;
  readonly verb: string;
  readonly requestURI: string;
  readonly code?: number;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = logFile && fs.existsSync(logFile) ? `\n--- last lines of ${logFile} ---\n${fs.readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n")}` : "";
  throw new Error(`sandbox: ${what} not ready after ${timeoutMs / 1000}s${tail}`);
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  denyWebhook: number;
}

class LocalSandbox implements Sandbox {
  readonly kubeconfig: string;
  private processes: { name: string; child: ChildProcess }[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private readonly token: string;

  constructor(
    readonly dir: string,
    private readonly ports: Ports,
    private readonly nodes: number,
    private readonly installCrds: boolean,
    private readonly access: Pick<SandboxOptions, "users" | "deny" | "auditUsers" | "serviceNetwork"> = {},
  ) {
    this.kubeconfig = path.join(dir, "kubeconfig");
    this.env = { ...process.env, PATH: `${toolchainPath()}:${process.env.PATH}` };
    this.token = fs.existsSync(path.join(dir, "token")) ? fs.readFileSync(path.join(dir, "token"), "utf8") : randomBytes(24).toString("hex");
  }

  get server(): string {
    return `https://127.0.0.1:${this.ports.apiserver}`;
  }

  kubectl(args: readonly string[], input?: string): string {
    return execFileSync("kubectl", ["--kubeconfig", this.kubeconfig, ...args], { env: this.env, input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  }

  /** Derived from the admin token: stable across restarts without another file. */
  tokenOf(user: string): string {
    return user === "admin" ? this.token : createHash("sha256").update(`${this.token}:${user}`).digest("hex").slice(0, 48);
  }

  private get serviceRoutes(): string {
    return path.join(this.dir, "service-network-routes.json");
  }

  /** Asynchronous: called from the timers that play the kubelet, which must not stall. */
  async routeService(service: { readonly namespace: string; readonly name: string; readonly port: number }, targetPort: number): Promise<void> {
    if (!this.access.serviceNetwork) throw new Error("sandbox: routeService needs the sandbox started with serviceNetwork: true");
    const got = await runAsync("kubectl", ["--kubeconfig", this.kubeconfig, "get", "service", service.name, "-n", service.namespace, "-o", "jsonpath={.spec.clusterIP}"], { env: this.env });
    const clusterIP = got.stdout.trim();
    if (got.status !== 0 || !clusterIP) throw new Error(`sandbox: no Service ${service.namespace}/${service.name} to route: ${got.stderr.trim()}`);
    const routes = fs.existsSync(this.serviceRoutes) ? (JSON.parse(fs.readFileSync(this.serviceRoutes, "utf8")) as Record<string, string>) : {};
    routes[`${clusterIP}:${service.port}`] = `127.0.0.1:${targetPort}`;
    fs.writeFileSync(`${this.serviceRoutes}.tmp`, JSON.stringify(routes, null, 2));
    fs.renameSync(`${this.serviceRoutes}.tmp`, this.serviceRoutes);
  }

  private get auditLog(): string {
    return path.join(this.dir, "logs", "audit.log");
  }

  auditedRequests(): readonly AuditedRequest[] {
    if (!fs.existsSync(this.auditLog)) return [];
    return fs
      .readFileSync(this.auditLog, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { user: { username: string }; verb: string; requestURI: string; responseStatus?: { code?: number } })
      .map((e) => ({ user: e.user.username, verb: e.verb, requestURI: e.requestURI, code: e.responseStatus?.code }));
  }

  /** kube-apiserver flags for `users`, `deny` and `auditUsers`, with the files they name. */
  private accessFlags(): string[] {
    const flags: string[] = [];
    const { deny = [], auditUsers = [] } = this.access;
    if (deny.length === 0) flags.push("--authorization-mode=RBAC");
    else {
      const webhookKubeconfig = path.join(this.dir, "deny-webhook.kubeconfig");
      fs.writeFileSync(webhookKubeconfig, JSON.stringify({
        apiVersion: "v1", kind: "Config",
        clusters: [{ name: "deny", cluster: { server: `https://127.0.0.1:${this.ports.denyWebhook}/`, "certificate-authority": path.join(this.dir, "deny-webhook", "ca.crt") } }],
        users: [{ name: "apiserver", user: {} }],
        contexts: [{ name: "deny", context: { cluster: "deny", user: "apiserver" } }],
        "current-context": "deny",
      }));
      const webhook = (expression: string) => ({
        timeout: "2s", authorizedTTL: "1s", unauthorizedTTL: "1s", subjectAccessReviewVersion: "v1", matchConditionSubjectAccessReviewVersion: "v1",
        failurePolicy: "Deny", connectionInfo: { type: "KubeConfigFile", kubeConfigFile: webhookKubeconfig }, matchConditions: [{ expression }],
      });
      const config = {
        apiVersion: "apiserver.config.k8s.io/v1",
        kind: "AuthorizationConfiguration",
        authorizers: [...deny.map((expression, i) => ({ type: "Webhook", name: `deny-${i}`, webhook: webhook(expression) })), { type: "RBAC", name: "rbac" }],
      };
      fs.writeFileSync(path.join(this.dir, "authorization.json"), JSON.stringify(config, null, 2));
      flags.push(`--authorization-config=${path.join(this.dir, "authorization.json")}`);
    }
    if (this.access.serviceNetwork) {
      // Only "cluster" traffic (calls to Services, and to kubelets, which kwok's nodes do not
      // serve anyway) goes through the proxy; the control plane's own (etcd, authorization
      // webhooks) stays direct.
      const egress = {
        apiVersion: "apiserver.k8s.io/v1beta1",
        kind: "EgressSelectorConfiguration",
        egressSelections: [{ name: "cluster", connection: { proxyProtocol: "HTTPConnect", transport: { uds: { udsName: this.serviceNetworkSocket } } } }],
      };
      fs.writeFileSync(path.join(this.dir, "egress-selector.json"), JSON.stringify(egress, null, 2));
      flags.push(`--egress-selector-config-file=${path.join(this.dir, "egress-selector.json")}`);
    }
    if (auditUsers.length > 0) {
      const policy = { apiVersion: "audit.k8s.io/v1", kind: "Policy", omitStages: ["RequestReceived"], rules: [{ level: "Metadata", users: [...auditUsers] }, { level: "None" }] };
      fs.writeFileSync(path.join(this.dir, "audit-policy.json"), JSON.stringify(policy));
      flags.push(`--audit-policy-file=${path.join(this.dir, "audit-policy.json")}`, `--audit-log-path=${this.auditLog}`);
    }
    return flags;
  }

  /** Certificates, tokens and kubeconfig: written once per data directory. */
  private writeFiles(): void {
    const pki = path.join(this.dir, "pki");
    fs.mkdirSync(pki, { recursive: true });
    fs.writeFileSync(path.join(this.dir, "token"), this.token, { mode: 0o600 });
    // system:masters: the admin user every component and test uses. Loopback only, throwaway.
    const users = (this.access.users ?? []).map((u) => `${this.tokenOf(u)},${u},${u}\n`).join("");
    fs.writeFileSync(path.join(this.dir, "tokens.csv"), `${this.token},admin,admin,system:masters\n${users}`, { mode: 0o600 });
    if (!fs.existsSync(path.join(pki, "sa.key"))) {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      fs.writeFileSync(path.join(pki, "sa.key"), privateKey.export({ type: "pkcs1", format: "pem" }), { mode: 0o600 });
      fs.writeFileSync(path.join(pki, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
    }
    const kubeconfig = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: sandbox",
      "  cluster:",
      `    server: ${this.server}`,
      "    insecure-skip-tls-verify: true",
      "users:",
      "- name: admin",
      "  user:",
      `    token: ${this.token}`,
      "contexts:",
      "- name: sandbox",
      "  context: {cluster: sandbox, user: admin}",
      "current-context: sandbox",
      "",
    ].join("\n");
    fs.writeFileSync(this.kubeconfig, kubeconfig, { mode: 0o600 });
  }

  private launch(name: string, bin: string, args: string[]): void {
    const log = fs.openSync(path.join(this.dir, "logs", `${name}.log`), "a");
    const child = spawn(bin, args, { env: this.env, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    child.on("error", (e) => fs.appendFileSync(path.join(this.dir, "logs", `${name}.log`), `spawn error: ${e.message}\n`));
    this.processes.push({ name, child });
    fs.writeFileSync(path.join(this.dir, "pids"), this.processes.map((p) => `${p.child.pid}\n`).join(""));
  }

  /** The webhook the `deny` authorizers ask (deny-webhook.js): it refuses everything, as only matching requests reach it. */
  private async startDenyWebhook(): Promise<void> {
    const certDir = path.join(this.dir, "deny-webhook");
    const tls = fs.existsSync(path.join(certDir, "server.crt")) ? { certFile: path.join(certDir, "server.crt"), keyFile: path.join(certDir, "server.key") } : makeTestCertificates(certDir);
    this.launch("deny-webhook", process.execPath, [path.join(__dirname, "deny-webhook.js"), String(this.ports.denyWebhook), tls.certFile, tls.keyFile]);
    await waitFor("deny webhook", async () => (await httpStatus(`https://127.0.0.1:${this.ports.denyWebhook}/`)) === 200, 30_000, path.join(this.dir, "logs", "deny-webhook.log"));
  }

  private get serviceNetworkSocket(): string {
    return path.join(this.dir, "service-network.sock");
  }

  /** The Service network's proxy (service-network.js), before the API server that uses it. */
  private async startServiceNetwork(): Promise<void> {
    // A Unix socket's path is at most 107 bytes.
    if (Buffer.byteLength(this.serviceNetworkSocket) > 107) throw new Error(`sandbox: ${this.serviceNetworkSocket} is too long for a Unix socket: use a shorter dir`);
    this.launch("service-network", process.execPath, [path.join(__dirname, "service-network.js"), this.serviceNetworkSocket, this.serviceRoutes]);
    const socketPath = this.serviceNetworkSocket;
    await waitFor("service network", async () => (await httpStatus("http://service-network/", { socketPath })) === 405, 30_000, path.join(this.dir, "logs", "service-network.log"));
  }

  async start(): Promise<void> {
    fs.mkdirSync(path.join(this.dir, "logs"), { recursive: true });
    if ((this.access.deny ?? []).length > 0) await this.startDenyWebhook();
    if (this.access.serviceNetwork) await this.startServiceNetwork();
    const fresh = !fs.existsSync(path.join(this.dir, "etcd"));
    this.writeFiles();
    const pki = path.join(this.dir, "pki");
    const logs = path.join(this.dir, "logs");
    this.launch("etcd", "etcd", [
      "--name=sandbox",
      `--data-dir=${path.join(this.dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${this.ports.etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${this.ports.etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${this.ports.etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${this.ports.etcdPeer}`,
      `--initial-cluster=sandbox=http://127.0.0.1:${this.ports.etcdPeer}`,
      "--unsafe-no-fsync",
      "--quota-backend-bytes=4294967296",
    ]);
    await waitFor("etcd", async () => (await httpStatus(`http://127.0.0.1:${this.ports.etcdClient}/health`)) === 200, 30_000, path.join(logs, "etcd.log"));
    this.launch("kube-apiserver", "kube-apiserver", [
      `--etcd-servers=http://127.0.0.1:${this.ports.etcdClient}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${this.ports.apiserver}`,
      `--cert-dir=${pki}`,
      `--token-auth-file=${path.join(this.dir, "tokens.csv")}`,
      ...this.accessFlags(),
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${path.join(pki, "sa.pub")}`,
      `--service-account-signing-key-file=${path.join(pki, "sa.key")}`,
      "--service-cluster-ip-range=10.96.0.0/16",
      "--allow-privileged=true",
      "--enable-priority-and-fairness=false",
      "--profiling=false",
    ]);
    await waitFor("kube-apiserver", async () => (await httpStatus(`${this.server}/readyz`, { token: this.token })) === 200, 90_000, path.join(logs, "kube-apiserver.log"));
    this.launch("kube-controller-manager", "kube-controller-manager", [
      `--kubeconfig=${this.kubeconfig}`,
      `--service-account-private-key-file=${path.join(pki, "sa.key")}`,
      "--use-service-account-credentials=false",
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      "--secure-port=0",
      "--controllers=*,-nodeipam,-cloud-node-lifecycle,-route,-service,-persistentvolume-binder,-attachdetach,-ttl",
    ]);
    this.launch("kube-scheduler", "kube-scheduler", [`--kubeconfig=${this.kubeconfig}`, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0"]);
    this.launch("kwok", "kwok", [
      `--kubeconfig=${this.kubeconfig}`,
      `--config=${this.kwokStages()}`,
      "--manage-all-nodes=false",
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      "--cidr=10.0.0.1/24",
      "--node-ip=10.0.0.1",
      "--node-lease-duration-seconds=40",
    ]);
    if (fresh) await this.seed();
  }

  /**
   * kwok only acts through "stages" (node becomes Ready, pod becomes Running, ...). The ones
   * kwokctl uses by default ship as data files in the kwok Go module the toolchain built from:
   * read them from the module cache rather than keep a copy here.
   */
  private kwokStages(): string {
    const kwokBin = toolchainPath().split(":").find((d) => /\/kwok-v[^/]+\/bin$/.test(d));
    if (!kwokBin) throw new Error("sandbox: kwok is not in the toolchain; run bash test/e2e/toolchain/build.sh kwok");
    const version = /\/kwok-(v[^/]+)\/bin$/.exec(kwokBin)![1];
    const modcache = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
    const stageDir = path.join(modcache, `sigs.k8s.io/kwok@${version}`, "kustomize", "stage");
    if (!fs.existsSync(stageDir)) execFileSync("go", ["mod", "download", `sigs.k8s.io/kwok@${version}`], { stdio: "ignore" });
    const files = ["node/fast/node-initialize.yaml", "pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml"];
    const stages = files.map((f) => {
      const text = fs.readFileSync(path.join(stageDir, f), "utf8");
      if (f !== "pod/fast/pod-ready.yaml") return text;
      // kwok's selector keys are jq queries; a missing annotation (or annotations) reads as null.
      const stage = YAML.parse(text) as { spec: { selector: { matchExpressions: object[] } } };
      stage.spec.selector.matchExpressions.push({ key: `.metadata.annotations["${READINESS_PROBED_BY_TEST}"]`, operator: "DoesNotExist" });
      return YAML.stringify(stage);
    });
    const out = path.join(this.dir, "kwok-stages.yaml");
    fs.writeFileSync(out, stages.join("\n---\n"));
    return out;
  }

  /** What a fresh cluster gets once: fake nodes and the CRDs. */
  private async seed(): Promise<void> {
    for (let i = 0; i < this.nodes; i++) {
      const node = {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: `kwok-node-${i}`,
          annotations: { [KWOK_NODE_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: { "kubernetes.io/hostname": `kwok-node-${i}`, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
        },
        status: { allocatable: { cpu: "32", memory: "256Gi", pods: "110" }, capacity: { cpu: "32", memory: "256Gi", pods: "110" } },
      };
      this.kubectl(["apply", "-f", "-"], JSON.stringify(node));
    }
    if (this.installCrds) {
      for (const reconciler of ["argo-cd", "flux"] as const) {
        const names = this.kubectl(["apply", "--server-side", ...crdFileArgs(reconciler), "-o", "name"]).split("\n").filter(Boolean);
        markForRelease((a) => this.kubectl(a), names, reconciler);
      }
      await waitFor("CRDs established", async () => this.succeeds(["wait", "--for=condition=Established", "--timeout=5s", "crd", "--all"]), 60_000);
    }
    // Namespaces get their default ServiceAccount from the controller-manager; wait for it, as pods need it.
    await waitFor("default service account", async () => this.succeeds(["get", "serviceaccount", "default", "-n", "default"]), 60_000, path.join(this.dir, "logs", "kube-controller-manager.log"));
  }

  private succeeds(args: readonly string[]): boolean {
    try {
      this.kubectl(args);
      return true;
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    // Reverse order: the API server's clients first, etcd last.
    for (const { child } of [...this.processes].reverse()) {
      await terminate(child);
    }
    this.processes = [];
    fs.rmSync(path.join(this.dir, "pids"), { force: true });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a fresh sandbox cluster (or the one whose data is in `dir`). */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  fs.mkdirSync(options.dir, { recursive: true });
  killLeftovers(path.join(options.dir, "pids"));
  const ports: Ports = { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort(), denyWebhook: await freePort() };
  const sandbox = new LocalSandbox(options.dir, ports, options.nodes ?? 1, options.installCrds ?? true, options);
  return startedOrStopped(sandbox);
}
