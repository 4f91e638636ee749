/**
 * The restore / drill report: JSON for machines, Markdown for people, JUnit XML for CI test
 * tabs. Pure formatting of what the run recorded. Contains names, times, statuses and
 * controller messages only: never a Secret's value, a key, or repository credentials (the
 * repository URL is passed through `redactUrl` by the caller).
 */
import { safeJson, safeLine, safeXmlText } from "./terminal-text";
import type { RecoveryTimeSplit } from "./time-split";

/** How a problem that had not yet lasted the failure grace when the wait ended is marked. */
export const WITHIN_GRACE = "still within the failure grace when the wait ended";

export type PhaseName = "guard" | "check" | "up" | "reconciler ready" | "root synced" | "all healthy" | "secrets present" | "destroy";
export type PhaseStatus = "ok" | "failed" | "skipped" | "interrupted";

export interface PhaseRecord {
  readonly name: PhaseName;
  readonly status: PhaseStatus;
  /** ms since the run started. */
  readonly startMs: number;
  readonly durationMs: number;
  readonly detail?: string;
}

export interface AppRecord {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** ms since the run started; absent when it never happened. */
  readonly appearedMs?: number;
  readonly syncedMs?: number;
  readonly healthyMs?: number;
  /** Last status seen, e.g. `Synced/Healthy`. */
  readonly status: string;
  readonly converged: boolean;
  readonly failure?: string;
  readonly details: readonly string[];
  readonly deleted?: boolean;
}

export interface SecretRecord {
  readonly file: string;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly found: boolean;
  /** Where it was found when the file names no namespace. */
  readonly foundIn?: readonly string[];
  /** Unsealed from a SealedSecret (rather than decrypted from a SOPS file). */
  readonly sealed?: boolean;
  /** Why it is missing, when known (the Sealed Secrets controller's or ESO's message). */
  readonly problem?: string;
  /** An External Secrets Operator object from Git rather than a Secret: the store validated, the ExternalSecret synced. */
  readonly via?: "ExternalSecret" | "SecretStore" | "ClusterSecretStore";
}

export type RunOutcome = "recovered" | "failed" | "timeout" | "interrupted" | "refused";

export interface RunReport {
  readonly command: "restore" | "drill";
  readonly stack: string;
  readonly environment: string;
  readonly reconciler: string;
  /** The API server URL (no credentials). */
  readonly cluster: string;
  /** The kubeconfig context the run used, and its cluster's identity (the `kube-system` namespace's UID). */
  readonly context?: string;
  readonly kubeSystemUid?: string;
  readonly repo: { readonly url: string; readonly revision: string; readonly path: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly outcome: RunOutcome;
  /** From the start of the run to the moment everything was back (verified); only when recovered. */
  readonly recoveryTimeMs?: number;
  /** The recovery time split into this tool's own time and Helm's and the reconciler's; only when recovered. */
  readonly timeSplit?: RecoveryTimeSplit;
  readonly phases: readonly PhaseRecord[];
  readonly apps: readonly AppRecord[];
  readonly secrets: readonly SecretRecord[];
  /** Resource changes of the `up`, by operation (`create: 4`). */
  readonly changes: Readonly<Record<string, number>>;
  /** Why the run did not succeed, one line each. */
  readonly failures: readonly string[];
  readonly notes: readonly string[];
  /**
   * `drill --audit`: what a rebuild of the source cluster from Git would not bring back, which a
   * drill cannot prove (objects not in Git, data in volumes). Counts only; `audit` lists them.
   */
  readonly audit?: { readonly cluster: string; readonly wouldBeLost: number; readonly data: number; readonly secrets: number };
}

export function seconds(ms: number | undefined): string {
  return ms === undefined ? "–" : `${(ms / 1000).toFixed(1)} s`;
}

export function formatJson(report: RunReport): string {
  return `${safeJson(JSON.stringify(report, null, 2))}\n`;
}

function mdCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export function formatMarkdown(r: RunReport): string {
  const icon: Record<string, string> = { ok: "✔", failed: "✗", skipped: "–", interrupted: "■" };
  const lines = [
    `# gitops-bootstrap ${r.command}: ${r.stack} — ${r.outcome}`,
    "",
    `- environment: \`${r.environment}\`, reconciler: \`${r.reconciler}\``,
    `- cluster: \`${r.cluster}\`${r.context ? ` (context \`${r.context}\`, kube-system \`${r.kubeSystemUid}\`)` : ""}`,
    `- repository: \`${r.repo.url}\` at \`${r.repo.revision}\`, path \`${r.repo.path}\``,
    `- started ${r.startedAt}, finished ${r.finishedAt}`,
    `- **recovery time: ${r.recoveryTimeMs === undefined ? "not recovered" : seconds(r.recoveryTimeMs)}**`,
    "",
    "## Phases",
    "",
    "| phase | status | started | duration | detail |",
    "| --- | --- | --- | --- | --- |",
    ...r.phases.map((p) => `| ${p.name} | ${icon[p.status]} ${p.status} | +${seconds(p.startMs)} | ${seconds(p.durationMs)} | ${mdCell(p.detail ?? "")} |`),
  ];
  if (r.timeSplit) {
    const t = r.timeSplit;
    const share = (ms: number): string => `${t.recoveryMs > 0 ? Math.round((ms / t.recoveryMs) * 100) : 0}%`;
    lines.push("", "## Where the recovery time went", "", "| part | time | share |", "| --- | --- | --- |");
    lines.push(`| **this tool's own time** | ${seconds(t.ownMs)} | ${share(t.ownMs)} |`, ...t.ownParts.map((p) => `| – ${mdCell(p.name)} | ${seconds(p.ms)} | ${share(p.ms)} |`));
    lines.push(`| Helm (install and wait) | ${seconds(t.helmMs)} | ${share(t.helmMs)} |`, `| the reconciler (until all synced and healthy) | ${seconds(t.reconcilerMs)} | ${share(t.reconcilerMs)} |`);
  }
  if (r.failures.length > 0) lines.push("", "## Failures", "", ...r.failures.map((f) => `- ${mdCell(f)}`));
  const changes = Object.entries(r.changes).filter(([, n]) => n > 0);
  if (changes.length > 0) lines.push("", `Resource changes: ${changes.map(([op, n]) => `${op} ${n}`).join(", ")}.`);
  lines.push("", `## Applications (${r.apps.length})`, "", "| app | appeared | synced | healthy | status | problem |", "| --- | --- | --- | --- | --- | --- |");
  for (const a of r.apps) {
    const problem = [a.failure, ...a.details].filter(Boolean).join("; ");
    const at = (ms: number | undefined): string => (ms === undefined ? "–" : `+${seconds(ms)}`);
    const name = mdCell(`${a.kind === "Application" ? "" : `${a.kind} `}${a.namespace}/${a.name}${a.deleted ? " (deleted)" : ""}`);
    lines.push(`| ${name} | ${at(a.appearedMs)} | ${at(a.syncedMs)} | ${at(a.healthyMs)} | ${mdCell(a.status)} | ${mdCell(problem)} |`);
  }
  if (r.secrets.length > 0) {
    const sources = ["SOPS files", ...(r.secrets.some((s) => s.sealed) ? ["SealedSecrets"] : []), ...(r.secrets.some((s) => s.via) ? ["External Secrets"] : [])];
    const title = sources.length === 1 ? sources[0] : `${sources.slice(0, -1).join(", ")} and ${sources[sources.length - 1]}`;
    lines.push("", `## Secrets from ${title} (${r.secrets.filter((s) => s.found).length}/${r.secrets.length} present)`, "", "| secret | file | present |", "| --- | --- | --- |");
    for (const s of r.secrets) {
      const name = s.via === "ClusterSecretStore" ? `${s.via} ${s.name}` : `${s.namespace ?? (s.foundIn?.join(", ") || "(any namespace)")}/${s.name}${s.sealed ? " (SealedSecret)" : s.via ? ` (${s.via})` : ""}`;
      const missing = s.via === "ExternalSecret" ? "not synced" : s.via ? "not valid" : s.sealed ? "not unsealed" : "missing";
      lines.push(`| ${mdCell(name)} | ${mdCell(s.file)} | ${s.found ? "✔" : `✗ ${missing}${s.problem ? `: ${mdCell(s.problem)}` : ""}`} |`);
    }
  }
  if (r.audit) {
    const a = r.audit;
    lines.push("", "## What this drill cannot prove (audit of the source cluster)", "", `Source cluster \`${a.cluster}\`: **${a.wouldBeLost} object(s) would be lost** in a rebuild from Git (${a.secrets} of them Secrets), and **${a.data} volume(s)** hold data Git does not hold. \`gitops-bootstrap audit\` lists them.`);
  }
  if (r.notes.length > 0) lines.push("", "## Notes", "", ...r.notes.map((n) => `- ${mdCell(n)}`));
  // File names, keys and messages from the repository: no control character reaches a viewer.
  return `${lines.map(safeLine).join("\n")}\n`;
}

export function xmlEscape(text: string): string {
  // XML 1.0 allows no control character other than tab, newline and carriage return; those from
  // the repository are shown escaped rather than dropped, so a name stays recognisable.
  return safeXmlText(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

interface Case {
  readonly classname: string;
  readonly name: string;
  readonly timeMs: number;
  readonly failure?: string;
  readonly skipped?: boolean;
}

export function formatJUnit(r: RunReport): string {
  const cases: Case[] = [
    ...r.phases.map((p) => ({ classname: `${r.command}.${r.stack}.phases`, name: p.name, timeMs: p.durationMs, failure: p.status === "failed" || p.status === "interrupted" ? `${p.status}${p.detail ? `: ${p.detail}` : ""}` : undefined, skipped: p.status === "skipped" })),
    ...r.apps
      .filter((a) => !a.deleted)
      .map((a) => ({
        classname: `${r.command}.${r.stack}.apps`,
        name: `${a.kind}/${a.namespace}/${a.name}`,
        timeMs: a.healthyMs !== undefined && a.appearedMs !== undefined ? Math.max(0, a.healthyMs - a.appearedMs) : 0,
        failure: a.converged ? undefined : [a.failure ?? `not converged: ${a.status}`, ...a.details].join("\n"),
      })),
    ...r.secrets.map((s) => ({ classname: `${r.command}.${r.stack}.secrets`, name: `${s.namespace ?? "*"}/${s.name}`, timeMs: 0, failure: s.found ? undefined : secretFailure(s) })),
  ];
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const skipped = cases.filter((c) => c.skipped).length;
  const total = r.phases.reduce((n, p) => n + p.durationMs, 0);
  const body = cases.map((c) => {
    const open = `    <testcase classname="${xmlEscape(c.classname)}" name="${xmlEscape(c.name)}" time="${(c.timeMs / 1000).toFixed(3)}"`;
    if (c.failure !== undefined) return `${open}>\n      <failure message="${xmlEscape(c.failure.split("\n")[0])}">${xmlEscape(c.failure)}</failure>\n    </testcase>`;
    if (c.skipped) return `${open}>\n      <skipped/>\n    </testcase>`;
    return `${open}/>`;
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="gitops-bootstrap ${xmlEscape(r.command)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" time="${(total / 1000).toFixed(3)}">`,
    `  <testsuite name="${xmlEscape(`${r.command} ${r.stack}`)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" time="${(total / 1000).toFixed(3)}" timestamp="${xmlEscape(r.startedAt)}">`,
    `    <properties>\n      <property name="outcome" value="${xmlEscape(r.outcome)}"/>\n      <property name="recoveryTimeSeconds" value="${r.recoveryTimeMs === undefined ? "" : (r.recoveryTimeMs / 1000).toFixed(3)}"/>\n      <property name="cluster" value="${xmlEscape(r.cluster)}"/>\n    </properties>`,
    ...body,
    `  </testsuite>`,
    `</testsuites>`,
    "",
  ].join("\n");
}

/** The file names written into the report directory. */
export const REPORT_FILES = { json: "report.json", markdown: "report.md", junit: "junit.xml" } as const;

/** A JUnit failure for a Secret (or an External Secrets object) that is not back. */
function secretFailure(s: SecretRecord): string {
  if (s.via) return `${s.via} not ${s.via === "ExternalSecret" ? "synced" : "valid"} (from ${s.file}): ${s.problem ?? "no Ready condition"}`;
  return s.sealed ? `SealedSecret not unsealed (from ${s.file}): ${s.problem ?? "no Secret"}` : `Secret not found in the cluster (defined by ${s.file})`;
}
