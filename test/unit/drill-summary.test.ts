import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type RunReport, formatJson } from "../../bootstrap/cli-common/drill-report";
import { cli } from "./cli-harness";

/** A drill report as `drill` writes it (formatJson), for one environment. */
function report(stack: string, outcome: RunReport["outcome"], extra: Partial<RunReport> = {}): RunReport {
  return {
    command: "drill", stack, environment: stack.replace(/^drill-/, ""), reconciler: "argocd", cluster: "https://127.0.0.1:6443",
    repo: { url: "https://git.example.com/org/state.git", revision: "main", path: `clusters/${stack}` },
    startedAt: "2026-12-01T03:17:00.000Z", finishedAt: "2026-12-01T03:19:30.000Z", outcome,
    recoveryTimeMs: outcome === "recovered" ? 95_400 : undefined,
    phases: [
      { name: "guard", status: "ok", startMs: 0, durationMs: 900 },
      { name: "check", status: "ok", startMs: 900, durationMs: 1_100 },
      { name: "up", status: "ok", startMs: 2_000, durationMs: 41_000 },
      { name: "all healthy", status: outcome === "recovered" ? "ok" : "failed", startMs: 43_000, durationMs: 52_000 },
      { name: "destroy", status: "ok", startMs: 95_400, durationMs: 60_000 },
    ],
    apps: [
      { kind: "Application", namespace: "argocd", name: "root", appearedMs: 44_000, syncedMs: 45_000, healthyMs: 50_000, status: "Synced/Healthy", converged: true, details: [] },
      { kind: "Application", namespace: "argocd", name: "web", appearedMs: 45_000, syncedMs: 46_000, healthyMs: outcome === "recovered" ? 93_000 : undefined, status: outcome === "recovered" ? "Synced/Healthy" : "Synced/Degraded", converged: outcome === "recovered", details: [] },
    ],
    secrets: [], changes: { create: 6 },
    failures: outcome === "recovered" ? [] : ["Application argocd/web: health Degraded"], notes: [],
    ...extra,
  };
}

function writeReport(dir: string, r: RunReport): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "report.json"), formatJson(r));
}

describe("drill-summary", () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "drill-summary-"));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("a failed drill's row names the app with the problem, not the app of apps that only reflects its health", async () => {
    const failed = report("drill-staging", "failed");
    const apps = [
      { ...failed.apps[0], healthyMs: undefined, status: "Synced/Degraded", converged: false },
      { ...failed.apps[1], failure: "health Degraded" },
    ];
    writeReport(path.join(root, "staging"), { ...failed, apps });
    const r = await cli(["drill-summary", root]);
    expect(r.stdout).toContain("| argocd/web (not converged) |");
    // The root's own problem had not yet lasted the grace when web's failure ended the wait.
    writeReport(path.join(root, "staging"), { ...failed, apps: [{ ...apps[0], failure: "health Degraded (still within the failure grace when the wait ended)" }, apps[1]] });
    expect((await cli(["drill-summary", root])).stdout).toContain("| argocd/web (not converged) |");
    writeReport(path.join(root, "staging"), { ...failed, apps: [apps[0], { ...apps[1], failure: undefined }] });
    expect((await cli(["drill-summary", root])).stdout).toContain("| argocd/root (not converged) |");
  });

  it("one table of every environment from a folder of report folders; exit 1 when one did not recover", async () => {
    writeReport(path.join(root, "dr-drill-report-prod"), report("drill-prod", "recovered"));
    writeReport(path.join(root, "dr-drill-report-staging"), report("drill-staging", "failed"));
    const r = await cli(["drill-summary", root]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("# Disaster-recovery drills: 1 of 2 environment(s) recovered");
    expect(r.stdout).toContain("| prod | drill-prod | ✔ recovered | 95.4 s | all healthy (52.0 s) | argocd/web (+93.0 s) | 2026-12-01T03:19:30.000Z |");
    expect(r.stdout).toContain("| staging | drill-staging | ✗ failed | – | all healthy (52.0 s) | argocd/web (not converged) |");
    expect(r.stdout).toContain("- **staging** (drill-staging): Application argocd/web: health Degraded");
    expect(r.stderr).toContain("✗ 1 of 2 environment(s) recovered");
  });

  it("exit 0 when every environment recovered; the slowest phase leaves out guard and destroy", async () => {
    writeReport(path.join(root, "a"), report("drill-a", "recovered"));
    const r = await cli(["drill-summary", path.join(root, "a"), "--format", "json"]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ ok: true, recovered: 1, total: 1 });
    expect(json.rows[0].slowestPhase).toEqual({ name: "all healthy", durationMs: 52_000 });
  });

  it("JUnit: one test case per environment, a failure with the first reason", async () => {
    writeReport(path.join(root, "p"), report("drill-prod", "recovered"));
    writeReport(path.join(root, "s"), report("drill-staging", "timeout", { failures: ["timed out after 20m: 1 of 2 apps healthy"] }));
    const r = await cli(["drill-summary", path.join(root, "p", "report.json"), path.join(root, "s"), "--format", "junit"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`<testsuite name="drills" tests="2" failures="1"`);
    expect(r.stdout).toContain(`<testcase classname="drill" name="prod (drill-prod)" time="95.400"/>`);
    expect(r.stdout).toContain(`<failure message="timeout: timed out after 20m: 1 of 2 apps healthy">`);
  });

  it("a missing folder, a folder without reports, and a file that is not a drill report are usage errors naming them", async () => {
    expect(await cli(["drill-summary", path.join(root, "nope")])).toMatchObject({ code: 2, stderr: expect.stringContaining("nope: no such file or folder") });
    fs.mkdirSync(path.join(root, "empty"));
    expect(await cli(["drill-summary", path.join(root, "empty")])).toMatchObject({ code: 2, stderr: expect.stringContaining("holds no report.json") });
    fs.writeFileSync(path.join(root, "other.json"), JSON.stringify({ stack: "x", outcome: "great" }));
    const bad = await cli(["drill-summary", path.join(root, "other.json")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("other.json: not a gitops-bootstrap drill report (environment is not a string; reconciler is not a string; finishedAt is not a string; outcome is not one of");
  });

  it("control characters from a report are escaped, not sent to the terminal", async () => {
    writeReport(path.join(root, "x"), report("drill-x", "failed", { environment: "x\u001b[2Kfake ✔", failures: ["bad\u001b]0;title\u0007"] }));
    const r = await cli(["drill-summary", path.join(root, "x")]);
    expect(r.stdout).not.toMatch(/[\u001b\u0007]/);
    expect(r.stdout).toContain("x\\x1b[2Kfake ✔");
  });
});
