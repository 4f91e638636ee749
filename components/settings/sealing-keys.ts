/**
 * The Sealed Secrets key backup: the controller's sealing keys as the documented manual backup
 * has them (`kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`), a
 * `v1/List` of `kubernetes.io/tls` Secrets, trimmed to what a restore needs, and kept in Git
 * SOPS-encrypted (only `data` is encrypted, so the key names stay readable). Messages name the
 * file and the item, never key material.
 */
import * as crypto from "node:crypto";
import { SecretString } from "./secret";

export const SEALING_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key";

/**
 * The names the controller gives its keys: its key prefix (`--key-prefix`, default
 * `sealed-secrets-key`) as the Secret's `generateName` (the API server appends a random suffix),
 * or the prefix alone (the legacy single key, which the controller still reads). A backup holds
 * only such names, so restoring it cannot replace another `kubernetes.io/tls` Secret of the
 * controller's namespace.
 */
export const SEALING_KEY_NAME = /^sealed-secrets-key(?:[a-z0-9-]{0,62}[a-z0-9])?$/;
export const SEALING_KEY_NAME_HINT = "sealed-secrets-key followed by the suffix the API server appends, e.g. sealed-secrets-keyx7k2p";
export const isSealingKeyName = (name: string): boolean => SEALING_KEY_NAME.test(name);

export interface SealingKey {
  /** The Secret's name (`sealed-secrets-key<suffix>`). */
  readonly name: string;
  /** PEM certificate: public. */
  readonly certificate: string;
  /** PEM private key. */
  readonly privateKey: SecretString;
  /** The key label's value: `active`, or `compromised` for a key the team retired. @default "active" */
  readonly state?: string;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The backup document (before encryption): the keys as Secrets in `namespace`, labelled active. */
export function backupDocument(keys: readonly SealingKey[], namespace: string): Obj {
  return {
    apiVersion: "v1",
    kind: "List",
    items: [...keys]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((k) => ({
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/tls",
        metadata: { name: k.name, namespace, labels: { [SEALING_KEY_LABEL]: k.state ?? "active" } },
        data: { "tls.crt": Buffer.from(k.certificate).toString("base64"), "tls.key": Buffer.from(k.privateKey.reveal()).toString("base64") },
      })),
  };
}

/** Checks a PEM pair: an RSA private key whose public half is the certificate's. */
export function checkPair(certificate: string, privateKey: string): string | undefined {
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(privateKey);
  } catch {
    return "tls.key is not a PEM private key";
  }
  if (key.asymmetricKeyType !== "rsa") return `tls.key is a ${key.asymmetricKeyType} key; Sealed Secrets keys are RSA`;
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(certificate);
  } catch {
    return "tls.crt is not a PEM certificate";
  }
  if (!cert.checkPrivateKey(key)) return "tls.crt does not belong to tls.key";
  return undefined;
}

/** The keys of a decrypted backup document; throws a message naming the item and what is wrong. */
export function parseBackup(doc: unknown): SealingKey[] {
  if (!isObject(doc) || !Array.isArray(doc.items)) throw new Error("is not a v1 List of Secrets (the format backup-keys writes)");
  const keys: SealingKey[] = [];
  doc.items.forEach((item: unknown, i: number) => {
    const where = `item ${i + 1}`;
    const meta = isObject(item) && isObject(item.metadata) ? item.metadata : undefined;
    const data = isObject(item) && isObject(item.data) ? item.data : undefined;
    const name = typeof meta?.name === "string" ? meta.name : undefined;
    if (!name || !data || typeof data["tls.crt"] !== "string" || typeof data["tls.key"] !== "string") {
      throw new Error(`${where} is not a Secret with metadata.name and data tls.crt and tls.key`);
    }
    if (!isSealingKeyName(name)) {
      throw new Error(`${where} (${name}): not a sealing key's name (${SEALING_KEY_NAME_HINT}); a backup restores only the controller's keys, never another Secret`);
    }
    if (keys.some((k) => k.name === name)) throw new Error(`${where} (${name}): a second key with the same name`);
    const certificate = Buffer.from(data["tls.crt"], "base64").toString("utf8");
    const privateKey = Buffer.from(data["tls.key"], "base64").toString("utf8");
    const problem = checkPair(certificate, privateKey);
    if (problem) throw new Error(`${where} (${name}): ${problem}`);
    const labels = isObject(meta?.labels) ? meta.labels : {};
    const state = typeof labels[SEALING_KEY_LABEL] === "string" ? (labels[SEALING_KEY_LABEL] as string) : "active";
    keys.push({ name, certificate, privateKey: new SecretString(privateKey), state });
  });
  if (keys.length === 0) throw new Error("holds no key");
  return keys;
}

/** How the keys of a backup and of a cluster combine: the backup never loses a key unless pruned. */
export interface KeyMerge {
  /** What the backup will hold, by name. */
  readonly keys: readonly SealingKey[];
  /** In the cluster, not yet in the backup. */
  readonly added: readonly string[];
  /** In the backup, not in the cluster: kept, or dropped with prune. */
  readonly notInCluster: readonly string[];
  /** In both under the same name, with different key material: the cluster's wins only with prune. */
  readonly differing: readonly string[];
  /** Removed from the backup (prune only): notInCluster and the backup's version of differing. */
  readonly dropped: readonly string[];
}

const sameMaterial = (a: SealingKey, b: SealingKey): boolean => a.certificate === b.certificate && a.privateKey.reveal() === b.privateKey.reveal();

/**
 * The backup after reading the cluster: every key already in it (its state label as the cluster
 * now has it), plus the cluster's new ones. With `prune`, exactly the cluster's keys.
 */
export function mergeSealingKeys(backup: readonly SealingKey[], cluster: readonly SealingKey[], prune: boolean): KeyMerge {
  const inCluster = new Map(cluster.map((k) => [k.name, k]));
  const inBackup = new Map(backup.map((k) => [k.name, k]));
  const notInCluster = backup.filter((k) => !inCluster.has(k.name)).map((k) => k.name);
  const differing = backup.filter((k) => inCluster.has(k.name) && !sameMaterial(k, inCluster.get(k.name)!)).map((k) => k.name);
  const added = cluster.filter((k) => !inBackup.has(k.name)).map((k) => k.name);
  const kept = prune ? [] : backup.filter((k) => !inCluster.has(k.name) || differing.includes(k.name));
  const fromCluster = prune ? cluster : cluster.filter((k) => !differing.includes(k.name));
  const keys = [...kept, ...fromCluster].sort((a, b) => a.name.localeCompare(b.name));
  return { keys, added, notInCluster, differing, dropped: prune ? [...notInCluster, ...differing].sort() : [] };
}

/** The private keys, ready to open sealed values with. */
export function privateKeyObjects(keys: readonly SealingKey[]): crypto.KeyObject[] {
  return keys.map((k) => crypto.createPrivateKey(k.privateKey.reveal()));
}
