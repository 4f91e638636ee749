/**
 * Views of an INI tree for the INI store's tests (unit and e2e): sections, keys, values and
 * comments as plain arrays.
 */
import { loadIni } from "../../../bootstrap/sops/ini";
import type { ParsedSopsFile } from "../../../bootstrap/sops/tree";

export type Sections = [string, [string, string][]][];

/** The tree as [section, [key, value][]] in order (all INI values are strings). */
export function sectionsOf(parsed: ParsedSopsFile): Sections {
  return parsed.branches[0].items.map((section) => {
    if (section.value.t !== "map") throw new Error(`section ${section.key} is not a map`);
    return [
      section.key,
      section.value.items.map((item): [string, string] => {
        if (item.value.t !== "str") throw new Error(`${section.key}:${item.key} is not a string`);
        return [item.key, item.value.s];
      }),
    ];
  });
}

export const view = (text: string | Buffer): Sections => sectionsOf(loadIni(Buffer.from(text)));
export const commentsOf = (text: string): [string, string][] => loadIni(Buffer.from(text)).comments.map((c) => [c.path.join(":"), c.text]);
