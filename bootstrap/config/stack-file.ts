/**
 * Reads a stack's config straight from `stacks/Pulumi.<stack>.yaml`, without the Pulumi CLI, for
 * the commands that run offline (`render`, `check --stack`). Encrypted values (`secure:`) cannot
 * be read here: they are marked secret and undecrypted, so validation checks their presence and
 * shape but not their content.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import type { RawStackConfig } from "./stack-config";
import { CONFIG_NAMESPACE } from "../../components/defaults";
import { UsageError } from "../../components/errors";

/** Placeholder for a value encrypted in the stack file. */
export const UNDECRYPTED = "<encrypted in stack file>";

export class StackFileError extends UsageError {}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isSecure = (v: unknown): boolean => isObject(v) && Object.keys(v).length === 1 && typeof v.secure === "string";

/** Replaces every `{secure: ...}` leaf with a placeholder; reports whether there was one. */
function stripSecure(v: unknown): { value: unknown; secret: boolean } {
  if (isSecure(v)) return { value: UNDECRYPTED, secret: true };
  if (Array.isArray(v)) {
    const items = v.map(stripSecure);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (isObject(v)) {
    let secret = false;
    const out: Obj = {};
    for (const [k, child] of Object.entries(v)) {
      const r = stripSecure(child);
      out[k] = r.value;
      secret ||= r.secret;
    }
    return { value: out, secret };
  }
  return { value: v, secret: false };
}

/** The folder holding `Pulumi.<stack>.yaml`, from Pulumi.yaml's `stackConfigDir`. */
export function stackConfigDir(projectDir: string): string {
  const project = YAML.parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as Obj;
  return path.join(projectDir, typeof project.stackConfigDir === "string" ? project.stackConfigDir : ".");
}

export function stackFilePath(projectDir: string, stack: string): string {
  return path.join(stackConfigDir(projectDir), `Pulumi.${stack}.yaml`);
}

/** Lists the stacks that have a config file. */
export function listStacks(projectDir: string): string[] {
  const dir = stackConfigDir(projectDir);
  return fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** The `config:` map of `Pulumi.<stack>.yaml`, every key as written (`secure:` values still encrypted). */
export function readStackFileConfig(projectDir: string, stack: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new StackFileError(`stack name ${JSON.stringify(stack)} is not valid`);
  const file = stackFilePath(projectDir, stack);
  if (!fs.existsSync(file)) {
    throw new StackFileError(`no stack config ${path.relative(projectDir, file)}; known stacks: ${listStacks(projectDir).join(", ")}`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new StackFileError(`${path.relative(projectDir, file)} is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  return isObject(doc) && isObject(doc.config) ? doc.config : {};
}

export function readStackConfig(projectDir: string, stack: string, homeDir?: string): RawStackConfig {
  const config = readStackFileConfig(projectDir, stack);
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const undecryptedKeys = new Set<string>();
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [key, raw] of Object.entries(config)) {
    if (!key.startsWith(prefix)) continue;
    const short = key.slice(prefix.length);
    const { value, secret } = stripSecure(raw);
    if (secret) {
      secretKeys.add(short);
      undecryptedKeys.add(short);
    }
    // As Pulumi hands config to a program: strings as they are, everything else as JSON.
    values[short] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { values, secretKeys, undecryptedKeys, baseDir: projectDir, homeDir };
}
