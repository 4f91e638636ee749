/**
 * What checking one file gives. Every result names the file (`path`) and says why (`detail`;
 * `reason` is the same prefixed with the path). None carries a decrypted value or key material:
 * only key paths, recipients (public keys) and counts.
 */
import type { SopsFormat } from "./tree";

export type { SopsFormat } from "./tree";

export type SopsResultKind = "ok" | "wrong-key" | "mac-mismatch" | "tampered-value" | "not-age" | "not-sops" | "malformed";

interface ResultBase {
  /** The file, relative to the repository root (or as given). */
  readonly path: string;
  /** Why, without the path. */
  readonly detail: string;
  /** `<path>: <detail>`. */
  readonly reason: string;
}

/** Every value decrypted and authenticated, and the MAC matches. */
export interface SopsOk extends ResultBase {
  readonly kind: "ok";
  readonly format: SopsFormat;
  /** How many encrypted values were decrypted and authenticated. */
  readonly encryptedValues: number;
  /** The file's age recipient whose stanza gave the data key. */
  readonly openedBy: string;
  /** Things that do not stop the file from decrypting (a malformed stanza for another recipient, ...). */
  readonly warnings: readonly string[];
}

/** No identity opens any of the file's age stanzas (or not enough key groups for the Shamir threshold). */
export interface SopsWrongKey extends ResultBase {
  readonly kind: "wrong-key";
  readonly format: SopsFormat;
  /** The file's age recipients. */
  readonly recipients: readonly string[];
}

/** The values do not hash to the file's MAC, or the MAC does not authenticate. */
export interface SopsMacMismatch extends ResultBase {
  readonly kind: "mac-mismatch";
  readonly format: SopsFormat;
}

/** A value fails authentication, or is plaintext where the file's rules say encrypted (or the reverse). */
export interface SopsTamperedValue extends ResultBase {
  readonly kind: "tampered-value";
  readonly format: SopsFormat;
  /** The value's key path, sops style (`data:password`). */
  readonly keyPath: string;
}

/** A SOPS file without any age recipient (PGP, KMS, Vault only). */
export interface SopsNotAge extends ResultBase {
  readonly kind: "not-age";
  readonly format: SopsFormat;
  /** The master key types it has (`pgp`, `kms`, ...). */
  readonly keyTypes: readonly string[];
}

/** Not a SOPS file: no `sops` metadata. */
export interface SopsNotSops extends ResultBase {
  readonly kind: "not-sops";
}

/** A SOPS file sops itself could not decrypt: bad metadata, a malformed ENC value or age stanza, no MAC. */
export interface SopsMalformed extends ResultBase {
  readonly kind: "malformed";
  readonly format?: SopsFormat;
  readonly keyPath?: string;
}

export type SopsFileResult = SopsOk | SopsWrongKey | SopsMacMismatch | SopsTamperedValue | SopsNotAge | SopsNotSops | SopsMalformed;

/** Short human labels, as the text report prints them. */
export const RESULT_LABELS: Readonly<Record<SopsResultKind, string>> = {
  ok: "ok",
  "wrong-key": "wrong key",
  "mac-mismatch": "MAC mismatch",
  "tampered-value": "tampered value",
  "not-age": "not age",
  "not-sops": "not SOPS",
  malformed: "malformed",
};
