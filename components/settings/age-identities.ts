/**
 * age identities and the age file format (https://age-encryption.org/v1), as far as SOPS needs
 * them: each `sops.age[].enc` is an armored age file whose payload is the file's 32-byte data key.
 *
 * X25519 stanzas are unwrapped with node:crypto (one Diffie-Hellman and two small AEAD
 * operations, native); every other stanza type, notably the post-quantum hybrid
 * `mlkem768x25519`, goes through the `age-encryption` library. Identities are parsed once per
 * check and never leave this module: nothing here prints, returns or serialises key material.
 */
import * as crypto from "node:crypto";
import { inspect } from "node:util";
import * as age from "age-encryption";

const BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32_GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function bech32Polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= BECH32_GENERATOR[i];
  }
  return chk >>> 0;
}

function bech32HrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

function convertBits(data: readonly number[], from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (const value of data) {
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    return undefined;
  }
  return out;
}

/** Decodes a Bech32 string (age's encoding for keys; no length limit). */
export function bech32Decode(s: string): { hrp: string; bytes: Buffer } | undefined {
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) return undefined;
  const lower = s.toLowerCase();
  const sep = lower.lastIndexOf("1");
  if (sep < 1 || sep + 7 > lower.length) return undefined;
  const hrp = lower.slice(0, sep);
  const data: number[] = [];
  for (const c of lower.slice(sep + 1)) {
    const v = BECH32_CHARSET.indexOf(c);
    if (v < 0) return undefined;
    data.push(v);
  }
  if (bech32Polymod([...bech32HrpExpand(hrp), ...data]) !== 1) return undefined;
  const bytes = convertBits(data.slice(0, -6), 5, 8, false);
  return bytes ? { hrp, bytes: Buffer.from(bytes) } : undefined;
}

export function bech32Encode(hrp: string, bytes: Uint8Array): string {
  const data = convertBits([...bytes], 8, 5, true) ?? [];
  const polymod = bech32Polymod([...bech32HrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (polymod >>> (5 * (5 - i))) & 31);
  return hrp + "1" + [...data, ...checksum].map((v) => BECH32_CHARSET[v]).join("");
}

const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

interface X25519Key {
  readonly identity: string;
  readonly privateKey: crypto.KeyObject;
  readonly publicKey: Buffer;
  readonly recipient: string;
}

interface HybridKey {
  readonly identity: string;
  readonly recipient: string;
}

/** Where identities came from, for messages (a path or an environment variable name). */
export type IdentitySource = string;

/** Thrown for an identity file that cannot be used; the message never contains key material. */
export class AgeIdentityError extends Error {}

/**
 * A set of age identities (X25519 `AGE-SECRET-KEY-1…` and post-quantum hybrid
 * `AGE-SECRET-KEY-PQ-1…`), parsed once. Only their public recipients can be read; printing,
 * logging or serialising the object shows the recipients, never a key.
 */
export class AgeIdentities {
  readonly #x25519: readonly X25519Key[];
  readonly #hybrid: readonly HybridKey[];
  #hybridDecrypter: age.Decrypter | undefined;

  private constructor(x25519: readonly X25519Key[], hybrid: readonly HybridKey[]) {
    this.#x25519 = x25519;
    this.#hybrid = hybrid;
  }

  /** The public recipients (`age1…`, `age1pq1…`). */
  get recipients(): readonly string[] {
    return [...this.#x25519, ...this.#hybrid].map((k) => k.recipient);
  }

  get size(): number {
    return this.#x25519.length + this.#hybrid.length;
  }

  /**
   * Parses identities: one per line, blank lines and lines starting with `#` ignored (an age
   * identity file); with `multiplePerLine`, any whitespace separates identities (`SOPS_AGE_KEY`).
   * Errors name the line, never its content.
   */
  static async parse(text: string, source: IdentitySource, multiplePerLine = false): Promise<AgeIdentities> {
    const x25519: X25519Key[] = [];
    const hybrid: HybridKey[] = [];
    const lines = text.split(/\r?\n/);
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n].trim();
      if (line === "" || line.startsWith("#")) continue;
      for (const word of multiplePerLine ? line.split(/\s+/) : [line]) {
        const where = `line ${n + 1} of ${source}`;
        if (word.startsWith("AGE-SECRET-KEY-PQ-1")) {
          const decoded = bech32Decode(word);
          if (!decoded || decoded.hrp !== "age-secret-key-pq-" || decoded.bytes.length !== 32) {
            throw new AgeIdentityError(`${where} is not a valid post-quantum age identity (bad checksum or length); copy it again from the key file`);
          }
          hybrid.push({ identity: word, recipient: await age.identityToRecipient(word) });
        } else if (word.startsWith("AGE-SECRET-KEY-1")) {
          const decoded = bech32Decode(word);
          if (!decoded || decoded.hrp !== "age-secret-key-" || decoded.bytes.length !== 32) {
            throw new AgeIdentityError(`${where} is not a valid age identity (bad checksum or length); copy it again from the key file`);
          }
          x25519.push(x25519Key(word, decoded.bytes));
        } else if (word.startsWith("AGE-PLUGIN-")) {
          throw new AgeIdentityError(`${where} is an age plugin identity (AGE-PLUGIN-…), which neither this tool nor the in-cluster decryptor can use; give a native age identity (AGE-SECRET-KEY-1…)`);
        } else if (/^age1/.test(word)) {
          throw new AgeIdentityError(`${where} is a public recipient (age1…), not a private identity; give the AGE-SECRET-KEY-1… line from age-keygen`);
        } else {
          throw new AgeIdentityError(`${where} is not an age identity (expected AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…)`);
        }
      }
    }
    return new AgeIdentities(x25519, hybrid);
  }

  /** No identities (a key that cannot be read offline). */
  static none(): AgeIdentities {
    return new AgeIdentities([], []);
  }

  /** Combines several sets (key file plus environment), dropping duplicates. */
  static merge(sets: readonly AgeIdentities[]): AgeIdentities {
    const x25519 = new Map<string, X25519Key>();
    const hybrid = new Map<string, HybridKey>();
    for (const set of sets) {
      for (const k of set.#x25519) if (!x25519.has(k.recipient)) x25519.set(k.recipient, k);
      for (const k of set.#hybrid) if (!hybrid.has(k.recipient)) hybrid.set(k.recipient, k);
    }
    return new AgeIdentities([...x25519.values()], [...hybrid.values()]);
  }

  /**
   * Opens one armored age file (a `sops.age[].enc`). Stanzas no identity matches give
   * `no-match`; anything that breaks the age format gives `malformed` naming the part.
   */
  async open(armored: string): Promise<AgeOpenResult> {
    let file: Buffer;
    try {
      file = Buffer.from(age.armor.decode(armored));
    } catch {
      return { kind: "malformed", what: "age armor" };
    }
    const header = parseAgeHeader(file);
    if (typeof header === "string") return { kind: "malformed", what: header };

    let fileKey: Uint8Array | undefined;
    const native = unwrapX25519(header.stanzas, this.#x25519);
    if (native === "malformed") return { kind: "malformed", what: "X25519 stanza" };
    fileKey = native;
    if (!fileKey && this.#hybrid.length > 0 && header.stanzas.some((s) => s.args[0] !== "X25519")) {
      if (!this.#hybridDecrypter) {
        this.#hybridDecrypter = new age.Decrypter();
        for (const k of this.#hybrid) this.#hybridDecrypter.addIdentity(k.identity);
      }
      try {
        fileKey = await this.#hybridDecrypter.decryptHeader(header.text);
      } catch (err) {
        if (err instanceof Error && /no identity matched/.test(err.message)) return { kind: "no-match" };
        return { kind: "malformed", what: err instanceof Error && /HMAC/.test(err.message) ? "age header MAC" : "age stanza" };
      }
    }
    if (!fileKey) return { kind: "no-match" };

    const macKey = hkdfSha256(fileKey, Buffer.alloc(0), "header");
    const mac = crypto.createHmac("sha256", macKey).update(header.macInput).digest();
    if (!crypto.timingSafeEqual(mac, header.mac)) return { kind: "malformed", what: "age header MAC" };
    const payload = decryptPayload(fileKey, header.payload);
    if (!payload) return { kind: "malformed", what: "age payload" };
    return { kind: "ok", payload };
  }

  /** The identity whose recipient is `recipient`, alone; undefined when none has it. */
  select(recipient: string): AgeIdentities | undefined {
    const x25519 = this.#x25519.filter((k) => k.recipient === recipient);
    const hybrid = this.#hybrid.filter((k) => k.recipient === recipient);
    return x25519.length + hybrid.length > 0 ? new AgeIdentities(x25519, hybrid) : undefined;
  }

  /**
   * The identities as an age key file's text (one per line): only for where the key must go (the
   * cluster's Secret, a verifier worker thread), never for output.
   */
  revealIdentities(): string {
    return [...this.#x25519, ...this.#hybrid].map((k) => k.identity).join("\n");
  }

  toString(): string {
    return `AgeIdentities(${this.recipients.join(", ")})`;
  }

  toJSON(): { recipients: readonly string[] } {
    return { recipients: this.recipients };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function x25519Key(identity: string, scalar: Buffer): X25519Key {
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, scalar]), format: "der", type: "pkcs8" });
  const publicKey = crypto.createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(SPKI_X25519_PREFIX.length);
  return { identity, privateKey, publicKey, recipient: bech32Encode("age", publicKey) };
}

/** What opening one `sops.age[].enc` gave. */
export type AgeOpenResult =
  | { readonly kind: "ok"; readonly payload: Buffer }
  | { readonly kind: "no-match" }
  | { readonly kind: "malformed"; readonly what: string };

interface Stanza {
  readonly args: readonly string[];
  readonly body: Buffer;
}

interface AgeHeader {
  readonly stanzas: readonly Stanza[];
  /** The header up to and including `---`, which the header MAC covers. */
  readonly macInput: Buffer;
  readonly mac: Buffer;
  /** The whole textual header, MAC line included. */
  readonly text: Buffer;
  readonly payload: Buffer;
}

/** Unpadded standard base64, canonical (as age requires), or undefined. */
function decodeRawBase64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return undefined;
  const bytes = Buffer.from(s, "base64");
  return bytes.toString("base64").replace(/=+$/, "") === s ? bytes : undefined;
}

const VERSION_LINE = "age-encryption.org/v1";

function parseAgeHeader(file: Buffer): AgeHeader | string {
  let pos = 0;
  const readLine = (): string | undefined => {
    const end = file.indexOf(0x0a, pos);
    if (end < 0) return undefined;
    const line = file.toString("latin1", pos, end);
    pos = end + 1;
    return line;
  };
  if (readLine() !== VERSION_LINE) return "age version line";
  const stanzas: Stanza[] = [];
  for (;;) {
    const lineStart = pos;
    const line = readLine();
    if (line === undefined) return "truncated age header";
    if (line.startsWith("--- ")) {
      const mac = decodeRawBase64(line.slice(4));
      if (!mac || mac.length !== 32) return "age header MAC line";
      return { stanzas, macInput: file.subarray(0, lineStart + 3), mac, text: file.subarray(0, pos), payload: file.subarray(pos) };
    }
    if (!line.startsWith("-> ")) return "age stanza";
    const args = line.slice(3).split(" ");
    if (args.some((a) => a === "" || !/^[\x21-\x7e]+$/.test(a))) return "age stanza arguments";
    const chunks: Buffer[] = [];
    for (;;) {
      const bodyLine = readLine();
      if (bodyLine === undefined) return "truncated age stanza";
      const chunk = decodeRawBase64(bodyLine);
      if (!chunk || bodyLine.length > 64) return "age stanza body";
      chunks.push(chunk);
      if (bodyLine.length < 64) break;
    }
    stanzas.push({ args, body: Buffer.concat(chunks) });
  }
}

function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(crypto.hkdfSync("sha256", ikm, salt, info, 32));
}

function chachaOpen(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < 16) return undefined;
  const decipher = crypto.createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

const ZERO_NONCE = Buffer.alloc(12);
const X25519_LABEL = "age-encryption.org/v1/X25519";

/** Unwraps the file key from X25519 stanzas with node:crypto; undefined when no key matches. */
function unwrapX25519(stanzas: readonly Stanza[], keys: readonly X25519Key[]): Buffer | "malformed" | undefined {
  for (const stanza of stanzas) {
    if (stanza.args[0] !== "X25519") continue;
    const share = stanza.args.length === 2 ? decodeRawBase64(stanza.args[1]) : undefined;
    if (!share || share.length !== 32 || stanza.body.length !== 32) return "malformed";
    let peer: crypto.KeyObject;
    try {
      // From JWK: several times cheaper than parsing a DER SubjectPublicKeyInfo.
      peer = crypto.createPublicKey({ key: { kty: "OKP", crv: "X25519", x: share.toString("base64url") }, format: "jwk" });
    } catch {
      return "malformed";
    }
    for (const key of keys) {
      let secret: Buffer;
      try {
        secret = crypto.diffieHellman({ privateKey: key.privateKey, publicKey: peer });
      } catch {
        return "malformed"; // a low-order point: age rejects the stanza
      }
      if (secret.every((b) => b === 0)) return "malformed";
      const wrapKey = hkdfSha256(secret, Buffer.concat([share, key.publicKey]), X25519_LABEL);
      const fileKey = chachaOpen(wrapKey, ZERO_NONCE, stanza.body);
      if (fileKey) return fileKey;
    }
  }
  return undefined;
}

const CHUNK = 64 * 1024;

/** Decrypts the age STREAM payload (16-byte nonce, then ChaCha20-Poly1305 chunks). */
function decryptPayload(fileKey: Uint8Array, payload: Buffer): Buffer | undefined {
  if (payload.length < 16) return undefined;
  const key = hkdfSha256(fileKey, payload.subarray(0, 16), "payload");
  const body = payload.subarray(16);
  const out: Buffer[] = [];
  let offset = 0;
  for (let counter = 0; ; counter++) {
    const remaining = body.length - offset;
    const last = remaining <= CHUNK + 16;
    const sealed = body.subarray(offset, offset + Math.min(remaining, CHUNK + 16));
    const nonce = Buffer.alloc(12);
    nonce.writeUIntBE(counter, 5, 6);
    nonce[11] = last ? 1 : 0;
    const chunk = chachaOpen(key, nonce, sealed);
    if (!chunk || (chunk.length === 0 && counter > 0)) return undefined;
    out.push(chunk);
    offset += sealed.length;
    if (last) return Buffer.concat(out);
  }
}
