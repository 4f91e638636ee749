/**
 * What checking one file gives. Every result names the file (`path`) and says why (`detail`;
 * `reason` is the same prefixed with the path). None carries a decrypted value or key material:
 * only key paths, recipients (public keys) and counts.
 */
import type { SopsFormat } from "./tree";

export type { SopsFormat } from "./tree";

export type SopsResultKind = "ok" | "suspicious" | "wrong-key" | "mac-mismatch" | "tampered-value" | "not-age" | "not-sops" | "malformed" | "too-big" | "unreadable";

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

/**
 * sops decrypts the file (so the sync will too), but something in it was changed after
 * encryption where sops does not look: the check is stricter than sops here on purpose, and
 * `detail` starts with "sops would accept this, but".
 */
export interface SopsSuspicious extends ResultBase {
  readonly kind: "suspicious";
  readonly format: SopsFormat;
  readonly keyPath?: string;
}

/** A file that is or may be a SOPS file, bigger than the check reads (`--max-file-size`). */
export interface SopsTooBig extends ResultBase {
  readonly kind: "too-big";
  readonly bytes: number;
  readonly limit: number;
}

/**
 * A file that is or may be a SOPS file that the check could not judge within its limits (nodes,
 * alias expansion, nesting, memory), or whose reading failed in a way no SOPS store explains:
 * `detail` says which. Like a file too big to read, it fails the check, since nothing was verified.
 */
export interface SopsUnreadable extends ResultBase {
  readonly kind: "unreadable";
  readonly format?: SopsFormat;
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

/** Not a SOPS file: no `sops` metadata, and nothing says it was meant to be one. */
export interface SopsNotSops extends ResultBase {
  readonly kind: "not-sops";
}

/**
 * A SOPS file sops itself could not decrypt: bad or cut-off metadata, a malformed ENC value or
 * age stanza, no MAC; or a file meant as one (its name, its ENC values) that does not read as one.
 */
export interface SopsMalformed extends ResultBase {
  readonly kind: "malformed";
  readonly format?: SopsFormat;
  readonly keyPath?: string;
}

export type SopsFileResult = SopsOk | SopsSuspicious | SopsTooBig | SopsUnreadable | SopsWrongKey | SopsMacMismatch | SopsTamperedValue | SopsNotAge | SopsNotSops | SopsMalformed;

/** Short human labels, as the text report prints them. */
export const RESULT_LABELS: Readonly<Record<SopsResultKind, string>> = {
  ok: "ok",
  suspicious: "suspicious",
  "too-big": "too big",
  unreadable: "unreadable",
  "wrong-key": "wrong key",
  "mac-mismatch": "MAC mismatch",
  "tampered-value": "tampered value",
  "not-age": "not age",
  "not-sops": "not SOPS",
  malformed: "malformed",
};

/**
 * Whether the file fails the check (exit status 1): sops, and so the reconciler at sync time,
 * would refuse it with the check's key, or it is too big or otherwise beyond the check's limits
 * to verify.
 */
export function failsTheCheck(kind: SopsResultKind): boolean {
  return kind !== "ok" && kind !== "suspicious" && kind !== "not-sops";
}

/** Whether `sops decrypt` decrypts the file with the check's key; null when the check cannot tell. */
export function sopsDecrypts(kind: SopsResultKind): boolean | null {
  if (kind === "ok" || kind === "suspicious") return true;
  return kind === "too-big" || kind === "unreadable" ? null : false;
}
