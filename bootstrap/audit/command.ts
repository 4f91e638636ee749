/**
 * `gitops-bootstrap audit`: against a live cluster, "if this cluster vanished now and we rebuilt
 * it from Git, what would be missing?" Lists everything (metadata only), classifies it
 * (classify.ts), applies the team's ignore rules, and reports. Exit 0 when nothing would be lost,
 * 1 when something would (data in volumes included), 2 usage errors.
 */
import * as path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { resolveConfig } from "../config/stack-config";
import { type BootstrapConfig } from "../../components/settings/bootstrap-config";
import { ARGOCD, FLUX } from "../../components/defaults";
import { kubeConfigFor } from "../kubeconfig";
import { type OutputFolderSpec, inspectOutputFolder, writeOutputFolder } from "../output-files";
import { elapsed, statusLineFor } from "../progress";
import { KUBERNETES_NEEDS, readStackConfigWithSecrets } from "../stack-secrets";
import { type AuditFacts, type HelmReleaseRef, type KustomizationInventory, type TrackingMethod, classify } from "./classify";
import { type IgnoreRule, readIgnoreFile } from "./ignore";
import { ClusterError } from "../drill/cluster";
import { ApiClient, type ResourceType, apiPath, discover, listCluster } from "./list";
import { type AuditReport, buildReport, formatMarkdown, formatText } from "./report";

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

type Obj = Record<string, unknown>;

const find = (types: readonly ResourceType[], group: string, kind: string): ResourceType | undefined => types.find((t) => t.group === group && t.kind === kind);

/** What classify needs beyond metadata: Argo CD's tracking settings, Flux inventories, HelmReleases. */
async function readFacts(api: ApiClient, types: readonly ResourceType[], config: BootstrapConfig): Promise<AuditFacts> {
  let argocd: AuditFacts["argocd"];
  const applicationType = find(types, "argoproj.io", "Application");
  if (applicationType) {
    const namespace = config.argocd?.namespace ?? ARGOCD.namespace;
    const cm = await api.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/configmaps/argocd-cm`);
    const method = cm?.data?.["application.resourceTrackingMethod"];
    const apps = await api.get<{ items: { metadata: { namespace: string; name: string }; spec?: { destination?: { namespace?: string }; syncPolicy?: { syncOptions?: string[] } } }[] }>(apiPath(applicationType));
    const createdNamespaces = (apps?.items ?? [])
      .filter((a) => a.spec?.destination?.namespace && a.spec.syncPolicy?.syncOptions?.includes("CreateNamespace=true"))
      .map((a) => ({ namespace: a.spec!.destination!.namespace!, app: { namespace: a.metadata.namespace, name: a.metadata.name } }));
    // Argo CD 3 tracks by annotation unless argocd-cm says otherwise.
    argocd = {
      namespace,
      method: method === "label" || method === "annotation+label" ? (method as TrackingMethod) : "annotation",
      instanceLabelKey: cm?.data?.["application.instanceLabelKey"] || "app.kubernetes.io/instance",
      createdNamespaces,
    };
  }
  const kustomizations: KustomizationInventory[] = [];
  const ks = find(types, "kustomize.toolkit.fluxcd.io", "Kustomization");
  if (ks) {
    const list = await api.get<{ items: { metadata: { namespace: string; name: string }; status?: { inventory?: { entries?: { id: string }[] } } }[] }>(apiPath(ks));
    for (const k of list?.items ?? []) kustomizations.push({ namespace: k.metadata.namespace, name: k.metadata.name, entries: (k.status?.inventory?.entries ?? []).map((e) => e.id) });
  }
  const helmReleases: HelmReleaseRef[] = [];
  const hr = find(types, "helm.toolkit.fluxcd.io", "HelmRelease");
  if (hr) {
    const list = await api.get<{ items: { metadata: { namespace: string; name: string }; spec?: Obj }[] }>(apiPath(hr));
    for (const h of list?.items ?? []) {
      const spec = h.spec ?? {};
      const target = typeof spec.targetNamespace === "string" && spec.targetNamespace ? spec.targetNamespace : undefined;
      const releaseName = typeof spec.releaseName === "string" && spec.releaseName ? spec.releaseName : target ? `${target}-${h.metadata.name}` : h.metadata.name;
      const storageNamespace = typeof spec.storageNamespace === "string" && spec.storageNamespace ? spec.storageNamespace : h.metadata.namespace;
      helmReleases.push({ namespace: h.metadata.namespace, name: h.metadata.name, releaseName, releaseNamespace: target ?? h.metadata.namespace, storageNamespace });
    }
  }
  const stackRelease = config.reconciler === "flux" ? { name: FLUX.releaseName, namespace: config.flux.namespace } : { name: ARGOCD.releaseName, namespace: config.argocd.namespace };
  return { argocd, kustomizations, helmReleases, stackRelease };
}

export interface AuditRun {
  readonly report: AuditReport;
}

/** Audits the cluster `kc` points at for the stack's config; `status` shows the listing's progress. */
export async function auditCluster(kc: KubeConfig, stack: string, config: BootstrapConfig, ignore: readonly IgnoreRule[], status?: (line: string) => void): Promise<AuditReport> {
  const startedAt = Date.now();
  const api = new ApiClient(kc);
  try {
    const types = await discover(api);
    const objects = await listCluster(api, types, {
      onProgress: (n, done) => status?.(`► listing ${n.toLocaleString("en-US")} objects, ${done}/${types.length} types (${elapsed(Date.now() - startedAt)})`),
    });
    const facts = await readFacts(api, types, config);
    return buildReport(classify(objects, facts), ignore, { cluster: api.server, stack, reconciler: config.reconciler, startedAt });
  } finally {
    api.close();
  }
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
