/**
 * Everything in a cluster, as metadata only: API discovery finds every resource type that can be
 * listed (the preferred version of each group), and each is listed as PartialObjectMetadata in
 * pages, so object contents (a Secret's data) never reach this process. A few objects whose
 * contents the classification needs (Flux Kustomizations' inventories, HelmReleases, argocd-cm)
 * are read whole by `getObject`.
 */
import * as https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { ClusterError, METADATA_ONLY, getJson, serverOf } from "./api";

/** What the audit keeps of one object. */
export interface ObjectMeta {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** Lower-case plural, e.g. `configmaps`. */
  readonly resource: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Only the annotations the classification reads ({@link KEPT_ANNOTATIONS}). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly owners: readonly { readonly uid: string; readonly kind: string; readonly name: string }[];
}

/** The annotations the classification reads; the others (last-applied configurations, ...) are dropped at once. */
export const KEPT_ANNOTATIONS = ["argocd.argoproj.io/tracking-id", "meta.helm.sh/release-name", "meta.helm.sh/release-namespace", "apf.kubernetes.io/autoupdate-spec"] as const;

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly resource: string;
  readonly namespaced: boolean;
}

/**
 * Types not listed: events come and go by the thousand and a rebuild needs none of them;
 * componentstatuses are not stored objects but the API server's view of its components.
 */
const NOT_LISTED = new Set(["events", "events.events.k8s.io", "componentstatuses"]);

/** GETs JSON from the API server (api.ts `getJson`) over one keep-alive agent. */
export class ApiClient {
  readonly #kc: KubeConfig;
  readonly #agent = new https.Agent({ keepAlive: true, maxSockets: 8 });

  constructor(kc: KubeConfig) {
    if (!kc.getCurrentCluster()) throw new ClusterError("the kubeconfig has no current cluster");
    this.#kc = kc;
  }

  get server(): string {
    return serverOf(this.#kc);
  }

  /** The parsed body; undefined for 404; a ClusterError for any other answer. */
  async get<T>(path: string, accept = "application/json"): Promise<T | undefined> {
    const { status, body } = await getJson(this.#kc, path, accept, this.#agent);
    if (status === 404) return undefined;
    if (status !== 200) throw new ClusterError(`GET ${path.split("?")[0]} answered HTTP ${status}`);
    if (body === undefined) throw new ClusterError(`GET ${path.split("?")[0]} answered with something that is not JSON`);
    return body as T;
  }

  close(): void {
    this.#agent.destroy();
  }
}

interface ApiResourceList {
  readonly groupVersion: string;
  readonly resources: readonly { name: string; kind: string; namespaced: boolean; verbs: readonly string[] }[];
}

/** Every listable resource type, at its group's preferred version. */
export async function discover(api: ApiClient): Promise<ResourceType[]> {
  const groups = (await api.get<{ groups: { name: string; preferredVersion: { groupVersion: string } }[] }>("/apis"))?.groups ?? [];
  const lists = await Promise.all([api.get<ApiResourceList>("/api/v1"), ...groups.map((g) => api.get<ApiResourceList>(`/apis/${g.preferredVersion.groupVersion}`))]);
  const types: ResourceType[] = [];
  for (const list of lists) {
    if (!list) continue;
    const [group, version] = list.groupVersion.includes("/") ? list.groupVersion.split("/") : ["", list.groupVersion];
    for (const r of list.resources) {
      if (r.name.includes("/") || !r.verbs.includes("list")) continue;
      if (NOT_LISTED.has(group ? `${r.name}.${group}` : r.name)) continue;
      types.push({ group, version, kind: r.kind, resource: r.name, namespaced: r.namespaced });
    }
  }
  return types;
}

/** Metadata only, falling back to whole objects for APIs that cannot give metadata (aggregated ones). */
const METADATA_LIST = `${METADATA_ONLY},application/json`;

interface RawMeta {
  readonly namespace?: string;
  readonly name: string;
  readonly uid: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly ownerReferences?: readonly { uid: string; kind: string; name: string }[];
}

export function apiPath(t: Pick<ResourceType, "group" | "version" | "resource">, namespace?: string, name?: string): string {
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ""}/${t.resource}${name ? `/${name}` : ""}`;
}

/** Lists one type in pages of `pageSize`, keeping only what {@link ObjectMeta} holds. */
export async function listMetadata(api: ApiClient, t: ResourceType, pageSize: number, onPage?: (count: number) => void): Promise<ObjectMeta[]> {
  const out: ObjectMeta[] = [];
  let next: string | undefined;
  do {
    const query = `?limit=${pageSize}${next ? `&continue=${encodeURIComponent(next)}` : ""}`;
    const page = await api.get<{ items?: { metadata: RawMeta }[]; metadata?: { continue?: string } }>(`${apiPath(t)}${query}`, METADATA_LIST);
    if (!page) return out; // the type went away while listing
    for (const item of page.items ?? []) {
      const m = item.metadata;
      const annotations: Record<string, string> = {};
      for (const k of KEPT_ANNOTATIONS) if (m.annotations?.[k] !== undefined) annotations[k] = m.annotations[k];
      out.push({
        group: t.group,
        version: t.version,
        kind: t.kind,
        resource: t.resource,
        namespace: m.namespace,
        name: m.name,
        uid: m.uid,
        labels: m.labels ?? {},
        annotations,
        owners: (m.ownerReferences ?? []).map((o) => ({ uid: o.uid, kind: o.kind, name: o.name })),
      });
    }
    onPage?.(page.items?.length ?? 0);
    next = page.metadata?.continue || undefined;
  } while (next);
  return out;
}

/** Lists every type, `concurrency` at a time. */
export async function listCluster(api: ApiClient, types: readonly ResourceType[], options: { pageSize?: number; concurrency?: number; onProgress?: (objects: number, typesDone: number) => void } = {}): Promise<ObjectMeta[]> {
  const all: ObjectMeta[] = [];
  let objects = 0;
  let done = 0;
  let index = 0;
  const worker = async (): Promise<void> => {
    while (index < types.length) {
      const t = types[index++];
      const items = await listMetadata(api, t, options.pageSize ?? 500, (n) => {
        objects += n;
        options.onProgress?.(objects, done);
      });
      for (const item of items) all.push(item);
      options.onProgress?.(objects, ++done);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return all;
}
