/**
 * Output of the check in the style of the flux CLI: one line per file (`✔ path  ok`,
 * `✗ path  wrong key: …`), warnings (`⚠`), a summary line; or one JSON document. Both are built
 * from results only, which hold no plaintext and no key material.
 */
import type { RepositoryCheckReport } from "./check";
import { type ExternalSecretRef, describeRef } from "../external-secrets/refs";
import type { SealedSecretResult } from "../sealed-secrets/check";
import { safeJson, safeLine } from "../cli-common/terminal-text";
import { RESULT_LABELS, type SopsFileResult, type SopsResultKind, failsTheCheck, sopsDecrypts } from "./types";

function short(s: string): string {
  return s.length > 24 ? `${s.slice(0, 12)}…${s.slice(-6)}` : s;
}

/** The line a file gets in the text report (control characters from the repository escaped). */
export function formatFileLine(r: SopsFileResult): string {
  if (r.kind === "ok") return safeLine(`✔ ${r.path}  ok`);
  return safeLine(`${failsTheCheck(r.kind) ? "✗" : "⚠"} ${r.path}  ${RESULT_LABELS[r.kind]}: ${r.detail}`);
}

/** The header line: what is checked, at which revision, with which keys. */
export function formatHeader(source: string, revision: string | undefined, recipients: readonly string[]): string {
  const at = revision === undefined ? "" : ` at ${revision}`;
  const ids = `${recipients.length} age identit${recipients.length === 1 ? "y" : "ies"} (${recipients.map(short).join(", ")})`;
  // The report's title, not progress (progress lines, ► …, go to stderr like every command's).
  return `SOPS files in ${source}${at}, checked with ${ids}`;
}

/** The line an ExternalSecret gets in the text report: the store it needs, and a value a rebuild would not give back. */
export function formatExternalSecretLine(r: ExternalSecretRef): string {
  const store = r.store ? `needs ${describeRef(r.store.kind, r.store.name, undefined)}` : "values from generators only";
  return safeLine(`• ${r.path}  ${describeRef("ExternalSecret", r.name, r.namespace)}: ${store}${r.notReproduced ? ` (⚠ ${r.notReproduced})` : ""}`);
}

/** The line a SealedSecret gets in the text report. */
export function formatSealedLine(r: SealedSecretResult): string {
  const label = { ok: "ok", "no-key": "no key opens it", malformed: "malformed", unchecked: "not checked" }[r.kind];
  return safeLine(`${r.kind === "ok" ? "✔" : r.kind === "unchecked" ? "⚠" : "✗"} ${r.path}  SealedSecret ${r.secret}: ${label}${r.kind === "ok" ? ` (${r.detail})` : `: ${r.detail}`}`);
}

function sealedSummary(report: RepositoryCheckReport): string {
  const sealed = report.sealedSecrets;
  if (sealed.length === 0) return "";
  const opened = sealed.filter((r) => r.kind === "ok").length;
  return `; the key backup opens ${opened} of ${sealed.length} SealedSecret${sealed.length === 1 ? "" : "s"}`;
}

export function formatSummary(report: RepositoryCheckReport): string {
  const total = report.files.length;
  const files = `${total} SOPS file${total === 1 ? "" : "s"}`;
  const sealed = sealedSummary(report);
  const kinds = (Object.keys(report.counts) as SopsResultKind[])
    .filter((k) => k !== "ok" && report.counts[k] > 0)
    .map((k) => `${report.counts[k]} ${RESULT_LABELS[k]}`)
    .join(", ");
  if (report.outcome === "verified") {
    return `✔ ${files} verified: every value decrypts and every MAC matches${sealed}`;
  }
  if (report.outcome === "suspicious") {
    return `⚠ ${files} decrypt as sops decrypts them, but ${report.counts.suspicious} ${report.counts.suspicious === 1 ? "was" : "were"} changed where sops does not look (${kinds})${sealed}`;
  }
  const failed = report.files.filter((f) => failsTheCheck(f.kind)).length;
  if (failed === 0) return `✗ ${files} verified${sealed}`;
  return `✗ ${failed} of ${files} failed (${kinds})${sealed}`;
}

/** "3 SOPS files for other environments, not judged". */
export function notJudgedLine(count: number): string {
  return `${count} SOPS file${count === 1 ? "" : "s"} for other environments, not judged`;
}

/** The line that says what a scoped check left out, and why. */
function scopeLine(report: RepositoryCheckReport): string | undefined {
  if (!report.scope || report.notJudged.length === 0) return undefined;
  const roots = report.scope.roots.map((r) => r || ".").join(", ");
  return `– ${notJudgedLine(report.notJudged.length)} (outside what ${roots} reaches, and not encrypted to this key)`;
}

/** The whole text report (header, files, warnings, summary), one string with a final newline. */
export function formatTextReport(report: RepositoryCheckReport): string {
  const rev = report.commit && report.revision !== report.commit ? `${report.revision ?? "HEAD"} (${report.commit.slice(0, 12)})` : report.revision;
  const lines = [
    formatHeader(report.source, rev, report.recipients),
    ...report.files.map(formatFileLine),
    ...report.sealedSecrets.filter((r) => r.kind !== "unchecked").map(formatSealedLine),
    ...report.externalSecrets.externalSecrets.map(formatExternalSecretLine),
  ];
  lines.push(...report.warnings.map((w) => `⚠ ${w}`));
  const scope = scopeLine(report);
  if (scope) lines.push(scope);
  lines.push(formatSummary(report));
  return lines.map(safeLine).join("\n") + "\n";
}

/** The machine-readable report (control characters as `\u` escapes, which JSON.stringify leaves raw for DEL and C1). */
export function formatJsonReport(report: RepositoryCheckReport): string {
  return safeJson(JSON.stringify(
    {
      source: report.source,
      revision: report.revision ?? null,
      commit: report.commit ?? null,
      recipients: report.recipients,
      ok: report.ok,
      outcome: report.outcome,
      counts: report.counts,
      files: report.files.map((f) => ({ ...f, sopsDecrypts: sopsDecrypts(f.kind) })),
      sealedSecrets: report.sealedSecrets,
      externalSecrets: report.externalSecrets,
      notJudged: report.notJudged,
      ...(report.scope ? { scope: report.scope } : {}),
      warnings: report.warnings,
      scannedFiles: report.scannedFiles,
      skippedFiles: report.skippedFiles,
    },
    null,
    2,
  )) + "\n";
}
