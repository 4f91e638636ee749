import { type RunReport, formatJUnit, formatMarkdown } from "../../../bootstrap/cli-common/drill-report";

const report: RunReport = {
  command: "drill", stack: "drill", environment: "drill", reconciler: "argocd", cluster: "https://127.0.0.1:6443",
  repo: { url: "https://git.example.com/org/state.git", revision: "main", path: "apps" },
  startedAt: "2026-11-23T10:00:00.000Z", finishedAt: "2026-11-23T10:02:00.000Z", outcome: "failed",
  phases: [
    { name: "check", status: "ok", startMs: 0, durationMs: 1200 },
    { name: "up", status: "ok", startMs: 1200, durationMs: 30_000, detail: "create 5" },
    { name: "all healthy", status: "failed", startMs: 31_200, durationMs: 60_000, detail: "a reconciler object failed" },
  ],
  apps: [
    { kind: "Application", namespace: "argocd", name: "root", appearedMs: 31_500, syncedMs: 32_000, healthyMs: 40_000, status: "Synced/Healthy", converged: true, details: [] },
    { kind: "Application", namespace: "argocd", name: "web|<x>", appearedMs: 32_000, status: "OutOfSync/Degraded", converged: false, failure: "health Degraded", details: ["Deployment/web Degraded: \"quota\" & <limits>"] },
  ],
  secrets: [{ file: "apps/db.sops.yaml", name: "db", namespace: "data", found: false }],
  changes: { create: 5 }, failures: ["Application argocd/web: health Degraded"], notes: [],
};

describe("report formats", () => {
  it("Markdown: recovery time, phases, per-app times and escaped table cells", () => {
    const md = formatMarkdown(report);
    expect(md).toContain("**recovery time: not recovered**");
    expect(md).toContain("| up | ✔ ok | +1.2 s | 30.0 s | create 5 |");
    expect(md).toContain("| argocd/web\\|<x> | +32.0 s | – | – | OutOfSync/Degraded | health Degraded; Deployment/web Degraded: \"quota\" & <limits> |");
    expect(md).toContain("| data/db | apps/db.sops.yaml | ✗ missing |");
  });

  it("Markdown and JUnit: a SealedSecret not unsealed, with the controller's message", () => {
    const withSealed: RunReport = { ...report, secrets: [...report.secrets, { file: "apps/api.yaml", name: "api", namespace: "apps", found: false, sealed: true, problem: "the controller says: no key could decrypt secret (password)" }] };
    expect(formatMarkdown(withSealed)).toContain("## Secrets from SOPS files and SealedSecrets (0/2 present)");
    expect(formatMarkdown(withSealed)).toContain("| apps/api (SealedSecret) | apps/api.yaml | ✗ not unsealed: the controller says: no key could decrypt secret (password) |");
    expect(formatJUnit(withSealed)).toContain("SealedSecret not unsealed (from apps/api.yaml): the controller says: no key could decrypt secret (password)");
  });

  it("Markdown: with --audit, what the drill cannot prove about the source cluster; without, nothing", () => {
    const md = formatMarkdown({ ...report, audit: { cluster: "https://prod.example.com:6443", wouldBeLost: 3, data: 2, secrets: 1 } });
    expect(md).toContain("## What this drill cannot prove (audit of the source cluster)");
    expect(md).toContain("Source cluster `https://prod.example.com:6443`: **3 object(s) would be lost** in a rebuild from Git (1 of them Secrets), and **2 volume(s)** hold data Git does not hold.");
    expect(formatMarkdown(report)).not.toContain("audit of the source cluster");
  });

  it("JUnit: a test case per phase, app and Secret, failures with escaped messages", () => {
    const xml = formatJUnit(report);
    expect(xml).toMatch(/<testsuite name="drill drill" tests="6" failures="3" skipped="0" time="91.200"/);
    expect(xml).toContain('<testcase classname="drill.drill.apps" name="Application/argocd/root" time="8.500"/>');
    expect(xml).toContain('<failure message="health Degraded">health Degraded\nDeployment/web Degraded: &quot;quota&quot; &amp; &lt;limits&gt;</failure>');
    expect(xml).toContain('name="Application/argocd/web|&lt;x&gt;"');
    expect(xml).toContain("Secret not found in the cluster (defined by apps/db.sops.yaml)");
  });
});
