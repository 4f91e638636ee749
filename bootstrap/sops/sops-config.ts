/**
 * `.sops.yaml` creation rules (getsops/sops v3.13.3 `config/config.go`): the first rule whose
 * `path_regex` matches a file's path relative to the config's directory (or that has no
 * `path_regex`) decides the keys sops encrypts new and re-encrypted files to. If a rule that
 * applies to SOPS files of the repository does not list the checked key's recipient, files
 * created under it later will not be decryptable by that key: the check warns.
 */
import * as path from "node:path";
import * as YAML from "yaml";
import { type GoRegExp, compileGoRegExp } from "./go";
import { type EncryptionRule, encryptionRuleOf } from "./metadata";
import { MAX_YAML_NODES, decodeWithinBudget, estimateYamlNodes } from "./yaml-budget";

export interface CreationRule {
  /** 1-based position in `creation_rules`. */
  readonly index: number;
  readonly pathRegex: string | undefined;
  readonly regex: GoRegExp | undefined;
  /** age recipients of the rule, from `age` and from every `key_groups[].age`. */
  readonly ageRecipients: readonly string[];
  /** Which values sops encrypts under it; undefined when the rule's settings are unusable. */
  readonly selector: EncryptionRule | undefined;
}

function selectorOf(r: Record<string, unknown>, index: number): EncryptionRule | undefined {
  try {
    return encryptionRuleOf((kind) => (typeof r[kind] === "string" ? (r[kind] as string) : ""), `creation rule ${index}`);
  } catch {
    return undefined;
  }
}

export interface SopsConfig {
  /** The config file's path in the repository. */
  readonly path: string;
  /** Its directory in the repository ("" for the root). */
  readonly dir: string;
  readonly rules: readonly CreationRule[];
}

function recipientsOf(value: unknown): string[] {
  if (typeof value === "string") return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string").map((s) => s.trim());
  return [];
}

function groupRecipients(group: unknown): string[] {
  if (group === null || typeof group !== "object") return [];
  const g = group as Record<string, unknown>;
  const merged = Array.isArray(g.merge) ? g.merge.flatMap(groupRecipients) : [];
  return [...recipientsOf(g.age), ...merged];
}

/** Parses a `.sops.yaml`; a string saying what is wrong when it cannot be used. */
export function parseSopsConfig(file: string, content: Buffer): SopsConfig | string {
  const text = content.toString("utf8");
  if (estimateYamlNodes(text) > MAX_YAML_NODES) {
    return `${file} has more YAML nodes than this check parses (${MAX_YAML_NODES.toLocaleString("en")}); its rules are not applied here`;
  }
  const parsed = YAML.parseDocument(text, { prettyErrors: false, merge: true });
  if (parsed.errors.length > 0) {
    const offset = parsed.errors[0].pos?.[0];
    const line = offset === undefined ? undefined : text.slice(0, offset).split("\n").length;
    return `${file} is not valid YAML${line === undefined ? "" : ` (line ${line})`}`;
  }
  // Aliases as go-yaml (and so sops) accepts them, however many times an anchor is used.
  const doc = decodeWithinBudget(parsed);
  if (doc === undefined) return `${file}: its aliases expand more than go-yaml accepts ("document contains excessive aliasing"), so sops cannot read it`;
  const rawRules = doc !== null && typeof doc === "object" ? (doc as Record<string, unknown>).creation_rules : undefined;
  if (rawRules === undefined || rawRules === null) return { path: file, dir: path.posix.dirname(file) === "." ? "" : path.posix.dirname(file), rules: [] };
  if (!Array.isArray(rawRules)) return `${file}: creation_rules is not a list`;
  const rules: CreationRule[] = [];
  for (const [i, raw] of rawRules.entries()) {
    if (raw === null || typeof raw !== "object") return `${file}: creation rule ${i + 1} is not a map`;
    const r = raw as Record<string, unknown>;
    const pathRegex = typeof r.path_regex === "string" && r.path_regex !== "" ? r.path_regex : undefined;
    let regex: GoRegExp | undefined;
    if (pathRegex !== undefined) {
      try {
        regex = compileGoRegExp(pathRegex);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        const fix = `sops stops at it ("can not compile regexp") for every file no earlier rule matches, and the check does not apply this config`;
        return `${file}: creation rule ${i + 1} has a path_regex ${JSON.stringify(pathRegex)} that is not a valid Go regular expression (${why}); ${fix}`;
      }
    }
    const groups = Array.isArray(r.key_groups) ? r.key_groups : [];
    const ageRecipients = [...new Set([...recipientsOf(r.age), ...groups.flatMap(groupRecipients)])];
    rules.push({ index: i + 1, pathRegex, regex, ageRecipients, selector: selectorOf(r, i + 1) });
  }
  const dir = path.posix.dirname(file);
  return { path: file, dir: dir === "." ? "" : dir, rules };
}

/** The config that applies to a file: the nearest `.sops.yaml` in its directory or above. */
export function configFor(file: string, configs: readonly SopsConfig[]): SopsConfig | undefined {
  let best: SopsConfig | undefined;
  for (const c of configs) {
    if (path.posix.basename(c.path) !== ".sops.yaml") continue;
    const inside = c.dir === "" || file.startsWith(c.dir + "/");
    if (inside && (!best || c.dir.length > best.dir.length)) best = c;
  }
  return best;
}

/**
 * The creation rule that covers `file` by its path_regex (not a catch-all rule), with its
 * config: what says the file is meant to be encrypted.
 */
export function coveringRule(file: string, configs: readonly SopsConfig[]): { readonly rule: CreationRule; readonly config: SopsConfig } | undefined {
  const config = configFor(file, configs);
  const rule = config && ruleFor(file, config);
  return config && rule?.pathRegex !== undefined ? { rule, config } : undefined;
}

/** The creation rule sops would use for `file` under `config` (first match wins). */
export function ruleFor(file: string, config: SopsConfig): CreationRule | undefined {
  const relative = config.dir === "" ? file : file.slice(config.dir.length + 1);
  return config.rules.find((r) => r.regex === undefined || r.regex.test(relative));
}
