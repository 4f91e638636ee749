/**
 * The drill's own reads besides watches: the workloads a fresh cluster runs (guard), and whether
 * the Secrets and SealedSecrets from Git exist (metadata only: their data never reaches this process).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { getJson, metadataList } from "../cluster/api";
import type { SecretRecord } from "../cli-common/drill-report";
import { WORKLOAD_NAMESPACES, WORKLOAD_TYPES, type WorkloadMeta } from "./fresh-cluster";
import type { ExpectedSecret } from "./secrets";

/** The workloads of the namespaces a fresh cluster runs some in (metadata only), for the guard. */
export async function listWorkloads(kc: KubeConfig): Promise<WorkloadMeta[]> {
  const out: WorkloadMeta[] = [];
  for (const namespace of WORKLOAD_NAMESPACES) {
    for (const t of WORKLOAD_TYPES) {
      const base = t.apiVersion.includes("/") ? `/apis/${t.apiVersion}` : `/api/${t.apiVersion}`;
      const list = await metadataList(kc, `${base}/namespaces/${namespace}/${t.plural}`, `${t.plural} in ${namespace}`);
      for (const i of list.items ?? []) {
        const m = i.metadata ?? {};
        if (!m.name) continue;
        out.push({ kind: t.kind, namespace, name: m.name, ownerKinds: (m.ownerReferences ?? []).map((o) => o.kind ?? ""), annotations: m.annotations ?? {} });
      }
    }
  }
  return out;
}

/** Looks up each expected Secret by name (metadata only); without a namespace, in every namespace. */
export async function findSecrets(kc: KubeConfig, expected: readonly ExpectedSecret[]): Promise<SecretRecord[]> {
  const out: SecretRecord[] = [];
  for (const s of expected) {
    const selector = `fieldSelector=${encodeURIComponent(`metadata.name=${s.name}`)}`;
    const apiPath = s.namespace ? `/api/v1/namespaces/${encodeURIComponent(s.namespace)}/secrets?${selector}` : `/api/v1/secrets?${selector}`;
    const list = await metadataList(kc, apiPath, s.namespace ? `secrets in ${s.namespace}` : "secrets");
    const namespaces = (list.items ?? []).map((i) => i.metadata?.namespace ?? "").filter(Boolean);
    out.push({ file: s.file, name: s.name, namespace: s.namespace, found: namespaces.length > 0, ...(s.namespace ? {} : { foundIn: namespaces }) });
  }
  return out;
}

interface SealedSecretObject {
  readonly metadata?: { readonly namespace?: string };
  readonly status?: { readonly conditions?: readonly { readonly type?: string; readonly status?: string; readonly message?: string }[] };
}

/**
 * For each SealedSecret from Git: its Secret exists (metadata only), and when it does not, what the
 * controller says (the SealedSecret's `Synced=False` condition), or that the SealedSecret is not
 * in the cluster at all.
 */
export async function findSealedSecrets(kc: KubeConfig, expected: readonly ExpectedSecret[]): Promise<SecretRecord[]> {
  const found = await findSecrets(kc, expected);
  const out: SecretRecord[] = [];
  for (const [i, s] of expected.entries()) {
    const record: SecretRecord = { ...found[i], sealed: true };
    const where = s.namespace ? `/apis/bitnami.com/v1alpha1/namespaces/${encodeURIComponent(s.namespace)}/sealedsecrets` : "/apis/bitnami.com/v1alpha1/sealedsecrets";
    const { status, body } = await getJson(kc, `${where}?fieldSelector=${encodeURIComponent(`metadata.name=${s.name}`)}`);
    const items = status === 200 ? ((body as { items?: SealedSecretObject[] }).items ?? []) : [];
    const failed = items.flatMap((o) => o.status?.conditions ?? []).find((c) => c.type === "Synced" && c.status === "False");
    if (items.length === 0) out.push({ ...record, found: false, problem: status === 404 ? "the SealedSecret CRD is not in the cluster (is the controller installed?)" : "the SealedSecret is not in the cluster" });
    else if (failed) out.push({ ...record, found: false, problem: `the controller says: ${failed.message ?? "Synced=False"}` });
    else out.push(record.found ? record : { ...record, problem: "not unsealed yet (no Synced condition)" });
  }
  return out;
}
