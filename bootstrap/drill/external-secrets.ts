/**
 * After convergence: every store from Git validated and every ExternalSecret from Git synced, with
 * the Secret it writes present (read as metadata only: its data never reaches this process). A
 * store or ExternalSecret that ESO has not judged yet is read again for a short while; a failure
 * carries ESO's own reason and message.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { getJson } from "../cluster/api";
import type { SecretRecord } from "../shared/drill-report";
import { findSecrets } from "./cluster-reads";
import { type EsoVerdict, type ExternalSecretRef, type ExternalSecretsInRepo, type StoreRef, externalSecretVerdict, storeVerdict } from "../external-secrets/refs";

type Obj = Record<string, unknown>;

const API = "/apis/external-secrets.io/v1";

export interface EsoWaitOptions {
  /** How long to wait for ESO to judge a store or ExternalSecret it has not judged yet. @default 60 s */
  readonly pendingMs?: number;
  /** @default 2 s */
  readonly pollMs?: number;
}

/** One object by kind, name and namespace (any namespace when absent); undefined when it is not in the cluster. */
async function readObject(kc: KubeConfig, plural: string, name: string, namespace: string | undefined, clusterScoped: boolean): Promise<Obj | undefined> {
  if (clusterScoped || namespace) {
    const where = clusterScoped ? `${API}/${plural}` : `${API}/namespaces/${encodeURIComponent(namespace!)}/${plural}`;
    const { status, body } = await getJson(kc, `${where}/${encodeURIComponent(name)}`);
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`reading ${plural} ${name}: HTTP ${status}`);
    return body as Obj;
  }
  const { status, body } = await getJson(kc, `${API}/${plural}?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`);
  if (status === 404) return undefined;
  if (status !== 200) throw new Error(`listing ${plural} named ${name}: HTTP ${status}`);
  return ((body as { items?: Obj[] }).items ?? [])[0];
}

const namespaceOf = (o: Obj | undefined): string | undefined => ((o?.metadata as Obj | undefined)?.namespace as string | undefined) ?? undefined;

async function judgeStore(kc: KubeConfig, s: StoreRef): Promise<{ record: Omit<SecretRecord, "found" | "problem">; verdict: EsoVerdict }> {
  const cluster = s.kind === "ClusterSecretStore";
  const object = await readObject(kc, cluster ? "clustersecretstores" : "secretstores", s.name, s.namespace, cluster);
  return { record: { file: s.path, name: s.name, namespace: cluster ? undefined : (s.namespace ?? namespaceOf(object)), via: s.kind }, verdict: storeVerdict(object) };
}

async function judgeExternalSecret(kc: KubeConfig, es: ExternalSecretRef): Promise<{ record: Omit<SecretRecord, "found" | "problem">; verdict: EsoVerdict }> {
  const object = await readObject(kc, "externalsecrets", es.name, es.namespace, false);
  const namespace = es.namespace ?? namespaceOf(object);
  const target = es.target && namespace ? (await findSecrets(kc, [{ file: es.path, name: es.target, namespace }]))[0]?.found === true : false;
  return { record: { file: es.path, name: es.name, namespace, via: "ExternalSecret" }, verdict: externalSecretVerdict(es, object, target) };
}

/** Stores first, then ExternalSecrets, one record each; what is still pending after `pendingMs` is a failure saying so. */
export async function findExternalSecrets(kc: KubeConfig, found: ExternalSecretsInRepo, options: EsoWaitOptions = {}): Promise<SecretRecord[]> {
  const deadline = Date.now() + (options.pendingMs ?? 60_000);
  for (;;) {
    const judged = [...(await Promise.all(found.stores.map((s) => judgeStore(kc, s)))), ...(await Promise.all(found.externalSecrets.map((e) => judgeExternalSecret(kc, e))))];
    if (!judged.some((j) => j.verdict.state === "pending") || Date.now() >= deadline) {
      return judged.map(({ record, verdict }) => (verdict.state === "ok" ? { ...record, found: true } : { ...record, found: false, problem: verdict.problem }));
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 2000));
  }
}
