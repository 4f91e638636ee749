/**
 * The `externalSecrets` block of the stack config: the External Secrets Operator (ESO), and the
 * credentials it reaches its secret store with (the "secret zero": a Vault token, cloud access
 * keys, another cluster's ServiceAccount token), kept in Git in a SOPS-encrypted file that the
 * stack's age key opens. `up` creates them before the operator, and the operator before the
 * reconciler's root, so the first sync of the ExternalSecrets in Git succeeds. The readers here
 * check the block and the credentials' Secrets (for the stack config and the components' args);
 * the stack config decrypts the file (bootstrap/config/stack-config.ts).
 */
import { EXTERNAL_SECRETS } from "../defaults";
import { DNS_SUBDOMAIN, type Problems, checkKnownKeys, describe, isObject, optBoolean, readChartRepo, readChartVersion, readNamespace, readValues } from "./fields";
import { SecretString } from "./secret";

/**
 * Secret types a store credential may have. Not `kubernetes.io/service-account-token` (the API
 * server would mint a token into it) nor `kubernetes.io/dockerconfigjson` (pull secrets are not a
 * store's credential): a credentials file cannot make anything but a plain credential.
 */
export const CREDENTIAL_TYPES = ["Opaque", "kubernetes.io/basic-auth", "kubernetes.io/ssh-auth", "kubernetes.io/tls"] as const;

/** One store credential: a Secret in the operator's namespace, its values held as secrets. */
export interface CredentialSecret {
  readonly name: string;
  readonly type: string;
  /** Each key's text value (never printed: SecretString). */
  readonly stringData: Readonly<Record<string, SecretString>>;
}

export interface ExternalSecretsSettings {
  readonly chartVersion: string;
  readonly chartRepo: string;
  /** The operator's namespace; the credentials go there too. */
  readonly namespace: string;
  readonly values: Readonly<Record<string, unknown>>;
  /** The `externalSecrets` key is a Pulumi secret: the release's values are then a Pulumi secret too. */
  readonly valuesSecret: boolean;
}

export interface ExternalSecretsConfig extends ExternalSecretsSettings {
  /** The resolved path of `credentialsFile`, when one is configured. */
  readonly credentialsFile?: string;
  /** The store credentials, created before the operator. None: the operator uses workload identity. */
  readonly credentials: readonly CredentialSecret[];
}

/**
 * The block's chart, namespace and values (what a component's args give as well), without the
 * credentials; undefined when it is not an object or `enabled: false`. `known`: its keys.
 */
export function readExternalSecretsSettings(problems: Problems, raw: unknown, secret: boolean, known: readonly string[]): ExternalSecretsSettings | undefined {
  if (!isObject(raw)) {
    problems.add("externalSecrets", `expected an object {enabled, chartVersion, chartRepo, namespace, values, credentialsFile}, got ${describe(raw)}`);
    return undefined;
  }
  checkKnownKeys(problems, "externalSecrets", raw, known);
  if (!optBoolean(problems, "externalSecrets.enabled", raw.enabled, true)) return undefined;
  const chartVersion = readChartVersion(problems, "externalSecrets.chartVersion", raw.chartVersion, EXTERNAL_SECRETS.chartVersion);
  const chartRepo = readChartRepo(problems, "externalSecrets.chartRepo", raw.chartRepo, EXTERNAL_SECRETS.chartRepo);
  const namespace = readNamespace(problems, "externalSecrets.namespace", raw.namespace, EXTERNAL_SECRETS.namespace);
  const values = readValues(problems, "externalSecrets.values", raw.values);
  if (values.installCRDs === false) problems.add("externalSecrets.values.installCRDs", "must stay true: the ExternalSecrets in Git need the CRDs before the first sync");
  return { chartVersion, chartRepo, namespace, values, valuesSecret: secret };
}

const SECRET_KEYS = ["apiVersion", "kind", "metadata", "type", "data", "stringData"];
const METADATA_KEYS = ["name", "namespace", "labels", "annotations"];
/** A Secret's data key (`kubectl create secret` rules). */
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * The Secrets of a decrypted credentials file: each YAML document a `v1` Secret, or a `v1` List of
 * them. Only a plain credential passes: a known type, metadata limited to name (and the operator's
 * namespace), no labels or annotations that could make it something else, text values. Problems
 * are keyed by the item (`document 2`, `document 1 item 3 (vault-token)`); values never appear.
 */
export function parseCredentials(problems: Problems, documents: readonly unknown[], namespace: string): CredentialSecret[] {
  const items: { where: string; item: unknown }[] = [];
  documents.forEach((doc, d) => {
    const where = documents.length > 1 ? `document ${d + 1}` : "the file";
    if (isObject(doc) && doc.kind === "List" && Array.isArray(doc.items)) doc.items.forEach((item, i) => items.push({ where: `${where} item ${i + 1}`, item }));
    else if (doc !== null && doc !== undefined) items.push({ where, item: doc });
  });
  const credentials: CredentialSecret[] = [];
  for (const { where, item } of items) {
    const credential = parseCredential(problems, where, item, namespace);
    if (!credential) continue;
    if (credentials.some((c) => c.name === credential.name)) problems.add(`${where} (${credential.name})`, "a second Secret with the same name");
    else credentials.push(credential);
  }
  return credentials;
}

export function parseCredential(problems: Problems, where: string, item: unknown, namespace: string): CredentialSecret | undefined {
  if (!isObject(item) || item.apiVersion !== "v1" || item.kind !== "Secret") {
    const kind = isObject(item) ? `${describe(item.apiVersion)} ${describe(item.kind)}` : describe(item);
    problems.add(where, `must be a v1 Secret, got ${kind}: a credentials file holds store credentials only`);
    return undefined;
  }
  const meta = isObject(item.metadata) ? item.metadata : {};
  const name = typeof meta.name === "string" ? meta.name : "";
  const at = name ? `${where} (${name})` : where;
  let ok = true;
  const bad = (message: string) => {
    problems.add(at, message);
    ok = false;
  };
  const extra = Object.keys(item).filter((k) => !SECRET_KEYS.includes(k));
  if (extra.length > 0) bad(`unexpected field(s) ${extra.join(", ")}; a credential has metadata, type and data or stringData`);
  const extraMeta = Object.keys(meta).filter((k) => !METADATA_KEYS.includes(k));
  if (extraMeta.length > 0) bad(`unexpected metadata field(s) ${extraMeta.join(", ")}; give metadata.name (and metadata.namespace) only`);
  if (!DNS_SUBDOMAIN.test(name)) bad(`metadata.name must be a DNS-1123 subdomain, got ${describe(meta.name)}`);
  if (meta.namespace !== undefined && meta.namespace !== namespace) {
    bad(`metadata.namespace ${describe(meta.namespace)} is not the operator's namespace ${namespace}: credentials go beside the operator (reference them from a ClusterSecretStore, or a SecretStore in ${namespace})`);
  }
  if (meta.labels !== undefined || meta.annotations !== undefined) bad("labels and annotations are not accepted: they could make the Secret something other than a credential (a sealing key, a token request)");
  const type = item.type === undefined ? "Opaque" : item.type;
  if (typeof type !== "string" || !(CREDENTIAL_TYPES as readonly string[]).includes(type)) bad(`type must be one of ${CREDENTIAL_TYPES.join(", ")}, got ${describe(type)}`);
  const stringData: Record<string, SecretString> = {};
  const take = (field: "data" | "stringData", decode: (v: string) => string | undefined) => {
    const raw = item[field];
    if (raw === undefined) return;
    if (!isObject(raw)) return bad(`${field} must be a map of keys to values`);
    for (const [key, value] of Object.entries(raw)) {
      if (!DATA_KEY.test(key)) bad(`${field} key ${describe(key)} is not a valid Secret key (letters, digits, '-', '_', '.')`);
      else if (key in stringData) bad(`${field} key ${key} is given twice (data and stringData)`);
      else {
        const text = typeof value === "string" ? decode(value) : undefined;
        if (text === undefined) bad(`${field}.${key} must be ${field === "data" ? "base64 of UTF-8 text" : "a string"}`);
        else stringData[key] = new SecretString(text);
      }
    }
  };
  take("stringData", (v) => v);
  take("data", decodeBase64Text);
  if (ok && Object.keys(stringData).length === 0) bad("has no data: a credential needs at least one key");
  return ok ? { name, type: type as string, stringData } : undefined;
}

/** The text a base64 value holds, or undefined when it is not base64 of valid UTF-8. */
function decodeBase64Text(value: string): string | undefined {
  const compact = value.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(compact, "base64");
  const text = bytes.toString("utf8");
  return Buffer.from(text, "utf8").equals(bytes) ? text : undefined;
}

/** Namespaces the operator and its store credentials must not share: the cluster's own, and the bootstrap's keys'. */
const SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"];

/**
 * The operator gets a namespace of its own: its credentials must not sit beside the reconciler's
 * `sops-age` key and repository Secret, the sealing keys, or the cluster's system objects.
 */
export function checkExternalSecretsNamespace(problems: Problems, namespace: string, reconcilerNs: string | undefined, sealedNs: string | undefined): void {
  const shared = SYSTEM_NAMESPACES.includes(namespace) ? "a system namespace" : namespace === reconcilerNs ? "the reconciler's namespace" : namespace === sealedNs ? "the Sealed Secrets namespace" : undefined;
  if (shared) problems.add("externalSecrets.namespace", `${namespace} is ${shared}; give the operator and its store credentials a namespace of their own (default ${EXTERNAL_SECRETS.namespace})`);
}
