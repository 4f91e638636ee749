/**
 * The drill's guard: it installs into a cluster and then destroys everything, so it refuses a
 * cluster that holds anything beyond a fresh cluster's default namespaces, and a cluster that
 * another stack is explicitly bound to (its `kubernetes:context` / `kubernetes:kubeconfig`),
 * unless `--force`.
 */
import { listStacks, readStackFileConfig } from "../stack-file";
import { isInlineKubeconfig, loadKubeConfig } from "./watch";

/** Namespaces a new cluster has: Kubernetes' own, and kind's local-path provisioner. */
export const FRESH_NAMESPACES: readonly string[] = ["default", "kube-node-lease", "kube-public", "kube-system", "local-path-storage"];

export interface StackBinding {
  readonly stack: string;
  readonly context?: string;
  /** The kubeconfig file the stack names (a path), if any. */
  readonly kubeconfig?: string;
  /** The API server the binding resolves to, when it could be resolved on this machine. */
  readonly server?: string;
}

export interface GuardInput {
  readonly namespaces: readonly string[];
  /** The drill cluster's API server and context. */
  readonly server: string;
  readonly context: string;
  readonly otherStacks: readonly StackBinding[];
}

const normalizeServer = (s: string): string => s.replace(/\/+$/, "").toLowerCase();

/** Why the drill must not run on this cluster; empty when it may. */
export function guardProblems(input: GuardInput): string[] {
  const problems: string[] = [];
  const extra = input.namespaces.filter((n) => !FRESH_NAMESPACES.includes(n));
  if (extra.length > 0) {
    const shown = extra.slice(0, 8).join(", ") + (extra.length > 8 ? `, … (${extra.length} in all)` : "");
    problems.push(`the cluster is not empty: it has namespaces a fresh cluster does not have (${shown})`);
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
