/**
 * `gitops-bootstrap audit`: against a live cluster, "if this cluster vanished now and we rebuilt
 * it from Git, what would be missing?" Runs the rebuild audit (../rebuild-audit/) and reports it.
 * Exit 0 when nothing would be lost, 1 when something would (data in volumes included), 2 usage errors.
 */
import * as path from "node:path";
import { ClusterError } from "../cluster/api";
import { kubeConfigFor } from "../cluster/kubeconfig";
import { resolveConfig } from "../config/stack-config";
import { KUBERNETES_NEEDS, readStackConfigWithSecrets } from "../config/stack-secrets";
import { auditCluster } from "../rebuild-audit/audit";
import { readIgnoreFile } from "../rebuild-audit/ignore";
import { type AuditReport, formatMarkdown, formatText } from "../rebuild-audit/report";
import { type OutputFolderSpec, inspectOutputFolder, writeOutputFolder } from "../cli-common/output-files";
import { statusLineFor } from "../cli-common/progress";

export interface AuditOptions {
  readonly stack: string;
  readonly kubeconfig?: string;
  readonly json?: boolean;
  readonly reportDir?: string;
  readonly ignore?: string;
}

export interface AuditIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly projectDir: string;
  readonly interactive?: boolean;
}

/** `--report-dir`: new, empty, or audit's own earlier report (output-files.ts). */
const AUDIT_REPORT_FOLDER: OutputFolderSpec = { command: "audit", flag: "--report-dir", fileNames: /^audit\.(json|md)$/, secret: false };

export async function runAudit(opts: AuditOptions, io: AuditIo): Promise<number> {
  // Everything the user gave is checked before the cluster is touched.
  const ignore = opts.ignore === undefined ? [] : readIgnoreFile(opts.ignore);
  if (opts.reportDir) inspectOutputFolder(opts.reportDir, AUDIT_REPORT_FOLDER);
  // The cluster from the stack's kubernetes:* keys (decrypted through Pulumi when encrypted), unless --kubeconfig.
  const needs = opts.kubeconfig === undefined ? KUBERNETES_NEEDS : [];
  const { raw, kubernetes } = await readStackConfigWithSecrets({ projectDir: io.projectDir, stack: opts.stack, env: io.env, needs });
  const config = await resolveConfig(raw);
  const kc = kubeConfigFor(opts.kubeconfig, kubernetes, io.projectDir, io.env);
  const live = statusLineFor(io);
  let report: AuditReport;
  try {
    io.stderr(`► audit ${opts.stack}: listing every object in ${kc.getCurrentCluster()?.server} (metadata only)\n`);
    report = await auditCluster(kc, opts.stack, config, ignore, (line) => live.update(line));
  } catch (e) {
    if (e instanceof ClusterError) {
      live.clear();
      io.stderr(`✗ ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    live.clear();
  }
  if (opts.reportDir) {
    writeOutputFolder(opts.reportDir, AUDIT_REPORT_FOLDER, [
      { name: "audit.json", text: `${JSON.stringify(report, null, 2)}\n` },
      { name: "audit.md", text: formatMarkdown(report) },
    ]);
  }
  io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatText(report));
  if (opts.reportDir) io.stderr(`✔ report: ${path.join(opts.reportDir, "audit.md")} (and audit.json)\n`);
  return report.counts.wouldBeLost + report.counts.data > 0 ? 1 : 0;
}
