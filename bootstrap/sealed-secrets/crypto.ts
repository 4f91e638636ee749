/**
 * Opening SealedSecret values as the controller does (bitnami-labs/sealed-secrets
 * `crypto.HybridDecrypt`, `v1alpha1.EncryptionLabel`): each value is
 * `uint16 BE length of the RSA ciphertext || RSA-OAEP(SHA-256, label) of a 32-byte session key ||
 * AES-256-GCM(session key, zero nonce) of the value`, and the OAEP label binds it to its scope:
 * `namespace/name` (strict, the default), `namespace` (namespace-wide) or empty (cluster-wide).
 * Used to prove a key backup opens every SealedSecret; plaintexts are never returned.
 */
import * as crypto from "node:crypto";

export type SealingScope = "strict" | "namespace-wide" | "cluster-wide";

export const CLUSTER_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/cluster-wide";
export const NAMESPACE_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/namespace-wide";

/** The scope a SealedSecret's annotations declare. */
export function scopeOf(annotations: Readonly<Record<string, unknown>> | undefined): SealingScope {
  if (annotations?.[CLUSTER_WIDE_ANNOTATION] === "true") return "cluster-wide";
  if (annotations?.[NAMESPACE_WIDE_ANNOTATION] === "true") return "namespace-wide";
  return "strict";
}

export function encryptionLabel(scope: SealingScope, namespace: string, name: string): Buffer {
  return Buffer.from(scope === "cluster-wide" ? "" : scope === "namespace-wide" ? namespace : `${namespace}/${name}`);
}

export type OpenResult = "ok" | "no-key" | "malformed";

const SESSION_KEY_BYTES = 32;
const GCM_TAG_BYTES = 16;

/**
 * Whether one of `keys` opens `ciphertext` (decoded base64) under `label`: the RSA step finds the
 * key, then AES-GCM must authenticate the value. `malformed` when the bytes cannot be a sealed
 * value at all, or when a key opens the session key but the value does not authenticate.
 */
export function openSealedValue(ciphertext: Buffer, keys: readonly crypto.KeyObject[], label: Buffer): OpenResult {
  if (ciphertext.length < 2) return "malformed";
  const rsaLength = ciphertext.readUInt16BE(0);
  if (ciphertext.length < 2 + rsaLength + GCM_TAG_BYTES) return "malformed";
  const rsaPart = ciphertext.subarray(2, 2 + rsaLength);
  const aesPart = ciphertext.subarray(2 + rsaLength);
  for (const key of keys) {
    let sessionKey: Buffer;
    try {
      sessionKey = crypto.privateDecrypt({ key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: label }, rsaPart);
    } catch {
      continue; // another key, or another label
    }
    if (sessionKey.length !== SESSION_KEY_BYTES) return "malformed";
    try {
      const decipher = crypto.createDecipheriv("aes-256-gcm", sessionKey, Buffer.alloc(12));
      decipher.setAuthTag(aesPart.subarray(aesPart.length - GCM_TAG_BYTES));
      decipher.update(aesPart.subarray(0, aesPart.length - GCM_TAG_BYTES));
      decipher.final();
      return "ok";
    } catch {
      return "malformed";
    } finally {
      sessionKey.fill(0);
    }
  }
  return "no-key";
}

/** Seals `plaintext` to `publicKey` as kubeseal does (tests make their SealedSecrets with it). */
export function sealValue(plaintext: Buffer, publicKey: crypto.KeyObject, label: Buffer): Buffer {
  const sessionKey = crypto.randomBytes(SESSION_KEY_BYTES);
  const rsa = crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: label }, sessionKey);
  const cipher = crypto.createCipheriv("aes-256-gcm", sessionKey, Buffer.alloc(12));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(rsa.length);
  return Buffer.concat([length, rsa, body]);
}
