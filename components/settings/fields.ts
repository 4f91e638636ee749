/**
 * Reading stack config values: the list of problems (each naming its key), and the readers and
 * checks the shared keys and the reconcilers' blocks (argocd.ts, flux.ts) all use.
 * Messages never echo a value that looks like key material.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CONFIG_NAMESPACE } from "../defaults";
import { UsageError } from "../errors";

export interface ConfigProblem {
  /** Full config key, e.g. `gitops-bootstrap:repo.url`. */
  readonly key: string;
  readonly message: string;
}

export class ConfigError extends UsageError {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(formatProblems(problems));
  }
}

/** `what`: what the problems are in (the stack config, or a component's args). */
export function formatProblems(problems: readonly ConfigProblem[], what = "stack config"): string {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return [`Invalid ${what} (${count}):`, ...problems.map((p) => `  ✗ ${p.key}: ${p.message}`)].join("\n");
}

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
export const EXACT_SEMVER = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
export const DURATION = /^(\d+(\.\d+)?(h|m|s|ms))+$/;

/**
 * Collects problems while reading one section of the config. `keyOf` turns the stack config's
 * key (`argocd.chartVersion`) into the name reported: the full config key by default, a field
 * path of a component's args when the components check their args with the same readers.
 */
export class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(private readonly keyOf: (key: string) => string = (key) => `${CONFIG_NAMESPACE}:${key}`) {}
  add(key: string, message: string): void {
    this.list.push({ key: this.keyOf(key), message });
  }
}

export type Obj = Record<string, unknown>;
export const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses a raw config string: Pulumi stores objects, numbers and booleans as JSON text. */
export function parseRaw(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function checkKnownKeys(problems: Problems, where: string, value: Obj, known: readonly string[]): void {
  for (const k of Object.keys(value)) {
    if (!known.includes(k)) {
      problems.add(`${where}.${k}`, `unknown key; expected one of: ${known.join(", ")}`);
    }
  }
}

/** Reads an optional string field; reports a non-string. */
export function optString(problems: Problems, key: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v !== "string") {
    problems.add(key, `expected a string, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

export function optBoolean(problems: Problems, key: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v === "boolean") return v;
  if (v === "true" || v === "false") return v === "true";
  problems.add(key, `expected true or false, got ${describe(v)}`);
  return fallback;
}

/** Key material pasted into the wrong key must not be echoed back in an error. */
const LOOKS_SECRET = /AGE-SECRET-KEY-|AGE-PLUGIN-|PRIVATE KEY/i;

export function describe(v: unknown): string {
  if (typeof v === "string" && LOOKS_SECRET.test(v)) return "a value that looks like a private key (not shown)";
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return `${typeof v} ${String(v)}`;
}

/** An exact chart version (a range would install a different release on every rebuild), without a leading v. */
export function readChartVersion(problems: Problems, key: string, raw: unknown, fallback: string): string {
  const version = optString(problems, key, raw) ?? fallback;
  if (!EXACT_SEMVER.test(version)) {
    problems.add(key, `must pin an exact chart version such as ${fallback}, got ${describe(version)}: a range would install a different release on every rebuild`);
  }
  return version.replace(/^v/, "");
}

export function readChartRepo(problems: Problems, key: string, raw: unknown, fallback: string): string {
  const chartRepo = optString(problems, key, raw) ?? fallback;
  if (/^http:\/\//.test(chartRepo)) problems.add(key, "uses plain http; use https:// or oci://");
  return chartRepo;
}

export function readNamespace(problems: Problems, key: string, raw: unknown, fallback: string): string {
  const namespace = optString(problems, key, raw) ?? fallback;
  if (!DNS_LABEL.test(namespace)) {
    problems.add(key, `must be a DNS-1123 label (lower case letters, digits, '-'), got ${describe(namespace)}`);
  }
  return namespace;
}

export function readValues(problems: Problems, key: string, raw: unknown): Obj {
  if (raw === undefined) return {};
  if (!isObject(raw)) {
    problems.add(key, `expected an object of Helm values, got ${describe(raw)}`);
    return {};
  }
  return raw;
}

/** Milliseconds in a Go duration (`1m`, `10m0s`, `1.5h`), or undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const [, n, , u] of text.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) total += Number(n) * unit[u];
  return total;
}


/** What reading a file named in the config needs (the directories paths are relative to, and the reader). */
export interface FileAccess {
  readonly baseDir: string;
  readonly homeDir?: string;
  readonly readFile?: (file: string) => string;
}

/** A path given in the config: relative to the project root, or `~/...` under the home directory. */
export function resolveConfigPath(files: FileAccess, given: string): string {
  return path.resolve(files.baseDir, given.startsWith("~/") ? path.join(files.homeDir ?? os.homedir(), given.slice(2)) : given);
}

/**
 * Reads the file a config key names (`ageKeyFile`, `repo.caFile`). When it cannot, reports the key,
 * the resolved path, why, and `expected` (what the file should be); never any content.
 */
export function readConfigFile(problems: Problems, files: FileAccess, key: string, given: string, expected: string): { file: string; text: string } | undefined {
  const file = resolveConfigPath(files, given);
  try {
    return { file, text: (files.readFile ?? ((f: string) => fs.readFileSync(f, "utf8")))(file) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not readable" : code === "EISDIR" ? "is a directory" : "cannot be read";
    problems.add(key, `${file} ${why}; expected ${expected}`);
    return undefined;
  }
}

