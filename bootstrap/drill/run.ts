/**
 * `restore` and `drill`: identify the cluster → check → up → wait for convergence → verify
 * Secrets → report, and for the drill a guard first and a destroy at the end (unless kept), after
 * success, a failure, a timeout, Ctrl-C or any unexpected error alike. Each step prints one line
 * when it starts and one when it ends; the report records the phases, per-app times and
 * failures, and never a secret.
 */
import * as path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import type { BootstrapConfig } from "../../components/settings/bootstrap-config";
import { type OutputFolderSpec, writeOutputFolder } from "../cli-common/output-files";
import { privateKeyObjects } from "../../components/settings/sealing-keys";
import { type RepositoryCheckReport, type checkRepository, failsTheCheck, formatFileLine } from "../sops";
import { formatSealedLine } from "../sops/report";
import { safeLine } from "../cli-common/terminal-text";
import { ReadInterrupted, RepositoryError, type RepositorySnapshot, type readRepository, redactUrl } from "../sops/repository";
import { stackGitCredentials, stackScope } from "../config/stack-repository";
import { objectKey, type ObjectRecord } from "./convergence";
import { listNamespaces, listPersistentVolumeClaims, serverOf } from "../cluster/api";
import { findSealedSecrets, findSecrets, listWorkloads } from "./cluster-reads";
import type { DeployEngine } from "./engine";
import { type GuardFacts, type StackBinding, guardProblems, recognisedWorkloads } from "./guard";
import { WITHIN_GRACE, type AppRecord, type PhaseName, type PhaseRecord, type PhaseStatus, REPORT_FILES, type RunOutcome, type RunReport, type SecretRecord, formatJUnit, formatJson, formatMarkdown, seconds } from "../cli-common/drill-report";
import { type ExpectedSecret, expectedSealedSecrets, expectedSecrets, judgedOnly } from "./secrets";
import { type EsoWaitOptions, findExternalSecrets } from "./external-secrets";
import { type ExternalSecretsInRepo, externalSecretsUnder } from "../external-secrets/refs";
import { applicationSetStatusReader, applicationStatusReader, helmReleaseStatusReader, kustomizationStatusReader } from "./status";
import { type ClusterIdentity, describeIdentity, identityChange, readClusterIdentity } from "./target";
import { type RecoveryTimeSplit, formatSplit, splitRecoveryTime } from "../cli-common/time-split";
import type { UpTiming } from "../cli-common/up-timing";
import { type WaitOptions, type WaitResult, type WatchedKind, progressLine, waitForConvergence } from "./wait";

/** What to watch for a stack's reconciler, and its root object. */
export function watchSpecFor(config: BootstrapConfig): Pick<WaitOptions, "kinds" | "rootKey" | "reconcilerNamespace" | "noun"> {
  if (config.reconciler === "argocd") {
    // Applications, including those ApplicationSets generate, and the ApplicationSets themselves
    // (a generator that fails shows there, not on any Application).
    const kinds: WatchedKind[] = [
      { ref: { apiVersion: "argoproj.io/v1alpha1", kind: "Application", plural: "applications" }, reader: applicationStatusReader },
      { ref: { apiVersion: "argoproj.io/v1alpha1", kind: "ApplicationSet", plural: "applicationsets", optional: true }, reader: applicationSetStatusReader },
    ];
    return { kinds, rootKey: objectKey("Application", config.argocd.namespace, config.rootApp.name), reconcilerNamespace: config.argocd.namespace, noun: "apps" };
  }
  // Flux: every Kustomization and HelmRelease in the cluster; the root Kustomization is named like the root app.
  const kinds: WatchedKind[] = [
    { ref: { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", plural: "kustomizations" }, reader: kustomizationStatusReader },
    { ref: { apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", plural: "helmreleases" }, reader: helmReleaseStatusReader },
  ];
  return { kinds, rootKey: objectKey("Kustomization", config.flux.namespace, config.rootApp.name), reconcilerNamespace: config.flux.namespace, noun: "Kustomizations and HelmReleases" };
}

/** What a run reads from its cluster; {@link clusterReader} is the real one, on the run's single-context kubeconfig. */
export interface ClusterReader {
  /** The API server and context, without credentials. */
  readonly server: string;
  identity(): Promise<ClusterIdentity>;
  guardFacts(): Promise<GuardFacts>;
  waitForConvergence(options: Omit<WaitOptions, "kubeconfig">): Promise<WaitResult>;
  findSecrets(expected: readonly ExpectedSecret[]): Promise<SecretRecord[]>;
  findSealedSecrets(expected: readonly ExpectedSecret[]): Promise<SecretRecord[]>;
  /** Each store validated and each ExternalSecret synced with its Secret present (ESO's message when not). */
  findExternalSecrets(found: ExternalSecretsInRepo, options?: EsoWaitOptions): Promise<SecretRecord[]>;
}

export function clusterReader(kc: KubeConfig): ClusterReader {
  return {
    server: serverOf(kc),
    identity: () => readClusterIdentity(kc),
    guardFacts: async () => ({ namespaces: await listNamespaces(kc), workloads: await listWorkloads(kc), persistentVolumeClaims: await listPersistentVolumeClaims(kc) }),
    waitForConvergence: (options) => waitForConvergence({ ...options, kubeconfig: kc }),
    findSecrets: (expected) => findSecrets(kc, expected),
    findSealedSecrets: (expected) => findSealedSecrets(kc, expected),
    findExternalSecrets: (found, options) => findExternalSecrets(kc, found, options),
  };
}

export interface RunOptions {
  readonly command: "restore" | "drill";
  readonly stack: string;
  readonly config: BootstrapConfig;
  /** The one cluster of the run, through the same single-context kubeconfig the engine deploys with. */
  readonly cluster: ClusterReader;
  readonly engine: DeployEngine;
  /** Where to read the repository (once) for the check and the Secret list: the stack's URL, or a local checkout. */
  readonly repoSource: string;
  readonly repoRevision: string | undefined;
  /** Only SOPS Secrets under this folder of the repository are expected in the cluster. */
  readonly secretsUnder?: string;
  readonly checkRepository: typeof checkRepository;
  readonly readRepository: typeof readRepository;
  readonly timeoutMs: number;
  readonly failureGraceMs: number;
  readonly reportDir: string;
  /** Ctrl-C: ends the current step; the drill still destroys. */
  readonly signal: AbortSignal;
  /** A second Ctrl-C: stops the destroy too. */
  readonly hardSignal?: AbortSignal;
  readonly out: (line: string) => void;
  /** A live status line (a terminal) for the wait; without it, progress is printed as lines. */
  readonly status?: (line: string) => void;
  /** Drill only: the guard's inputs, and whether to skip it or the destroy. */
  readonly guard?: { readonly force: boolean; readonly otherStacks: readonly StackBinding[] };
  readonly keep?: boolean;
  /** The audit of the source cluster (`drill --audit`), for the report. */
  readonly audit?: RunReport["audit"];
  /** Pause between attempts to read the cluster's identity before the destroy. @default 1000 ms, doubling */
  readonly identityRetryMs?: number;
}

class Interrupted extends Error {}

/** A step of the run: the phases it records (on an unexpected error, those not recorded yet fail with it). */
interface Step {
  readonly phases: readonly PhaseName[];
  /** `stop` ends the run here (refused, failed, timed out); the report and teardown follow. */
  run(): Promise<"next" | "stop">;
}

/**
 * The run as the list of its steps (guard, check, up, wait, secrets), driven by one loop that
 * owns the ending: whatever a step returns or throws, the drill then destroys what it deployed
 * (after checking it is still the same cluster) and the report is written.
 */
export async function runRecovery(o: RunOptions): Promise<RunReport> {
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const phases: PhaseRecord[] = [];
  const failures: string[] = [];
  const notes: string[] = [];
  let apps: AppRecord[] = [];
  let secrets: SecretRecord[] = [];
  let changes: Record<string, number> = {};
  let upTiming: UpTiming | undefined;
  let outcome: RunOutcome = "failed";
  let recoveryTimeMs: number | undefined;
  let timeSplit: RecoveryTimeSplit | undefined;
  let deployStarted = false;
  let snapshot: RepositorySnapshot | undefined;
  // Other environments' files in the same repository: neither judged nor expected in this cluster.
  let notJudged: readonly string[] = [];
  // The stores and ExternalSecrets the check judged: each must be validated and synced after convergence.
  let externalSecrets: ExternalSecretsInRepo = { stores: [], externalSecrets: [] };
  let target: ClusterIdentity | undefined;
  const rel = (at: number): number => at - t0;

  const record = (name: PhaseName, status: PhaseStatus, start: number, end: number, detail?: string): void => {
    phases.push({ name, status, startMs: rel(start), durationMs: Math.max(0, end - start), detail });
    const mark = status === "ok" ? "✔" : status === "skipped" ? "–" : "✗";
    o.out(`${mark} ${name}${status === "ok" || status === "skipped" ? "" : ` ${status}`}${detail ? `: ${detail}` : ""} (${seconds(end - start)})`);
  };
  const checkInterrupt = (): void => {
    if (o.signal.aborted) throw new Interrupted();
  };

  /** The cluster as it answers now, compared with the one identified at the start. */
  const sameCluster = async (): Promise<string | undefined> => identityChange(target!, await o.cluster.identity());

  const identify: Step = {
    phases: [],
    run: async () => {
      target = await o.cluster.identity();
      o.out(`► cluster: ${describeIdentity(target)}`);
      return "next";
    },
  };

  const guard: Step = {
    phases: ["guard"],
    run: async () => {
      const start = Date.now();
      o.out(`► guard: is ${o.cluster.server} a throwaway cluster?`);
      const facts = await o.cluster.guardFacts();
      const problems = guardProblems({ ...facts, server: target!.server, context: target!.context, otherStacks: o.guard!.otherStacks });
      if (problems.length > 0 && !o.guard!.force) {
        for (const p of problems) failures.push(`guard: ${p}`);
        record("guard", "failed", start, Date.now(), `refused: ${problems.join("; ")}. The drill installs and then destroys everything; point --kubeconfig at a throwaway cluster, or pass --force if this one really is disposable`);
        outcome = "refused";
        return "stop";
      }
      for (const p of problems) notes.push(`guard: --force: ran although ${p}`);
      const recognised = recognisedWorkloads(facts.workloads);
      const fresh = `the cluster is empty${recognised.length > 0 ? ` (it runs only what its distribution does: ${recognised.join(", ")})` : ""} and no other stack deploys to it`;
      record("guard", "ok", start, Date.now(), problems.length > 0 ? `forced past: ${problems.join("; ")}` : fresh);
      return "next";
    },
  };

  const check: Step = {
    phases: ["check"],
    run: async () => {
      const start = Date.now();
      o.out(`► check: do the stack's age key(s) decrypt every SOPS file that ${o.config.repo.path} reaches in ${redactUrl(o.repoSource)}?`);
      let report: RepositoryCheckReport | undefined;
      try {
        // Read once: the same files are checked now and give the expected Secrets after convergence.
        const credentials = stackGitCredentials(o.config);
        snapshot = await o.readRepository({ source: o.repoSource, revision: o.repoRevision, caFile: o.config.repo.caCertificates?.file, credentials, signal: o.signal });
        const sealed = o.config.sealedSecrets;
        report = await o.checkRepository({
          source: o.repoSource,
          revision: o.repoRevision,
          identities: o.config.ageKey.set,
          snapshot,
          sealingKeys: sealed?.keysFile ? privateKeyObjects(sealed.keys) : undefined,
          scope: stackScope(o.config),
          signal: o.signal,
        });
        notJudged = report.notJudged;
        externalSecrets = report.externalSecrets;
      } catch (e) {
        if (e instanceof ReadInterrupted) throw new Interrupted();
        if (!(e instanceof RepositoryError)) throw e;
        const why = `cannot read ${redactUrl(o.repoSource)} from here (${redactUrl(e.message)}); SOPS files not checked (--repo-checkout DIR reads a local clone)`;
        notes.push(`check: ${why}`);
        record("check", "skipped", start, Date.now(), why);
      }
      if (report && report.outcome === "fails") {
        const bad = report.files.filter((f) => failsTheCheck(f.kind));
        const badSealed = report.sealedSecrets.filter((r) => r.kind === "no-key" || r.kind === "malformed");
        for (const f of bad) failures.push(`check: ${formatFileLine(f)}`);
        for (const r of badSealed) failures.push(`check: ${formatSealedLine(r)}`);
        const what = [bad.length > 0 ? `${bad.length} of ${report.files.length} SOPS file(s) do not verify with the stack's key` : "", badSealed.length > 0 ? `the key backup does not open ${badSealed.length} SealedSecret(s)` : ""].filter(Boolean).join("; ");
        record("check", "failed", start, Date.now(), `${what}; nothing was deployed`);
        return "stop";
      }
      for (const w of report?.warnings.filter((x) => x.includes("SealedSecret")) ?? []) notes.push(`check: ${w}`);
      // sops decrypts these, so the sync will: worth a look, not a reason to stop a recovery.
      for (const f of report?.files.filter((x) => x.kind === "suspicious") ?? []) notes.push(`check: ${formatFileLine(f)}`);
      const opened = report?.sealedSecrets.filter((r) => r.kind === "ok").length ?? 0;
      for (const w of report?.warnings.filter((x) => x.startsWith("scope: ")) ?? []) notes.push(`check: ${w}`);
      const others = notJudged.length > 0 ? `; ${notJudged.length} SOPS file(s) for other environments, not judged` : "";
      if (report) record("check", "ok", start, Date.now(), `${report.files.length} SOPS file(s) verified${opened > 0 ? `; the key backup opens ${opened} SealedSecret(s)` : ""}${others}`);
      return "next";
    },
  };

  const up: Step = {
    phases: ["up"],
    run: async () => {
      const upStart = Date.now();
      o.out(`► up: ${o.engine.description}`);
      const changed = await sameCluster();
      if (changed) {
        const message = `not run: the cluster is not the one checked at the start: ${changed}; nothing was deployed`;
        failures.push(`up: ${message}`);
        record("up", "failed", upStart, Date.now(), message);
        return "stop";
      }
      deployStarted = true;
      try {
        const result = await o.engine.up(o.out, o.signal);
        changes = { ...result.changes };
        upTiming = result.timing;
      } catch (e) {
        checkInterrupt();
        const message = firstLines(e);
        failures.push(`up: ${message}`);
        record("up", "failed", upStart, Date.now(), message);
        return "stop";
      }
      checkInterrupt();
      const summary = Object.entries(changes).map(([op, n]) => `${op} ${n}`).join(", ") || "no changes";
      record("up", "ok", upStart, Date.now(), summary);
      return "next";
    },
  };

  const wait: Step = {
    phases: ["reconciler ready", "root synced", "all healthy"],
    run: async () => {
      const waitStart = Date.now();
      o.out(`► waiting for ${o.config.reconciler} to converge (timeout ${seconds(o.timeoutMs)}; a problem lasting ${seconds(o.failureGraceMs)} is a failure)`);
      const result = await o.cluster.waitForConvergence({
        ...watchSpecFor(o.config),
        failureGraceMs: o.failureGraceMs,
        deadline: waitStart + o.timeoutMs,
        signal: o.signal,
        // On a terminal the live line shows the counts; elsewhere a line when they change.
        onProgress: o.status ? undefined : (line) => o.out(`  ► ${line}`),
        onStatus: o.status ? (line) => o.status?.(`  ► ${line}`) : undefined,
        onNotice: (line) => o.out(`  ! ${line}`),
      });
      if (o.status) o.out(`  ► ${progressLine(result.summary, watchSpecFor(o.config).noun)}`);
      apps = result.objects.map((r) => appRecord(r, t0));
      recordWaitPhases(result, waitStart);
      if (result.outcome === "interrupted") throw new Interrupted();
      if (result.outcome === "converged") return "next";
      for (const r of result.summary.failed) failures.push(`${r.kind} ${r.namespace}/${r.name}: ${r.failure}${r.status.details.length ? ` — ${r.status.details.join("; ")}` : ""}`);
      if (result.outcome === "failed") {
        // Problems still within their grace when another failed first: often the cause (an
        // ApplicationSet's generator error, while the root that holds it fails on its health).
        for (const r of result.objects) {
          if (r.failedAt !== undefined || !troubledAtTheEnd(r)) continue;
          const details = r.status.details.length ? ` — ${r.status.details.join("; ")}` : "";
          failures.push(`${r.kind} ${r.namespace}/${r.name}: ${r.status.problem} (${WITHIN_GRACE})${details}`);
        }
      }
      if (result.outcome === "timeout") {
        for (const r of result.objects) if (r.convergedAt === undefined && r.deletedAt === undefined) failures.push(`${r.kind} ${r.namespace}/${r.name} did not converge in time: ${r.status.summary}${r.status.details.length ? ` — ${r.status.details.join("; ")}` : ""}`);
        for (const k of result.summary.missing) failures.push(`${k.replace(/\//, " ")} never appeared`);
        for (const w of result.workloadsNotReady) failures.push(`${o.config.reconciler} workload ${w} not ready`);
        outcome = "timeout";
      }
      // A store ESO rejected is often why a Kustomization or Application that waits on it did not
      // converge: ESO's own word for each store or ExternalSecret in the cluster that is not OK.
      const eso = externalSecretsUnder(externalSecrets, o.secretsUnder);
      if (eso.stores.length + eso.externalSecrets.length > 0) {
        const judged = await o.cluster.findExternalSecrets(eso, { pendingMs: 0 });
        for (const s of judged) if (!s.found && s.problem !== "not in the cluster") failures.push(missingSecretFailure(s));
      }
      return "stop";
    },
  };

  const secretsPresent: Step = {
    phases: ["secrets present"],
    run: async () => {
      const start = Date.now();
      const eso = externalSecretsUnder(externalSecrets, o.secretsUnder);
      const esoCount = eso.stores.length + eso.externalSecrets.length;
      o.out(`► secrets: does every Secret defined by a SOPS file or a SealedSecret exist in the cluster?${esoCount > 0 ? " Is every store valid and every ExternalSecret synced?" : ""}`);
      if (!snapshot) {
        const why = `cannot read ${redactUrl(o.repoSource)} from here; Secrets not verified (--repo-checkout DIR reads a local clone)`;
        notes.push(`secrets: ${why}`);
        record("secrets present", "skipped", start, Date.now(), why);
      } else {
        secrets = [
          ...(await o.cluster.findSecrets(expectedSecrets(judgedOnly(snapshot.candidates, notJudged), o.secretsUnder))),
          ...(await o.cluster.findSealedSecrets(expectedSealedSecrets(judgedOnly(snapshot.sealed, notJudged), o.secretsUnder))),
          ...(esoCount > 0 ? await o.cluster.findExternalSecrets(eso) : []),
        ];
        const missing = secrets.filter((s) => !s.found);
        for (const s of missing) failures.push(missingSecretFailure(s));
        record("secrets present", missing.length > 0 ? "failed" : "ok", start, Date.now(), `${secrets.length - missing.length}/${secrets.length} present`);
        if (missing.length > 0) return "stop";
      }
      outcome = "recovered";
      recoveryTimeMs = Date.now() - t0;
      o.out(`✔ recovered in ${seconds(recoveryTimeMs)}: ${apps.filter((a) => !a.deleted).length} app(s) synced and healthy`);
      timeSplit = splitRecoveryTime(recoveryTimeMs, phases, upTiming);
      if (timeSplit) o.out(`  ${formatSplit(timeSplit)}`);
      return "next";
    },
  };

  const steps: readonly Step[] = [identify, ...(o.guard ? [guard] : []), check, up, wait, secretsPresent];
  let current: Step | undefined;
  let currentStart = Date.now();
  try {
    for (const step of steps) {
      checkInterrupt();
      current = step;
      currentStart = Date.now();
      if ((await step.run()) === "stop") break;
    }
  } catch (e) {
    if (e instanceof Interrupted) {
      outcome = "interrupted";
      failures.push("interrupted (Ctrl-C)");
      o.out("■ interrupted");
    } else {
      // Anything unexpected (an API error, a throw in a scan) is a failure of its step, reported like the others.
      outcome = "failed";
      const message = firstLines(e);
      const unrecorded = (current?.phases ?? []).filter((name) => !phases.some((p) => p.name === name));
      failures.push(`${unrecorded[0] ?? current?.phases.at(-1) ?? "cluster"}: ${message}`);
      for (const name of unrecorded) record(name, "failed", currentStart, Date.now(), message);
      if (unrecorded.length === 0) o.out(`✗ ${message}`);
    }
  }
  return await finish();

  function recordWaitPhases(result: WaitResult, waitStart: number): void {
    const status: PhaseStatus = result.outcome === "interrupted" ? "interrupted" : "failed";
    const milestone = (name: PhaseName, at: number | undefined, detail: string): void => {
      if (at !== undefined) record(name, "ok", waitStart, at, detail);
      else record(name, status, waitStart, result.endedAt, result.outcome === "failed" ? "a reconciler object failed" : result.outcome);
    };
    milestone("reconciler ready", result.reconcilerReadyAt, `${o.config.reconciler} workloads ready`);
    milestone("root synced", result.rootSyncedAt, `${o.config.rootApp.name} ${o.config.reconciler === "flux" ? "applied" : "synced"}`);
    milestone("all healthy", result.allHealthyAt, `${result.summary.converged}/${result.summary.total} synced and healthy`);
  }

  /** The identity check before the destroy, a few times: a passing API hiccup must not leave the keys behind. */
  async function changeBeforeDestroy(): Promise<string | undefined> {
    let pause = o.identityRetryMs ?? 1000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await sameCluster();
      } catch (e) {
        if (attempt >= 3 || o.hardSignal?.aborted) throw e;
        await new Promise((r) => setTimeout(r, pause));
        pause *= 2;
      }
    }
  }

  async function destroy(): Promise<void> {
    const start = Date.now();
    o.out(`► destroy: removing what the drill deployed`);
    let message: string;
    try {
      const changed = await changeBeforeDestroy();
      if (changed === undefined) {
        const r = await o.engine.destroy(o.out, o.hardSignal);
        const summary = Object.entries(r.changes).map(([op, n]) => `${op} ${n}`).join(", ") || "nothing to remove";
        record("destroy", "ok", start, Date.now(), summary);
        return;
      }
      message = `not run: the cluster is not the one the drill deployed to: ${changed}; nothing was deleted, and what the drill deployed is still on ${describeIdentity(target!)}`;
    } catch (e) {
      message = o.hardSignal?.aborted ? "stopped by a second Ctrl-C: the cluster still holds what was deployed" : firstLines(e);
    }
    failures.push(`destroy: ${message}`);
    record("destroy", "failed", start, Date.now(), message);
    if (outcome === "recovered") outcome = "failed";
  }

  async function finish(): Promise<RunReport> {
    if (o.command === "drill" && deployStarted) {
      if (o.keep) {
        notes.push("--keep: the cluster was left as it is; run `pulumi destroy` on the stack when done");
        o.out("– destroy skipped (--keep)");
      } else {
        await destroy();
      }
    }
    const report: RunReport = {
      command: o.command,
      stack: o.stack,
      environment: o.config.environment,
      reconciler: o.config.reconciler,
      cluster: o.cluster.server,
      ...(target ? { context: target.context, kubeSystemUid: target.kubeSystemUid } : {}),
      repo: { url: redactUrl(o.config.repo.url), revision: o.config.repo.revision, path: o.config.repo.path },
      startedAt,
      finishedAt: new Date().toISOString(),
      outcome,
      recoveryTimeMs,
      ...(timeSplit ? { timeSplit } : {}),
      phases,
      apps,
      secrets,
      changes,
      failures,
      notes,
      ...(o.audit ? { audit: o.audit } : {}),
    };
    writeReport(o.reportDir, o.command, report);
    // Why, on the terminal too (the reconciler's own words, made safe to print), not only in the report.
    for (const f of failures.slice(0, MAX_FAILURES_SHOWN)) o.out(`  ✗ ${safeLine(f)}`);
    if (failures.length > MAX_FAILURES_SHOWN) o.out(`  … and ${failures.length - MAX_FAILURES_SHOWN} more in the report`);
    o.out(`${outcome === "recovered" ? "✔" : "✗"} ${o.command} ${outcome}; report: ${path.join(o.reportDir, REPORT_FILES.markdown)} (and ${REPORT_FILES.json}, ${REPORT_FILES.junit})`);
    return report;
  }
}

/** Failures printed when the run ends; the report has them all. */
const MAX_FAILURES_SHOWN = 10;

/** The engine's own `error: ...` lines (deduplicated), else the first lines: not the CLI invocation. */
export function firstLines(e: unknown): string {
  const text = redactUrl(e instanceof Error ? e.message : String(e));
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const engineErrors = [...new Set(lines.map((l) => /(?:^|\s)error: (.*)$/.exec(l)?.[1]).filter((m): m is string => m !== undefined))];
  return (engineErrors.length > 0 ? engineErrors : lines).slice(0, 4).join(" / ");
}


/** A problem not (yet) a failure on an object that is neither converged nor deleted. */
function troubledAtTheEnd(r: ObjectRecord): boolean {
  return r.problemSince !== undefined && r.convergedAt === undefined && r.deletedAt === undefined;
}

function appRecord(r: ObjectRecord, t0: number): AppRecord {
  const rel = (at: number | undefined): number | undefined => (at === undefined ? undefined : Math.max(0, at - t0));
  return {
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    appearedMs: rel(r.appearedAt),
    syncedMs: rel(r.syncedAt),
    healthyMs: rel(r.healthyAt),
    status: r.status.summary,
    converged: r.convergedAt !== undefined,
    failure: r.failure ?? (troubledAtTheEnd(r) ? `${r.status.problem} (${WITHIN_GRACE})` : undefined),
    details: r.status.details,
    ...(r.deletedAt !== undefined ? { deleted: true } : {}),
  };
}

/** The report folder of `restore` and `drill`: new, empty, or its own earlier report (output-files.ts). */
export const reportFolder = (command: "restore" | "drill"): OutputFolderSpec => ({
  command,
  flag: "--report-dir",
  fileNames: new RegExp(`^(${Object.values(REPORT_FILES).map((f) => f.replace(".", "\\.")).join("|")})$`),
  secret: false,
});

export function writeReport(dir: string, command: "restore" | "drill", report: RunReport): void {
  writeOutputFolder(dir, reportFolder(command), [
    { name: REPORT_FILES.json, text: formatJson(report) },
    { name: REPORT_FILES.markdown, text: formatMarkdown(report) },
    { name: REPORT_FILES.junit, text: formatJUnit(report) },
  ]);
}

/** The failure line for a Secret, SealedSecret, store or ExternalSecret that is not as Git says. */
function missingSecretFailure(s: SecretRecord): string {
  if (s.via) return `${s.via} ${s.namespace ?? "*"}/${s.name} (from ${s.file}) is not ${s.via === "ExternalSecret" ? "synced" : "valid"}: ${s.problem}`;
  if (s.sealed) return `SealedSecret ${s.namespace ?? "*"}/${s.name} (from ${s.file}) is not unsealed: ${s.problem}`;
  return `Secret ${s.namespace ?? "*"}/${s.name} (from ${s.file}) is not in the cluster`;
}
