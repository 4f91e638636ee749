/**
 * One view of every environment's last drill: the drills' `report.json` files merged into one
 * table (environment, outcome, recovery time, slowest phase, slowest app, when), as Markdown,
 * JSON and JUnit. Pure: reading the files is ./command's job.
 */
import { type RunOutcome, type RunReport, WITHIN_GRACE, seconds, xmlEscape } from "../cli-common/drill-report";
import { safeJson, safeLine } from "../cli-common/terminal-text";

export interface DrillSummaryRow {
  readonly environment: string;
  readonly stack: string;
  readonly reconciler: string;
  readonly outcome: RunOutcome;
  readonly recoveryTimeMs?: number;
  readonly slowestPhase?: { readonly name: string; readonly durationMs: number };
  /** The app that became healthy last (or, when not recovered, one that never converged). */
  readonly slowestApp?: { readonly name: string; readonly healthyMs?: number; readonly converged: boolean };
  readonly finishedAt: string;
  /** The report it came from, as given on the command line. */
  readonly source: string;
  readonly failures: readonly string[];
}

export interface DrillSummary {
  readonly rows: readonly DrillSummaryRow[];
  readonly recovered: number;
  readonly total: number;
  /** Every environment recovered. */
  readonly ok: boolean;
}

function appName(a: RunReport["apps"][number]): string {
  return `${a.kind === "Application" ? "" : `${a.kind} `}${a.namespace}/${a.name}`;
}

export function summaryRow(report: RunReport, source: string): DrillSummaryRow {
  const phases = report.phases.filter((p) => p.name !== "destroy" && p.name !== "guard");
  const slowestPhase = phases.reduce<RunReport["phases"][number] | undefined>((best, p) => (best === undefined || p.durationMs > best.durationMs ? p : best), undefined);
  const apps = report.apps.filter((a) => !a.deleted);
  // The app whose failure ended the wait, before one with a problem still within its grace then
  // (an app of apps reflecting its children's health), before one merely not converged: the row
  // names the cause.
  const stuck =
    apps.find((a) => !a.converged && a.failure && !a.failure.includes(WITHIN_GRACE)) ?? apps.find((a) => !a.converged && a.failure) ?? apps.find((a) => !a.converged);
  const lastHealthy = apps.reduce<RunReport["apps"][number] | undefined>((best, a) => (a.healthyMs !== undefined && (best?.healthyMs === undefined || a.healthyMs > best.healthyMs) ? a : best), undefined);
  const app = stuck ?? lastHealthy;
  return {
    environment: report.environment,
    stack: report.stack,
    reconciler: report.reconciler,
    outcome: report.outcome,
    recoveryTimeMs: report.recoveryTimeMs,
    slowestPhase: slowestPhase && { name: slowestPhase.name, durationMs: slowestPhase.durationMs },
    slowestApp: app && { name: appName(app), healthyMs: app.healthyMs, converged: app.converged },
    finishedAt: report.finishedAt,
    source,
    failures: report.failures,
  };
}

export function summarize(rows: readonly DrillSummaryRow[]): DrillSummary {
  const sorted = [...rows].sort((a, b) => a.environment.localeCompare(b.environment) || a.stack.localeCompare(b.stack));
  const recovered = sorted.filter((r) => r.outcome === "recovered").length;
  return { rows: sorted, recovered, total: sorted.length, ok: recovered === sorted.length && sorted.length > 0 };
}

const ICON: Record<RunOutcome, string> = { recovered: "✔", failed: "✗", timeout: "✗", interrupted: "■", refused: "✗" };

function mdCell(text: string): string {
  return safeLine(text).replace(/\|/g, "\\|");
}

function slowestAppText(r: DrillSummaryRow): string {
  if (!r.slowestApp) return "–";
  return r.slowestApp.converged ? `${r.slowestApp.name} (+${seconds(r.slowestApp.healthyMs)})` : `${r.slowestApp.name} (not converged)`;
}

export function formatSummaryMarkdown(s: DrillSummary): string {
  const lines = [
    `# Disaster-recovery drills: ${s.recovered} of ${s.total} environment(s) recovered`,
    "",
    "| environment | stack | outcome | recovery time | slowest phase | slowest app | finished |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...s.rows.map((r) =>
      [
        "",
        mdCell(r.environment),
        mdCell(r.stack),
        `${ICON[r.outcome]} ${r.outcome}`,
        r.recoveryTimeMs === undefined ? "–" : seconds(r.recoveryTimeMs),
        r.slowestPhase ? mdCell(`${r.slowestPhase.name} (${seconds(r.slowestPhase.durationMs)})`) : "–",
        mdCell(slowestAppText(r)),
        mdCell(r.finishedAt),
        "",
      ]
        .join(" | ")
        .trim(),
    ),
  ];
  const failing = s.rows.filter((r) => r.outcome !== "recovered");
  if (failing.length > 0) {
    lines.push("", "## Why", "");
    for (const r of failing) {
      const why = r.failures.length > 0 ? r.failures.slice(0, 5).map((f) => mdCell(f)).join("; ") : "no failure recorded";
      lines.push(`- **${mdCell(r.environment)}** (${mdCell(r.stack)}): ${why}${r.failures.length > 5 ? ` (and ${r.failures.length - 5} more in ${mdCell(r.source)})` : ""}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export function formatSummaryJson(s: DrillSummary): string {
  return `${safeJson(JSON.stringify(s, null, 2))}\n`;
}

export function formatSummaryJUnit(s: DrillSummary): string {
  const failures = s.rows.filter((r) => r.outcome !== "recovered").length;
  const total = s.rows.reduce((n, r) => n + (r.recoveryTimeMs ?? 0), 0);
  const cases = s.rows.map((r) => {
    const open = `    <testcase classname="drill" name="${xmlEscape(`${r.environment} (${r.stack})`)}" time="${((r.recoveryTimeMs ?? 0) / 1000).toFixed(3)}"`;
    if (r.outcome === "recovered") return `${open}/>`;
    const message = `${r.outcome}${r.failures.length > 0 ? `: ${r.failures[0]}` : ""}`;
    return `${open}>\n      <failure message="${xmlEscape(message)}">${xmlEscape(r.failures.join("\n"))}</failure>\n    </testcase>`;
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="gitops-bootstrap drill-summary" tests="${s.total}" failures="${failures}" time="${(total / 1000).toFixed(3)}">`,
    `  <testsuite name="drills" tests="${s.total}" failures="${failures}" time="${(total / 1000).toFixed(3)}">`,
    ...cases,
    `  </testsuite>`,
    `</testsuites>`,
    "",
  ].join("\n");
}
