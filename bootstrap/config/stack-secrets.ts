/**
 * A stack's config for the commands that read the stack file themselves (`check --stack`,
 * `backup-keys`, `audit`), with the encrypted (`secure:`) values they need decrypted the way
 * Pulumi decrypts them: by the Pulumi CLI (`pulumi config --show-secrets --json`), which uses the
 * stack's own backend and secrets provider (passphrase, KMS, Pulumi Cloud). The CLI runs only when
 * a needed key is encrypted; when it cannot decrypt, the command stops (exit 2) saying what to
 * set or pass instead, rather than going on without the value. Decrypted values stay in memory.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import type { RawStackConfig } from "./stack-config";
import { CONFIG_NAMESPACE } from "../../components/defaults";
import { UsageError } from "../../components/errors";
import { cliStateBackend, hasPassphrase, printableBackend, stackNeedsPassphrase } from "./pulumi-backend";
import { readStackConfig, readStackFileConfig, stackFilePath } from "./stack-file";

export class StackSecretsError extends UsageError {}

/** A config key (with its namespace) a command needs, and the option that does without it. */
export interface SecretNeed {
  readonly key: string;
  /** e.g. `--age-key-file F`; undefined when nothing can stand in for the value. */
  readonly instead?: string;
}

/** The provider keys that choose the cluster, which `--kubeconfig` replaces. */
export const KUBERNETES_NEEDS: readonly SecretNeed[] = [
  { key: "kubernetes:kubeconfig", instead: "--kubeconfig K" },
  { key: "kubernetes:context", instead: "--kubeconfig K" },
];

export interface StackConfigWithSecrets {
  /** This project's keys; the needed secret ones decrypted, the others still placeholders. */
  readonly raw: RawStackConfig;
  /** `kubernetes:kubeconfig` (a path or the kubeconfig itself) and `kubernetes:context`. */
  readonly kubernetes: { readonly kubeconfig?: string; readonly context?: string };
}

/** Runs the Pulumi CLI in the project; resolves to its stdout, or rejects with its error. */
export type PulumiConfigRunner = (args: { projectDir: string; stack: string; env: NodeJS.ProcessEnv }) => Promise<string>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether a stack-file value is, or holds, an encrypted `{secure: ...}` leaf. */
export function holdsSecure(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(holdsSecure);
  if (!isObject(v)) return false;
  if (Object.keys(v).length === 1 && typeof v.secure === "string") return true;
  return Object.values(v).some(holdsSecure);
}

/** `pulumi config --show-secrets --json` for the stack, run where Pulumi.yaml is. */
export const runPulumiConfig: PulumiConfigRunner = ({ projectDir, stack, env }) =>
  new Promise((resolve, reject) => {
    execFile(
      "pulumi",
      ["config", "--show-secrets", "--json", "--non-interactive", "--stack", stack],
      { cwd: projectDir, env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" }, timeout: 120_000, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stderr: String(stderr) }));
        else resolve(String(stdout));
      },
    );
  });

/** What to do, from the CLI's error: the passphrase, the login, the CLI itself. */
function remedy(error: NodeJS.ErrnoException & { stderr?: string }): { why: string; how: string } {
  if (error.code === "ENOENT") {
    return { why: "the Pulumi CLI is not on PATH", how: "install it (https://www.pulumi.com/docs/install/) and put `pulumi` on PATH" };
  }
  const lines = (error.stderr ?? "").split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const line = lines.find((l) => /^error:/i.test(l)) ?? lines[0] ?? error.message.split("\n")[0];
  const why = printableBackend(line.replace(/^error:\s*/i, ""));
  if (/passphrase/i.test(why)) {
    return { why, how: "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the stack's passphrase" };
  }
  if (/no stack named|not found|PULUMI_ACCESS_TOKEN|login|log in/i.test(why)) {
    return { why, how: "log in to the backend that holds the stack's state (`pulumi login <backend>`, or PULUMI_BACKEND_URL)" };
  }
  return { why, how: "make `pulumi config --show-secrets --stack <stack>` work here" };
}

function failure(file: string, keys: readonly SecretNeed[], why: string, how: string): StackSecretsError {
  const instead = [...new Set(keys.map((k) => k.instead).filter((i): i is string => i !== undefined))];
  const names = keys.map((k) => k.key).join(", ");
  return new StackSecretsError(
    `${file} holds ${names} encrypted, and the Pulumi CLI could not decrypt ${keys.length === 1 ? "it" : "them"} ` +
      `(${why}): ${how}` +
      (instead.length > 0 ? `; or pass ${instead.join(" / ")} instead` : ""),
  );
}

/**
 * The needed keys that are encrypted in the stack file, decrypted by the Pulumi CLI (one call);
 * an empty map, without running the CLI, when none is. Throws StackSecretsError saying what to do.
 */
export async function decryptStackSecrets(args: {
  projectDir: string;
  stack: string;
  env: NodeJS.ProcessEnv;
  needs: readonly SecretNeed[];
  run?: PulumiConfigRunner;
}): Promise<Map<string, string>> {
  const config = readStackFileConfig(args.projectDir, args.stack);
  const encrypted = args.needs.filter((n) => holdsSecure(config[n.key]));
  if (encrypted.length === 0) return new Map();
  const file = path.relative(args.projectDir, stackFilePath(args.projectDir, args.stack));
  const backend = cliStateBackend(args.env, args.projectDir)?.url;
  if (!hasPassphrase(args.env) && stackNeedsPassphrase(args.projectDir, args.stack, backend)) {
    const how = "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE)";
    throw failure(file, encrypted, "its secrets provider is a passphrase, and none is set", how);
  }
  let stdout: string;
  try {
    stdout = await (args.run ?? runPulumiConfig)(args);
  } catch (e) {
    const { why, how } = remedy(e as NodeJS.ErrnoException & { stderr?: string });
    throw failure(file, encrypted, why, how);
  }
  let all: Record<string, { value?: unknown }>;
  try {
    all = JSON.parse(stdout) as Record<string, { value?: unknown }>;
  } catch {
    throw failure(file, encrypted, "its output is not the JSON expected", "check that `pulumi` is the Pulumi CLI");
  }
  const decrypted = new Map<string, string>();
  for (const need of encrypted) {
    const value = all[need.key]?.value;
    if (typeof value !== "string") {
      throw failure(file, [need], "it has no such key for this stack", "check that the stack file belongs to this stack");
    }
    decrypted.set(need.key, value);
  }
  return decrypted;
}

/**
 * The stack file's config for a command, the `needs` that are encrypted decrypted through the
 * Pulumi CLI. Keys not needed keep their placeholders (their shape is still validated).
 */
export async function readStackConfigWithSecrets(args: {
  projectDir: string;
  stack: string;
  env: NodeJS.ProcessEnv;
  needs: readonly SecretNeed[];
  run?: PulumiConfigRunner;
}): Promise<StackConfigWithSecrets> {
  const raw = readStackConfig(args.projectDir, args.stack, args.env.HOME);
  const decrypted = await decryptStackSecrets(args);
  const prefix = `${CONFIG_NAMESPACE}:`;
  const values = { ...raw.values };
  const undecrypted = new Set(raw.undecryptedKeys);
  for (const [key, value] of decrypted) {
    if (!key.startsWith(prefix)) continue;
    values[key.slice(prefix.length)] = value;
    undecrypted.delete(key.slice(prefix.length));
  }
  const file = readStackFileConfig(args.projectDir, args.stack);
  const kube = (key: string): string | undefined =>
    decrypted.get(key) ?? (typeof file[key] === "string" ? (file[key] as string) : undefined);
  return {
    raw: { ...raw, values, undecryptedKeys: undecrypted },
    kubernetes: { kubeconfig: kube("kubernetes:kubeconfig"), context: kube("kubernetes:context") },
  };
}
