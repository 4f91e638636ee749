/**
 * `drill-stacks`: the stacks a scheduled drill runs (`drill` and `drill-<name>`), each checked for
 * what would make its drill fail before it starts: a repository URL still the shipped
 * placeholder (a reserved example domain), or a pinned cluster (the drill refuses one). For the
 * workflow: `--json` gives the matrix, `--key-file` where a stack reads its age key. Offline: reads
 * the stack files only, never a secret.
 */
import { isObject, resolveConfigPath } from "../../components/settings/fields";
import { CONFIG_NAMESPACE } from "../../components/defaults";
import { UsageError } from "../../components/errors";
import { listStacks, readStackFileConfig } from "../config/stack-file";

export class DrillStacksError extends UsageError {}

/** A drill stack is named `drill` or `drill-<environment>`. */
export const isDrillStack = (stack: string): boolean => stack === "drill" || stack.startsWith("drill-");

/** Domains reserved for documentation (RFC 2606, RFC 6761): a URL there was never set. */
export function isPlaceholderHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return /(^|\.)example\.(com|net|org)$/.test(h) || /\.(example|invalid|test)$/.test(h) || h === "example";
}

/** The host of an https:// or ssh:// URL, or of scp-like `git@host:org/repo`. */
export function repoHost(url: string): string | undefined {
  try {
    return new URL(url).hostname || undefined;
  } catch {
    return /^[^@/]+@([^:/]+):/.exec(url)?.[1];
  }
}

/** What would make this stack's drill fail before it starts; empty when it can run. */
export function drillStackProblems(stack: string, config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const repo = config[`${CONFIG_NAMESPACE}:repo`];
  const url = isObject(repo) && typeof repo.url === "string" ? repo.url : undefined;
  if (url === undefined) problems.push(`stack ${stack}: ${CONFIG_NAMESPACE}:repo.url is not set (expected your GitOps repository's URL)`);
  else {
    const host = repoHost(url);
    if (host !== undefined && isPlaceholderHost(host)) {
      problems.push(`stack ${stack}: ${CONFIG_NAMESPACE}:repo.url is still the placeholder ${url}; set it to your GitOps repository (stacks/Pulumi.${stack}.yaml)`);
    }
  }
  for (const key of ["kubernetes:context", "kubernetes:kubeconfig"]) {
    if (config[key] !== undefined) problems.push(`stack ${stack}: sets ${key}, but a drill runs only on the cluster its --kubeconfig names; remove it`);
  }
  return problems;
}

export interface DrillStacksOptions {
  /** Comma-separated stack names to keep (the workflow's `stacks` input). */
  readonly only?: string;
  readonly json?: boolean;
  /** Print the stack's age key file path (one stack only). */
  readonly keyFile?: boolean;
}

export interface DrillStacksIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly projectDir: string;
}

/** Exit status: 0 every listed stack can be drilled; 2 (thrown) otherwise, with every problem. */
export function runDrillStacks(opts: DrillStacksOptions, io: DrillStacksIo): number {
  const all = listStacks(io.projectDir).filter(isDrillStack);
  const wanted = opts.only === undefined ? all : [...new Set(opts.only.split(",").map((s) => s.trim()).filter(Boolean))];
  const unknown = wanted.filter((s) => !all.includes(s));
  if (unknown.length > 0) throw new DrillStacksError(`not a drill stack: ${unknown.join(", ")} (drill stacks are stacks/Pulumi.drill.yaml and stacks/Pulumi.drill-<name>.yaml; here: ${all.join(", ") || "none"})`);
  if (wanted.length === 0) throw new DrillStacksError("no drill stack: add stacks/Pulumi.drill.yaml (or drill-<environment>) with the environment's repository, revision and path");
  const configs = new Map(wanted.map((s) => [s, readStackFileConfig(io.projectDir, s)] as const));
  const problems = wanted.flatMap((s) => drillStackProblems(s, configs.get(s)!));
  if (problems.length > 0) throw new DrillStacksError(problems.join("\n  "));
  if (opts.keyFile) {
    if (wanted.length !== 1) throw new DrillStacksError("--key-file needs exactly one stack (--only <stack>)");
    const file = configs.get(wanted[0])![`${CONFIG_NAMESPACE}:ageKeyFile`];
    // A stack with ageKey in its (encrypted) config has no key file: nothing to print.
    if (typeof file === "string") io.stdout(`${resolveConfigPath({ baseDir: io.projectDir, homeDir: io.env.HOME }, file)}\n`);
    return 0;
  }
  io.stdout(opts.json ? `${JSON.stringify(wanted)}\n` : wanted.map((s) => `${s}\n`).join(""));
  return 0;
}
