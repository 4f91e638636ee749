/**
 * The drill's guard: it installs into a cluster and then destroys everything, so it refuses a
 * cluster that holds anything beyond what a fresh cluster of a known distribution has (its
 * namespaces, the workloads the distribution runs in `kube-system` / `default`: fresh-cluster.ts),
 * any PersistentVolumeClaim, and a cluster that another stack is explicitly bound to (its
 * `kubernetes:context` / `kubernetes:kubeconfig`), unless `--force`.
 */
import { FRESH_NAMESPACES, type WorkloadMeta, freshWorkloadRule, topLevelWorkloads } from "./fresh-cluster";
import { isInlineKubeconfig } from "../cluster/kubeconfig";
import { listStacks, readStackFileConfig } from "../config/stack-file";
import { loadKubeConfig } from "../cluster/watch";

export { FRESH_NAMESPACES };

export interface StackBinding {
  readonly stack: string;
  readonly context?: string;
  /** The kubeconfig file the stack names (a path), if any. */
  readonly kubeconfig?: string;
  /** The API server the binding resolves to, when it could be resolved on this machine. */
  readonly server?: string;
}

/** What the guard reads from the cluster. */
export interface GuardFacts {
  readonly namespaces: readonly string[];
  /** Workloads in the namespaces a fresh cluster runs some in (`WORKLOAD_NAMESPACES`). */
  readonly workloads: readonly WorkloadMeta[];
  /** Every PersistentVolumeClaim, `namespace/name`. */
  readonly persistentVolumeClaims: readonly string[];
}

export interface GuardInput extends GuardFacts {
  /** The drill cluster's API server and context. */
  readonly server: string;
  readonly context: string;
  readonly otherStacks: readonly StackBinding[];
}

const normalizeServer = (s: string): string => s.replace(/\/+$/, "").toLowerCase();

const listed = (items: readonly string[]): string => items.slice(0, 8).join(", ") + (items.length > 8 ? `, … (${items.length} in all)` : "");

/** Why the drill must not run on this cluster; empty when it may. */
export function guardProblems(input: GuardInput): string[] {
  const problems: string[] = [];
  const extra = input.namespaces.filter((n) => !FRESH_NAMESPACES.includes(n));
  if (extra.length > 0) problems.push(`the cluster is not empty: it has namespaces a fresh cluster does not have (${listed(extra)})`);
  const unknown = topLevelWorkloads(input.workloads).filter((w) => !freshWorkloadRule(w));
  if (unknown.length > 0) {
    const names = unknown.map((w) => `${w.kind} ${w.namespace}/${w.name}`);
    problems.push(`the cluster runs workloads no fresh cluster of a known distribution (kind, k3s, minikube, EKS, GKE, AKS) runs: ${listed(names)}`);
  }
  if (input.persistentVolumeClaims.length > 0) {
    problems.push(`the cluster holds data: PersistentVolumeClaims ${listed(input.persistentVolumeClaims)}`);
  }
  for (const b of input.otherStacks) {
    if (b.server && normalizeServer(b.server) === normalizeServer(input.server)) {
      problems.push(`stack ${b.stack} deploys to this cluster (${b.context ? `context ${b.context}, ` : ""}server ${b.server})`);
    } else if (!b.server && b.context && b.context === input.context) {
      problems.push(`stack ${b.stack} uses the context ${b.context}, the same name as the drill's`);
    }
  }
  return problems;
}

/** The distribution workloads the guard recognised, for the report: `coredns, kube-proxy`. */
export function recognisedWorkloads(workloads: readonly WorkloadMeta[]): string[] {
  return [...new Set(topLevelWorkloads(workloads).map((w) => freshWorkloadRule(w)?.id).filter((id): id is string => id !== undefined))].sort();
}

/** Every other stack that names a context or kubeconfig, with the server it resolves to here. */
export function otherStackBindings(projectDir: string, drillStack: string): StackBinding[] {
  const out: StackBinding[] = [];
  for (const stack of listStacks(projectDir)) {
    if (stack === drillStack) continue;
    let config: Record<string, unknown>;
    try {
      config = readStackFileConfig(projectDir, stack);
    } catch {
      continue;
    }
    const context = typeof config["kubernetes:context"] === "string" ? (config["kubernetes:context"] as string) : undefined;
    const kubeconfig = typeof config["kubernetes:kubeconfig"] === "string" ? (config["kubernetes:kubeconfig"] as string) : undefined;
    if (context === undefined && kubeconfig === undefined) continue;
    let server: string | undefined;
    try {
      server = loadKubeConfig(kubeconfig, context, projectDir).getCurrentCluster()?.server;
    } catch {
      server = undefined; // not resolvable on this machine: compared by context name instead
    }
    out.push({ stack, context, kubeconfig: kubeconfig && !isInlineKubeconfig(kubeconfig) ? kubeconfig : undefined, server });
  }
  return out;
}
