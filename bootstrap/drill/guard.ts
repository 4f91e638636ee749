/**
 * The drill's guard: it installs into a cluster and then destroys everything, so it refuses a
 * cluster that holds anything beyond a fresh cluster's default namespaces, and a cluster that
 * another stack is explicitly bound to (its `kubernetes:context` / `kubernetes:kubeconfig`),
 * unless `--force`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import * as YAML from "yaml";
import { listStacks, stackFilePath } from "../stack-file";

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

function expandHome(p: string, home: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(home, p.slice(1)) : p;
}

/** Resolves which API server a context of a kubeconfig (a file, or the default ones) points at. */
function resolveServer(context: string | undefined, kubeconfig: string | undefined, env: NodeJS.ProcessEnv, projectDir: string): string | undefined {
  try {
    const kc = new KubeConfig();
    const home = env.HOME || os.homedir();
    if (kubeconfig && /apiVersion:|clusters:/.test(kubeconfig)) kc.loadFromString(kubeconfig);
    else if (kubeconfig) kc.loadFromFile(path.resolve(projectDir, expandHome(kubeconfig, home)));
    else {
      const files = (env.KUBECONFIG || path.join(home, ".kube", "config")).split(path.delimiter).filter((f) => fs.existsSync(f));
      if (files.length === 0) return undefined;
      kc.loadFromFile(files[0]);
    }
    if (context) {
      const ctx = kc.getContextObject(context);
      return ctx ? kc.getCluster(ctx.cluster)?.server : undefined;
    }
    return kc.getCurrentCluster()?.server;
  } catch {
    return undefined;
  }
}

/** Every other stack that names a context or kubeconfig, with the server it resolves to here. */
export function otherStackBindings(projectDir: string, drillStack: string, env: NodeJS.ProcessEnv): StackBinding[] {
  const out: StackBinding[] = [];
  for (const stack of listStacks(projectDir)) {
    if (stack === drillStack) continue;
    let config: Record<string, unknown> = {};
    try {
      const doc = YAML.parse(fs.readFileSync(stackFilePath(projectDir, stack), "utf8")) as { config?: Record<string, unknown> } | null;
      config = doc?.config ?? {};
    } catch {
      continue;
    }
    const context = typeof config["kubernetes:context"] === "string" ? (config["kubernetes:context"] as string) : undefined;
    const kubeconfig = typeof config["kubernetes:kubeconfig"] === "string" ? (config["kubernetes:kubeconfig"] as string) : undefined;
    if (context === undefined && kubeconfig === undefined) continue;
    out.push({ stack, context, kubeconfig: kubeconfig && !/apiVersion:/.test(kubeconfig) ? kubeconfig : undefined, server: resolveServer(context, kubeconfig, env, projectDir) });
  }
  return out;
}
