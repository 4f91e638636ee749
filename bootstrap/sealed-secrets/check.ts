/**
 * Does the key backup open every SealedSecret in the repository? For each SealedSecret document
 * (YAML or JSON, `apiVersion: bitnami.com/...`, `kind: SealedSecret`), every `encryptedData`
 * value must open with one of the backed-up keys under the scope's label, as the controller
 * would open it. One result per SealedSecret; plaintexts are never kept.
 */
import type * as crypto from "node:crypto";
import * as YAML from "yaml";
import type { RepositoryFile } from "../sops/repository";
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

/** The SealedSecret documents of a file (a YAML stream, or JSON). */
function sealedDocuments(file: RepositoryFile): { doc: Obj } [] | "malformed" {
  let docs: unknown[];
  try {
    docs = YAML.parseAllDocuments(file.content.toString("utf8")).map((d) => {
      if (d.errors.length > 0) throw new Error("parse");
      return d.toJS();
    });
  } catch {
    return "malformed";
  }
  return docs.filter((d): d is Obj => isObject(d) && d.kind === "SealedSecret" && typeof d.apiVersion === "string" && d.apiVersion.startsWith("bitnami.com/")).map((doc) => ({ doc }));
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
  const results: SealedSecretResult[] = [];
  for (const file of files) {
    const docs = sealedDocuments(file);
    if (docs === "malformed") continue; // not YAML: not a SealedSecret for the cluster either
    for (const { doc } of docs) results.push(checkSealedSecret(file.path, doc, keys));
  }
  return results;
}

/** The SealedSecrets of the files (names only), for the warning when no backup is configured. */
export function listSealedSecrets(files: readonly RepositoryFile[]): { path: string; secret: string }[] {
  return checkSealedFiles(files, []).map((r) => ({ path: r.path, secret: r.secret }));
}
