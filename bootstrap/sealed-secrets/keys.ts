/**
 * The Sealed Secrets key backup: the controller's sealing keys as the documented manual backup
 * has them (`kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`), a
 * `v1/List` of `kubernetes.io/tls` Secrets, trimmed to what a restore needs, and kept in Git
 * SOPS-encrypted (only `data` is encrypted, so the key names stay readable). Messages name the
 * file and the item, never key material.
 */
import * as crypto from "node:crypto";
import { SecretString } from "../secret";

export const SEALING_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key";

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
function checkPair(certificate: string, privateKey: string): string | undefined {
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

/** The private keys, ready to open sealed values with. */
export function privateKeyObjects(keys: readonly SealingKey[]): crypto.KeyObject[] {
  return keys.map((k) => crypto.createPrivateKey(k.privateKey.reveal()));
}
