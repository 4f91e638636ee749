/**
 * Loads a file into the SOPS document model the way sops's stores do (getsops/sops v3.13.3
 * `stores/yaml`, `stores/json`, `stores/dotenv`, `stores/metadata.go`): YAML scalars resolved
 * as yaml.v3 resolves them, JSON numbers as Go's `json.Number`, dotenv lines split at the
 * first `=`. Parsing uses the `yaml` package (also for JSON, which keeps key order and
 * duplicate keys like Go's decoder). Error messages give positions, never file content.
 */
import * as YAML from "yaml";
import { resolveYamlPlain } from "./go";
import { unflattenMetadata } from "./flatten";
import { loadIni } from "./ini";
import { parseJsonTree } from "./json";
import { commentFrames } from "./yaml-comments";
import {
  CYCLIC_ANCHOR,
  MAX_EXPANDED_NODES,
  MAX_YAML_NODES,
  aliasTargets,
  estimateYamlNodes,
  expandedNodes,
  firstDocumentAliasing,
} from "./yaml-budget";
import {
  type ParsedSopsFile,
  type SopsFormat,
  type TreeComment,
  type TreeLeaf,
  type TreeMap,
  type TreeNode,
  CheckLimitError,
  TreeParseError,
  displayPath,
} from "./tree";

const SOPS_KEY = "sops";
const DOTENV_PREFIX = "sops_";
const MAX_ALIAS_DEPTH = 100;

/**
 * Which store reads a file: by its content, with the name as a hint (`.env` is dotenv), since
 * SOPS files are recognised by their metadata rather than their names.
 */
export function detectFormat(fileName: string, text: string): SopsFormat {
  if (/\.env$/i.test(fileName)) return "dotenv";
  if (/\.ya?ml$/i.test(fileName)) return "yaml";
  if (/\.ini$/i.test(fileName)) return "ini";
  if (/\.json$/i.test(fileName)) return "json";
  const start = text.replace(/^\uFEFF/, "").trimStart();
  if (start.startsWith("{")) return "binary";
  if (/^sops_(?:mac|lastmodified)=/m.test(text)) return "dotenv";
  if (/^[ \t]*\[sops\][ \t]*\r?$/m.test(text)) return "ini";
  return "yaml";
}

/** Lines the check reads in one dotenv or INI file (each becomes a value, about 200 bytes of tree). */
const MAX_LINES = 1_000_000;

function assertLinesWithinBudget(content: Buffer): void {
  let lines = 0;
  for (let i = content.indexOf(0x0a); i >= 0; i = content.indexOf(0x0a, i + 1)) {
    if (++lines > MAX_LINES) {
      throw new CheckLimitError(`it has more than ${MAX_LINES.toLocaleString("en")} lines, more than this check reads in one dotenv or INI file`);
    }
  }
}

/** Parses a file's bytes with the store for `format` ("binary" is the JSON store). */
export function loadSopsFile(content: Buffer, format: SopsFormat): ParsedSopsFile {
  if (format === "dotenv" || format === "ini") assertLinesWithinBudget(content);
  if (format === "dotenv") return loadDotenv(content);
  if (format === "ini") return loadIni(content);
  const text = decodeUtf8(content, format);
  if (format === "yaml" && /^\[sops\][ \t]*\r?$/m.test(text)) {
    throw new TreeParseError("it has an INI [sops] section, but sops reads a file with this name as YAML");
  }
  return format === "yaml" ? loadYaml(text) : loadJson(text, format);
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(content: Buffer, format: SopsFormat): string {
  // Go's JSON decoder replaces invalid UTF-8 like a lenient decoder does; yaml.v3 refuses it.
  if (format !== "yaml") return content.toString("utf8");
  try {
    return utf8Decoder.decode(content);
  } catch {
    throw new TreeParseError("the file is not valid UTF-8");
  }
}

/** "line L, column C" of a parse error, from its offset (never the text around it). */
function positionOf(err: YAML.YAMLError, text: string): string {
  const offset = err.pos?.[0];
  if (offset === undefined) return "an unknown position";
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return `line ${line}, column ${offset - before.lastIndexOf("\n")}`;
}

// --- YAML -------------------------------------------------------------------------------------

const YAML_TAG_PREFIX = "tag:yaml.org,2002:";

function resolveTagged(tag: string, value: string, keyPath: readonly string[]): TreeLeaf {
  const short = tag.startsWith(YAML_TAG_PREFIX) ? tag.slice(YAML_TAG_PREFIX.length) : undefined;
  if (short === "str") return { t: "str", s: value };
  if (short === "binary") {
    const compact = value.replace(/\s+/g, "");
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact)) {
      throw new TreeParseError(`!!binary value at ${displayPath(keyPath)} is not valid base64`, displayPath(keyPath));
    }
    return { t: "bytes", bytes: Buffer.from(compact, "base64") };
  }
  if (short === "int" || short === "float" || short === "bool" || short === "null" || short === "timestamp") {
    const resolved = resolveYamlPlain(value, short === "timestamp");
    const want = { int: "int", float: "float", bool: "bool", null: "null", timestamp: "time" }[short];
    if (resolved.t === want) return resolved;
    if (short === "float" && resolved.t === "int") return { t: "float", f: Number(resolved.i) };
    throw new TreeParseError(`the value at ${displayPath(keyPath)} cannot be decoded as !!${short}`, displayPath(keyPath));
  }
  // Tags yaml.v3 cannot resolve (`!`, custom tags) leave the text as a string.
  return { t: "str", s: value };
}

function yamlScalar(node: YAML.Scalar, keyPath: readonly string[]): TreeLeaf {
  // A merge key (`<<`, `!!merge <<`) is an ordinary key to sops: yaml.v3 decodes it as the
  // string "<<" and sops never merges, so the merged map sits under the key `<<` (in key paths too).
  if (typeof node.value === "symbol") return { t: "str", s: node.source ?? "<<" };
  const value = node.value === null || node.value === undefined ? "" : String(node.value);
  if (node.tag) return resolveTagged(node.tag, value, keyPath);
  if (node.type === "PLAIN") return resolveYamlPlain(value);
  return { t: "str", s: value };
}

interface YamlContext {
  readonly doc: YAML.Document;
  readonly targets: ReadonlyMap<YAML.Alias, YAML.Node>;
  readonly comments: TreeComment[];
  /** The comments before each key and list item, by its start offset. */
  readonly frames: ReadonlyMap<number, string[]>;
}

const framed = (ctx: YamlContext, node: unknown): string[] | undefined => {
  const start = YAML.isNode(node) ? node.range?.[0] : undefined;
  return start === undefined ? undefined : ctx.frames.get(start);
};

function addComments(ctx: YamlContext, text: string | null | undefined, path: readonly string[]): void {
  if (!text) return;
  for (const line of text.split("\n")) if (line !== "") ctx.comments.push({ text: line, path });
}

function resolveAlias(node: unknown, ctx: YamlContext, keyPath: readonly string[]): unknown {
  let current = node;
  for (let depth = 0; YAML.isAlias(current); depth++) {
    if (depth > MAX_ALIAS_DEPTH) throw new TreeParseError(`alias at ${displayPath(keyPath)} does not resolve`, displayPath(keyPath));
    const target: unknown = ctx.targets.get(current);
    if (target === undefined) throw new TreeParseError(`alias at ${displayPath(keyPath)} names an unknown anchor`, displayPath(keyPath));
    current = target;
  }
  return current;
}

function yamlNode(raw: unknown, path: readonly string[], ctx: YamlContext, depth: number): TreeNode {
  if (depth > MAX_ALIAS_DEPTH) throw new TreeParseError(`the document at ${displayPath(path)} nests too deeply`, displayPath(path));
  const node = resolveAlias(raw, ctx, path);
  if (node === null || node === undefined) return { t: "null" };
  if (YAML.isMap(node)) return yamlMap(node, path, ctx, depth);
  if (YAML.isSeq(node)) {
    addComments(ctx, node.commentBefore, path);
    addComments(ctx, node.comment, path);
    return { t: "list", items: node.items.map((item) => yamlNode(item, path, ctx, depth + 1)), itemComments: node.items.map((item) => framed(ctx, item) ?? []) };
  }
  if (YAML.isScalar(node)) {
    addComments(ctx, node.commentBefore, path);
    addComments(ctx, node.comment, path);
    return yamlScalar(node, path);
  }
  throw new TreeParseError(`unsupported YAML node at ${displayPath(path)}`, displayPath(path));
}

function yamlMap(node: YAML.YAMLMap, path: readonly string[], ctx: YamlContext, depth: number): TreeMap {
  addComments(ctx, node.commentBefore, path);
  addComments(ctx, node.comment, path);
  const items: TreeMap["items"] = [];
  for (const pair of node.items) {
    const keyNode = resolveAlias(pair.key, ctx, path);
    if (!YAML.isScalar(keyNode)) throw new TreeParseError(`a key in ${displayPath(path)} is not a plain string`, displayPath(path));
    addComments(ctx, keyNode.commentBefore, path);
    addComments(ctx, keyNode.comment, path);
    const key = yamlScalar(keyNode, path);
    if (key.t !== "str") {
      throw new TreeParseError(`a key in ${displayPath(path)} is a ${key.t === "time" ? "timestamp" : key.t}, not a string; SOPS supports only string keys`, displayPath(path));
    }
    items.push({ key: key.s, value: yamlNode(pair.value, [...path, key.s], ctx, depth + 1), comments: framed(ctx, pair.key) });
  }
  return { t: "map", items };
}

function assertUniqueKeys(node: unknown, ctx: YamlContext, path: readonly string[], depth = 0): void {
  const current = resolveAlias(node, ctx, path);
  if (depth > MAX_ALIAS_DEPTH) return;
  if (YAML.isMap(current)) {
    const seen = new Set<string>();
    for (const pair of current.items) {
      const key = resolveAlias(pair.key, ctx, path);
      const name = YAML.isScalar(key) ? String(key.value ?? "") : undefined;
      if (name !== undefined) {
        if (seen.has(name)) throw new TreeParseError(`key ${JSON.stringify(name)} appears twice in ${displayPath(path)}`, displayPath(path));
        seen.add(name);
      }
      assertUniqueKeys(pair.value, ctx, name === undefined ? path : [...path, name], depth + 1);
    }
  } else if (YAML.isSeq(current)) {
    for (const item of current.items) assertUniqueKeys(item, ctx, path, depth + 1);
  }
}

// yaml.v3's reader refuses any character outside these (tab, LF, CR, printable Unicode).
const YAML_FORBIDDEN = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/** The nesting of a YAML node (maps, lists, scalars), without its text. */
function shapeOf(node: unknown, targets: ReadonlyMap<YAML.Alias, YAML.Node>, depth = 0): string {
  if (depth > MAX_ALIAS_DEPTH) return "…";
  const n = YAML.isAlias(node) ? targets.get(node) : node;
  if (YAML.isMap(n)) return `{${n.items.map((p) => shapeOf(p.value, targets, depth + 1)).join(",")}}`;
  if (YAML.isSeq(n)) return `[${n.items.map((i) => shapeOf(i, targets, depth + 1)).join(",")}]`;
  return "s";
}

/**
 * libyaml ends a line at LS/PS outside quoted and block scalars; the `yaml` package does not.
 * The file's structure must come out the same when they are read as line breaks there.
 */
function sameStructureWithLineSeparatorsAsBreaks(normalized: string, docs: Iterable<YAML.Document>): boolean {
  const options = { version: "1.2", schema: "failsafe", uniqueKeys: false, prettyErrors: false } as const;
  const protectedRanges: [number, number][] = [];
  for (const doc of YAML.parseAllDocuments(normalized, options)) {
    YAML.visit(doc, {
      Scalar(_, node) {
        if (node.type !== "PLAIN" && node.range) protectedRanges.push([node.range[0], node.range[1]]);
      },
    });
  }
  // Scalars do not overlap: the last range starting at or before `i` is the only one that can hold it.
  protectedRanges.sort((a, b) => a[0] - b[0]);
  const inside = (i: number): boolean => {
    let lo = 0;
    let hi = protectedRanges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (protectedRanges[mid][0] <= i) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && i < protectedRanges[lo - 1][1];
  };
  const asBreaks = normalized.replace(/[\u2028\u2029]/g, (c, i: number) => (inside(i) ? c : "\n"));
  const reparsed = [...YAML.parseAllDocuments(asBreaks, options)];
  if (reparsed.some((d) => d.errors.length > 0)) return false;
  const shapes = (all: Iterable<YAML.Document>): string => [...all].map((d) => shapeOf(d.contents, aliasTargets(d))).join("|");
  return shapes(reparsed) === shapes(docs);
}

/**
 * sops refuses excessive aliasing in the first document as yaml.v3 does; it expands later
 * documents' aliases without limit, which the check does only up to its budget.
 */
function assertAliasesWithinBudget(docs: readonly YAML.Document[], targets: readonly ReadonlyMap<YAML.Alias, YAML.Node>[]): void {
  let total = 0;
  for (const [index, doc] of docs.entries()) {
    if (doc.errors.length > 0) return;
    if (targets[index].size === 0) {
      total += 1;
      continue;
    }
    if (index === 0) {
      const refused = firstDocumentAliasing(doc, targets[index]);
      if (refused) throw new TreeParseError(`yaml.v3 refuses its aliases ("${refused}"), as sops does`);
    }
    const size = expandedNodes(doc, targets[index]);
    if (size === CYCLIC_ANCHOR) throw new TreeParseError(`an anchor in YAML document ${index + 1} contains an alias to itself`);
    total += size;
    if (total > MAX_EXPANDED_NODES) {
      const which = index === 0 ? "its first YAML document" : `YAML document ${index + 1}`;
      const sopsToo = index === 0 ? "" : "; sops expands aliases there without limit (a 1.5 KB file of 7 alias levels takes it 11 s and 540 MB)";
      const limit = MAX_EXPANDED_NODES.toLocaleString("en");
      throw new CheckLimitError(`${which} expands its aliases to more than the ${limit} nodes this check reads${sopsToo}`);
    }
  }
}

function loadYaml(withBom: string): ParsedSopsFile {
  // yaml.v3 (libyaml) breaks lines at CR, CRLF and NEL too, reading each as "\n".
  const normalized = withBom.replace(/^\uFEFF/, "").replace(/\r\n?|\u0085/g, "\n");
  // It also breaks lines at LS and PS, but keeps them in quoted scalars (and drops the indentation
  // after them). Values are read with them kept; the structure must be the same with them as breaks.
  const text = normalized.replace(/([\u2028\u2029])[ \t]+/g, "$1");
  const forbidden = YAML_FORBIDDEN.exec(text);
  if (forbidden) {
    const line = text.slice(0, forbidden.index).split("\n").length;
    throw new TreeParseError(`the YAML file has a control character on line ${line}, which YAML does not allow`);
  }
  const estimated = estimateYamlNodes(text);
  if (estimated > MAX_YAML_NODES) {
    const limit = MAX_YAML_NODES.toLocaleString("en");
    throw new CheckLimitError(`it has about ${estimated.toLocaleString("en")} YAML nodes, more than the ${limit} this check parses in one file (about 1 KB of memory each)`);
  }
  const options = { version: "1.2", schema: "failsafe", uniqueKeys: false, prettyErrors: false } as const;
  const docs = YAML.parseAllDocuments(text, options);
  const targets = [...docs].map((d) => (d.errors.length === 0 ? aliasTargets(d) : new Map<YAML.Alias, YAML.Node>()));
  assertAliasesWithinBudget([...docs], targets);
  if (/[\u2028\u2029]/.test(text) && [...docs].every((d) => d.errors.length === 0) && !sameStructureWithLineSeparatorsAsBreaks(normalized, docs)) {
    throw new TreeParseError("a line separator character (U+2028/U+2029) outside quotes changes the YAML structure sops reads");
  }
  const comments: TreeComment[] = [];
  const branches: TreeMap[] = [];
  const errors = [...docs].find((d) => d.errors.length > 0)?.errors;
  if (errors) throw new TreeParseError(`YAML syntax error at ${positionOf(errors[0], text)}`);
  // Only comment rules (`…comment_regex` in the metadata) need to know where comments are.
  const frames = text.includes("comment_regex") ? commentFrames(text, [...docs]) : new Map<number, string[]>();
  for (const [index, doc] of [...docs].entries()) {
    const ctx: YamlContext = { doc, targets: targets[index], comments, frames };
    // sops decodes the first document into a map first, which rejects duplicate keys there.
    if (index === 0) assertUniqueKeys(doc.contents, ctx, []);
    addComments(ctx, doc.commentBefore, []);
    addComments(ctx, doc.comment, []);
    const root = resolveAlias(doc.contents, ctx, []);
    if (root === null || root === undefined) {
      branches.push({ t: "map", items: [] });
    } else if (YAML.isMap(root)) {
      branches.push(yamlMap(root, [], ctx, 0));
    } else if (YAML.isSeq(root)) {
      throw new TreeParseError(`YAML document ${index + 1} is a list; SOPS supports only documents that are maps`);
    } else if (YAML.isScalar(root) && yamlScalar(root, []).t === "null") {
      branches.push({ t: "map", items: [] });
    } else {
      throw new TreeParseError(`YAML document ${index + 1} is a plain value; SOPS supports only documents that are maps`);
    }
  }
  return { format: "yaml", ...extractNestedMetadata(branches), comments, commentsPlaced: true, encoding: "utf8", hasLegacyJsonNumbers: false };
}

// --- JSON -------------------------------------------------------------------------------------

function loadJson(text: string, format: SopsFormat): ParsedSopsFile {
  const { root, legacyNumbers } = parseJsonTree(text);
  const extracted = extractNestedMetadata([root]);
  const data = extracted.branches[0];
  const isEnvelope = data.items.length === 1 && data.items[0].key === "data" && data.items[0].value.t === "str";
  return {
    format: format === "binary" && !isEnvelope ? "json" : format,
    ...extracted,
    comments: [],
    commentsPlaced: true,
    encoding: "utf8",
    hasLegacyJsonNumbers: legacyNumbers,
  };
}

/** Takes the `sops` entry out of the first document (and any `sops` key out of all of them). */
function extractNestedMetadata(branches: readonly TreeMap[]): { branches: TreeMap[]; metadata: TreeMap | undefined; sopsEntry: TreeNode | undefined; laterMetadata: TreeNode[] } {
  const found = branches.length > 0 ? branches[0].items.filter((i) => i.key === SOPS_KEY) : [];
  if (found.length > 1) throw new TreeParseError("the sops metadata key appears twice");
  const sopsEntry = found[0]?.value;
  const metadata = sopsEntry?.t === "map" ? sopsEntry : undefined;
  const laterMetadata = branches.slice(1).flatMap((b) => b.items.filter((i) => i.key === SOPS_KEY).map((i) => i.value));
  return { branches: branches.map((b) => ({ t: "map", items: b.items.filter((i) => i.key !== SOPS_KEY) })), metadata, sopsEntry, laterMetadata };
}

// --- dotenv -----------------------------------------------------------------------------------

function loadDotenv(content: Buffer): ParsedSopsFile {
  // Byte for byte, like sops: keys and values are Go strings, not necessarily UTF-8.
  const lines = content.toString("latin1").split("\n");
  const items: TreeMap["items"] = [];
  const comments: TreeComment[] = [];
  const flattened: { key: string; value: string }[] = [];
  let pending: string[] = [];
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    if (line === "") continue;
    if (line.startsWith("#")) {
      comments.push({ text: line.slice(1), path: [] });
      pending.push(line.slice(1));
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) throw new TreeParseError(`dotenv line ${n + 1} has no "="`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).replace(/\\n/g, "\n");
    if (key.startsWith(DOTENV_PREFIX)) {
      // Metadata lines leave the tree before sops walks it: the comments stay pending.
      flattened.push({ key: key.slice(DOTENV_PREFIX.length), value });
    } else {
      items.push({ key, value: { t: "str", s: value }, comments: pending });
      pending = [];
    }
  }
  return {
    format: "dotenv",
    branches: [{ t: "map", items }],
    metadata: flattened.length > 0 ? unflattenMetadata(flattened) : undefined,
    laterMetadata: [],
    comments,
    commentsPlaced: true,
    encoding: "latin1",
    hasLegacyJsonNumbers: false,
  };
}
