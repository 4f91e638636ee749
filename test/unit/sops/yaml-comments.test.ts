/**
 * Where sops has each comment on its stack (bootstrap/sops/yaml-comments.ts): the comments before
 * a key or list item at its indentation, its line comment, and foot comments carried to the next
 * item; comments that close a nested block are dropped. The same placement is checked against
 * the real sops under comment rules in test/e2e/sops-interop.test.ts.
 */
import * as YAML from "yaml";
import { commentFrames } from "../../../bootstrap/sops/yaml-comments";

/** The frames by the text of what they belong to (a key, or a list item's value). */
function frames(text: string): Record<string, string[]> {
  const docs = YAML.parseAllDocuments(text, { version: "1.2", schema: "failsafe" }) as YAML.Document[];
  const out: Record<string, string[]> = {};
  for (const [offset, comments] of commentFrames(text, docs)) out[text.slice(offset).split(/[: \n]/)[0]] = comments;
  return out;
}

describe("the comments sops meets before each item", () => {
  it("head and line comments go to their item; foot comments to the next item at that level", () => {
    const text = "# top\n# second\na: 1 # on a\nb:\n  # nested head\n  x: 1\n  # closes the nested block\n# before c\nc: 2\n";
    expect(frames(text)).toEqual({ a: [" top", " second", " on a"], x: [" nested head"], c: [" before c"] });
  });

  it("list items: a comment before an item and an item's line comment; the innermost item on a line", () => {
    const text = "list:\n  # first\n  - one # one's\n  - two\nmaps:\n  - k: v # on k\n";
    expect(frames(text)).toEqual({ one: [" first", " one's"], k: [" on k"] });
  });

  it("a # inside a block scalar or a quoted value is not a comment; each document keeps its own", () => {
    const text = "a: |\n  # text\nb: 'x # y'\n---\n# doc two\nc: 1\n";
    expect(frames(text)).toEqual({ c: [" doc two"] });
  });
});
