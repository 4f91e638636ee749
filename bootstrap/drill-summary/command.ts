/**
 * `drill-summary REPORT...`: finds the drills' report.json files (a report file, a drill's report
 * folder, or a folder of such folders, as a CI artifact download lays them out), checks each is a
 * drill report, and prints one table of every environment. Writes nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../components/errors";
import { REPORT_FILES, type RunOutcome, type RunReport } from "../cli-common/drill-report";
import { safeLine } from "../cli-common/terminal-text";
import { type DrillSummaryRow, formatSummaryJUnit, formatSummaryJson, formatSummaryMarkdown, summarize, summaryRow } from "./summary";

export class DrillSummaryError extends UsageError {}

/** A report is a few kilobytes; anything this big is not one. */
const MAX_REPORT_BYTES = 16 * 1024 * 1024;
const OUTCOMES: readonly RunOutcome[] = ["recovered", "failed", "timeout", "interrupted", "refused"];
export const SUMMARY_FORMATS = ["markdown", "json", "junit"] as const;
export type SummaryFormat = (typeof SUMMARY_FORMATS)[number];

/** The report.json files an argument stands for (sorted), or an error naming it. */
export function reportFilesFor(arg: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(arg);
  } catch {
    throw new DrillSummaryError(`${safeLine(arg)}: no such file or folder (expected a drill's report.json, its report folder, or a folder of report folders)`);
  }
  if (stat.isFile()) return [arg];
  const own = path.join(arg, REPORT_FILES.json);
  if (fs.existsSync(own)) return [own];
  const nested = fs
    .readdirSync(arg, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(arg, d.name, REPORT_FILES.json)))
    .map((d) => path.join(arg, d.name, REPORT_FILES.json))
    .sort();
  if (nested.length === 0) throw new DrillSummaryError(`${safeLine(arg)}: holds no ${REPORT_FILES.json}, neither itself nor in a folder directly inside it`);
  return nested;
}

const isString = (v: unknown): v is string => typeof v === "string";

/** Parses one report file; an error names the file and the field that is wrong. */
export function readDrillReport(file: string): RunReport {
  const size = fs.statSync(file).size;
  if (size > MAX_REPORT_BYTES) throw new DrillSummaryError(`${safeLine(file)}: ${size} bytes is not a drill report (they are a few KB)`);
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new DrillSummaryError(`${safeLine(file)}: not JSON (${(e as Error).message}); expected the report.json a drill writes`);
  }
  const r = data as Partial<Record<keyof RunReport, unknown>>;
  const problems: string[] = [];
  if (typeof data !== "object" || data === null || Array.isArray(data)) problems.push("not a JSON object");
  else {
    for (const key of ["stack", "environment", "reconciler", "finishedAt"] as const) if (!isString(r[key])) problems.push(`${key} is not a string`);
    if (!OUTCOMES.includes(r.outcome as RunOutcome)) problems.push(`outcome is not one of ${OUTCOMES.join(", ")}`);
    if (!Array.isArray(r.phases)) problems.push("phases is not a list");
    if (!Array.isArray(r.apps)) problems.push("apps is not a list");
    if (!Array.isArray(r.failures)) problems.push("failures is not a list");
    if (r.recoveryTimeMs !== undefined && typeof r.recoveryTimeMs !== "number") problems.push("recoveryTimeMs is not a number");
  }
  if (problems.length > 0) throw new DrillSummaryError(`${safeLine(file)}: not a gitops-bootstrap drill report (${problems.join("; ")})`);
  return data as RunReport;
}

export interface DrillSummaryOptions {
  readonly format?: SummaryFormat;
}

export interface DrillSummaryIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

/** Exit status: 0 every environment recovered, 1 one did not, 2 (thrown) a report is missing or bad. */
export function runDrillSummary(reports: readonly string[], opts: DrillSummaryOptions, io: DrillSummaryIo): number {
  const files = [...new Set(reports.flatMap(reportFilesFor))];
  const rows: DrillSummaryRow[] = files.map((f) => summaryRow(readDrillReport(f), f));
  const seen = new Map<string, string>();
  for (const r of rows) {
    const earlier = seen.get(r.stack);
    if (earlier) io.stderr(`! stack ${safeLine(r.stack)} has two reports (${safeLine(earlier)}, ${safeLine(r.source)}): both are listed\n`);
    seen.set(r.stack, r.source);
  }
  const summary = summarize(rows);
  const format = opts.format ?? "markdown";
  io.stdout(format === "json" ? formatSummaryJson(summary) : format === "junit" ? formatSummaryJUnit(summary) : formatSummaryMarkdown(summary));
  io.stderr(`${summary.ok ? "✔" : "✗"} ${summary.recovered} of ${summary.total} environment(s) recovered\n`);
  return summary.ok ? 0 : 1;
}
