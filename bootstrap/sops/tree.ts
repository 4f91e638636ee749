/**
 * The document model SOPS works on (its `sops.TreeBranches`): one branch per YAML document (one
 * for JSON, dotenv and binary), maps keeping key order, lists, and leaves typed as Go decodes
 * them. Values are still encrypted here; `verify.ts` decrypts them.
 */
import type { GoScalar } from "./go";

/** How SOPS stores the file (`sops --input-type`). Binary files are a JSON envelope. */
export type SopsFormat = "yaml" | "json" | "dotenv" | "binary" | "ini";

/** A leaf: a Go scalar, or raw bytes (YAML `!!binary`). */
export type TreeLeaf = GoScalar | { readonly t: "bytes"; readonly bytes: Buffer };

export interface TreeMap {
  readonly t: "map";
  readonly items: TreeItem[];
}

export interface TreeItem {
  readonly key: string;
  readonly value: TreeNode;
  /** The comments sops meets since the previous item at this level (see yaml-comments.ts). */
  readonly comments?: readonly string[];
}

export interface TreeList {
  readonly t: "list";
  readonly items: TreeNode[];
  /** Per item, the comments sops meets since the previous item of the list. */
  readonly itemComments?: readonly (readonly string[])[];
}

export type TreeNode = TreeLeaf | TreeMap | TreeList;

/** A comment line (text after `#`) and the path of the map it sits in. */
export interface TreeComment {
  readonly text: string;
  readonly path: readonly string[];
}

export interface ParsedSopsFile {
  readonly format: SopsFormat;
  /** The documents, without the `sops` metadata entries. */
  readonly branches: readonly TreeMap[];
  /** The `sops` metadata map (unflattened for dotenv), or undefined when there is none. */
  readonly metadata: TreeMap | undefined;
  /** The first document's `sops` entry as it is, also when it is not a map. */
  readonly sopsEntry?: TreeNode;
  /**
   * The copies sops writes into every later YAML document. sops reads only the first; a copy
   * that differs is a change made after encryption.
   */
  readonly laterMetadata: readonly TreeNode[];
  readonly comments: readonly TreeComment[];
  /**
   * Whether items carry the comments before them as sops walks them (YAML, dotenv; JSON has
   * none): comment rules are then decided as sops decides them, else by each value's form.
   */
  readonly commentsPlaced?: boolean;
  /**
   * How string leaves and map keys become bytes: dotenv is read byte for byte (latin1), YAML and
   * JSON as UTF-8 text, like sops.
   */
  readonly encoding: "utf8" | "latin1";
  /**
   * The file has JSON integers beyond 2^53, which sops before 3.13.2 hashed as float64: the MAC
   * is checked both ways.
   */
  readonly hasLegacyJsonNumbers: boolean;
}

/** A file no SOPS store could load; the message gives a position, never content. */
export class TreeParseError extends Error {
  constructor(
    message: string,
    readonly keyPath?: string,
  ) {
    super(message);
  }
}

/** A limit of the check (not of sops) that a file goes beyond: the file is not judged. */
export class CheckLimitError extends Error {}

/** A key path as SOPS writes it in the additional data (`a:b:c`); list positions are not part of it. */
export function displayPath(path: readonly string[]): string {
  return path.length === 0 ? "(top level)" : path.join(":");
}
