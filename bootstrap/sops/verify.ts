/**
 * Verifies one SOPS file the way `sops --decrypt` does (getsops/sops v3.13.3 `DecryptTree`):
 * recover the data key from an age stanza, decrypt and authenticate every value that the file's
 * rule says is encrypted, hash every value in document order and compare with the encrypted
 * MAC. Plaintexts never leave this module except through {@link examineSopsFile} with
 * `collect`, which only `internal/decrypt.ts` uses.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs/promises";
import type { AgeIdentities } from "../../components/settings/age-identities";
import { marshalGoTime } from "./go";
import { type KeyGroup, MetadataError, type SopsMetadata, isSopsMetadata, readMetadata } from "./metadata";
import { combineShares } from "./shamir";
import { type CoveringRule, ruleClaim, sopsClaim } from "./claims";
import { detectFormat, loadSopsFile } from "./stores";
import {
  CheckLimitError,
  type ParsedSopsFile,
  type SopsFormat,
  type TreeLeaf,
  type TreeMap,
  type TreeNode,
  TreeParseError,
  displayPath,
} from "./tree";
import type { SopsFileResult } from "./types";
import { type Rule, type RuleState, makeRule } from "./selector";
import { type EncValue, hasEncForm, looksEncrypted, macBytes, openEncValue, parseEncValue, typePlaintext } from "./values";

/** sops's constant first 32 bytes of the hash when `mac_only_encrypted` is set (sha256("sops")). */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from("8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69", "hex");

type Failure = Exclude<SopsFileResult, { kind: "ok" }>;

function result<K extends SopsFileResult["kind"]>(
  path: string,
  kind: K,
  detail: string,
  extra: Omit<Extract<SopsFileResult, { kind: K }>, "kind" | "path" | "detail" | "reason">,
): Extract<SopsFileResult, { kind: K }> {
  return { kind, path, detail, reason: `${path}: ${detail}`, ...extra } as Extract<SopsFileResult, { kind: K }>;
}

/** A problem found while walking the values; becomes the file's result. */
class WalkProblem extends Error {
  constructor(
    readonly kind: "tampered-value" | "malformed",
    readonly keyPath: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** A decrypted document (internal use only): maps as objects, in file order. */
export type DecryptedDocument = Record<string, unknown>;

export interface Examination {
  readonly result: SopsFileResult;
  /** Decrypted documents, only with `collect` and only when the result is ok. */
  readonly documents?: readonly DecryptedDocument[];
}

/** The text the claim markers are looked for in: all of it, or its start and end when it is big. */
function markerText(content: Buffer): string {
  const edge = 256 * 1024;
  if (content.length <= 2 * edge) return content.toString("latin1");
  return content.toString("latin1", 0, edge) + "\n" + content.toString("latin1", content.length - edge);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function shortRecipient(r: string): string {
  return r.length > 24 ? `${r.slice(0, 12)}…${r.slice(-6)}` : r;
}

interface DataKey {
  readonly key: Buffer;
  readonly openedBy: string;
  readonly warnings: readonly string[];
}

async function openGroup(group: KeyGroup, identities: AgeIdentities, malformed: string[]): Promise<{ part: Buffer; recipient: string } | undefined> {
  // Try our own recipients' stanzas first; the recipient field is a hint, not trusted.
  const ours = new Set(identities.recipients);
  const ordered = [...group.age.filter((s) => ours.has(s.recipient)), ...group.age.filter((s) => !ours.has(s.recipient))];
  for (const stanza of ordered) {
    const opened = await identities.open(stanza.enc);
    if (opened.kind === "ok") return { part: opened.payload, recipient: stanza.recipient };
    if (opened.kind === "malformed") malformed.push(`the age stanza for ${shortRecipient(stanza.recipient)} is malformed (${opened.what})`);
  }
  return undefined;
}

async function recoverDataKey(path: string, format: SopsFormat, md: SopsMetadata, identities: AgeIdentities): Promise<DataKey | Failure> {
  const malformed: string[] = [];
  const parts: { part: Buffer; recipient: string }[] = [];
  for (const group of md.keyGroups) {
    const opened = await openGroup(group, identities, malformed);
    if (opened) parts.push(opened);
  }
  const recipients = md.keyGroups.flatMap((g) => g.age.map((s) => s.recipient));
  let key: Buffer | undefined;
  if (md.keyGroups.length === 1) {
    key = parts[0]?.part;
  } else if (parts.length >= Math.max(md.shamirThreshold, 2)) {
    key = combineShares(parts.map((p) => p.part));
    if (!key) return result(path, "malformed", "the key groups' parts of the data key do not combine", { format });
  } else if (parts.length > 0 && malformed.length === 0) {
    const needed = md.shamirThreshold || md.keyGroups.length;
    return result(path, "wrong-key", `the data key is split over ${md.keyGroups.length} key groups (${needed} needed); your identities open ${parts.length}`, {
      format,
      recipients,
    });
  }
  if (!key) {
    if (malformed.length > 0) return result(path, "malformed", malformed[0], { format });
    return result(
      path,
      "wrong-key",
      `it is encrypted for ${recipients.map(shortRecipient).join(", ")}, and none of your identities (${identities.recipients.map(shortRecipient).join(", ")}) opens it`,
      { format, recipients },
    );
  }
  if (key.length !== 32) return result(path, "malformed", `the data key is ${key.length} bytes, not 32`, { format });
  return { key, openedBy: parts[0].recipient, warnings: malformed };
}


function pathAad(path: readonly string[], encoding: "utf8" | "latin1"): Buffer {
  return Buffer.from(path.join(":") + ":", encoding);
}

/** A key path as a chain to its parent, so a deep tree's paths share their prefixes. */
interface PathLink {
  readonly key: string;
  readonly parent: PathLink | undefined;
}

function keysOf(link: PathLink | undefined): string[] {
  const keys: string[] = [];
  for (let l = link; l; l = l.parent) keys.push(l.key);
  return keys.reverse();
}

/**
 * Receives each node in document order with its key path and rule state; for a map or list it
 * may return how its children's results are attached (the key is "" in lists), and each child
 * then gets that as `attach`.
 */
type NodeVisitor = (
  value: TreeNode,
  path: PathLink | undefined,
  state: RuleState,
  attach: ((v: unknown) => void) | undefined,
) => ((key: string, v: unknown) => void) | undefined;

/**
 * Walks a tree in document order, as sops's walk does, with an explicit stack: nesting as deep
 * as the stores allow (10,000 JSON levels) cannot overflow the call stack.
 */
function walkTree(root: TreeNode, rule: Rule, visit: NodeVisitor): void {
  const stack: { value: TreeNode; path: PathLink | undefined; state: RuleState; attach: ((v: unknown) => void) | undefined }[] = [
    { value: root, path: undefined, state: rule.initial, attach: undefined },
  ];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const { value, path, state } = top;
    const attachChild = visit(value, path, state, top.attach);
    if (value.t === "map") {
      for (let i = value.items.length - 1; i >= 0; i--) {
        const item = value.items[i];
        const attach = attachChild && ((v: unknown): void => attachChild(item.key, v));
        stack.push({ value: item.value, path: { key: item.key, parent: path }, state: rule.step(state, item.key, item.comments), attach });
      }
    } else if (value.t === "list") {
      for (let i = value.items.length - 1; i >= 0; i--) {
        const attach = attachChild && ((v: unknown): void => attachChild("", v));
        stack.push({ value: value.items[i], path, state: rule.enter(state, value.itemComments?.[i]), attach });
      }
    }
  }
}

interface WalkOutput {
  readonly mac: string;
  readonly legacyMac: string | undefined;
  readonly encryptedValues: number;
  readonly mapPaths: readonly (PathLink | undefined)[];
  readonly documents: DecryptedDocument[] | undefined;
}

function plainValue(leaf: TreeLeaf, encoding: "utf8" | "latin1"): unknown {
  switch (leaf.t) {
    case "str":
      return encoding === "latin1" ? Buffer.from(leaf.s, "latin1").toString("utf8") : leaf.s;
    case "bytes":
      return leaf.bytes.toString("utf8");
    case "int":
      return leaf.i >= BigInt(Number.MIN_SAFE_INTEGER) && leaf.i <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(leaf.i) : leaf.i;
    case "float":
      return leaf.f;
    case "bool":
      return leaf.b;
    case "time":
      return marshalGoTime(leaf.time);
    default:
      return null;
  }
}

function walkValues(parsed: ParsedSopsFile, md: SopsMetadata, key: Buffer, collect: boolean): WalkOutput {
  const rule = makeRule(md.rule, parsed.commentsPlaced === true);
  const hash = crypto.createHash("sha512");
  const legacy = parsed.hasLegacyJsonNumbers ? crypto.createHash("sha512") : undefined;
  if (md.macOnlyEncrypted) {
    hash.update(MAC_ONLY_ENCRYPTED_INIT);
    legacy?.update(MAC_ONLY_ENCRYPTED_INIT);
  }
  const encoding = parsed.encoding;
  const mapPaths: (PathLink | undefined)[] = [];
  let encryptedValues = 0;

  const leaf = (value: TreeLeaf, link: PathLink | undefined, state: RuleState): unknown => {
    if (value.t === "null") return null;
    // The path is spelled out only when needed: leaves under a deep key share its long path.
    const where = (): string => displayPath(keysOf(link));
    if (value.t === "uint") throw new WalkProblem("malformed", where(), `the integer at ${where()} is beyond int64, which sops cannot handle`);
    if (rule.encrypted(state, value)) {
      if (value.t !== "str") throw new WalkProblem("tampered-value", where(), `the value at ${where()} is plaintext, but the file's ${md.rule.kind} rule says it is encrypted`);
      if (value.s === "") return "";
      const enc: EncValue | string = parseEncValue(value.s);
      if (typeof enc === "string") {
        if (looksEncrypted(value.s)) throw new WalkProblem("malformed", where(), `the encrypted value at ${where()} is malformed: ${enc}`);
        throw new WalkProblem("tampered-value", where(), `the value at ${where()} is plaintext, but the file's ${md.rule.kind} rule says it is encrypted`);
      }
      const plain = openEncValue(enc, key, pathAad(keysOf(link), encoding));
      if (!plain) throw new WalkProblem("tampered-value", where(), `the encrypted value at ${where()} fails authentication (its ciphertext, iv, tag or key path was changed)`);
      const typed = typePlaintext(plain, enc.type);
      if (typeof typed === "string") throw new WalkProblem("malformed", where(), `the encrypted value at ${where()} is malformed: ${typed}`);
      encryptedValues++;
      if (typed.t === "comment") return undefined;
      const bytes = macBytes(typed, encoding);
      if (bytes) {
        hash.update(bytes);
        legacy?.update(bytes);
      }
      return collect ? plainValue(typed, encoding) : undefined;
    }
    if (value.t === "str" && hasEncForm(value.s)) {
      throw new WalkProblem("tampered-value", where(), `the value at ${where()} is encrypted, but the file's ${md.rule.kind} rule says it is plaintext (was ${md.rule.kind.includes("comment") ? "a comment before it" : "the rule"} changed?)`);
    }
    if (!md.macOnlyEncrypted) {
      const bytes = macBytes(value, encoding);
      if (bytes) hash.update(bytes);
      if (legacy) {
        const legacyBytes = macBytes(value, encoding, true);
        if (legacyBytes) legacy.update(legacyBytes);
      }
    }
    return collect ? plainValue(value, encoding) : undefined;
  };

  const documents: DecryptedDocument[] = [];
  for (const branch of parsed.branches) {
    walkTree(branch, rule, (value, path, state, attach) => {
      if (value.t === "map") {
        mapPaths.push(path);
        const out: DecryptedDocument = {};
        if (attach) attach(out);
        else if (path === undefined) documents.push(out);
        return collect ? (key, v) => void (out[encoding === "latin1" ? Buffer.from(key, "latin1").toString("utf8") : key] = v) : undefined;
      }
      if (value.t === "list") {
        const out: unknown[] = [];
        attach?.(out);
        // Encrypted comments inside lists decrypt to comments, which are not values.
        return collect ? (_, v) => void (v !== undefined && out.push(v)) : undefined;
      }
      const v = leaf(value, path, state);
      attach?.(v);
      return undefined;
    });
  }
  return {
    mac: hash.digest("hex").toUpperCase(),
    legacyMac: legacy?.digest("hex").toUpperCase(),
    encryptedValues,
    mapPaths,
    documents: collect ? documents : undefined,
  };
}

/**
 * Every value the rule says is encrypted and that is meant as an ENC value is well formed:
 * checked before the key is needed, so the result does not depend on the key.
 */
function findMalformedValue(parsed: ParsedSopsFile, md: SopsMetadata): { keyPath: string; detail: string } | undefined {
  const rule = makeRule(md.rule, parsed.commentsPlaced === true);
  let found: { keyPath: string; detail: string } | undefined;
  for (const branch of parsed.branches) {
    walkTree(branch, rule, (value, link, state) => {
      if (found || value.t !== "str" || !looksEncrypted(value.s) || !rule.encrypted(state, value)) return undefined;
      const enc = parseEncValue(value.s);
      const where = displayPath(keysOf(link));
      if (typeof enc === "string") found = { keyPath: where, detail: `the encrypted value at ${where} is malformed: ${enc}` };
      return undefined;
    });
    if (found) return found;
  }
  return undefined;
}

/**
 * Each encrypted comment is tried under every map's key path until one opens it: a file of many
 * comments that open only under its last map would cost their product.
 */
const MAX_COMMENT_TRIALS = 200_000;

/**
 * Encrypted comments must authenticate under the key path of some map of the file; one that does
 * not is suspicious (sops keeps it, with a warning).
 */
function checkComments(
  parsed: ParsedSopsFile,
  key: Buffer,
  mapLinks: readonly (PathLink | undefined)[],
): { keyPath: string; detail: string } | undefined {
  let mapPaths: (readonly string[])[] | undefined;
  let trials = 0;
  const opens = (enc: EncValue, p: readonly string[]): boolean => {
    if (++trials > MAX_COMMENT_TRIALS) {
      throw new CheckLimitError(`its encrypted comments need more than ${MAX_COMMENT_TRIALS.toLocaleString("en")} authentication attempts`);
    }
    return openEncValue(enc, key, pathAad(p, parsed.encoding)) !== undefined;
  };
  for (const comment of parsed.comments) {
    if (!hasEncForm(comment.text)) continue;
    const enc = parseEncValue(comment.text);
    if (typeof enc === "string") continue;
    mapPaths ??= mapLinks.map(keysOf);
    const candidates = [comment.path, ...mapPaths];
    if (!candidates.some((p) => opens(enc, p))) {
      const where = displayPath(comment.path);
      const detail = `sops would accept this, but an encrypted comment near ${where} fails authentication, so it was changed after encryption (sops keeps a comment it cannot decrypt as it is, with a warning)`;
      return { keyPath: where, detail };
    }
  }
  return undefined;
}

/** What the repository knows about a file that the file itself does not say. */
export interface ExamineHints {
  /** The `.sops.yaml` creation rule whose path_regex covers the file. */
  readonly rule?: CoveringRule;
}

/**
 * A file that does not parse under a covering creation rule: read up to its last complete line,
 * is it a file the rule would have encrypted (cut off before any encrypted value)?
 */
function ruleClaimOfCutFile(content: Buffer, format: SopsFormat, hints: ExamineHints): string | undefined {
  const end = content.lastIndexOf(0x0a);
  if (!hints.rule || end <= 0 || end === content.length - 1) return undefined;
  try {
    return ruleClaim(loadSopsFile(content.subarray(0, end + 1), format).branches, hints.rule);
  } catch {
    return undefined;
  }
}

/**
 * Why reading a file failed, for its result: the check's limit, or (for an error no store
 * explains: a stack overflow, memory) the error's kind. Never the message of an unexpected
 * error, which might quote content.
 */
function unreadableReason(err: unknown): string {
  if (err instanceof CheckLimitError) return err.message;
  if (err instanceof RangeError) return "reading it exhausted the check's stack or memory (RangeError)";
  return `reading it failed unexpectedly (${err instanceof Error ? err.name : typeof err})`;
}

/**
 * Examines one file's content. `path` is only for messages. With `collect`, an ok result also
 * returns the decrypted documents: internal use only (see `internal/decrypt.ts`). Whatever the
 * content, the answer is a result for this file, never a thrown error.
 */
export async function examineSopsFile(content: Buffer, path: string, identities: AgeIdentities, collect = false, hints: ExamineHints = {}): Promise<Examination> {
  try {
    return await examineUnguarded(content, path, identities, collect, hints);
  } catch (err) {
    const reason = unreadableReason(err);
    const why = sopsClaim(path, markerText(content), hints.rule?.name, true);
    if (!why) return { result: result(path, "not-sops", `not judged as a SOPS file (${reason}), and nothing says it is one`, {}) };
    return { result: result(path, "unreadable", `${reason}, so it was not verified; it is meant to be a SOPS file: ${why}`, {}) };
  }
}

async function examineUnguarded(
  content: Buffer,
  path: string,
  identities: AgeIdentities,
  collect: boolean,
  hints: ExamineHints,
): Promise<Examination> {
  const format = detectFormat(path, content.toString("latin1", 0, Math.min(content.length, 1 << 20)));
  const claim = (unreadable: boolean): string | undefined => sopsClaim(path, markerText(content), hints.rule?.name, unreadable);
  let parsed: ParsedSopsFile;
  try {
    parsed = loadSopsFile(content, format);
  } catch (err) {
    if (!(err instanceof TreeParseError)) throw err;
    const why = claim(true) ?? ruleClaimOfCutFile(content, format, hints);
    if (!why) return { result: result(path, "not-sops", `not a SOPS file (${err.message})`, {}) };
    return { result: result(path, "malformed", `${err.message}; sops cannot read it either, and it is meant to be a SOPS file: ${why}`, { format, keyPath: err.keyPath }) };
  }
  if (!isSopsMetadata(parsed.metadata)) {
    const marked = claim(false);
    const why = marked ?? (hints.rule && ruleClaim(parsed.branches, hints.rule));
    const later = parsed.laterMetadata.some((m) => m.t === "map" && isSopsMetadata(m));
    if (later) {
      const detail = "the first YAML document has no sops metadata but a later one has: sops reads it only from the first document, so it cannot decrypt the file (was the file cut, or its documents reordered?)";
      return { result: result(path, "malformed", detail, { format: parsed.format, keyPath: "sops" }) };
    }
    if (!why) return { result: result(path, "not-sops", "not a SOPS file: it has no sops metadata (a top-level sops map with mac and lastmodified)", {}) };
    if (parsed.sopsEntry !== undefined && parsed.sopsEntry.t !== "map") {
      return { result: result(path, "malformed", `its sops entry is not a map, so sops cannot read its metadata (${why})`, { format: parsed.format, keyPath: "sops" }) };
    }
    if (parsed.metadata === undefined) {
      const fix = marked ? "" : `; encrypt it (sops encrypt --in-place ${path}), or narrow the rule's path_regex if it is meant to stay plain`;
      return { result: result(path, "malformed", `it has no sops metadata, so sops cannot decrypt it, but ${why} (cut off before its metadata, or never encrypted?)${fix}`, { format: parsed.format }) };
    }
    // A sops map without mac and lastmodified in a file meant as a SOPS file: cut-off metadata,
    // which readMetadata below names.
  }
  const fmt = parsed.format;
  let md: SopsMetadata;
  try {
    md = readMetadata(parsed.metadata as TreeMap);
  } catch (err) {
    if (err instanceof MetadataError) return { result: result(path, "malformed", err.message, { format: fmt }) };
    throw err;
  }
  const examined = await examineWithMetadata(parsed, md, path, identities, collect);
  return md.rule.invalid ? withRuleNote(examined, md.rule.invalid) : examined;
}

/**
 * A file whose encryption rule is not a valid Go regular expression: sops ignores the error and
 * matches nothing with it, and so does the check; the result says so.
 */
function withRuleNote(examined: Examination, note: string): Examination {
  const r = examined.result;
  if (r.kind === "ok") return { ...examined, result: { ...r, warnings: [...r.warnings, note] } };
  const detail = `${r.detail} (${note})`;
  return { ...examined, result: { ...r, detail, reason: `${r.path}: ${detail}` } };
}

async function examineWithMetadata(parsed: ParsedSopsFile, md: SopsMetadata, path: string, identities: AgeIdentities, collect: boolean): Promise<Examination> {
  const fmt = parsed.format;
  if (md.mac === "") return { result: result(path, "malformed", "it has no MAC (sops.mac is missing or empty)", { format: fmt }) };
  const macEnc = parseEncValue(md.mac);
  if (typeof macEnc === "string") return { result: result(path, "malformed", `sops.mac is malformed: ${macEnc}`, { format: fmt }) };
  const badValue = findMalformedValue(parsed, md);
  if (badValue) return { result: result(path, "malformed", badValue.detail, { format: fmt, keyPath: badValue.keyPath }) };

  const ageCount = md.keyGroups.reduce((n, g) => n + g.age.length, 0);
  if (ageCount === 0) {
    const others = md.keyGroups.flatMap((g) => g.others);
    const keyTypes = [...new Set(others.map((o) => o.type))];
    const ids = others.map((o) => `${o.type} ${shortRecipient(o.id)}`).join(", ");
    return { result: result(path, "not-age", `it is encrypted only to non-age keys (${ids}); an age key cannot decrypt it`, { format: fmt, keyTypes }) };
  }

  const dataKey = await recoverDataKey(path, fmt, md, identities);
  if ("kind" in dataKey) return { result: dataKey };

  let walked: WalkOutput;
  try {
    walked = walkValues(parsed, md, dataKey.key, collect);
  } catch (err) {
    if (!(err instanceof WalkProblem)) throw err;
    return { result: result(path, err.kind, err.message, { format: fmt, keyPath: err.keyPath }) };
  }
  const macPlain = openEncValue(macEnc, dataKey.key, Buffer.from(md.macAad));
  if (!macPlain || macEnc.type !== "str") {
    return { result: result(path, "mac-mismatch", "the MAC does not authenticate (sops.mac or sops.lastmodified was changed)", { format: fmt }) };
  }
  const fileMac = macPlain.toString("latin1");
  if (fileMac !== walked.mac && fileMac !== walked.legacyMac) {
    return {
      result: result(path, "mac-mismatch", "the values do not match the MAC (a value, a key or their order changed after encryption)", { format: fmt }),
    };
  }
  const metadataKey = (n: TreeNode): string => JSON.stringify(n, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
  const laterIndex = parsed.laterMetadata.findIndex((m) => metadataKey(m) !== metadataKey(parsed.metadata as TreeMap));
  if (laterIndex >= 0) {
    const detail = `sops would accept this, but the sops metadata of YAML document ${laterIndex + 2} differs from the first document's: sops writes the same into every document and reads only the first, so it was changed after encryption`;
    return { result: result(path, "suspicious", detail, { format: fmt, keyPath: "sops" }) };
  }
  const commentProblem = checkComments(parsed, dataKey.key, walked.mapPaths);
  if (commentProblem) return { result: result(path, "suspicious", commentProblem.detail, { format: fmt, keyPath: commentProblem.keyPath }) };

  const detail = `${plural(walked.encryptedValues, "encrypted value")} decrypted, MAC verified (opened with ${shortRecipient(dataKey.openedBy)})`;
  return {
    result: result(path, "ok", detail, {
      format: fmt,
      encryptedValues: walked.encryptedValues,
      openedBy: dataKey.openedBy,
      warnings: dataKey.warnings,
    }),
    documents: walked.documents,
  };
}

/** Verifies a SOPS file's content; see {@link SopsFileResult} for what each result means. */
export async function verifySopsContent(content: Buffer, path: string, identities: AgeIdentities, hints: ExamineHints = {}): Promise<SopsFileResult> {
  return (await examineSopsFile(content, path, identities, false, hints)).result;
}

/**
 * Verifies the SOPS file at `file` with the identities. `displayName` (default: `file`) is how
 * results name it. Reading errors are thrown; everything about the content is a result.
 */
export async function verifySopsFile(file: string, identities: AgeIdentities, displayName = file): Promise<SopsFileResult> {
  return verifySopsContent(await fs.readFile(file), displayName, identities);
}


