/**
 * Which files the check judges. A file that reads as a SOPS file is judged. A file that does
 * not (it does not parse, or has no usable `sops` metadata) is judged only when it shows it was
 * meant to be one, since sops (and so KSOPS or kustomize-controller) will refuse it at sync
 * time: its name says so, it holds values sops wrote, it carries sops metadata that is cut off
 * or damaged, or a `.sops.yaml` creation rule covering it would encrypt values in it (see
 * {@link ruleClaim}). Anything else (a README that shows an `ENC[...]` example, a chart's
 * `values.yaml` with a `sops:` setting, a plain ConfigMap) is not a SOPS file and is not judged.
 */
import * as path from "node:path";
import type { EncryptionRule } from "./metadata";
import { wouldEncrypt } from "./selector";
import type { TreeMap } from "./tree";

/** How sops picks a store for a path (`cmd/sops/formats`): by extension, else binary. */
export function storeForName(fileName: string): "yaml" | "json" | "dotenv" | "ini" | "binary" {
  if (fileName.endsWith(".yaml") || fileName.endsWith(".yml")) return "yaml";
  if (fileName.endsWith(".json")) return "json";
  if (fileName.endsWith(".env")) return "dotenv";
  if (fileName.endsWith(".ini")) return "ini";
  return "binary";
}

const ENC_VALUE = "ENC[AES256_GCM,data:";
/** An encrypted value's start, also with one character of it damaged. */
const ENC_EVIDENCE = /ENC\[AES256_GCM|ENC\[[^\]\n]{0,16},data:|AES256_GCM,data:/;

/** A name that says the file is encrypted: `db.sops.yaml`, `app.enc.env`, `blob.enc`. */
export function nameClaims(filePath: string): boolean {
  const base = path.posix.basename(filePath).toLowerCase();
  if (base === ".sops.yaml" || base === ".sops.yml") return false;
  return /\.(?:sops|enc)(?:\.[^.]+)?$/.test(base);
}

/** The keys sops writes in its metadata block (`stores/stores.go` Metadata). */
const METADATA_KEYS = "age|pgp|kms|gcp_kms|azure_kv|hc_vault|hckms|key_groups|shamir_threshold|lastmodified|mac|version|mac_only_encrypted|(?:un)?encrypted_(?:suffix|regex|comment_regex)";
const METADATA_KEY = new RegExp(`^(?:${METADATA_KEYS})$`);

/** `word` is a metadata key, or, at the very end of a cut-off text, the start of one. */
function metadataKey(word: string, atEnd: boolean): boolean {
  if (METADATA_KEY.test(word)) return true;
  return atEnd && word.length > 0 && METADATA_KEYS.replace(/[()?:]/g, "").split("|").some((k) => k.startsWith(word));
}

/** A YAML `sops:` entry at the top level that is sops's metadata block, whole or cut off. */
function yamlMetadataBlock(text: string): boolean {
  for (const m of text.matchAll(/^sops(:[ \t]*)?(?:\r?\n|$)/gm)) {
    const after = m.index + m[0].length;
    if (m[1] === undefined) {
      if (after === text.length) return true; // cut right after the word
      continue;
    }
    const rest = text.slice(after);
    if (rest.trim() === "") return true; // cut right after `sops:`
    const first = /^[ \t]+(?:-[ \t]*)?([A-Za-z_]*)/.exec(rest);
    if (first && metadataKey(first[1], after + first[0].length === text.length)) return true;
  }
  return false;
}

/** A JSON `"sops"` entry that is sops's metadata object, whole or cut off. */
function jsonMetadataObject(text: string): boolean {
  for (const m of text.matchAll(/"sops(")?(?:[ \t\r\n]*:[ \t\r\n]*(\{[ \t\r\n]*(?:"([A-Za-z_]*)("?))?)?)?/g)) {
    const atEnd = m.index + m[0].length === text.length;
    if (atEnd) return true; // cut inside the entry's start
    if (m[3] !== undefined && m[4] === '"' && metadataKey(m[3], false)) return true;
  }
  return false;
}

/** sops metadata in the text, also when it is cut off or does not parse. */
function metadataInText(store: ReturnType<typeof storeForName>, text: string): boolean {
  switch (store) {
    case "yaml":
      return yamlMetadataBlock(text);
    case "dotenv":
      return /^sops_/m.test(text);
    case "ini":
      return /^[ \t]*\[sops(?:\]|$)/m.test(text);
    default:
      return jsonMetadataObject(text);
  }
}

/** The text ends inside an encrypted value's start (`password: ENC[AES2`): cut off there. */
function endsInEncValue(text: string): boolean {
  const m = /ENC\[[A-Za-z0-9_,:]*$/.exec(text.slice(-ENC_VALUE.length - 2));
  return m !== null && ENC_VALUE.startsWith(m[0]);
}

/**
 * Why a file that did not read as a SOPS file must have been meant as one, or undefined when
 * nothing says so. `text` is the file's text (or its start and end, when big). `ruleName`
 * names a `.sops.yaml` creation rule whose path_regex covers the file: on its own here, it
 * counts only for a file that mentions sops and does not even parse (what the rule would
 * encrypt in a file that parses is {@link ruleClaim}'s question).
 */
export function sopsClaim(filePath: string, text: string, ruleName: string | undefined, unreadable: boolean): string | undefined {
  if (nameClaims(filePath)) return `its name (${path.posix.basename(filePath)}) says it is a SOPS file`;
  const store = storeForName(filePath);
  // sops reads any other file as a binary-store JSON envelope: text that is not JSON is not one,
  // unless it holds the envelope's encrypted value (a damaged envelope).
  const readable = store !== "binary" || text.trimStart().startsWith("{") || /"data":[ \t\r\n]*"ENC\[AES256_GCM,data:/.test(text);
  if (!readable) return undefined;
  const covered = ruleName ? ` and ${ruleName} covers it` : "";
  if (ENC_EVIDENCE.test(text) || endsInEncValue(text)) return `it holds values sops encrypted (ENC[AES256_GCM,…])${covered}`;
  if (metadataInText(store, text)) return `it has sops metadata${covered}`;
  if (ruleName && unreadable && /sops/i.test(text)) return `${ruleName} covers it and it mentions sops`;
  return undefined;
}

/** A `.sops.yaml` creation rule with a path_regex that covers a file. */
export interface CoveringRule {
  /** For messages: "creation rule 2 of apps/.sops.yaml". */
  readonly name: string;
  /** Which values sops encrypts under it. */
  readonly selector?: EncryptionRule;
}

function isKubernetesObject(doc: TreeMap): { kind: string } | undefined {
  const field = (key: string): string | undefined => {
    const item = doc.items.find((i) => i.key === key);
    return item?.value.t === "str" ? item.value.s : undefined;
  };
  const kind = field("kind");
  return field("apiVersion") !== undefined && kind !== undefined ? { kind } : undefined;
}

/**
 * Why a file without sops metadata that a creation rule covers was meant to be encrypted: the
 * rule would encrypt values in it. Kubernetes objects count only when they are Secrets, since a
 * broad rule (Flux's `path_regex: .*.yaml` with `encrypted_regex: ^(data|stringData)$`) covers
 * every ConfigMap too, and plain ConfigMaps, Deployments and KSOPS generators are not SOPS files.
 */
export function ruleClaim(branches: readonly TreeMap[], rule: CoveringRule): string | undefined {
  if (!rule.selector) return undefined;
  const candidates = branches.filter((doc) => {
    const object = isKubernetesObject(doc);
    return object === undefined || object.kind === "Secret";
  });
  if (candidates.length === 0 || !wouldEncrypt(candidates, rule.selector)) return undefined;
  return `${rule.name} covers it and would encrypt values in it`;
}
