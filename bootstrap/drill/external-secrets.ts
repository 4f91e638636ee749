/**
 * After convergence: every store from Git validated and every ExternalSecret from Git synced, with
 * the Secret it writes present (read as metadata only: its data never reaches this process). A
 * store or ExternalSecret that ESO has not judged yet is read again for a short while; a failure
 * carries ESO's own reason and message.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { getJson } from "../cluster/api";
import type { SecretRecord } from "../cli-common/drill-report";
import { safeLine } from "../cli-common/terminal-text";
import { findSecrets } from "./cluster-reads";
import { type EsoVerdict, type ExternalSecretRef, type ExternalSecretsInRepo, type StoreRef, externalSecretVerdict, storeVerdict } from "../external-secrets/refs";

type Obj = Record<string, unknown>;

const API = "/apis/external-secrets.io/v1";

/** How much of an event's message a failure line quotes. */
const EVENT_MESSAGE_CHARS = 300;

/**
 * A failed object's problem with the cause ESO gives only in its newest Warning event (ESO's
 * conditions are generic: `InvalidProviderConfig: unable to create client`, while the event says
 * `secrets "central-secrets-token" not found` or `Unauthorized`). The event's text is cut and
 * made safe for a terminal; a message the problem already carries is not repeated.
 */
export function withEventCause(problem: string, warning: { reason?: string; message?: string } | undefined): string {
  const message = warning?.message?.trim();
  if (!message || problem.includes(message)) return problem;
  const cut = message.length > EVENT_MESSAGE_CHARS ? `${message.slice(0, EVENT_MESSAGE_CHARS)}…` : message;
  return `${problem} (ESO's last warning${warning?.reason ? ` ${safeLine(warning.reason)}` : ""}: ${safeLine(cut)})`;
}

/**
 * The newest Warning event about an object; one request. ESO records the events of a
 * cluster-scoped object (a ClusterSecretStore) in the namespace "default", as client-go does.
 */
async function newestWarning(kc: KubeConfig, kind: string, name: string, namespace: string | undefined): Promise<{ reason?: string; message?: string } | undefined> {
  const selector = encodeURIComponent(`involvedObject.kind=${kind},involvedObject.name=${name},type=Warning`);
  const { status, body } = await getJson(kc, `/api/v1/namespaces/${encodeURIComponent(namespace ?? "default")}/events?fieldSelector=${selector}`);
  if (status !== 200) return undefined;
  type Event = { reason?: string; message?: string; lastTimestamp?: string; eventTime?: string; metadata?: { creationTimestamp?: string } };
  const when = (e: Event): string => e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? "";
  return ((body as { items?: Event[] }).items ?? []).reduce<Event | undefined>((newest, e) => (!newest || when(e) >= when(newest) ? e : newest), undefined);
}

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
      return Promise.all(
        judged.map(async ({ record, verdict }) => {
          if (verdict.state === "ok") return { ...record, found: true };
          // Only an object in the cluster has events; one request for each that failed.
          const warning = verdict.state === "failed" && record.via && (record.via === "ClusterSecretStore" || record.namespace) && verdict.problem !== "not in the cluster"
            ? await newestWarning(kc, record.via, record.name, record.namespace)
            : undefined;
          return { ...record, found: false, problem: withEventCause(verdict.problem, warning) };
        }),
      );
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 2000));
  }
}
