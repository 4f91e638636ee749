/**
 * Loads an INI SOPS file the way sops's INI store does (getsops/sops v3.13.3 `stores/ini/store.go`
 * with `stores/metadata.go`), parsing as gopkg.in/ini.v1 v1.67.3 does with
 * `LoadOptions{AllowNonUniqueSections: true}` and every other option at its default
 * (`parser.go`, `file.go`, `section.go`): one branch whose items are the sections, the implicit
 * `DEFAULT` section first, each a map of string values; comments are not values. The `[sops]`
 * section holds the flattened metadata. Error messages give line numbers, never file content.
 */
import { unflattenMetadata } from "./flatten";
import { type ParsedSopsFile, type TreeComment, type TreeMap, TreeParseError } from "./tree";


const DEFAULT_SECTION = "DEFAULT";
const SOPS_SECTION = "sops";
const KEY_VALUE_DELIMITERS = "=:";

// --- Go string helpers ------------------------------------------------------------------------

/** Go's `unicode.IsSpace`: Latin-1 spaces and the Unicode White_Space property. */
function isGoSpace(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** `strings.TrimLeftFunc(s, unicode.IsSpace)`. */
function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isGoSpace(s.charCodeAt(i))) i++;
  return s.slice(i);
}

/** `strings.TrimSpace`. */
function trimSpace(s: string): string {
  let end = s.length;
  while (end > 0 && isGoSpace(s.charCodeAt(end - 1))) end--;
  return trimLeftSpace(s.slice(0, end));
}

/** `strings.TrimLeft(s, cutset)`. */
function trimLeftChars(s: string, cutset: string): string {
  let i = 0;
  while (i < s.length && cutset.includes(s[i])) i++;
  return s.slice(i);
}

/** `strings.TrimRight(s, cutset)`. */
function trimRightChars(s: string, cutset: string): string {
  let end = s.length;
  while (end > 0 && cutset.includes(s[end - 1])) end--;
  return s.slice(0, end);
}

/** `strings.IndexAny(s, chars)` for ASCII `chars`. */
function indexAny(s: string, chars: string): number {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i])) return i;
  return -1;
}

/** Go's `len` of a string: its UTF-8 bytes. */
const byteLength = (s: string): number => {
  let n = Buffer.byteLength(s, "utf8");
  // An escaped invalid byte (see decodeText) is one byte, not the three of a surrogate.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xdc80 && s.charCodeAt(i) <= 0xdcff) n -= 2;
  return n;
};

// --- ini.v1's parser --------------------------------------------------------------------------

/** `bufio.Reader.ReadBytes('\n')` as ini.v1's `readUntil` uses it: lines keep their "\n". */
class LineReader {
  private pos = 0;
  /** The 1-based number of the line last read. */
  lineNo = 0;
  isEOF = false;

  constructor(private readonly text: string) {}

  next(): string {
    if (this.pos < this.text.length || !this.isEOF) this.lineNo++;
    const nl = this.text.indexOf("\n", this.pos);
    if (nl < 0) {
      const rest = this.text.slice(this.pos);
      this.pos = this.text.length;
      this.isEOF = true;
      return rest;
    }
    const line = this.text.slice(this.pos, nl + 1);
    this.pos = nl + 1;
    return line;
  }
}

interface IniKey {
  readonly name: string;
  value: string;
  comment: string;
}

interface IniSection {
  readonly name: string;
  /** The line of its header (0 for the implicit DEFAULT section). */
  readonly line: number;
  comment: string;
  readonly keys: IniKey[];
  readonly byName: Map<string, IniKey>;
}

interface ParserState {
  readonly reader: LineReader;
  /** ini.v1's `p.comment` buffer: comment lines and inline comments since the last key or section. */
  comment: string;
}

const syntaxError = (line: number, what: string): TreeParseError => new TreeParseError(`INI syntax error on line ${line}: ${what}`);

/** `cleanComment`: the text from the first `#` or `;` on. */
function cleanComment(s: string): string | undefined {
  const i = indexAny(s, "#;");
  return i < 0 ? undefined : s.slice(i);
}

/** `readKeyName`: the key (quoted with `"`, `"""` or a backtick, or up to the first `=`/`:`) and where the value starts. */
function readKeyName(line: string, lineNo: number): { name: string; offset: number } {
  let keyQuote = "";
  if (line[0] === '"') keyQuote = byteLength(line) > 6 && line.startsWith('"""') ? '"""' : '"';
  else if (line[0] === "`") keyQuote = "`";
  if (keyQuote !== "") {
    const start = keyQuote.length;
    const pos = line.indexOf(keyQuote, start);
    if (pos < 0) throw syntaxError(lineNo, "a quoted key name has no closing quote");
    const i = indexAny(line.slice(pos + start), KEY_VALUE_DELIMITERS);
    if (i < 0) throw syntaxError(lineNo, 'a key has no "=" or ":" after it');
    return { name: trimSpace(line.slice(start, pos)), offset: pos + i + start + 1 };
  }
  const end = indexAny(line, KEY_VALUE_DELIMITERS);
  if (end < 0) throw syntaxError(lineNo, 'the line is not a section, a comment or a key with "=" or ":"');
  if (end === 0) throw syntaxError(lineNo, "a key name is empty");
  return { name: trimSpace(line.slice(0, end)), offset: end + 1 };
}

/** `readMultilines`: a `"""` or backtick value that does not close on its first line. */
function readMultilines(first: string, quote: string, state: ParserState, startLine: number): string {
  let value = first;
  for (;;) {
    const next = state.reader.next();
    const pos = next.lastIndexOf(quote);
    if (pos > -1) {
      const rest = trimRightChars(next.slice(pos + quote.length), "\r\n");
      // A backslash after the closing quote continues the value, quote included.
      if (trimSpace(rest).endsWith("\\")) {
        value += next;
        continue;
      }
      value += next.slice(0, pos);
      const comment = cleanComment(next.slice(pos));
      if (comment !== undefined) state.comment += trimSpace(comment);
      return value;
    }
    value += next;
    if (state.reader.isEOF) throw syntaxError(startLine, "a quoted value is not closed before the end of the file");
  }
}

/** `readContinuationLines`: a value ending in `\` goes on with the next lines, trimmed, until one does not. */
function readContinuationLines(first: string, state: ParserState): string {
  const parts = [first];
  for (;;) {
    const next = trimSpace(state.reader.next());
    if (next === "") break;
    if (!next.endsWith("\\")) {
      parts.push(next);
      break;
    }
    parts.push(next.slice(0, -1));
  }
  return parts.join("");
}

/** `hasSurroundedQuote`: the quote is the first and last character and nowhere else. */
function hasSurroundedQuote(s: string, quote: string): boolean {
  return s.length >= 2 && s[0] === quote && s[s.length - 1] === quote && s.indexOf(quote, 1) === s.length - 1;
}

/** `readValue` with the default options (inline comments cut at the first `#` or `;`). */
function readValue(input: string, state: ParserState, lineNo: number): string {
  let line = trimLeftSpace(input);
  if (line === "") return "";
  let quote = "";
  if (line.length > 3 && line.startsWith('"""')) quote = '"""';
  else if (line[0] === "`") quote = "`";
  if (quote !== "") {
    const body = line.slice(quote.length);
    const pos = body.lastIndexOf(quote);
    if (pos < 0) return readMultilines(body, quote, state, lineNo);
    // Whatever follows the closing quote is dropped, comment or not.
    return body.slice(0, pos);
  }
  line = trimSpace(line);
  if (line.endsWith("\\")) return readContinuationLines(line.slice(0, -1), state);
  const i = indexAny(line, "#;");
  if (i > -1) {
    state.comment += line.slice(i);
    line = trimSpace(line.slice(0, i));
  }
  if (hasSurroundedQuote(line, "'") || hasSurroundedQuote(line, '"')) line = line.slice(1, -1);
  return line;
}

function newSection(name: string, line: number): IniSection {
  return { name, line, comment: "", keys: [], byName: new Map() };
}

/** `Section.NewKey` without shadows: a repeated key keeps its place and takes the later value. */
function setKey(section: IniSection, name: string, value: string, lineNo: number): IniKey {
  if (name === "") throw syntaxError(lineNo, "a key name is empty");
  const existing = section.byName.get(name);
  if (existing) {
    existing.value = value;
    return existing;
  }
  const key: IniKey = { name, value, comment: "" };
  section.keys.push(key);
  section.byName.set(name, key);
  return key;
}

/** `File.parse`: the sections in file order, the implicit `DEFAULT` first; repeated headers make new sections. */
function parseIni(text: string): IniSection[] {
  const state: ParserState = { reader: new LineReader(text), comment: "" };
  let section = newSection(DEFAULT_SECTION, 0);
  const sections = [section];
  let autoIncrement = 1;
  while (!state.reader.isEOF) {
    const line = trimLeftSpace(state.reader.next());
    const lineNo = state.reader.lineNo;
    if (line === "") continue;
    if (line[0] === "#" || line[0] === ";") {
      state.comment += line;
      continue;
    }
    if (line[0] === "[") {
      const close = line.lastIndexOf("]");
      if (close < 0) throw syntaxError(lineNo, 'a section header has no closing "]"');
      const name = line.slice(1, close);
      if (name === "") throw syntaxError(lineNo, "a section name is empty");
      section = newSection(name, lineNo);
      sections.push(section);
      const inline = cleanComment(line.slice(close + 1));
      if (inline !== undefined) state.comment += inline;
      section.comment = trimSpace(state.comment);
      state.comment = "";
      autoIncrement = 1;
      continue;
    }
    const { name, offset } = readKeyName(line, lineNo);
    const keyName = name === "-" ? `#${autoIncrement++}` : name;
    const value = readValue(line.slice(offset), state, lineNo);
    const key = setKey(section, keyName, value, lineNo);
    key.comment = trimSpace(state.comment);
    state.comment = "";
  }
  return sections;
}

// --- sops's INI store -------------------------------------------------------------------------

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** ini.v1's `BOM`: a UTF-16 (two bytes) or UTF-8 (three bytes) byte order mark is skipped. */
function skipBom(content: Buffer): Buffer {
  if (content.length >= 2 && ((content[0] === 0xfe && content[1] === 0xff) || (content[0] === 0xff && content[1] === 0xfe))) return content.subarray(2);
  if (content.length >= 3 && content[0] === 0xef && content[1] === 0xbb && content[2] === 0xbf) return content.subarray(3);
  return content;
}

/** The first byte of an escaped invalid byte: U+DC80 + byte, a lone surrogate (as Python's surrogateescape). */
const ESCAPE_BASE = 0xdc00;

/** How many continuation bytes follow `b`, and the range the first of them must be in (Go's `utf8.DecodeRune`). */
function utf8Lead(b: number): [number, number, number] | undefined {
  if (b >= 0xc2 && b <= 0xdf) return [1, 0x80, 0xbf];
  if (b === 0xe0) return [2, 0xa0, 0xbf];
  if (b === 0xed) return [2, 0x80, 0x9f];
  if (b >= 0xe1 && b <= 0xef) return [2, 0x80, 0xbf];
  if (b === 0xf0) return [3, 0x90, 0xbf];
  if (b >= 0xf1 && b <= 0xf3) return [3, 0x80, 0xbf];
  if (b === 0xf4) return [3, 0x80, 0x8f];
  return undefined;
}

/**
 * The text, rune by rune as Go reads it. ini.v1 reads bytes, so sops takes any bytes: a byte
 * that is not part of valid UTF-8 is a rune Go never takes for a space or a delimiter. Here it
 * becomes a lone surrogate (U+DC80 + byte), which nothing in the parser matches either, and
 * {@link toByteString} turns it back into its byte.
 */
function decodeText(content: Buffer): { text: string; escaped: boolean } {
  try {
    return { text: utf8Decoder.decode(content), escaped: false };
  } catch {
    let text = "";
    for (let i = 0; i < content.length; ) {
      const b = content[i];
      const lead = b < 0x80 ? undefined : utf8Lead(b);
      const [more, lo, hi] = lead ?? [0, 0, 0];
      let ok = b < 0x80 || (lead !== undefined && i + more < content.length && content[i + 1] >= lo && content[i + 1] <= hi);
      for (let k = 2; ok && k <= more; k++) ok = content[i + k] >= 0x80 && content[i + k] <= 0xbf;
      if (!ok) {
        text += String.fromCharCode(ESCAPE_BASE + b);
        i++;
        continue;
      }
      text += content.toString("utf8", i, i + more + 1);
      i += more + 1;
    }
    return { text, escaped: true };
  }
}

/** A string of the escaped text as the bytes it stands for, one char per byte (read as latin1). */
function toByteString(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= ESCAPE_BASE + 0x80 && c <= ESCAPE_BASE + 0xff) out += String.fromCharCode(c - ESCAPE_BASE);
    else out += Buffer.from(ch, "utf8").toString("latin1");
  }
  return out;
}

/** sops's `stripCommentChar`: the leading `;` or `#` and the spaces (and repeats) after it. */
function stripCommentChar(comment: string): string {
  if (comment.startsWith(";")) return trimLeftChars(comment, "; ");
  if (comment.startsWith("#")) return trimLeftChars(comment, "# ");
  return comment;
}

/** `ExtractMetadata` with `MetadataFlattenBelowTop` and `EscapeNewlines`. */
function extractMetadata(sections: readonly IniSection[], bytes: (s: string) => string): TreeMap | undefined {
  const found = sections.filter((s) => s.name === SOPS_SECTION);
  if (found.length > 1) throw new TreeParseError(`the INI file has a second [sops] section on line ${found[1].line}; sops allows one`);
  // No keys is no metadata to sops (its branch is nil).
  if (found.length === 0 || found[0].keys.length === 0) return undefined;
  try {
    return unflattenMetadata(found[0].keys.map((k) => ({ key: bytes(k.name), value: bytes(k.value).replace(/\\n/g, "\n") })));
  } catch (err) {
    if (!(err instanceof TreeParseError)) throw err;
    throw new TreeParseError(`the [sops] section on line ${found[0].line}: ${err.message}`);
  }
}

/**
 * Parses an INI SOPS file's bytes as sops's INI store does. Keys and values are UTF-8 text
 * (`encoding: "utf8"`), or, in a file that is not valid UTF-8, byte strings (`"latin1"`), so
 * that they are hashed and authenticated byte for byte as sops does.
 */
export function loadIni(content: Buffer): ParsedSopsFile {
  const { text, escaped } = decodeText(skipBom(content));
  const bytes = escaped ? toByteString : (s: string): string => s;
  const sections = parseIni(text);
  const metadata = extractMetadata(sections, bytes);
  const items: TreeMap["items"] = [];
  const comments: TreeComment[] = [];
  for (const section of sections) {
    if (section.name === SOPS_SECTION) continue;
    const path = [bytes(section.name)];
    if (section.comment !== "") comments.push({ text: bytes(stripCommentChar(section.comment)), path });
    for (const key of section.keys) if (key.comment !== "") comments.push({ text: bytes(stripCommentChar(key.comment)), path });
    items.push({ key: path[0], value: { t: "map", items: section.keys.map((k) => ({ key: bytes(k.name), value: { t: "str", s: bytes(k.value) } })) } });
  }
  return { format: "ini", branches: [{ t: "map", items }], metadata, laterMetadata: [], comments, encoding: escaped ? "latin1" : "utf8", hasLegacyJsonNumbers: false };
}
