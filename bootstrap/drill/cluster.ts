/**
 * The few direct reads the drill makes besides watches: namespaces (guard) and whether Secrets
 * exist. Secrets are read as metadata only (PartialObjectMetadataList), so their data never
 * reaches this process.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { WORKLOAD_NAMESPACES, WORKLOAD_TYPES, type WorkloadMeta } from "../fresh-cluster";
import type { SecretRecord } from "./report";
import type { ExpectedSecret } from "./secrets";
import { describeError } from "./watch";

export class ClusterError extends Error {}

/** Accept header for lists as metadata only: a Secret's data never reaches the process. */
export const METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1";

export function serverOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? "(no cluster)";
}

/**
 * GET on the API server with the kubeconfig's credentials; resolves with status and parsed body.
 * `agent` keeps connections alive across many calls (the audit's paged lists).
 */
export async function getJson(kc: KubeConfig, apiPath: string, accept = "application/json", agent?: https.Agent): Promise<{ status: number; body: unknown }> {
  const url = new URL(serverOf(kc) + apiPath);
  const options: https.RequestOptions = { method: "GET", headers: { Accept: accept }, timeout: 15_000, ...(agent && url.protocol === "https:" ? { agent } : {}) };
  await kc.applyToHTTPSOptions(options);
  const mod = url.protocol === "http:" ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = undefined;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new ClusterError("timed out")));
    req.on("error", (e) => reject(new ClusterError(`cannot reach the API server ${url.origin} (${describeError(e)})`)));
    req.end();
  });
}

interface MetadataList {
  readonly items?: readonly {
    readonly metadata?: {
      readonly name?: string;
      readonly namespace?: string;
      readonly annotations?: Readonly<Record<string, string>>;
      readonly ownerReferences?: readonly { readonly kind?: string }[];
    };
  }[];
}

async function metadataList(kc: KubeConfig, apiPath: string, what: string): Promise<MetadataList> {
  const { status, body } = await getJson(kc, apiPath, METADATA_ONLY);
  if (status === 403) throw new ClusterError(`not allowed to list ${what} (HTTP 403): the kubeconfig's user needs list on ${what}`);
  if (status !== 200) throw new ClusterError(`listing ${what} failed (HTTP ${status})`);
  return body as MetadataList;
}

/** Names of all namespaces. */
export async function listNamespaces(kc: KubeConfig): Promise<string[]> {
  const list = await metadataList(kc, "/api/v1/namespaces", "namespaces");
  return (list.items ?? []).map((i) => i.metadata?.name ?? "").filter(Boolean).sort();
}

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

/** Every PersistentVolumeClaim in the cluster, `namespace/name`. */
export async function listPersistentVolumeClaims(kc: KubeConfig): Promise<string[]> {
  const list = await metadataList(kc, "/api/v1/persistentvolumeclaims", "persistentvolumeclaims");
  return (list.items ?? []).map((i) => `${i.metadata?.namespace ?? ""}/${i.metadata?.name ?? ""}`).sort();
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
