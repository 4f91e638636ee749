/**
 * The few Go standard-library behaviours a SOPS MAC depends on, reproduced exactly: sops hashes
 * every value as Go prints it (`strconv.FormatFloat(f, 'f', -1, 64)`, `strconv.Itoa`,
 * `time.Time.MarshalText`, `True`/`False`), after parsing it as Go parses it (`strconv.Atoi`,
 * `ParseFloat`, `ParseBool`, yaml.v3's scalar resolution). Rules read from getsops/sops v3.13.3
 * (`sops.go` ToBytes, `aes/cipher.go`) and go.yaml.in/yaml/v3 v3.0.4 (`resolve.go`).
 */
import { RE2JS } from "re2js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent. */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  const sign = f < 0 || Object.is(f, -0) ? "-" : "";
  // toExponential() without an argument gives the shortest digits that round-trip, like Go.
  const [mantissa, exp] = Math.abs(f).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const e = Number(exp);
  if (e >= digits.length - 1) return sign + digits + "0".repeat(e - (digits.length - 1));
  if (e < 0) return sign + "0." + "0".repeat(-e - 1) + digits;
  return sign + digits.slice(0, e + 1) + "." + digits.slice(e + 1);
}

/** `strconv.Atoi` on a 64-bit platform: optional sign, decimal digits, int64 range. */
export function parseGoAtoi(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s.startsWith("+") ? s.slice(1) : s);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

/** `strconv.ParseBool`. */
export function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

// One way to split any input (`[0-9]+\.?[0-9]*` has many, and backtracks quadratically on long digits).
const DECIMAL_FLOAT = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/**
 * `strconv.ParseFloat(s, 64)` for the forms sops writes and reads: decimal with optional
 * exponent, and the special values (`NaN`, `Inf`, `Infinity`, any case, signed). Out of range is
 * an error, as in Go; hexadecimal floats are not accepted (sops never writes them).
 */
export function parseGoFloat(s: string): number | undefined {
  if (DECIMAL_FLOAT.test(s)) {
    const f = Number(s);
    return Number.isFinite(f) ? f : undefined;
  }
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
  if (!special) return undefined;
  if (special[2].toLowerCase() === "nan") return special[1] === "" ? NaN : undefined;
  return special[1] === "-" ? -Infinity : Infinity;
}

/** A parsed Go `time.Time`, kept as the fields `MarshalText` prints. */
export interface GoTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** Nanoseconds, as a 9-digit string (Go truncates extra digits). */
  readonly nanos: string;
  /** Offset from UTC in minutes. */
  readonly offsetMinutes: number;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function daysIn(month: number, year: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function validTime(t: GoTime): boolean {
  return (
    t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= daysIn(t.month, t.year) &&
    t.hour < 24 && t.minute < 60 && t.second < 60
  );
}

function zoneMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === "Z") return 0;
  const m = /^([+-])([0-9]{2}):([0-9]{2})$/.exec(zone);
  if (!m) return undefined;
  const hours = Number(m[2]);
  const minutes = Number(m[3]);
  if (hours > 24 || minutes > 60) return undefined;
  return (m[1] === "-" ? -1 : 1) * (hours * 60 + minutes);
}

function nanosOf(fraction: string | undefined): string {
  return (fraction ?? "").slice(0, 9).padEnd(9, "0");
}

/** `time.Time.MarshalText` (RFC 3339 with nanoseconds, trailing zeros dropped, `Z` for UTC). */
export function marshalGoTime(t: GoTime): string {
  const fraction = t.nanos.replace(/0+$/, "");
  let zone = "Z";
  if (t.offsetMinutes !== 0) {
    const abs = Math.abs(t.offsetMinutes);
    zone = `${t.offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
  }
  return (
    `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}T${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}` +
    (fraction ? `.${fraction}` : "") +
    zone
  );
}

/**
 * The timestamp forms yaml.v3 resolves an unquoted scalar to (`2006-1-2T15:4:5.999999999Z07:00`,
 * the same with `t`, `2006-1-2 15:4:5.999999999` in UTC, `2006-1-2`), parsed like Go's
 * `time.Parse` (one or two digit fields, range-checked, fraction truncated to nanoseconds).
 */
export function parseYamlTimestamp(s: string): GoTime | undefined {
  const m =
    /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:([Tt])([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,]([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2}))|(?: ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,]([0-9]+))?))?$/.exec(
      s,
    );
  if (!m) return undefined;
  const spaced = m[10] !== undefined;
  const offsetMinutes = zoneMinutes(m[9]);
  if (offsetMinutes === undefined) return undefined;
  const t: GoTime = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number((spaced ? m[10] : m[5]) ?? 0),
    minute: Number((spaced ? m[11] : m[6]) ?? 0),
    second: Number((spaced ? m[12] : m[7]) ?? 0),
    nanos: nanosOf(spaced ? m[13] : m[8]),
    offsetMinutes,
  };
  return validTime(t) ? t : undefined;
}

/** `time.Parse(time.RFC3339, s)`: two-digit fields, optional fraction, `Z` or `±hh:mm`. */
export function parseRfc3339(s: string): GoTime | undefined {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})$/.exec(s);
  if (!m) return undefined;
  const offsetMinutes = zoneMinutes(m[8]);
  if (offsetMinutes === undefined) return undefined;
  const t: GoTime = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6]),
    nanos: nanosOf(m[7]),
    offsetMinutes,
  };
  return validTime(t) ? t : undefined;
}

/** `t.Format(time.RFC3339)`: like MarshalText without the fraction (the MAC's AAD). */
export function formatRfc3339(t: GoTime): string {
  return marshalGoTime({ ...t, nanos: "000000000" });
}

/** A value as yaml.v3 decodes a scalar into `interface{}`. */
export type GoScalar =
  | { readonly t: "str"; readonly s: string }
  | { readonly t: "int"; readonly i: bigint }
  | { readonly t: "float"; readonly f: number }
  | { readonly t: "bool"; readonly b: boolean }
  | { readonly t: "time"; readonly time: GoTime }
  | { readonly t: "null" }
  /** Out of int64 range: sops cannot walk such a value. */
  | { readonly t: "uint" };

/** Go's `strconv.ParseInt(s, 0, 64)` (base prefixes 0x, 0o, 0b and a leading 0 for octal). */
function parseGoIntBase0(s: string): { value: bigint; unsigned: boolean } | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2];
  let magnitude: bigint;
  if (/^0[oO]/.test(body)) magnitude = BigInt("0o" + body.slice(2));
  else if (/^0[xXbB]/.test(body)) magnitude = BigInt(body.toLowerCase());
  else if (body.length > 1 && body.startsWith("0")) magnitude = BigInt("0o" + body.slice(1));
  else magnitude = BigInt(body);
  const value = m[1] === "-" ? -magnitude : magnitude;
  if (value >= INT64_MIN && value <= INT64_MAX) return { value, unsigned: false };
  // ParseUint accepts no sign at all.
  if (m[1] === "" && value <= UINT64_MAX) return { value, unsigned: true };
  return undefined;
}

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

const YAML_MAP: Record<string, GoScalar> = {
  true: { t: "bool", b: true },
  True: { t: "bool", b: true },
  TRUE: { t: "bool", b: true },
  false: { t: "bool", b: false },
  False: { t: "bool", b: false },
  FALSE: { t: "bool", b: false },
  "": { t: "null" },
  "~": { t: "null" },
  null: { t: "null" },
  Null: { t: "null" },
  NULL: { t: "null" },
  ".nan": { t: "float", f: NaN },
  ".NaN": { t: "float", f: NaN },
  ".NAN": { t: "float", f: NaN },
  ".inf": { t: "float", f: Infinity },
  ".Inf": { t: "float", f: Infinity },
  ".INF": { t: "float", f: Infinity },
  "+.inf": { t: "float", f: Infinity },
  "+.Inf": { t: "float", f: Infinity },
  "+.INF": { t: "float", f: Infinity },
  "-.inf": { t: "float", f: -Infinity },
  "-.Inf": { t: "float", f: -Infinity },
  "-.INF": { t: "float", f: -Infinity },
};

/**
 * yaml.v3's `resolve(tag, s)` for a plain (unquoted, untagged) scalar, or for one tagged
 * `!!int`/`!!float`/`!!bool`/`!!null`/`!!timestamp` (then `allowTimestamp` is whether the tag is
 * `!!timestamp`).
 */
export function resolveYamlPlain(s: string, allowTimestamp = true): GoScalar {
  const first = s.charAt(0);
  const hint = s === "" ? "N" : /[0-9]/.test(first) ? "D" : first === "+" || first === "-" ? "S" : "yYnNtTfFoO~".includes(first) ? "M" : first === "." ? "." : "";
  if (hint === "") return { t: "str", s };
  const mapped = Object.prototype.hasOwnProperty.call(YAML_MAP, s) ? YAML_MAP[s] : undefined;
  if (mapped) return mapped;
  if (hint === ".") {
    if (/^\.[0-9]+(?:[eE][+-]?[0-9]+)?$/.test(s)) {
      const f = Number(s);
      if (Number.isFinite(f)) return { t: "float", f };
    }
    return { t: "str", s };
  }
  if (hint === "D" || hint === "S") {
    const time = allowTimestamp ? parseYamlTimestamp(s) : undefined;
    if (time) return { t: "time", time };
    const plain = s.replace(/_/g, "");
    const int = parseGoIntBase0(plain);
    if (int) return int.unsigned ? { t: "uint" } : { t: "int", i: int.value };
    if (YAML_STYLE_FLOAT.test(plain)) {
      const f = Number(plain);
      if (Number.isFinite(f)) return { t: "float", f };
    }
  }
  return { t: "str", s };
}

/** A compiled Go (RE2) regular expression: `test` is Go's `MatchString` (a match anywhere). */
export interface GoRegExp {
  readonly source: string;
  test(input: string): boolean;
}

/** A pattern Go's `regexp.Compile` refuses; the message is RE2's, naming the bad part. */
export class GoRegExpError extends Error {}

/**
 * Compiles a pattern from repository content (`path_regex`, `encrypted_regex`, the comment
 * rules) with Go's RE2 syntax and semantics: `re2js`, a port of RE2, matches in time linear in
 * the input whatever the pattern (a JavaScript RegExp backtracks: `(a+)+$` takes exponential
 * time), and accepts and refuses what Go does (`(?U)`, `\z`, `[[:upper:]]` yes; lookaround, `\Z`,
 * repeats over 1000 no). Throws {@link GoRegExpError}.
 */
export function compileGoRegExp(pattern: string): GoRegExp {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (err) {
    throw new GoRegExpError(err instanceof Error ? err.message.replace(/^error parsing regexp: /, "") : String(err));
  }
  return { source: pattern, test: (input) => compiled.test(input) };
}
