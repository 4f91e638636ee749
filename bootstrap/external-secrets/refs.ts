/**
 * The External Secrets Operator's objects in a repository: the stores (`SecretStore`,
 * `ClusterSecretStore`) and the `ExternalSecret`s with the store each needs, read from the YAML and
 * JSON files that mention `external-secrets.io`, within the same parse budgets as the rest of the
 * check. Nothing here reads a value: only kinds, names, namespaces and references.
 */
import type { RepositoryFile } from "../sops/repository";
import { manifestDocuments } from "../sops/yaml-budget";

export const ESO_GROUP = "external-secrets.io";
export type StoreKind = "SecretStore" | "ClusterSecretStore";

export interface StoreRef {
  readonly path: string;
  readonly kind: StoreKind;
  readonly name: string;
  /** A SecretStore's namespace; absent for a ClusterSecretStore, or when the file leaves it to kustomize or the destination. */
  readonly namespace: string | undefined;
}

export interface ExternalSecretRef {
  readonly path: string;
  readonly name: string;
  readonly namespace: string | undefined;
  /** The store it reads from (`spec.secretStoreRef`, kind SecretStore by default); absent when every value comes from a generator. */
  readonly store: { readonly kind: StoreKind; readonly name: string } | undefined;
  /** The Secret it writes (`spec.target.name`, else its own name); absent with `creationPolicy: None`. */
  readonly target: string | undefined;
  /**
   * Why a rebuild would not give back the same values, when it would not: `refreshPolicy:
   * CreatedOnce`, or values made by a generator (a new password on every rebuild).
   */
  readonly notReproduced: string | undefined;
}

export interface ExternalSecretsInRepo {
  readonly stores: readonly StoreRef[];
  readonly externalSecrets: readonly ExternalSecretRef[];
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** The ESO documents of a file, read within the check's budgets. */
function esoDocuments(file: RepositoryFile): Obj[] {
  return manifestDocuments(file.content).filter((d): d is Obj => isObject(d) && typeof d.apiVersion === "string" && d.apiVersion.startsWith(`${ESO_GROUP}/`));
}

/** Every store and ExternalSecret in `files`, in file order. */
export function externalSecretsIn(files: readonly RepositoryFile[]): ExternalSecretsInRepo {
  const stores: StoreRef[] = [];
  const externalSecrets: ExternalSecretRef[] = [];
  for (const file of files) {
    for (const doc of esoDocuments(file)) {
      const meta = isObject(doc.metadata) ? doc.metadata : {};
      const name = str(meta.name);
      if (!name) continue;
      const namespace = str(meta.namespace);
      if (doc.kind === "SecretStore" || doc.kind === "ClusterSecretStore") {
        stores.push({ path: file.path, kind: doc.kind, name, namespace: doc.kind === "SecretStore" ? namespace : undefined });
      } else if (doc.kind === "ExternalSecret") {
        externalSecrets.push({ path: file.path, name, namespace, ...externalSecretSpec(name, isObject(doc.spec) ? doc.spec : {}) });
      }
    }
  }
  return { stores, externalSecrets };
}

function externalSecretSpec(name: string, spec: Obj): Pick<ExternalSecretRef, "store" | "target" | "notReproduced"> {
  const ref = isObject(spec.secretStoreRef) ? spec.secretStoreRef : undefined;
  const storeName = str(ref?.name);
  const store = storeName ? { kind: (ref?.kind === "ClusterSecretStore" ? "ClusterSecretStore" : "SecretStore") as StoreKind, name: storeName } : undefined;
  const target = isObject(spec.target) ? spec.target : {};
  const targetName = target.creationPolicy === "None" ? undefined : (str(target.name) ?? name);
  return { store, target: targetName, notReproduced: notReproducedWhy(spec) };
}

/**
 * Why the Secret an ExternalSecret (its spec) writes would not come back the same from a rebuild:
 * `refreshPolicy: CreatedOnce`, or values from a generator; undefined when it would.
 */
export function notReproducedWhy(spec: Record<string, unknown>): string | undefined {
  const generated = (Array.isArray(spec.dataFrom) ? spec.dataFrom : []).some((d) => isObject(d) && isObject(d.sourceRef) && isObject(d.sourceRef.generatorRef));
  if (generated) return "its values come from a generator: a rebuild generates new ones";
  if (spec.refreshPolicy === "CreatedOnce") return "refreshPolicy CreatedOnce: fetched once; a rebuild fetches what the store holds that day";
  return undefined;
}

/** `Kind namespace/name`, or `Kind name` without a namespace. */
export function describeRef(kind: string, name: string, namespace: string | undefined): string {
  return `${kind} ${namespace ? `${namespace}/` : ""}${name}`;
}

/**
 * The stores the ExternalSecrets need that the repository does not define: each with the
 * ExternalSecrets that name it. A SecretStore is looked for in the ExternalSecret's namespace
 * (either side without a namespace matches: kustomize or the destination sets it).
 */
export function missingStores(found: ExternalSecretsInRepo): { store: string; neededBy: string[] }[] {
  const missing = new Map<string, string[]>();
  for (const es of found.externalSecrets) {
    if (!es.store) continue;
    const { kind, name } = es.store;
    const defined = found.stores.some((s) => s.kind === kind && s.name === name && (kind === "ClusterSecretStore" || !s.namespace || !es.namespace || s.namespace === es.namespace));
    if (defined) continue;
    const key = describeRef(kind, name, kind === "SecretStore" ? es.namespace : undefined);
    missing.set(key, [...(missing.get(key) ?? []), describeRef("ExternalSecret", es.name, es.namespace)]);
  }
  return [...missing].map(([store, neededBy]) => ({ store, neededBy }));
}

/** A condition as ESO writes it. */
interface Condition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
}

/** What the cluster says of one store or ExternalSecret from Git. */
export type EsoVerdict = { readonly state: "ok"; readonly detail: string } | { readonly state: "pending" | "failed"; readonly problem: string };

const readyOf = (object: Obj | undefined): Condition | undefined => {
  const conditions = isObject(object?.status) && Array.isArray(object.status.conditions) ? (object.status.conditions as Condition[]) : [];
  return conditions.find((c) => c?.type === "Ready");
};

/**
 * A store from Git in the cluster: validated (`Ready=True`, reason `Valid`) or not, with ESO's
 * message. `object` undefined: not in the cluster.
 */
export function storeVerdict(object: Obj | undefined): EsoVerdict {
  if (!object) return { state: "failed", problem: "not in the cluster" };
  const ready = readyOf(object);
  if (!ready) return { state: "pending", problem: "not validated yet (no Ready condition)" };
  if (ready.status === "True") return { state: "ok", detail: ready.reason ?? "Ready" };
  return { state: "failed", problem: `${ready.reason ?? "not ready"}: ${ready.message ?? "no message"}` };
}

/**
 * An ExternalSecret from Git in the cluster: synced (`Ready=True`, reason `SecretSynced`) and its
 * target Secret present, or ESO's message (store unreachable, wrong credentials, key not found).
 */
export function externalSecretVerdict(ref: ExternalSecretRef, object: Obj | undefined, targetExists: boolean): EsoVerdict {
  if (!object) return { state: "failed", problem: "not in the cluster" };
  const ready = readyOf(object);
  if (!ready) return { state: "pending", problem: "not synced yet (no Ready condition)" };
  if (ready.status !== "True") return { state: "failed", problem: `${ready.reason ?? "not ready"}: ${ready.message ?? "no message"}` };
  if (ref.target && !targetExists) return { state: "failed", problem: `synced, but its Secret ${ref.target} is not in the cluster` };
  return { state: "ok", detail: ready.reason ?? "Ready" };
}

/** Only what lies under `under/` of the repository (everything without it). */
export function externalSecretsUnder(found: ExternalSecretsInRepo, under: string | undefined): ExternalSecretsInRepo {
  const prefix = under ? `${under.replace(/^\.?\/+|\/+$/g, "")}/` : "";
  if (prefix === "") return found;
  return { stores: found.stores.filter((s) => s.path.startsWith(prefix)), externalSecrets: found.externalSecrets.filter((e) => e.path.startsWith(prefix)) };
}
