/**
 * The `restore` and `drill` subcommands: flags, the stack's config (decrypted through the
 * Pulumi workspace), the one cluster of the run (resolved once into a single-context kubeconfig
 * that the engine and the watcher share, removed at the end), Ctrl-C handling, and exit codes.
 * The work itself is `runRecovery` in ./run.
 */
import * as path from "node:path";
import { type RawStackConfig, resolveConfig } from "../config/stack-config";
import { UsageError } from "../../components/errors";
import { inspectOutputFolder } from "../cli-common/output-files";
import { terminalStatusLine } from "../cli-common/progress";
import { checkRepository } from "../sops";
import { readRepository } from "../sops/repository";
import { safeLine } from "../cli-common/terminal-text";
import { rawConfigFromEntries } from "../program";
import { type DeployEngine, type EngineCluster, PulumiEngine } from "./engine";
import { otherStackBindings } from "./guard";
import { type RunOptions, clusterReader, reportFolder, runRecovery } from "./run";
import { writePrivateKubeconfig } from "./target";
import { auditCluster } from "../rebuild-audit/audit";
import { kubeConfigOf, resolveKubeconfig } from "../cluster/kubeconfig";
import { loadKubeConfig } from "../cluster/watch";
import { type StateBackend, drillStateBackend, printableBackend, restoreStateBackend } from "../config/pulumi-backend";

export class DrillUsageError extends UsageError {}

export interface RecoveryIo {
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly projectDir: string;
  /** Registers a Ctrl-C handler; returns its removal. @default process SIGINT */
  readonly onInterrupt?: (handler: () => void) => () => void;
  /** stderr is a terminal: the wait shows one live status line. */
  readonly interactive?: boolean;
}

/** An engine that deploys only to the cluster it is given, before `up`. */
export interface TargetedEngine extends DeployEngine {
  useCluster(cluster: EngineCluster): void;
}

/** How the deployment engine and the stack's raw config are obtained; tests may stand in for Pulumi. */
export type OpenEngine = (args: {
  projectDir: string;
  stack: string;
  env: NodeJS.ProcessEnv;
  backend: StateBackend;
}) => Promise<{ engine: TargetedEngine; raw: RawStackConfig; kubernetesConfig: Record<string, string> }>;

export const openPulumiEngine: OpenEngine = async ({ projectDir, stack, env, backend }) => {
  const engine = await PulumiEngine.open({ projectDir, stack, env, backend });
  // One `pulumi config` call (it decrypts): the project's keys and the provider's `kubernetes:*` keys.
  const all = Object.entries(await engine.stack.getAllConfig());
  const kubernetesConfig = Object.fromEntries(all.filter(([k]) => k.startsWith("kubernetes:")).map(([k, v]) => [k.slice("kubernetes:".length), v.value]));
  return { engine, raw: rawConfigFromEntries(all.map(([k, v]) => [k, v.value, v.secret === true] as const), projectDir), kubernetesConfig };
};

export const EXIT_CODES = { recovered: 0, failed: 1, timeout: 1, usage: 2, refused: 3, interrupted: 130 } as const;

/** `90s`, `15m`, `1h30m`, or plain seconds. */
export function parseDuration(text: string, flag: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = "";
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
    consumed += m[0];
  }
  if (consumed !== text || total <= 0) throw new DrillUsageError(`--${flag} ${JSON.stringify(text)} is not a duration: use e.g. 90s, 15m or 1h`);
  return total;
}

/** The options of `restore` and `drill` (their flags, parsed by the CLI). */
export interface RecoveryOptions {
  readonly stack: string;
  readonly kubeconfig?: string;
  readonly timeout?: string;
  readonly failureGrace?: string;
  readonly reportDir?: string;
  readonly repoCheckout?: string;
  readonly secretsUnder?: string;
  /** Drill only. */
  readonly keep?: boolean;
  readonly force?: boolean;
  /** Drill only: the source cluster's kubeconfig, audited before the drill. */
  readonly audit?: string;
}

function defaultInterrupt(handler: () => void): () => void {
  process.on("SIGINT", handler);
  return () => process.off("SIGINT", handler);
}

export async function runRecoveryCommand(command: "restore" | "drill", flags: RecoveryOptions, io: RecoveryIo, openEngine: OpenEngine = openPulumiEngine): Promise<number> {
  const stack = flags.stack;
  if (command === "drill" && typeof flags.kubeconfig !== "string") throw new DrillUsageError("drill needs --kubeconfig K: the throwaway cluster to restore onto and destroy");
  const timeoutMs = parseDuration(flags.timeout ?? "15m", "timeout");
  const failureGraceMs = parseDuration(flags.failureGrace ?? "2m", "failure-grace");
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const reportDir = path.resolve(flags.reportDir ?? path.join("reports", `${command}-${stack}-${stamp}`));
  // A report folder the command may not write into is refused before the cluster is touched.
  inspectOutputFolder(reportDir, reportFolder(command));
  const live = io.interactive ? terminalStatusLine(process.stderr) : undefined;
  // Lines quote repository paths and controller messages: no control character reaches the terminal.
  const out = (line: string): void => (live ? live.print(safeLine(line)) : io.stderr(`${safeLine(line)}\n`));

  // One state: restore works on the state the user's `pulumi up` wrote; the drill on its own.
  const backend = command === "restore" ? restoreStateBackend(io.env, io.projectDir) : drillStateBackend(io.env);
  out(`► state: ${printableBackend(backend.url)} (from ${backend.source})`);
  if ("warning" in backend && backend.warning) out(`! ${backend.warning}`);
  out(`► ${command} ${stack}: reading the stack's config`);
  const opened = await openEngine({ projectDir: io.projectDir, stack, env: io.env, backend });
  if (command === "drill" && (opened.kubernetesConfig.kubeconfig || opened.kubernetesConfig.context)) {
    throw new DrillUsageError(`stack ${stack} sets kubernetes:${opened.kubernetesConfig.kubeconfig ? "kubeconfig" : "context"}; a drill stack must not, so that --kubeconfig alone decides which cluster is used and destroyed`);
  }
  const config = await resolveConfig(opened.raw);
  // The one cluster, for the watch and the deploy alike: --kubeconfig, else the stack's
  // kubernetes:kubeconfig, else the default; at the stack's kubernetes:context, else the current one.
  const target = resolveKubeconfig({ given: flags.kubeconfig, stack: opened.kubernetesConfig, projectDir: io.projectDir, env: io.env, home: io.env.HOME || undefined });
  if (flags.kubeconfig !== undefined && opened.kubernetesConfig.kubeconfig) out(`! --kubeconfig is used instead of the stack's kubernetes:kubeconfig, to watch and to deploy`);
  const checkout = flags.repoCheckout === undefined ? undefined : path.resolve(flags.repoCheckout);

  let audit: RunOptions["audit"];
  if (command === "drill" && flags.audit !== undefined) {
    const source = (() => {
      try {
        return loadKubeConfig(flags.audit);
      } catch (e) {
        throw new DrillUsageError(`cannot use the --audit kubeconfig ${flags.audit}: ${(e as Error).message.split("\n")[0]}`);
      }
    })();
    out(`► audit: what would a rebuild of ${source.getCurrentCluster()?.server} from Git lose?`);
    const report = await auditCluster(source, stack, config, [], live ? (line) => live.update(`  ${line}`) : undefined);
    const secrets = report.wouldBeLost.filter((i) => i.group === "" && i.kind === "Secret").length;
    audit = { cluster: report.cluster, wouldBeLost: report.counts.wouldBeLost, data: report.counts.data, secrets };
    out(`${audit.wouldBeLost + audit.data === 0 ? "✔" : "!"} audit: ${audit.wouldBeLost} object(s) would be lost (${secrets} Secrets), ${audit.data} volume(s) hold data Git does not hold; gitops-bootstrap audit lists them`);
  }

  // Credentials: 0600 in a 0700 folder, for this run only.
  const kubeconfigFile = writePrivateKubeconfig(target.yaml);
  const soft = new AbortController();
  const hard = new AbortController();
  const removeHandler = (io.onInterrupt ?? defaultInterrupt)(() => {
    if (!soft.signal.aborted) {
      out(`■ Ctrl-C: stopping${command === "drill" && !flags.keep ? "; the drill still destroys what it deployed (Ctrl-C again to stop that too)" : ""}`);
      soft.abort();
    } else {
      out("■ Ctrl-C again: stopping now");
      hard.abort();
    }
  });
  try {
    opened.engine.useCluster({ kubeconfigFile: kubeconfigFile.file, kubeconfig: target.yaml, context: target.context });
    out(`► ${command} on context ${target.context} (server ${target.server}) from ${target.from}`);
    const report = await runRecovery({
      command,
      stack,
      config,
      cluster: clusterReader(kubeConfigOf(target)),
      engine: opened.engine,
      repoSource: checkout ?? config.repo.url,
      // A local checkout is read as it is on disk unless a revision is asked for explicitly.
      repoRevision: checkout ? undefined : config.repo.revision === "HEAD" ? undefined : config.repo.revision,
      secretsUnder: flags.secretsUnder,
      checkRepository,
      readRepository,
      timeoutMs,
      failureGraceMs,
      reportDir,
      signal: soft.signal,
      hardSignal: hard.signal,
      out,
      status: live ? (line) => live.update(line) : undefined,
      guard: command === "drill" ? { force: flags.force === true, otherStacks: otherStackBindings(io.projectDir, stack) } : undefined,
      keep: flags.keep === true,
      audit,
    });
    return EXIT_CODES[report.outcome === "recovered" ? "recovered" : report.outcome];
  } finally {
    kubeconfigFile.remove();
    live?.clear();
    removeHandler();
  }
}
