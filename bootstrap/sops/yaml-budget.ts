/**
 * Budgets that keep a hostile YAML file from exhausting time or memory, decided before the
 * document is expanded, and where sops has the same limit, with sops's verdict:
 *
 * - sops decodes the first YAML document into Go values (yaml.v3 `decode.go`), which refuses
 *   "excessive aliasing": once more than 100 of over 1000 decoded nodes came from aliases, at most
 *   99% of them may (for up to 400,000 decoded nodes), tapering to 10% at 4,000,000.
 *   {@link firstDocumentAliasing} counts the nodes as that decoder does, aliases in bulk from
 *   each anchor's expanded size, so a bomb costs its size in the file rather than its expansion.
 * - sops walks later documents as yaml.v3 nodes and expands their aliases without limit (a 1.5 KB
 *   file of 7 levels takes it 11 s and 540 MB); the check stops at {@link MAX_EXPANDED_NODES}.
 * - The `yaml` package needs about 1 KB per node while it parses, so a file with more nodes than
 *   {@link MAX_YAML_NODES} (estimated from its text in one pass) is not parsed at all.
 */
import * as YAML from "yaml";

/** Nodes the check expands across a file's documents (aliases included). */
export const MAX_EXPANDED_NODES = 1_000_000;
/** Nodes (estimated) the check parses in one YAML file: about 250 MB while parsing. */
export const MAX_YAML_NODES = 250_000;

const ALIAS_RATIO_RANGE_LOW = 400_000;
const ALIAS_RATIO_RANGE_HIGH = 4_000_000;

/** yaml.v3 `allowedAliasRatio`. */
function allowedAliasRatio(decodeCount: number): number {
  if (decodeCount <= ALIAS_RATIO_RANGE_LOW) return 0.99;
  if (decodeCount >= ALIAS_RATIO_RANGE_HIGH) return 0.1;
  return 0.99 - 0.89 * ((decodeCount - ALIAS_RATIO_RANGE_LOW) / (ALIAS_RATIO_RANGE_HIGH - ALIAS_RATIO_RANGE_LOW));
}

/**
 * An upper estimate of the nodes in a YAML text: one per comma and two per line with content
 * (a key and its value). Comment-only and blank lines hold no node, and the commas inside an
 * encrypted value (`ENC[AES256_GCM,data:…,iv:…,tag:…,type:str]`) separate none.
 */
export function estimateYamlNodes(text: string): number {
  let count = 0;
  let lineHasContent = false;
  let inComment = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x45 && !inComment && text.startsWith("ENC[", i)) {
      // Skip to its "]", or to the end of the line (which is counted next).
      let j = i + 4;
      while (j < text.length && text.charCodeAt(j) !== 0x5d && text.charCodeAt(j) !== 0x0a) j++;
      i = text.charCodeAt(j) === 0x0a ? j - 1 : j;
      lineHasContent = true;
      continue;
    }
    if (c === 0x0a) {
      if (lineHasContent) count += 2;
      lineHasContent = false;
      inComment = false;
    } else if (inComment) {
      continue;
    } else if (c === 0x2c) {
      count++;
      lineHasContent = true;
    } else if (c === 0x23 && !lineHasContent) {
      inComment = true;
    } else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) {
      lineHasContent = true;
    }
  }
  return count + (lineHasContent ? 2 : 0);
}

/**
 * Each alias's node: the last node before it with its anchor, as yaml.v3 and the `yaml` package
 * resolve it, found in one pass (`Alias.resolve` walks the whole document for every alias).
 */
export function aliasTargets(doc: YAML.Document): Map<YAML.Alias, YAML.Node> {
  const anchors = new Map<string, YAML.Node>();
  const targets = new Map<YAML.Alias, YAML.Node>();
  YAML.visit(doc, {
    Node(_, node) {
      if (YAML.isAlias(node)) {
        const target = anchors.get(node.source);
        if (target) targets.set(node, target);
      } else if (node.anchor) {
        anchors.set(node.anchor, node);
      }
    },
  });
  return targets;
}

/** A cycle: an anchor whose value contains an alias to itself (yaml.v3 refuses it). */
const CYCLE = -1;

/**
 * How many nodes each node expands to (itself, its children, aliases replaced by their targets),
 * computed once per node without recursion. Sizes grow as a product over alias levels, so they
 * are capped (any size above the cap is over every budget).
 */
class ExpandedSizes {
  readonly #sizes = new Map<unknown, number>();
  static readonly CAP = 1e12;

  constructor(private readonly targets: ReadonlyMap<YAML.Alias, YAML.Node>) {}

  #children(node: unknown): unknown[] {
    if (YAML.isAlias(node)) {
      const target = this.targets.get(node);
      return target === undefined ? [] : [target];
    }
    if (YAML.isMap(node)) return node.items.flatMap((p) => [p.key, p.value]);
    if (YAML.isSeq(node)) return node.items;
    return [];
  }

  /** The expanded size, or {@link CYCLE}. */
  of(root: unknown): number {
    const known = this.#sizes.get(root);
    if (known !== undefined) return known;
    const inProgress = new Set<unknown>();
    const stack: { node: unknown; children: unknown[] | undefined }[] = [{ node: root, children: undefined }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.children === undefined) {
        if (this.#sizes.has(top.node)) {
          stack.pop();
          continue;
        }
        if (inProgress.has(top.node)) return CYCLE;
        inProgress.add(top.node);
        top.children = this.#children(top.node).filter((c) => c !== null && c !== undefined);
        for (const child of top.children) {
          if (inProgress.has(child)) return CYCLE;
          if (!this.#sizes.has(child)) stack.push({ node: child, children: undefined });
        }
        continue;
      }
      let size = 1;
      for (const child of top.children) {
        const s = this.#sizes.get(child);
        if (s === undefined || s === CYCLE) return CYCLE;
        size = Math.min(ExpandedSizes.CAP, size + s);
      }
      this.#sizes.set(top.node, size);
      inProgress.delete(top.node);
      stack.pop();
    }
    return this.#sizes.get(root) ?? CYCLE;
  }
}

/** Why sops refuses the first document's aliases ("document contains excessive aliasing", or a cycle), if it does. */
export function firstDocumentAliasing(doc: YAML.Document, targets: ReadonlyMap<YAML.Alias, YAML.Node>): string | undefined {
  const sizes = new ExpandedSizes(targets);
  let decodeCount = 1; // the document node
  let aliasCount = 0;
  const excessive = (): boolean =>
    aliasCount > 100 && decodeCount > 1000 && aliasCount / decodeCount > allowedAliasRatio(decodeCount);
  // Nodes outside aliases are counted one by one (the condition can turn true between them);
  // an alias's whole expansion at once: inside it both counts grow together, so the condition,
  // once true there, is still true at its end.
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || node === undefined) continue;
    decodeCount++;
    if (excessive()) return "document contains excessive aliasing";
    if (YAML.isAlias(node)) {
      const target = targets.get(node);
      if (target === undefined) continue;
      const size = sizes.of(target);
      if (size === CYCLE) return `anchor '${node.source}' value contains itself`;
      decodeCount += size;
      aliasCount += size;
      if (excessive()) return "document contains excessive aliasing";
    } else if (YAML.isMap(node)) {
      // yaml.v3 skips a merge key itself, then decodes the map's keys once more for the merge.
      const merges = node.items.filter((p) => isMergeKey(p.key)).length;
      if (merges > 0) decodeCount += node.items.length;
      for (let i = node.items.length - 1; i >= 0; i--) {
        const pair = node.items[i];
        stack.push(pair.value);
        if (!isMergeKey(pair.key)) stack.push(pair.key);
      }
    } else if (YAML.isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) stack.push(node.items[i]);
    }
  }
  return undefined;
}

const isMergeKey = (key: unknown): boolean =>
  YAML.isScalar(key) && (typeof key.value === "symbol" || (key.value === "<<" && key.type === "PLAIN"));

/** The nodes a document expands to, or {@link CYCLE} for an anchor that contains itself. */
export function expandedNodes(doc: YAML.Document, targets: ReadonlyMap<YAML.Alias, YAML.Node>): number {
  return doc.contents === null ? 1 : new ExpandedSizes(targets).of(doc.contents);
}

export { CYCLE as CYCLIC_ANCHOR };

/**
 * A document as Kubernetes' YAML decoder (go-yaml) reads it into plain values, or undefined when
 * it refuses it: a syntax error, or aliases it calls excessive (then the cluster could not apply
 * it either), or more expansion than the check's budget. Aliases within that budget are expanded
 * however often they are used (the `yaml` package's own limit of 100 would refuse an ordinary
 * values file that merges one anchor 101 times).
 */
export function decodeWithinBudget(doc: YAML.Document): unknown {
  if (doc.errors.length > 0) return undefined;
  const targets = aliasTargets(doc);
  if (targets.size > 0) {
    const size = expandedNodes(doc, targets);
    if (firstDocumentAliasing(doc, targets) !== undefined || size === CYCLE || size > MAX_EXPANDED_NODES) return undefined;
  }
  try {
    return doc.toJS({ maxAliasCount: -1 });
  } catch {
    return undefined;
  }
}

/**
 * The documents of a manifest file (a YAML stream, or JSON) as plain values, each read by
 * {@link decodeWithinBudget} (a document it refuses is undefined); none for a file over the node
 * budget or one that does not parse, which the cluster could not apply either.
 */
export function manifestDocuments(content: Buffer): unknown[] {
  const text = content.toString("utf8");
  if (estimateYamlNodes(text) > MAX_YAML_NODES) return [];
  try {
    return (YAML.parseAllDocuments(text) as YAML.Document[]).map(decodeWithinBudget);
  } catch {
    return [];
  }
}
