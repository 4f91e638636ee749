/** Control characters from a repository never reach a terminal or a report raw. */
import { formatJson, formatJUnit, formatMarkdown, type RunReport } from "../../../bootstrap/cli-common/drill-report";
import { formatFileLine, formatTextReport } from "../../../bootstrap/sops/report";
import { safeJson, safeLine, safeXmlText } from "../../../bootstrap/cli-common/terminal-text";
import type { RepositoryCheckReport } from "../../../bootstrap/sops/check";

const HOSTILE = "apps/\u001b[2K\u001b[1A\u009b31mok\u007f\u202eevil\nforged.yaml";
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/;

describe("terminal-safe text", () => {
  it("escapes C0, ESC sequences, DEL, C1, bidi controls and newlines in one line", () => {
    expect(safeLine(HOSTILE)).toBe("apps/\\x1b[2K\\x1b[1A\\x9b31mok\\x7f\\u202eevil\\x0aforged.yaml");
    expect(safeLine("plain/ünïcode ✔.yaml")).toBe("plain/ünïcode ✔.yaml");
  });

  it("keeps tab and newline in XML text and JSON values unchanged in meaning", () => {
    expect(safeXmlText("a\tb\nc\u001bd")).toBe("a\tb\nc\\x1bd");
    const json = safeJson(JSON.stringify({ path: HOSTILE }));
    expect(json).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(json)).toEqual({ path: HOSTILE });
  });

  it("escapes a hostile file name in the check's text report and file lines", () => {
    const file = { kind: "malformed", path: HOSTILE, detail: "bad \u001b]0;title\u0007", reason: "" } as const;
    const report = {
      source: ".", revision: undefined, commit: undefined, recipients: [], files: [file], warnings: [`${HOSTILE}: warning`],
      scannedFiles: 1, skippedFiles: 0, counts: { malformed: 1 }, sealedSecrets: [], externalSecrets: { stores: [], externalSecrets: [] }, outcome: "fails", ok: false,
    } as unknown as RepositoryCheckReport;
    const text = formatTextReport(report);
    expect(text).not.toMatch(RAW_CONTROL);
    // One line per file: the newline in the name cannot forge a line of its own.
    expect(text.split("\n").filter((l) => l.includes("forged.yaml"))).toHaveLength(2);
    expect(formatFileLine(file)).toBe("✗ apps/\\x1b[2K\\x1b[1A\\x9b31mok\\x7f\\u202eevil\\x0aforged.yaml  malformed: bad \\x1b]0;title\\x07");
  });

  it("escapes it in the restore/drill JSON, Markdown and JUnit reports", () => {
    const report: RunReport = {
      command: "drill", stack: "dev", environment: "dev", reconciler: "flux", cluster: "https://127.0.0.1:6443",
      repo: { url: "file:///repo", revision: "main", path: "." }, startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:01:00Z",
      outcome: "failed", phases: [{ name: "check", status: "failed", startMs: 0, durationMs: 1, detail: `1 file: ${HOSTILE}` }], apps: [],
      secrets: [{ file: HOSTILE, namespace: "x", name: "s", found: false }], changes: {}, failures: [`check: ${HOSTILE}`], notes: [],
    };
    for (const out of [formatJson(report), formatMarkdown(report), formatJUnit(report)]) expect(out).not.toMatch(RAW_CONTROL);
    expect(formatMarkdown(report)).toContain("\\x1b[2K");
    expect(formatJUnit(report)).toContain("\\x1b[2K");
  });
});
