/**
 * Text from a repository (file names, key paths, rule names, messages that quote them) is
 * printed to terminals and written into reports. A control character in it could move the
 * cursor, recolour or erase lines (ESC and CSI sequences), or reorder what is shown (bidi
 * controls), and so hide a failure line: each is shown as an escape (`\x1b`, `\u202e`) instead.
 */

/** C0 (with tab and newline), DEL, C1, the line and paragraph separators, and bidi controls. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, less tab, newline and carriage return, which XML keeps as text. */
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** What JSON.stringify leaves as it is among those. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** One line of text, safe for a terminal: every control character escaped, newlines too. */
export function safeLine(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/** Text for an XML document: control characters escaped except tab, newline and carriage return. */
export function safeXmlText(text: string): string {
  return text.replace(UNSAFE_IN_XML, escapeOne);
}

/** A JSON document with the control characters JSON.stringify leaves raw written as `\u` escapes (same value). */
export function safeJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
