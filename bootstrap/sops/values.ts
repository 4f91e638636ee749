/**
 * SOPS values: `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>]`, AES-256-GCM with the
 * value's key path as additional data, and the bytes each plaintext contributes to the MAC
 * (getsops/sops v3.13.3 `aes/cipher.go` and `sops.go` ToBytes). Plaintexts live only in this
 * module and `verify.ts`.
 */
import * as crypto from "node:crypto";
import { type GoTime, formatGoFloat, marshalGoTime, parseGoAtoi, parseGoBool, parseGoFloat, parseRfc3339 } from "./go";
import type { TreeLeaf } from "./tree";

export interface EncValue {
  readonly data: Buffer;
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly type: string;
}

const ENC_PREFIX = "ENC[AES256_GCM,data:";

/**
 * sops's regexp `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` (not anchored at the
 * end; Go's `.` is anything but a newline), with its greedy groups, in linear time: a backtracking
 * regexp takes minutes on a few kilobytes of repeated ",iv:,tag:,type:". Each group takes the
 * most it can while the rest still matches, so on the first line each separator is the last one
 * that leaves room for the groups after it.
 */
function matchEncForm(s: string): { data: string; iv: string; tag: string; type: string } | undefined {
  if (!s.startsWith(ENC_PREFIX)) return undefined;
  const newline = s.indexOf("\n");
  const line = newline < 0 ? s : s.slice(0, newline);
  const last = (what: string, atMost: number): number => (atMost < 0 ? -1 : line.lastIndexOf(what, atMost));
  const bracket = line.lastIndexOf("]");
  const type = last(",type:", bracket - 7);
  const tag = last(",tag:", type - 6);
  const iv = last(",iv:", tag - 5);
  if (iv < ENC_PREFIX.length + 1 || tag < iv + 5 || type < tag + 6 || bracket < type + 7) return undefined;
  return { data: line.slice(ENC_PREFIX.length, iv), iv: line.slice(iv + 4, tag), tag: line.slice(tag + 5, type), type: line.slice(type + 6, bracket) };
}

/** Whether a string has the form of an encrypted value as sops's regexp reads it (it may still be malformed). */
export function hasEncForm(s: string): boolean {
  return matchEncForm(s) !== undefined;
}
// Linear (no repeated group), so that a value of many megabytes does not exhaust the regexp stack.
const STD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Go's `base64.StdEncoding.DecodeString`: padded, CR and LF ignored. */
function decodeStdBase64(s: string): Buffer | undefined {
  const compact = /[\r\n]/.test(s) ? s.replace(/[\r\n]/g, "") : s;
  return compact.length % 4 === 0 && STD_BASE64.test(compact) ? Buffer.from(compact, "base64") : undefined;
}

/** Whether a string is meant to be an encrypted value (it may still be malformed). */
export function looksEncrypted(s: string): boolean {
  return s.startsWith("ENC[");
}

/** Parses an encrypted value; a string describing the problem when it is malformed. */
export function parseEncValue(s: string): EncValue | string {
  const m = matchEncForm(s);
  if (!m) return "it does not have the ENC[AES256_GCM,data:…,iv:…,tag:…,type:…] form";
  const data = decodeStdBase64(m.data);
  const iv = decodeStdBase64(m.iv);
  const tag = decodeStdBase64(m.tag);
  if (!data) return "its data is not valid base64";
  if (!iv) return "its iv is not valid base64";
  if (!tag) return "its tag is not valid base64";
  if (iv.length === 0) return "its iv is empty";
  if (tag.length !== 16) return `its tag is ${tag.length} bytes, not 16`;
  return { data, iv, tag, type: m.type };
}

/** AES-256-GCM open; undefined when authentication fails. */
export function openEncValue(value: EncValue, key: Buffer, aad: Buffer): Buffer | undefined {
  const decipher = crypto.createDecipheriv("aes-256-gcm", key, value.iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(value.tag);
  try {
    return Buffer.concat([decipher.update(value.data), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** A decrypted value, typed as sops types it (`comment` values are not part of the MAC). */
export type Plaintext = TreeLeaf | { readonly t: "comment"; readonly text: string };

/**
 * Types decrypted bytes by the value's `type:` (sops's `Cipher.Decrypt`); a string describing
 * the problem when sops could not parse them (the message holds no plaintext).
 */
export function typePlaintext(bytes: Buffer, type: string): Plaintext | string {
  switch (type) {
    case "str":
      return { t: "bytes", bytes };
    case "bytes":
      return { t: "bytes", bytes };
    case "comment":
      return { t: "comment", text: bytes.toString("utf8") };
    case "int": {
      const i = parseGoAtoi(bytes.toString("latin1"));
      return i === undefined ? "its int plaintext does not parse" : { t: "int", i };
    }
    case "float": {
      const f = parseGoFloat(bytes.toString("latin1"));
      return f === undefined ? "its float plaintext does not parse" : { t: "float", f };
    }
    case "bool": {
      const b = parseGoBool(bytes.toString("latin1"));
      return b === undefined ? "its bool plaintext does not parse" : { t: "bool", b };
    }
    case "time": {
      const time: GoTime | undefined = parseRfc3339(bytes.toString("latin1"));
      return time === undefined ? "its time plaintext does not parse" : { t: "time", time };
    }
    default:
      return `its type ${JSON.stringify(type.slice(0, 20))} is unknown`;
  }
}

/**
 * The bytes a leaf adds to the MAC (sops `ToBytes`): strings as they are, ints in decimal,
 * floats in Go's shortest form, `True`/`False`, times as RFC 3339 with nanoseconds.
 * `legacyJson` hashes integers as the float64 sops before 3.13.2 decoded JSON numbers to.
 */
export function macBytes(leaf: TreeLeaf, encoding: "utf8" | "latin1", legacyJson = false): Buffer | undefined {
  switch (leaf.t) {
    case "str":
      return Buffer.from(leaf.s, encoding);
    case "bytes":
      return leaf.bytes;
    case "int":
      return Buffer.from(legacyJson ? formatGoFloat(Number(leaf.i)) : leaf.i.toString());
    case "float":
      return Buffer.from(formatGoFloat(leaf.f));
    case "bool":
      return Buffer.from(leaf.b ? "True" : "False");
    case "time":
      return Buffer.from(marshalGoTime(leaf.time));
    case "null":
      return undefined;
    case "uint":
      return undefined;
  }
}
