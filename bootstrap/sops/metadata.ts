/**
 * The `sops` metadata block, read as sops reads it (`stores/stores.go` `metadata.ToInternal`,
 * decoded with mapstructure's weak typing): key groups, the encryption rule, the MAC and its
 * `lastmodified`. A block sops would refuse is a {@link MetadataError}.
 */
import { type GoRegExp, type GoTime, compileGoRegExp, formatGoFloat, formatRfc3339, parseGoBool, parseRfc3339 } from "./go";
import type { TreeMap, TreeNode } from "./tree";

export class MetadataError extends Error {}

export interface AgeStanzaRef {
  readonly recipient: string;
  /** The armored age file holding this group's part of the data key. */
  readonly enc: string;
}

/** A non-age master key, for reporting: its type and public identifier. */
export interface OtherKeyRef {
  readonly type: "pgp" | "kms" | "gcp_kms" | "hckms" | "azure_kv" | "hc_vault";
  readonly id: string;
}

export interface KeyGroup {
  readonly age: readonly AgeStanzaRef[];
  readonly others: readonly OtherKeyRef[];
}

/** Which values are encrypted; exactly one rule applies (`unencrypted_suffix: _unencrypted` by default). */
export type EncryptionRule = (
  | { readonly kind: "unencrypted_suffix" | "encrypted_suffix"; readonly value: string }
  | { readonly kind: "unencrypted_regex" | "encrypted_regex"; readonly value: string; readonly regex: GoRegExp }
  /** Comment rules depend on comment placement; values are then judged by their form. */
  | { readonly kind: "unencrypted_comment_regex" | "encrypted_comment_regex"; readonly value: string }
) & {
  /**
   * Why the rule's pattern is not a valid Go regular expression. sops ignores the error
   * (`regexp.Match`) and matches nothing with it; so does the check, and says so.
   */
  readonly invalid?: string;
};

export interface SopsMetadata {
  readonly keyGroups: readonly KeyGroup[];
  readonly shamirThreshold: number;
  readonly lastModified: GoTime;
  /** The MAC's additional data: `lastmodified` re-formatted as RFC 3339, as sops does. */
  readonly macAad: string;
  /** The encrypted MAC (`ENC[...]`), or "" when the file has none. */
  readonly mac: string;
  readonly rule: EncryptionRule;
  readonly macOnlyEncrypted: boolean;
  readonly version: string | undefined;
}

const DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted";

function field(map: TreeMap, key: string): TreeNode | undefined {
  let found: TreeNode | undefined;
  for (const item of map.items) if (item.key === key) found = item.value;
  return found?.t === "null" ? undefined : found;
}

/** mapstructure's weakly typed string. */
function weakString(node: TreeNode | undefined, name: string): string {
  if (node === undefined) return "";
  switch (node.t) {
    case "str":
      return node.s;
    case "int":
      return node.i.toString();
    case "float":
      return formatGoFloat(node.f);
    case "bool":
      return node.b ? "1" : "0";
    default:
      throw new MetadataError(`sops.${name} is not a string`);
  }
}

function weakBool(node: TreeNode | undefined, name: string): boolean {
  if (node === undefined) return false;
  switch (node.t) {
    case "bool":
      return node.b;
    case "int":
      return node.i !== 0n;
    case "float":
      return node.f !== 0;
    case "str": {
      if (node.s === "") return false;
      const b = parseGoBool(node.s);
      if (b === undefined) throw new MetadataError(`sops.${name} is not a boolean`);
      return b;
    }
    default:
      throw new MetadataError(`sops.${name} is not a boolean`);
  }
}

function weakInt(node: TreeNode | undefined, name: string): number {
  if (node === undefined) return 0;
  if (node.t === "int") return Number(node.i);
  if (node.t === "float") return Math.trunc(node.f);
  if (node.t === "bool") return node.b ? 1 : 0;
  if (node.t === "str" && /^[+-]?[0-9]+$/.test(node.s)) return Number(node.s);
  if (node.t === "str" && node.s === "") return 0;
  throw new MetadataError(`sops.${name} is not an integer`);
}

function list(node: TreeNode | undefined, name: string): TreeMap[] {
  if (node === undefined) return [];
  if (node.t !== "list") throw new MetadataError(`sops.${name} is not a list`);
  return node.items.map((item, i) => {
    if (item.t !== "map") throw new MetadataError(`sops.${name}[${i}] is not a map`);
    return item;
  });
}

const OTHER_KEYS: readonly { type: OtherKeyRef["type"]; id: string }[] = [
  { type: "kms", id: "arn" },
  { type: "gcp_kms", id: "resource_id" },
  { type: "hckms", id: "key_id" },
  { type: "azure_kv", id: "vault_url" },
  { type: "hc_vault", id: "vault_address" },
  { type: "pgp", id: "fp" },
];

function keyGroup(map: TreeMap, where: string): KeyGroup {
  const ageKeys = list(field(map, "age"), `${where}age`).map((entry, i) => ({
    recipient: weakString(field(entry, "recipient"), `${where}age[${i}].recipient`),
    enc: weakString(field(entry, "enc"), `${where}age[${i}].enc`),
  }));
  const others: OtherKeyRef[] = [];
  for (const { type, id } of OTHER_KEYS) {
    list(field(map, type), `${where}${type}`).forEach((entry, i) => {
      // sops parses created_at of every non-age key before it decrypts anything.
      const createdAt = weakString(field(entry, "created_at"), `${where}${type}[${i}].created_at`);
      if (!parseRfc3339(createdAt)) throw new MetadataError(`sops.${where}${type}[${i}].created_at is not an RFC 3339 time`);
      others.push({ type, id: weakString(field(entry, id), `${where}${type}[${i}].${id}`) });
    });
  }
  return { age: ageKeys, others };
}

const RULE_KINDS = [
  "unencrypted_suffix",
  "encrypted_suffix",
  "unencrypted_regex",
  "encrypted_regex",
  "unencrypted_comment_regex",
  "encrypted_comment_regex",
] as const;

function encryptionRule(map: TreeMap): EncryptionRule {
  return encryptionRuleOf((kind) => weakString(field(map, kind), kind), "the file");
}

/**
 * The encryption rule from its settings (`value(kind)`, "" when unset), in sops metadata or in a
 * `.sops.yaml` creation rule (`who` names it); throws {@link MetadataError} for one sops refuses.
 */
export function encryptionRuleOf(setting: (kind: (typeof RULE_KINDS)[number]) => string, who: string): EncryptionRule {
  const set = RULE_KINDS.map((kind) => ({ kind, value: setting(kind) })).filter((r) => r.value !== "");
  if (set.length > 1) {
    throw new MetadataError(`${who} sets ${set.map((r) => r.kind).join(" and ")}; sops allows only one of them`);
  }
  if (set.length === 0) return { kind: "unencrypted_suffix", value: DEFAULT_UNENCRYPTED_SUFFIX };
  const { kind, value } = set[0];
  if (kind.endsWith("_suffix")) return { kind, value } as EncryptionRule;
  let regex: GoRegExp;
  let invalid: string | undefined;
  try {
    regex = compileGoRegExp(value);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    invalid = `the ${kind} ${JSON.stringify(value)} of ${who} is not a valid Go regular expression (${why}): sops matches nothing with it`;
    regex = { source: value, test: () => false };
  }
  if (kind === "unencrypted_regex" || kind === "encrypted_regex") return { kind, value, regex, invalid };
  return { kind, value, invalid } as EncryptionRule;
}

/**
 * Whether sops accepts `sops.version`: its CLI parses it as a semantic version (blang/semver,
 * an optional leading `v`) unless it starts with `1.` (sops 1 files).
 */
export function isAcceptedSopsVersion(version: string): boolean {
  if (version.startsWith("1.")) return true;
  const v = version.startsWith("v") ? version.slice(1) : version;
  const num = "(0|[1-9][0-9]{0,19})";
  const ident = "[0-9A-Za-z-]+";
  const m = new RegExp(`^${num}\\.${num}\\.${num}(?:-(${ident}(?:\\.${ident})*))?(?:\\+(${ident}(?:\\.${ident})*))?$`).exec(v);
  if (!m) return false;
  if ([m[1], m[2], m[3]].some((n) => BigInt(n) > 2n ** 64n - 1n)) return false;
  // Numeric pre-release identifiers must not have leading zeroes.
  return !(m[4] ?? "").split(".").some((p) => /^0[0-9]+$/.test(p));
}

/** Reads the metadata block; throws {@link MetadataError} for one sops would refuse. */
export function readMetadata(map: TreeMap): SopsMetadata {
  const lastModifiedText = weakString(field(map, "lastmodified"), "lastmodified");
  if (lastModifiedText === "") throw new MetadataError("sops.lastmodified is missing");
  const lastModified = parseRfc3339(lastModifiedText);
  if (!lastModified) throw new MetadataError("sops.lastmodified is not an RFC 3339 time");

  const flat = keyGroup(map, "");
  let keyGroups: KeyGroup[];
  if (flat.age.length > 0 || flat.others.length > 0) {
    keyGroups = [flat];
  } else {
    keyGroups = list(field(map, "key_groups"), "key_groups").map((g, i) => keyGroup(g, `key_groups[${i}].`));
    if (keyGroups.length === 0) throw new MetadataError("the file lists no keys (no sops.age, sops.pgp, ... and no sops.key_groups)");
  }
  const versionNode = field(map, "version");
  const version = versionNode === undefined ? undefined : weakString(versionNode, "version");
  if (!isAcceptedSopsVersion(version ?? "")) {
    throw new MetadataError("sops.version is not a semantic version, so the sops CLI refuses the file");
  }
  return {
    keyGroups,
    shamirThreshold: weakInt(field(map, "shamir_threshold"), "shamir_threshold"),
    lastModified,
    macAad: formatRfc3339(lastModified),
    mac: weakString(field(map, "mac"), "mac"),
    rule: encryptionRule(map),
    macOnlyEncrypted: weakBool(field(map, "mac_only_encrypted"), "mac_only_encrypted"),
    version,
  };
}

/** Whether a metadata map looks like SOPS's (what makes a file a SOPS file). */
export function isSopsMetadata(map: TreeMap | undefined): map is TreeMap {
  return map !== undefined && map.items.some((i) => i.key === "mac" || i.key === "lastmodified");
}
