/**
 * What a rebuild from Git would lose, read from a live cluster: everything listed (metadata only),
 * classified (classify.ts), the ignore rules applied, and reported. The `audit` command prints it;
 * `drill --audit` runs it on the source cluster before the drill.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { ARGOCD, EXTERNAL_SECRETS, FLUX, SEALED_SECRETS } from "../../components/defaults";
import { notReproducedWhy } from "../external-secrets/refs";
import type { BootstrapConfig } from "../../components/settings/bootstrap-config";
import { ApiClient, type ResourceType, apiPath, discover, listCluster } from "../cluster/list";
import { elapsed } from "../cli-common/progress";
import { type AuditFacts, type HelmReleaseRef, type KustomizationInventory, type TrackingMethod, classify } from "./classify";
import type { IgnoreRule } from "./ignore";
import { type AuditReport, buildReport } from "./report";

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
  const stackReleases = [
    config.reconciler === "flux" ? { name: FLUX.releaseName, namespace: config.flux.namespace } : { name: ARGOCD.releaseName, namespace: config.argocd.namespace },
    ...(config.sealedSecrets ? [{ name: SEALED_SECRETS.releaseName, namespace: config.sealedSecrets.namespace }] : []),
    ...(config.externalSecrets ? [{ name: EXTERNAL_SECRETS.releaseName, namespace: config.externalSecrets.namespace }] : []),
  ];
  const unreproducedExternalSecrets: { namespace: string; name: string; why: string }[] = [];
  const es = find(types, "external-secrets.io", "ExternalSecret");
  if (es) {
    // Only the spec's refresh policy and sources are looked at: an ExternalSecret holds no value.
    const list = await api.get<{ items: { metadata: { namespace: string; name: string }; spec?: Obj }[] }>(apiPath(es));
    for (const e of list?.items ?? []) {
      const why = notReproducedWhy(e.spec ?? {});
      if (why) unreproducedExternalSecrets.push({ namespace: e.metadata.namespace, name: e.metadata.name, why });
    }
  }
  return { argocd, kustomizations, helmReleases, stackReleases, unreproducedExternalSecrets };
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
