/**
 * Does the key backup open every SealedSecret in the repository? For each SealedSecret document
 * (YAML or JSON, `apiVersion: bitnami.com/...`, `kind: SealedSecret`), every `encryptedData`
 * value must open with one of the backed-up keys under the scope's label, as the controller
 * would open it. One result per SealedSecret; plaintexts are never kept.
 */
import type * as crypto from "node:crypto";
import type { RepositoryFile } from "../sops/repository";
import { manifestDocuments } from "../sops/yaml-budget";
import { encryptionLabel, openSealedValue, scopeOf } from "./crypto";

export type SealedResultKind = "ok" | "no-key" | "malformed" | "unchecked";

export interface SealedSecretResult {
  readonly path: string;
  readonly kind: SealedResultKind;
  /** `namespace/name` (or `name` when the file sets no namespace). */
  readonly secret: string;
  readonly values: number;
  /** Why, without any value. */
  readonly detail: string;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The SealedSecret documents of a file (a YAML stream, or JSON): Bitnami's API only. A document
 * that does not parse is left out (the cluster could not apply it either), and so is a file with
 * more nodes than the check parses.
 */
function sealedDocuments(file: RepositoryFile): Obj[] {
  return manifestDocuments(file.content).filter(
    (d): d is Obj => isObject(d) && d.kind === "SealedSecret" && typeof d.apiVersion === "string" && d.apiVersion.startsWith("bitnami.com/"),
  );
}

export interface SealedSecretRef {
  readonly path: string;
  readonly name: string;
  /** Absent when the file leaves it to kustomize or the Application's destination. */
  readonly namespace: string | undefined;
}

/** The named SealedSecrets of the files, in file order. */
export function sealedSecretRefs(files: readonly RepositoryFile[]): SealedSecretRef[] {
  const out: SealedSecretRef[] = [];
  for (const file of files) {
    for (const doc of sealedDocuments(file)) {
      const meta = isObject(doc.metadata) ? doc.metadata : {};
      if (typeof meta.name === "string") out.push({ path: file.path, name: meta.name, namespace: typeof meta.namespace === "string" ? meta.namespace : undefined });
    }
  }
  return out;
}

/** Checks one SealedSecret with `keys`. */
export function checkSealedSecret(path: string, doc: Obj, keys: readonly crypto.KeyObject[]): SealedSecretResult {
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === "string" ? meta.name : "";
  const namespace = typeof meta.namespace === "string" ? meta.namespace : undefined;
  const secret = namespace ? `${namespace}/${name}` : name;
  const spec = isObject(doc.spec) ? doc.spec : {};
  const data = isObject(spec.encryptedData) ? spec.encryptedData : undefined;
  const base = { path, secret };
  if (!name || !data) return { ...base, kind: "malformed", values: 0, detail: "no metadata.name or spec.encryptedData" };
  const entries = Object.entries(data);
  const scope = scopeOf(isObject(meta.annotations) ? meta.annotations : undefined);
  if (scope !== "cluster-wide" && namespace === undefined) {
    return { ...base, kind: "unchecked", values: entries.length, detail: `no metadata.namespace, and its ${scope} scope binds the value to the namespace it is applied in` };
  }
  for (const [key, value] of entries) {
    if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return { ...base, kind: "malformed", values: entries.length, detail: `encryptedData.${key} is not base64` };
    const result = openSealedValue(Buffer.from(value, "base64"), keys, encryptionLabel(scope, namespace ?? "", name));
    if (result === "no-key") return { ...base, kind: "no-key", values: entries.length, detail: `no backed-up key opens encryptedData.${key} (${scope} scope)` };
    if (result === "malformed") return { ...base, kind: "malformed", values: entries.length, detail: `encryptedData.${key} does not open: changed or not a sealed value` };
  }
  return { ...base, kind: "ok", values: entries.length, detail: `${entries.length} value${entries.length === 1 ? "" : "s"} (${scope})` };
}

/** Every SealedSecret of the files, checked with `keys`. */
export function checkSealedFiles(files: readonly RepositoryFile[], keys: readonly crypto.KeyObject[]): SealedSecretResult[] {
  return files.flatMap((file) => sealedDocuments(file).map((doc) => checkSealedSecret(file.path, doc, keys)));
}
