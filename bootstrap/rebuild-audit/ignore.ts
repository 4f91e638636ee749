/**
 * `--ignore FILE`: what the team accepts losing in a rebuild. A YAML list of rules; a rule
 * matches an object when every field it sets matches: `kind`, `namespace`, `name` (globs: `*`
 * any run of characters, `?` one; `namespace: ""` means cluster-scoped) and `selector` (a label
 * selector: `app=x`, `tier!=db`, `env in (a,b)`, `env notin (a)`, `key`, `!key`).
 *
 *   - kind: ConfigMap
 *     namespace: "scratch-*"
 *     why: scratch space, recreated by the jobs that use it
 *   - selector: "backup.example.com/velero=true"
 */
import * as fs from "node:fs";
import * as YAML from "yaml";
import { UsageError } from "../../components/errors";
import type { ObjectMeta } from "../cluster/list";

type Requirement = (labels: Readonly<Record<string, string>>) => boolean;

export interface IgnoreRule {
  /** 1-based position in the file, for the report. */
  readonly index: number;
  readonly text: string;
  readonly matches: (o: ObjectMeta) => boolean;
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Parses a Kubernetes label selector; throws a message naming the part it cannot read. */
export function parseSelector(text: string): Requirement[] {
  const parts = text.split(/,(?![^(]*\))/).map((p) => p.trim()).filter((p) => p !== "");
  if (parts.length === 0) throw new Error("is empty");
  return parts.map((part): Requirement => {
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m) {
      const [, key, op, list] = m;
      if (!LABEL_KEY.test(key)) throw new Error(`has a bad label key in ${JSON.stringify(part)}`);
      const values = list.split(",").map((v) => v.trim());
      return op === "in" ? (l) => l[key] !== undefined && values.includes(l[key]) : (l) => l[key] === undefined || !values.includes(l[key]);
    }
    m = /^(!?)([^=!\s]+)$/.exec(part);
    if (m) {
      const [, not, key] = m;
      if (!LABEL_KEY.test(key)) throw new Error(`has a bad label key in ${JSON.stringify(part)}`);
      return not ? (l) => l[key] === undefined : (l) => l[key] !== undefined;
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (m) {
      const [, key, op, value] = m;
      if (!LABEL_KEY.test(key)) throw new Error(`has a bad label key in ${JSON.stringify(part)}`);
      return op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    throw new Error(`cannot read ${JSON.stringify(part)} (expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key)`);
  });
}

const RULE_KEYS = ["kind", "namespace", "name", "selector", "why"];

/** Reads and checks the ignore file; every problem is named with the file and the rule's position. */
export function readIgnoreFile(file: string): IgnoreRule[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`--ignore ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new UsageError(`--ignore ${file} is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) throw new UsageError(`--ignore ${file} must be a YAML list of rules ({kind, namespace, name, selector, why})`);
  const problems: string[] = [];
  const rules: IgnoreRule[] = [];
  doc.forEach((raw: unknown, i) => {
    const where = `rule ${i + 1}`;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      problems.push(`${where} is not a map`);
      return;
    }
    const r = raw as Record<string, unknown>;
    for (const k of Object.keys(r)) if (!RULE_KEYS.includes(k)) problems.push(`${where}: unknown key ${k} (expected ${RULE_KEYS.join(", ")})`);
    const tests: ((o: ObjectMeta) => boolean)[] = [];
    for (const field of ["kind", "namespace", "name"] as const) {
      const v = r[field];
      if (v === undefined) continue;
      if (typeof v !== "string") {
        problems.push(`${where}: ${field} must be a string (a glob)`);
        continue;
      }
      const re = glob(v);
      tests.push(field === "namespace" ? (o) => re.test(o.namespace ?? "") : (o) => re.test(o[field]));
    }
    if (r.selector !== undefined) {
      try {
        if (typeof r.selector !== "string") throw new Error("must be a string");
        const reqs = parseSelector(r.selector);
        tests.push((o) => reqs.every((req) => req(o.labels)));
      } catch (e) {
        problems.push(`${where}: selector ${(e as Error).message}`);
      }
    }
    if (!["kind", "namespace", "name", "selector"].some((k) => r[k] !== undefined)) problems.push(`${where} sets none of kind, namespace, name, selector: it would ignore everything`);
    const text = ["kind", "namespace", "name", "selector"].filter((k) => r[k] !== undefined).map((k) => `${k}=${String(r[k])}`).join(" ");
    rules.push({ index: i + 1, text, matches: (o) => tests.every((t) => t(o)) });
  });
  if (problems.length > 0) throw new UsageError(`--ignore ${file}:\n${problems.map((p) => `  ✗ ${p}`).join("\n")}`);
  return rules;
}
