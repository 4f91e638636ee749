/**
 * The `gitops-bootstrap` command line. Each subcommand prints one line per step (► doing,
 * ✔ done, ✗ failed) and exits 0 on success, 1 when what it checked is not right, 2 on a usage
 * or config error.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { runCheck } from "./check";
import { ConfigError, resolveConfig } from "./config";
import { DRILL_SWITCHES, DrillUsageError, RECOVERY_FLAGS, RECOVERY_USAGE, runRecoveryCommand } from "./drill/command";
import { EngineSetupError } from "./drill/engine";
import { bootstrap } from "./program";
import { renderProgram, writeRender } from "./render";
import { StackFileError, readStackConfig } from "./stack-file";

export interface CliIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Where Pulumi.yaml and stacks/ are. */
  readonly projectDir: string;
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export class UsageError extends Error {}

const USAGE = `Usage: gitops-bootstrap <command> [options]

Commands:
  render --stack <name> [--out DIR] [--show-secrets]
      Show exactly what the stack would apply, offline (no cluster, no Pulumi CLI).
      Secrets are <redacted> unless --show-secrets.
  check [--stack <name>] [--repo PATH|URL] [--revision R] [--age-key-file F] [--ca-file F] [--json]
      Prove the age key decrypts every SOPS file in the repository (values and MACs).
${RECOVERY_USAGE}
Exit status: 0 success, 1 failed (or not recovered in time), 2 usage or config error,
3 drill refused by its guard, 130 interrupted.
`;

/** Parses `--flag value` and `--flag` options; every flag must be one the command knows. */
export function parseFlags(args: readonly string[], valued: readonly string[], booleans: readonly string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.startsWith("--") ? arg.slice(2).split(/=(.*)/s, 2) : [undefined, undefined];
    if (flag === undefined) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    if (booleans.includes(flag)) {
      out[flag] = true;
    } else if (valued.includes(flag)) {
      const value = inline ?? args[++i];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`--${flag} needs a value`);
      out[flag] = value;
    } else {
      throw new UsageError(`unknown option --${flag}`);
    }
  }
  return out;
}

async function runRender(args: readonly string[], io: CliIo): Promise<number> {
  const flags = parseFlags(args, ["stack", "out"], ["show-secrets"]);
  const stack = flags.stack;
  if (typeof stack !== "string") throw new UsageError("render needs --stack <name>");
  const showSecrets = flags["show-secrets"] === true;
  io.stderr(`► rendering stack ${stack} offline\n`);
  const raw = readStackConfig(io.projectDir, stack, io.env.HOME);
  const result = await renderProgram(stack, async () => ({ ...(await bootstrap(raw, { repoSecretsCheck: false })) }), showSecrets);
  const outDir = typeof flags.out === "string" ? path.resolve(flags.out) : undefined;
  writeRender(result, stack, { outDir, showSecrets, stdout: io.stdout, stderr: io.stderr });
  return EXIT.ok;
}

/**
 * `check`, with `--stack S` taking the age key, repository URL and revision from the stack's
 * config (explicit --repo / --revision / --age-key-file still win).
 */
async function runCheckCommand(args: readonly string[], io: CliIo): Promise<number> {
  const i = args.indexOf("--stack");
  if (i < 0) return runCheck(args, io);
  const stack = args[i + 1];
  if (stack === undefined || stack.startsWith("--")) throw new UsageError("--stack needs a value");
  const rest = [...args.slice(0, i), ...args.slice(i + 2)];
  const config = await resolveConfig(readStackConfig(io.projectDir, stack, io.env.HOME));
  if (!rest.includes("--repo")) rest.push("--repo", config.repo.url);
  if (!rest.includes("--revision") && config.repo.revision !== "HEAD") rest.push("--revision", config.repo.revision);
  if (!rest.includes("--ca-file") && config.repo.caCertificates) rest.push("--ca-file", config.repo.caCertificates.file);
  const env = rest.includes("--age-key-file") ? io.env : { ...io.env, SOPS_AGE_KEY_FILE: undefined, SOPS_AGE_KEY: config.ageKey.identities.reveal() };
  io.stderr(`► checking ${stack}: ${config.ageKey.recipients.join(", ")}\n`);
  return runCheck(rest, { stdout: io.stdout, stderr: io.stderr, env });
}

const COMMANDS: Record<string, (args: readonly string[], io: CliIo) => Promise<number>> = {
  render: runRender,
  check: runCheckCommand,
  restore: (args, io) => runRecoveryCommand("restore", parseFlags(args, RECOVERY_FLAGS, []), io),
  drill: (args, io) => runRecoveryCommand("drill", parseFlags(args, RECOVERY_FLAGS, DRILL_SWITCHES), io),
};

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    (command === undefined ? io.stderr : io.stdout)(USAGE);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  const run = COMMANDS[command];
  if (!run) {
    io.stderr(`✗ unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || e instanceof DrillUsageError) {
      io.stderr(`✗ ${e.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    // Config problems (RunError carries the ConfigError's list) and unreadable stack files.
    if (e instanceof StackFileError || e instanceof ConfigError || e instanceof EngineSetupError || pulumi.RunError.isInstance(e)) {
      io.stderr(`✗ ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
}

/** Entry point of the bin shim. */
export function run(): void {
  const io: CliIo = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    projectDir: path.resolve(__dirname, ".."),
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      io.stderr(`✗ ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
