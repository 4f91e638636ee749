/**
 * Writes SOPS files in-process, as `sops encrypt` does (getsops/sops v3.13.3 `Tree.Encrypt`,
 * `EncryptTree`, the stores' layouts): a fresh data key, AES-256-GCM per value, the encrypted
 * MAC, one armored age file of the data key per recipient. `backup-keys` writes its backup with
 * it; the benchmark and the unit tests make files with it that the real `sops` validates (the
 * bench and e2e decrypt its output with sops; the interop test checks our verifier against files
 * sops made itself).
 */
import * as crypto from "node:crypto";
import * as age from "age-encryption";
import * as YAML from "yaml";
import { formatGoFloat, resolveYamlPlain } from "./go";
import { mul } from "./shamir";

export type Plain = string | number | boolean | null | readonly Plain[] | { readonly [key: string]: Plain };

export interface WriteOptions {
  /** age recipients; each gets its own armored age file of the data key, as sops does. */
  readonly recipients: readonly string[];
  /** Key groups (each a list of recipients), split with Shamir's scheme; overrides `recipients`. */
  readonly keyGroups?: readonly (readonly string[])[];
  readonly shamirThreshold?: number;
  readonly encryptedRegex?: string;
  readonly unencryptedSuffix?: string;
  readonly encryptedSuffix?: string;
  readonly macOnlyEncrypted?: boolean;
  /** RFC 3339, seconds precision. @default now */
  readonly lastModified?: string;
}

const MAC_ONLY_ENCRYPTED_INIT = Buffer.from("8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69", "hex");

function encryptValue(plaintext: Buffer, type: string, key: Buffer, aad: string): string {
  const iv = crypto.randomBytes(32);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return `ENC[AES256_GCM,data:${data.toString("base64")},iv:${iv.toString("base64")},tag:${cipher.getAuthTag().toString("base64")},type:${type}]`;
}

function typed(value: string | number | boolean): { bytes: Buffer; type: string } {
  if (typeof value === "string") return { bytes: Buffer.from(value), type: "str" };
  if (typeof value === "boolean") return { bytes: Buffer.from(value ? "True" : "False"), type: "bool" };
  if (Number.isInteger(value) && !Object.is(value, -0)) return { bytes: Buffer.from(String(value)), type: "int" };
  return { bytes: Buffer.from(formatGoFloat(value)), type: "float" };
}

function shouldEncrypt(path: readonly string[], opts: WriteOptions): boolean {
  if (opts.encryptedRegex !== undefined) return path.some((k) => new RegExp(opts.encryptedRegex as string).test(k));
  if (opts.encryptedSuffix !== undefined) return path.some((k) => k.endsWith(opts.encryptedSuffix as string));
  const suffix = opts.unencryptedSuffix ?? "_unencrypted";
  return !path.some((k) => k.endsWith(suffix));
}

function encryptTree(value: Plain, path: readonly string[], key: Buffer, hash: crypto.Hash, opts: WriteOptions): Plain {
  if (value === null) return null;
  if (Array.isArray(value)) return value.map((v: Plain) => encryptTree(v, path, key, hash, opts));
  if (typeof value === "object") {
    const out: Record<string, Plain> = {};
    for (const [k, v] of Object.entries(value as Record<string, Plain>)) out[k] = encryptTree(v, [...path, k], key, hash, opts);
    return out;
  }
  const encrypted = shouldEncrypt(path, opts);
  const { bytes, type } = typed(value as string | number | boolean);
  if (!opts.macOnlyEncrypted || encrypted) hash.update(bytes);
  if (!encrypted || value === "") return value;
  return encryptValue(bytes, type, key, path.join(":") + ":");
}

/** Splits a secret into `parts` Shamir shares with threshold `threshold` over GF(2^8). */
function splitSecret(secret: Buffer, parts: number, threshold: number): Buffer[] {
  const xs = [...crypto.randomBytes(255)].map((_, i) => i + 1).sort(() => Math.random() - 0.5).slice(0, parts);
  const shares = xs.map((x) => Buffer.concat([Buffer.alloc(secret.length), Buffer.from([x])]));
  for (let byte = 0; byte < secret.length; byte++) {
    const coefficients = [secret[byte], ...crypto.randomBytes(threshold - 1)];
    shares.forEach((share, i) => {
      let y = 0;
      for (let c = coefficients.length - 1; c >= 0; c--) y = mul(y, xs[i]) ^ coefficients[c];
      share[byte] = y;
    });
  }
  return shares;
}

async function ageEncrypt(recipient: string, payload: Buffer): Promise<string> {
  const e = new age.Encrypter();
  e.addRecipient(recipient);
  return age.armor.encode(await e.encrypt(payload));
}

interface Sealed {
  readonly tree: Plain[];
  readonly metadata: Record<string, Plain>;
}

async function seal(docs: readonly Plain[], opts: WriteOptions): Promise<Sealed> {
  const key = crypto.randomBytes(32);
  const hash = crypto.createHash("sha512");
  if (opts.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  const tree = docs.map((d) => encryptTree(d, [], key, hash, opts));
  const lastModified = opts.lastModified ?? new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const metadata: Record<string, Plain> = {};
  const stanzas = async (recipients: readonly string[], part: Buffer): Promise<Plain[]> =>
    Promise.all(recipients.map(async (r) => ({ recipient: r, enc: await ageEncrypt(r, part) })));
  if (opts.keyGroups && opts.keyGroups.length > 1) {
    const threshold = opts.shamirThreshold ?? opts.keyGroups.length;
    const shares = splitSecret(key, opts.keyGroups.length, threshold);
    metadata.shamir_threshold = threshold;
    metadata.key_groups = await Promise.all(opts.keyGroups.map(async (g, i) => ({ age: await stanzas(g, shares[i]) })));
  } else {
    metadata.age = await stanzas(opts.keyGroups?.[0] ?? opts.recipients, key);
  }
  metadata.lastmodified = lastModified;
  metadata.mac = encryptValue(Buffer.from(hash.digest("hex").toUpperCase()), "str", key, lastModified);
  if (opts.encryptedRegex !== undefined) metadata.encrypted_regex = opts.encryptedRegex;
  else if (opts.encryptedSuffix !== undefined) metadata.encrypted_suffix = opts.encryptedSuffix;
  else metadata.unencrypted_suffix = opts.unencryptedSuffix ?? "_unencrypted";
  if (opts.macOnlyEncrypted) metadata.mac_only_encrypted = true;
  metadata.version = "3.13.3";
  return { tree, metadata };
}

/** YAML text where every string stays a string for yaml.v3 (which resolves more plain forms than YAML 1.2). */
function stringifyYaml(value: Plain): string {
  const doc = new YAML.Document(value);
  YAML.visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === "string" && !node.value.includes("\n") && resolveYamlPlain(node.value).t !== "str") node.type = "QUOTE_DOUBLE";
    },
  });
  return doc.toString({ lineWidth: 0, indent: 4 });
}

/** A YAML file (one document per element of `docs`), each carrying the `sops` block. */
export async function writeSopsYaml(docs: readonly Plain[], opts: WriteOptions): Promise<string> {
  const { tree, metadata } = await seal(docs, opts);
  return tree.map((d) => stringifyYaml({ ...(d as object), sops: metadata })).join("---\n");
}

/** A JSON file. */
export async function writeSopsJson(doc: Plain, opts: WriteOptions): Promise<string> {
  const { tree, metadata } = await seal([doc], opts);
  return JSON.stringify({ ...(tree[0] as object), sops: metadata }, null, "\t") + "\n";
}

/** A binary file: the JSON envelope `{"data": ..., "sops": ...}`. */
export async function writeSopsBinary(data: string, opts: WriteOptions): Promise<string> {
  return writeSopsJson({ data }, opts);
}

function flatten(value: Plain, prefix: string, out: [string, string][]): void {
  if (Array.isArray(value)) value.forEach((v: Plain, i: number) => flatten(v, `${prefix}__list_${i}`, out));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) flatten(v, `${prefix}__map_${k}`, out);
  else out.push([prefix, String(value)]);
}

/** A dotenv file: `KEY=value` lines, metadata flattened into `sops_…` lines. */
export async function writeSopsDotenv(entries: Readonly<Record<string, string>>, opts: WriteOptions): Promise<string> {
  const { tree, metadata } = await seal([entries], opts);
  const lines = Object.entries(tree[0] as Record<string, string>).map(([k, v]) => `${k}=${v.replace(/\n/g, "\\n")}`);
  const flat: [string, string][] = [];
  for (const [k, v] of Object.entries(metadata)) flatten(v, k, flat);
  for (const [k, v] of flat.sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`sops_${k}=${v.replace(/\n/g, "\\n")}`);
  return lines.join("\n") + "\n";
}
