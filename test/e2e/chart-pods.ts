/**
 * What the kubelet hands a container of a chart's workload, for the controllers the e2e runs as
 * local processes in place of the chart's pods (kwok plays their kubelet, with no container):
 * - the credentials of the pod's ServiceAccount: a bound token from the TokenRequest API (`kubectl
 *   create token`), in a kubeconfig of its own, so the process can do exactly what the chart's
 *   RBAC grants it, no more (not the sandbox's admin credentials);
 * - the container's environment as the Deployment or StatefulSet declares it, with its ConfigMap
 *   and Secret references resolved (argocd-cmd-params-cm, argocd-cm, …);
 * - the container's arguments, for the flags that shape the controller's behaviour.
 */
import { type ChildProcess, execFile } from "node:child_process";
import * as fs from "node:fs";
import { promisify } from "node:util";
import * as YAML from "yaml";
import { terminate, watchParent } from "./processes";
import { toolchainEnv } from "./toolchain";

type Obj = Record<string, any>;

export interface ChartContainer {
  readonly serviceAccount: string;
  readonly env: Record<string, string>;
  readonly args: readonly string[];
}

/** Asynchronous: these run on timers beside the test, which must not stall. */
export async function kubectlAsync(kubeconfig: string, args: readonly string[]): Promise<string> {
  const { stdout } = await promisify(execFile)("kubectl", ["--kubeconfig", kubeconfig, ...args], { env: toolchainEnv(), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** An object as JSON, or undefined when it does not exist (yet). */
async function getObject(kubeconfig: string, kind: string, name: string, namespace: string): Promise<Obj | undefined> {
  const out = await kubectlAsync(kubeconfig, ["get", kind, name, "-n", namespace, "--ignore-not-found", "-o", "json"]);
  return out.trim() ? (JSON.parse(out) as Obj) : undefined;
}

/**
 * The container `container` (default: the first) of a chart's Deployment, StatefulSet or Job, with
 * its environment resolved as the kubelet does; undefined while the workload or its
 * ServiceAccount does not exist. A required reference that cannot be resolved throws (the
 * kubelet would not start the container: CreateContainerConfigError).
 */
export async function chartContainer(
  kubeconfig: string,
  workload: { kind: "Deployment" | "StatefulSet" | "Job"; name: string; namespace: string; container?: string },
  fetched?: { object: Obj; serviceAccounts: ReadonlySet<string> },
): Promise<ChartContainer | undefined> {
  const object = fetched ? fetched.object : await getObject(kubeconfig, workload.kind.toLowerCase(), workload.name, workload.namespace);
  if (!object) return undefined;
  const pod = object.spec.template.spec as Obj;
  const serviceAccount: string = pod.serviceAccountName ?? "default";
  const hasAccount = fetched ? fetched.serviceAccounts.has(serviceAccount) : (await getObject(kubeconfig, "serviceaccount", serviceAccount, workload.namespace)) !== undefined;
  if (!hasAccount) return undefined;
  const containers = pod.containers as Obj[];
  const c = workload.container ? containers.find((x) => x.name === workload.container) : containers[0];
  if (!c) throw new Error(`${workload.kind} ${workload.namespace}/${workload.name} has no container ${workload.container}`);
  const data = new Map<string, Record<string, string> | undefined>();
  const source = async (kind: "configmap" | "secret", name: string): Promise<Record<string, string> | undefined> => {
    const key = `${kind}/${name}`;
    if (!data.has(key)) {
      const o = await getObject(kubeconfig, kind, name, workload.namespace);
      const values = o?.data as Record<string, string> | undefined;
      data.set(key, kind === "secret" && values ? Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])) : values);
    }
    return data.get(key);
  };
  const env: Record<string, string> = {};
  for (const e of (c.env ?? []) as Obj[]) {
    if (typeof e.value === "string") env[e.name] = e.value;
    const from = e.valueFrom as Obj | undefined;
    if (!from) continue;
    const ref = from.configMapKeyRef ?? from.secretKeyRef;
    if (ref) {
      const value = (await source(from.configMapKeyRef ? "configmap" : "secret", ref.name))?.[ref.key];
      if (value !== undefined) env[e.name] = value;
      else if (ref.optional !== true) throw new Error(`${workload.name}: env ${e.name} needs ${from.configMapKeyRef ? "ConfigMap" : "Secret"} ${workload.namespace}/${ref.name} key ${ref.key}, which does not exist`);
    } else if (from.fieldRef?.fieldPath === "metadata.namespace") {
      env[e.name] = workload.namespace;
    }
  }
  // $(VAR) in arguments, as the kubelet expands them.
  const args = ((c.args ?? []) as string[]).map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => env[v] ?? m));
  return { serviceAccount, env, args };
}

/**
 * A kubeconfig for `serviceAccount` in `namespace`: the admin kubeconfig's cluster (server and
 * CA) with a bound token from the TokenRequest API, written 0600 to `file`. Returns the file.
 */
export async function serviceAccountKubeconfig(adminKubeconfig: string, namespace: string, serviceAccount: string, file: string): Promise<string> {
  const token = (await kubectlAsync(adminKubeconfig, ["create", "token", serviceAccount, "-n", namespace, "--duration=12h"])).trim();
  const admin = YAML.parse(fs.readFileSync(adminKubeconfig, "utf8")) as Obj;
  const context = (admin.contexts as Obj[]).find((c) => c.name === admin["current-context"]) ?? admin.contexts[0];
  const cluster = (admin.clusters as Obj[]).find((c) => c.name === context.context.cluster) ?? admin.clusters[0];
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "sandbox", cluster: cluster.cluster }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "sandbox", context: { cluster: "sandbox", user, namespace } }],
    "current-context": "sandbox",
  };
  fs.writeFileSync(`${file}.tmp`, YAML.stringify(config), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  return file;
}

/**
 * The chart's flags with ours in place of the ones we must set for a local process (addresses,
 * paths, leader election): every `--name` or `--name=value` of `chart` whose name is a key of
 * `ours` is dropped, then `ours` is appended (a null value only drops the chart's flag), in
 * `form` (redis takes only `--name value`).
 */
export function withOurFlags(chart: readonly string[], ours: Record<string, string | null>, form: "--name=value" | "--name value" = "--name=value"): string[] {
  // The argo-cd chart passes the binary's path as the first argument (the multi-call binary picks
  // its role from it); the local process gets its role from ARGOCD_BINARY_NAME instead.
  const flags = chart[0]?.startsWith("/") ? chart.slice(1) : chart;
  const kept: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const m = /^--([^=]+)(=.*)?$/.exec(flags[i]);
    if (!m || !(m[1] in ours)) {
      kept.push(flags[i]);
      continue;
    }
    // `--name value`: the value is the next argument when it is not a flag.
    if (m[2] === undefined && i + 1 < flags.length && !flags[i + 1].startsWith("--")) i++;
  }
  return [...kept, ...Object.entries(ours).flatMap(([k, v]) => (v === null ? [] : form === "--name=value" ? [`--${k}=${v}`] : [`--${k}`, v]))];
}

/** One container of a chart's workload, run as a local process. */
export interface ChartPodSpec {
  /** The process's name (logs, restarts). */
  readonly name: string;
  readonly workload: { readonly kind: "Deployment" | "StatefulSet" | "Job"; readonly name: string; readonly container?: string };
  /**
   * Starts the process for the container: `kubeconfig` holds a token of the pod's
   * ServiceAccount; env and args are the container's, resolved.
   */
  start(container: ChartContainer & { readonly kubeconfig: string }): ChildProcess;
}

/** How often the supervisor looks at the workloads (the kubelet's sync loop is of this order). */
const POD_SYNC_MS = 1000;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 8000;

interface PodState {
  child?: ChildProcess;
  watchdog?: ChildProcess;
  restarts: number;
  crashes: number;
  startedAt: number;
  notBefore: number;
  /** A Job's container runs once per Job (by uid). */
  completedJob?: string;
}

/**
 * The kubelet's part for chart pods that are local processes: each container starts once its
 * workload and ServiceAccount exist, is started again after it exits (with the kubelet's
 * back-off), and is stopped when its workload is gone (the release or its namespace deleted). A
 * Job's container runs once to completion per Job. Everything runs on a timer; nothing blocks.
 */
export class ChartPods {
  private readonly state = new Map<string, PodState>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;

  constructor(
    private kubeconfig: string,
    private readonly namespace: string,
    private readonly dir: string,
    private readonly specs: readonly ChartPodSpec[],
    private readonly log: (name: string, line: string) => void,
  ) {
    for (const s of specs) this.state.set(s.name, { restarts: 0, crashes: 0, startedAt: 0, notBefore: 0 });
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.syncing ??= this.sync()
        // The API server unreachable (restarting, or the cluster gone): the next pass tries again.
        .catch((e: Error) => this.logAt(this.specs[0].name, `--- chart pods: cannot list ${this.namespace}: ${e.message.trim().split("\n").pop()} ---`))
        .finally(() => (this.syncing = undefined));
    }, POD_SYNC_MS);
  }

  /** Stops the loop and every process. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.syncing;
    await Promise.all([...this.state.values()].map((s) => this.kill(s)));
  }

  /** Against another cluster (a new sandbox after a wipe): stops everything first. */
  async retarget(kubeconfig: string): Promise<void> {
    await this.stop();
    this.kubeconfig = kubeconfig;
    for (const s of this.state.values()) Object.assign(s, { notBefore: 0, crashes: 0, completedJob: undefined });
    this.start();
  }

  restarts(name: string): number {
    return this.state.get(name)?.restarts ?? 0;
  }

  pids(): number[] {
    return [...this.state.values()].flatMap((s) => (s.child?.pid && s.child.exitCode === null ? [s.child.pid] : []));
  }

  private async kill(s: PodState): Promise<void> {
    const child = s.child;
    s.child = undefined;
    s.watchdog?.kill("SIGKILL");
    if (child) await terminate(child);
  }

  private logAt(name: string, line: string): void {
    this.log(name, `${new Date().toISOString()} ${line}`);
  }

  /**
   * One pass of the loop: one listing of the namespace's workloads and ServiceAccounts (a pass
   * must be quick: a hook Job lives only until its TTL), then each container on its own, so one
   * that cannot start (a missing Secret) does not hold up the others.
   */
  private async sync(): Promise<void> {
    const list = JSON.parse(await kubectlAsync(this.kubeconfig, ["get", "jobs,deployments,statefulsets,serviceaccounts", "-n", this.namespace, "-o", "json"])) as { items: Obj[] };
    const objects = new Map(list.items.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    const serviceAccounts = new Set(list.items.filter((o) => o.kind === "ServiceAccount").map((o) => o.metadata.name as string));
    for (const spec of this.specs) {
      try {
        await this.syncOne(spec, objects.get(`${spec.workload.kind}/${spec.workload.name}`), serviceAccounts);
      } catch (e) {
        this.logAt(spec.name, `--- cannot start: ${(e as Error).message.trim()} ---`);
      }
    }
  }

  private async syncOne(spec: ChartPodSpec, object: Obj | undefined, serviceAccounts: ReadonlySet<string>): Promise<void> {
    const s = this.state.get(spec.name)!;
    const workload = { ...spec.workload, namespace: this.namespace };
    const alive = s.child !== undefined && s.child.exitCode === null && s.child.signalCode === null;
    if (alive) {
      // Gone with its release or namespace: stopped, without holding up the loop.
      if (!object) {
        void this.kill(s);
        this.logAt(spec.name, `--- stopped: ${workload.kind} ${workload.namespace}/${workload.name} is gone ---`);
      }
      return;
    }
    if (!object || Date.now() < s.notBefore) return;
    if (spec.workload.kind === "Job" && s.completedJob === object.metadata.uid) return;
    const container = await chartContainer(this.kubeconfig, workload, { object, serviceAccounts });
    if (!container) return;
    const kubeconfig = await serviceAccountKubeconfig(this.kubeconfig, workload.namespace, container.serviceAccount, `${this.dir}/${spec.name}.kubeconfig`);
    const child = spec.start({ ...container, kubeconfig });
    if (s.startedAt) s.restarts += 1;
    s.startedAt = Date.now();
    s.child = child;
    s.watchdog = watchParent([child.pid!]);
    this.logAt(spec.name, `--- started as ${workload.kind} ${workload.namespace}/${workload.name}'s pod, ServiceAccount ${container.serviceAccount} ---`);
    const jobUid = spec.workload.kind === "Job" ? (object.metadata.uid as string) : undefined;
    child.once("exit", (code, signal) => {
      s.watchdog?.kill("SIGKILL");
      if (s.child !== child) return; // stopped on purpose
      s.child = undefined;
      if (jobUid && code === 0) {
        s.completedJob = jobUid;
        this.logAt(spec.name, "--- completed ---");
        return;
      }
      // The kubelet's CrashLoopBackOff: doubling delays, reset after a run of 10 s.
      s.crashes = Date.now() - s.startedAt >= 10_000 ? 1 : s.crashes + 1;
      const delay = Math.min(BACKOFF_FIRST_MS * 2 ** (s.crashes - 1), BACKOFF_MAX_MS);
      s.notBefore = Date.now() + delay;
      this.logAt(spec.name, `--- exited (${code ?? signal}); started again in ${delay / 1000}s, as the kubelet would ---`);
    });
  }
}
