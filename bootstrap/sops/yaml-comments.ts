/**
 * Which comments sops has "active" when it reaches each key or list item of a YAML file: under
 * `encrypted_comment_regex` and `unencrypted_comment_regex` these decide what is encrypted
 * (sops.go `walkBranch`/`walkSlice` keep a stack of the comments met since the previous item at
 * each level; `shouldBeEncrypted` matches the regex against it).
 *
 * sops's YAML store puts a key's head and line comments, and a scalar value's head and line
 * comments, before the item, and foot comments after it, which is before the next item. By
 * position that is: a comment on its own line belongs to the next item at the same indentation,
 * unless an item less indented comes first (then it closed a nested block and is dropped); a
 * comment after content on a line belongs to the innermost item that starts on that line.
 */
import * as YAML from "yaml";

interface Anchor {
  /** Where the item is looked up: a key's start, or a list item's value start. */
  readonly id: number;
  /** Where it starts for placement: the key, or the list item's `-`. */
  readonly offset: number;
  readonly col: number;
  readonly line: number;
}

interface CommentToken {
  readonly offset: number;
  readonly col: number;
  readonly line: number;
  readonly inline: boolean;
  /** After the `#`, as sops keeps it. */
  readonly text: string;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

function position(starts: readonly number[], offset: number): { line: number; col: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, col: offset - starts[lo] };
}

function commentTokens(text: string, starts: readonly number[]): CommentToken[] {
  const tokens: CommentToken[] = [];
  let offset = 0;
  for (const token of new YAML.Lexer().lex(text)) {
    // Control tokens (document start, scalar, flow error) are not source text.
    if (token.length === 1 && token.charCodeAt(0) < 0x20 && token !== "\n" && token !== "\t") continue;
    if (token.startsWith("#")) {
      const { line, col } = position(starts, offset);
      const before = text.slice(starts[line], offset);
      tokens.push({ offset, col, line, inline: before.trim() !== "", text: token.slice(1) });
    }
    offset += token.length;
  }
  return tokens;
}

function anchors(doc: YAML.Document, text: string, starts: readonly number[]): Anchor[] {
  const found: Anchor[] = [];
  const add = (id: number, offset: number): void => {
    const { line, col } = position(starts, offset);
    found.push({ id, offset, col, line });
  };
  YAML.visit(doc, {
    Pair(_, pair) {
      const start = YAML.isNode(pair.key) ? pair.key.range?.[0] : undefined;
      if (start !== undefined) add(start, start);
    },
    Seq(_, seq) {
      for (const item of seq.items) {
        const start = YAML.isNode(item) ? item.range?.[0] : undefined;
        if (start === undefined) continue;
        let dash = start - 1;
        while (dash >= 0 && (text[dash] === " " || text[dash] === "\t")) dash--;
        add(start, text[dash] === "-" ? dash : start);
      }
    },
  });
  return found.sort((a, b) => a.offset - b.offset);
}

/** The last of `items` (sorted by offset) that starts before `offset`, by binary search. */
function lastBefore(items: readonly Anchor[], offset: number): Anchor | undefined {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? items[lo - 1] : undefined;
}

/**
 * The item each own-line comment belongs to: the first item after it that is not more indented,
 * when it is exactly as indented. Comments are taken from the last one back, with a stack of the
 * items after it that could still be that first one (each less indented than all nearer ones), so
 * a file with many comments and items costs a binary search per comment rather than a scan.
 */
function ownLineTargets(comments: readonly CommentToken[], items: readonly Anchor[]): (Anchor | undefined)[] {
  const targets: (Anchor | undefined)[] = new Array(comments.length);
  const candidates: Anchor[] = [];
  let next = items.length - 1;
  for (let i = comments.length - 1; i >= 0; i--) {
    const c = comments[i];
    if (c.inline) continue;
    for (; next >= 0 && items[next].offset > c.offset; next--) {
      const item = items[next];
      while (candidates.length > 0 && candidates[candidates.length - 1].col >= item.col) candidates.pop();
      candidates.push(item);
    }
    // Columns grow from the bottom of the stack to its top: find the nearest with col <= c.col.
    let lo = 0;
    let hi = candidates.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (candidates[mid].col <= c.col) lo = mid + 1;
      else hi = mid;
    }
    const found = lo > 0 ? candidates[lo - 1] : undefined;
    targets[i] = found && found.col === c.col ? found : undefined;
  }
  return targets;
}

/**
 * For each key and list item of the documents (by the start offset of the key, or of the list
 * item's value), the comments sops adds to its stack just before walking it.
 */
export function commentFrames(text: string, docs: readonly YAML.Document[]): Map<number, string[]> {
  const frames = new Map<number, string[]>();
  if (!text.includes("#")) return frames;
  const starts = lineStarts(text);
  const comments = commentTokens(text, starts);
  let first = 0;
  for (const doc of docs) {
    // A document's range starts at its contents; the comments before them are its own too.
    const to = doc.range?.[2] ?? text.length;
    let end = first;
    while (end < comments.length && comments[end].offset < to) end++;
    const mine = comments.slice(first, end);
    first = end;
    const items = anchors(doc, text, starts);
    const ownLine = ownLineTargets(mine, items);
    for (const [i, c] of mine.entries()) {
      let target: Anchor | undefined;
      if (c.inline) {
        const before = lastBefore(items, c.offset);
        target = before && before.line === c.line ? before : undefined;
      } else {
        target = ownLine[i];
      }
      if (!target) continue;
      const frame = frames.get(target.id) ?? [];
      frame.push(c.text);
      frames.set(target.id, frame);
    }
  }
  return frames;
}
