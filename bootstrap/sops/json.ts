/**
 * JSON as sops's JSON store reads it (getsops/sops v3.13.3 `stores/json/store.go`): a token
 * stream over Go's `encoding/json` decoder with `UseNumber`. So key order and duplicate keys are
 * kept, numbers become an int64 when they are integers in range and a float64 otherwise, the top
 * level must be an object, and whatever follows that object is never read. Written by hand
 * rather than with `JSON.parse` because the tree needs order and duplicates, and because a big
 * binary-store file (a single base64 string of many megabytes) must not be copied into a
 * general-purpose document model. Error messages give a byte offset, never content.
 */
import type { GoScalar } from "./go";
import { CheckLimitError, type TreeMap, type TreeNode, TreeParseError, displayPath } from "./tree";

const INT64_LIMIT = 2n ** 63n;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING_SPECIAL = /["\\\x00-\x1f]/g;
const MAX_DEPTH = 10_000;
/** Values read from one file: about 100 MB of tree. */
const MAX_NODES = 1_000_000;

export interface JsonTree {
  readonly root: TreeMap;
  /** Integers beyond 2^53, which sops before 3.13.2 hashed as float64. */
  readonly legacyNumbers: boolean;
}

function goNumber(text: string, path: () => readonly string[], legacy: { found: boolean }): GoScalar {
  if (/^-?(?:0|[1-9][0-9]*)$/.test(text)) {
    const i = BigInt(text);
    if (i >= -INT64_LIMIT && i < INT64_LIMIT) {
      if (i > 2n ** 53n || i < -(2n ** 53n)) legacy.found = true;
      return { t: "int", i };
    }
  }
  const f = Number(text);
  if (!Number.isFinite(f)) throw new TreeParseError(`the number at ${displayPath(path())} is out of range`, displayPath(path()));
  return { t: "float", f };
}

class Reader {
  pos = 0;
  readonly legacy = { found: false };

  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new TreeParseError(this.pos >= this.text.length ? `JSON ends early: ${what} expected` : `JSON syntax error at byte ${this.pos}: ${what} expected`);
  }

  skipSpace(): void {
    const t = this.text;
    let c = t.charCodeAt(this.pos);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = t.charCodeAt(++this.pos);
  }

  expect(ch: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== ch) this.fail(`"${ch}"`);
    this.pos++;
  }

  string(): string {
    this.skipSpace();
    if (this.text[this.pos] !== '"') this.fail("a string");
    const start = ++this.pos;
    STRING_SPECIAL.lastIndex = start;
    const first = STRING_SPECIAL.exec(this.text);
    if (!first) this.fail('a closing "');
    if (first[0] === '"') {
      // The usual case, also for a base64 value of many megabytes: no escapes, one slice.
      this.pos = first.index + 1;
      return this.text.slice(start, first.index);
    }
    return this.escapedString(start);
  }

  escapedString(start: number): string {
    const t = this.text;
    let out = "";
    let i = start;
    for (;;) {
      const c = t.charCodeAt(i);
      if (Number.isNaN(c)) {
        this.pos = i;
        this.fail('a closing "');
      }
      if (c === 0x22) break;
      if (c < 0x20) {
        this.pos = i;
        this.fail("no control character in a string");
      }
      if (c !== 0x5c) {
        out += t[i++];
        continue;
      }
      const e = t[i + 1];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e in simple) {
        out += simple[e];
        i += 2;
      } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(t.slice(i + 2, i + 6))) {
        // A lone surrogate stays one here and becomes U+FFFD when encoded as UTF-8, as in Go.
        out += String.fromCharCode(parseInt(t.slice(i + 2, i + 6), 16));
        i += 6;
      } else {
        this.pos = i;
        this.fail("a valid escape");
      }
    }
    this.pos = i + 1;
    return out;
  }

  /** The key path of the value being read (for messages only). */
  pathOf(stack: readonly Frame[]): string[] {
    return stack.flatMap((f) => (f.kind === "map" && f.key !== undefined ? [f.key] : []));
  }

  scalar(stack: readonly Frame[]): TreeNode {
    const c = this.text[this.pos];
    if (c === '"') return { t: "str", s: this.string() };
    for (const [word, node] of [["true", { t: "bool", b: true }], ["false", { t: "bool", b: false }], ["null", { t: "null" }]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return node;
      }
    }
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) this.fail("a value");
    this.pos += m[0].length;
    return goNumber(m[0], () => this.pathOf(stack), this.legacy);
  }

  /** Reads a key and its colon into the map frame. */
  key(frame: MapFrame): void {
    frame.key = this.string();
    this.expect(":");
  }

  /**
   * Reads the object at the current position, with an explicit stack rather than recursion, so
   * deep nesting is bounded by {@link MAX_DEPTH} and {@link MAX_NODES}, not by the call stack.
   */
  object(): TreeMap {
    const stack: Frame[] = [];
    let nodes = 0;
    for (;;) {
      // A value starts here.
      this.skipSpace();
      if (++nodes > MAX_NODES) {
        throw new CheckLimitError(`it has more than ${MAX_NODES.toLocaleString("en")} JSON values, more than this check reads in one file`);
      }
      const c = this.text[this.pos];
      let value: TreeNode | undefined;
      if (c === "{" || c === "[") {
        // Go's scanner refuses more than 10,000 nested objects and arrays (empty ones count too).
        if (stack.length + 1 > MAX_DEPTH) {
          const levels = MAX_DEPTH.toLocaleString("en");
          throw new TreeParseError(`the JSON nests deeper than ${levels} levels: Go's JSON encoding refuses that ("exceeded max depth"), so sops decrypt fails on it`);
        }
        this.pos++;
        this.skipSpace();
        if (this.text[this.pos] === (c === "{" ? "}" : "]")) {
          this.pos++;
          value = c === "{" ? { t: "map", items: [] } : { t: "list", items: [] };
        } else {
          const frame: Frame = c === "{" ? { kind: "map", items: [], key: undefined } : { kind: "list", items: [] };
          stack.push(frame);
          if (frame.kind === "map") this.key(frame);
          continue;
        }
      } else {
        if (stack.length === 0) this.fail('"{"');
        value = this.scalar(stack);
      }
      // Attach the value to its container; close every container that ends here.
      for (;;) {
        const frame = stack[stack.length - 1];
        if (frame === undefined) return value as TreeMap;
        if (frame.kind === "map") frame.items.push({ key: frame.key as string, value });
        else frame.items.push(value);
        this.skipSpace();
        const next = this.text[this.pos++];
        if (next === ",") {
          if (frame.kind === "map") this.key(frame);
          break;
        }
        if (next !== (frame.kind === "map" ? "}" : "]")) {
          this.pos--;
          this.fail(frame.kind === "map" ? '"," or "}"' : '"," or "]"');
        }
        stack.pop();
        value = frame.kind === "map" ? { t: "map", items: frame.items } : { t: "list", items: frame.items };
      }
    }
  }
}

interface MapFrame {
  readonly kind: "map";
  readonly items: TreeMap["items"][number][];
  key: string | undefined;
}

interface ListFrame {
  readonly kind: "list";
  readonly items: TreeNode[];
}

type Frame = MapFrame | ListFrame;

/** Reads the top-level object of a JSON text; throws {@link TreeParseError}. */
export function parseJsonTree(text: string): JsonTree {
  const reader = new Reader(text);
  reader.skipSpace();
  if (reader.text[reader.pos] !== "{") {
    if (reader.pos >= text.length) reader.fail("a JSON object");
    throw new TreeParseError("the JSON file is not an object; SOPS supports only JSON objects at the top level");
  }
  const root = reader.object();
  return { root, legacyNumbers: reader.legacy.found };
}
