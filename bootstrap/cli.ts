/**
 * The `gitops-bootstrap` command line: every command, option, default and example is defined
 * once here, with commander (see README "Command line"), which generates `--help` for each
 * command, `--version`, and "did you mean" suggestions for a mistyped command or option.
 *
 * Start-up is kept fast: this module loads only commander and node built-ins; each command
 * imports what it needs (Pulumi, the Kubernetes client, the SOPS verifier) when it runs.
 *
 * Exit status: 0 success, 1 what was checked is not right (or not recovered in time), 2 usage or
 * config error, 3 drill refused by its guard (for `check`: only suspicious files), 130 interrupted.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { UsageError } from "../components/errors";

export { UsageError } from "../components/errors";

export interface CliIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Where Pulumi.yaml and stacks/ are. */
  readonly projectDir: string;
  /** Whether stderr is a terminal a live status line can be drawn on. @default false */
  readonly interactive?: boolean;
  /** Registers a Ctrl-C handler; returns its removal. @default process SIGINT */
  readonly onInterrupt?: (handler: () => void) => () => void;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3, interrupted: 130 } as const;

const EXIT_STATUS = `Exit status: 0 success, 1 failed (or not recovered in time), 2 usage or config error,
3 drill refused by its guard, 130 interrupted.`;

/** The version in package.json (found beside the sources or, compiled, one level up). */
export function packageVersion(): string {
  for (const dir of [path.join(__dirname, ".."), path.join(__dirname, "..", "..")]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "gitops-bootstrap" && pkg.version) return pkg.version;
    } catch {
      // not here: try the next directory
    }
  }
  return "unknown";
}

/**
 * Loads a command's module when the command runs (CommonJS `require`, typed), so `--help` and the
 * light commands never load Pulumi or the Kubernetes client.
 */
function load<T>(module: string): T {
  return require(module) as T;
}

function parseMiB(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1) throw new InvalidArgumentError("expected a whole number of MiB (1 or more)");
  return n;
}

/** Options a command cannot run without (checked by the preAction hook). */
const REQUIRED = new WeakSet<Option>();

/** `--flag <value>` that must be given; its help says so. */
function required(flags: string, description: string): Option {
  const option = new Option(flags, `${description} (required)`);
  REQUIRED.add(option);
  return option;
}

const examples = (...lines: string[]): string => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;

/** Options of `restore`, which `drill` takes too; the drill's `--kubeconfig` is required. */
function recoveryOptions(cmd: Command, kubeconfig: Option): Command {
  return cmd
    .addOption(kubeconfig)
    .option("--timeout <duration>", "give up waiting after this long (90s, 15m, 1h30m)", "15m")
    .option("--failure-grace <duration>", "how long a failed sync, Degraded health or error condition may last before it counts", "2m")
    .option("--report-dir <dir>", "where report.json, report.md and junit.xml go (default: reports/<command>-<stack>-<time>/)")
    .option("--repo-checkout <dir>", "read the repository from this local clone instead of cloning repo.url")
    .option("--secrets-under <path>", "only expect the Secrets of SOPS files under this folder of the repository");
}

/** Thrown by the preAction hook when the command line is only being checked (`parseCommandLine`). */
class ParsedOnly extends Error {}

/** The command tree; `result.code` is set by the action that ran (none runs when `parseOnly`). */
function buildProgram(io: CliIo, result: { code: number }, parseOnly = false): Command {
  const program = new Command("gitops-bootstrap")
    .description("Rebuild a Kubernetes cluster from Git in one command: Argo CD (or Flux) via Helm, the SOPS age key, repository credentials and the root app-of-apps.")
    .version(packageVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .exitOverride()
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      outputError: (text, write) => write(text.replace(/^error: /, "✗ ")),
    })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    .helpCommand("help [command]", "show help for a command")
    .addHelpText("after", `\n${EXIT_STATUS}\nRun gitops-bootstrap <command> --help for a command's options and examples.\n`)
    // Required options are checked after unknown ones, so that a mistyped `--stak` gets "did you mean".
    .hook("preAction", (_program, action) => {
      for (const option of action.options) {
        if (REQUIRED.has(option) && action.getOptionValue(option.attributeName()) === undefined) {
          action.error(`error: required option '${option.flags}' not specified`, { exitCode: EXIT.usage, code: "commander.missingMandatoryOptionValue" });
        }
      }
      if (parseOnly) throw new ParsedOnly();
    });

  const command = (name: string, description: string): Command =>
    program.command(name).description(description).showHelpAfterError(`(gitops-bootstrap ${name} --help shows its options)`);

  command("init", "Start a stack from nothing: an age key, the .sops.yaml rule in the GitOps repository, and stacks/Pulumi.<stack>.yaml.")
    .addOption(required("--stack <name>", "the stack (environment) to create, e.g. dev"))
    .addOption(required("--repo-url <url>", "the GitOps repository the cluster syncs from (https:// or ssh)"))
    .option("--repo-path <path>", "folder of the repository that holds this environment (default: clusters/<stack>)")
    .option("--revision <rev>", "branch, tag or commit to deploy", "HEAD")
    .addOption(new Option("--reconciler <name>", "what syncs the cluster from Git").choices(["argocd", "flux"]).default("argocd"))
    .addOption(required("--gitops-repo <dir>", "local checkout of the GitOps repository, where .sops.yaml is written or updated"))
    .option("--key-file <file>", "age key file the new identity is appended to (created with mode 0600)", "~/.config/sops/age/keys.txt")
    .option("--post-quantum", "make a post-quantum (ML-KEM-768 + X25519) identity instead of X25519")
    .addHelpText("after", examples("gitops-bootstrap init --stack dev --repo-url https://git.example.com/platform/cluster-state.git --gitops-repo ../cluster-state"))
    .action(async (opts) => {
      const { runInit } = load<typeof import("./init/command")>("./init/command");
      result.code = await runInit(opts, io);
    });

  command("render", "Show exactly what the stack would apply, offline (no cluster, no Pulumi CLI). Secrets are <redacted>.")
    .addOption(required("--stack <name>", "the stack whose stacks/Pulumi.<name>.yaml is rendered"))
    .option("--out <dir>", "write one file per resource into this folder instead of printing YAML (a new or empty folder, or an earlier render's: only the files it lists in .gitops-bootstrap-render.json are replaced)")
    .option("--show-secrets", "show secret values instead of <redacted> (with --out: files 0600 in a 0700 folder)")
    .addHelpText("after", examples("gitops-bootstrap render --stack demo", "gitops-bootstrap render --stack prod --out render/prod"))
    .action(async (opts) => {
      const { runRender } = load<typeof import("./render/command")>("./render/command");
      result.code = await runRender(opts, io);
    });

  command("check", "Prove the age key decrypts every SOPS file in the repository at the revision (values and MACs); never prints a value.")
    .option("--stack <name>", "take the age key, repository URL, revision and CA from this stack's config")
    .option("--repo <path|url>", "local directory or Git URL (default: the stack's repo.url, else the current directory)")
    .option("--revision <rev>", "branch, tag or commit (default: a URL's default branch; a directory as it is on disk)")
    .option(
      "--path <dir>",
      "judge only what this folder of the repository reaches, as a stack's root would (repeatable; default with --stack: its repo.path, else everything)",
      (value: string, all: string[] | undefined) => [...(all ?? []), value],
    )
    .option("--age-key-file <file>", "age identity file (default: the stack's key, else $SOPS_AGE_KEY_FILE and $SOPS_AGE_KEY)")
    .option("--ca-file <file>", "PEM CA certificate(s) to trust when cloning an https URL (default: the stack's repo.caFile)")
    .option("--json", "machine-readable output")
    .option("--strict", "also fail (exit 1) for files sops would accept but the check finds changed (suspicious)")
    .option("--max-file-size <MiB>", "files bigger than this are not read; one that is or may be a SOPS file fails as too big", parseMiB, 256)
    .addHelpText(
      "after",
      `\nExit status: 0 all SOPS files verified, 1 a file will not decrypt at sync time (or is too big to verify),\n2 usage or configuration error, 3 every file decrypts as sops decrypts it, but one was changed where sops\ndoes not look (suspicious; --strict makes that 1), 130 interrupted.\n${examples(
        "gitops-bootstrap check --repo examples/gitops-repo --age-key-file examples/gitops-repo/demo-age-key.txt",
        "gitops-bootstrap check --stack prod --revision v1.2.3",
        "gitops-bootstrap check --repo . --path clusters/prod --age-key-file ~/.config/sops/age/keys.txt",
      )}`,
    )
    .action(async (opts) => {
      const { runCheck } = load<typeof import("./check/command")>("./check/command");
      result.code = await runCheck(opts, io);
    });

  command("backup-keys", "Back up the Sealed Secrets controller's sealing keys, SOPS-encrypted to the stack's age recipients, so that pulumi up restores them before the controller starts.")
    .addOption(required("--stack <name>", "the stack whose cluster's keys are backed up (its sealedSecrets namespace and controller)"))
    .option("--kubeconfig <file>", "the cluster (default: the stack's kubernetes:kubeconfig / kubernetes:context, else the current context)")
    .option("--out <file>", "where to write the backup (default: the stack's sealedSecrets.keysFile)")
    .option("--recipient <age1...>", "also encrypt to this age recipient (repeatable)", (value: string, all: string[]) => [...all, value], [] as string[])
    .option("--prune", "drop the backup's keys the cluster does not hold (default: the backup keeps every key it has and adds the new ones)")
    .addHelpText("after", `\nExit status: 0 written (or unchanged), 1 no controller or no key in the cluster, a key under a name the controller\ndoes not give, or a key that differs from the backup's under the same name, 2 usage or config error.\n${examples("gitops-bootstrap backup-keys --stack prod --out sealed-secrets-keys.sops.yaml")}`)
    .action(async (opts) => {
      const { runBackupKeys } = load<typeof import("./backup-keys/command")>("./backup-keys/command");
      result.code = await runBackupKeys(opts, io);
    });

  command("audit", "What a rebuild from Git would lose: every object in the cluster that neither Git, the stack nor Kubernetes brings back, and the data in volumes.")
    .addOption(required("--stack <name>", "the stack whose cluster is audited (its reconciler and namespaces)"))
    .option("--kubeconfig <file>", "the cluster (default: the stack's kubernetes:kubeconfig / kubernetes:context, else the current context)")
    .option("--ignore <file>", "YAML list of rules ({kind, namespace, name, selector}) for what the team accepts losing")
    .option("--report-dir <dir>", "also write audit.md and audit.json here")
    .option("--json", "machine-readable output")
    .addHelpText("after", `\nExit status: 0 nothing would be lost, 1 something would (or a volume holds data), 2 usage error.\n${examples("gitops-bootstrap audit --stack prod --ignore audit-ignore.yaml --report-dir reports/audit")}`)
    .action(async (opts) => {
      const { runAudit } = load<typeof import("./audit/command")>("./audit/command");
      result.code = await runAudit(opts, io);
    });

  const recovery = (name: "restore" | "drill") => async (opts: import("./drill/command").RecoveryOptions): Promise<void> => {
    const { runRecoveryCommand } = load<typeof import("./drill/command")>("./drill/command");
    result.code = await runRecoveryCommand(name, opts, io);
  };

  recoveryOptions(
    command("restore", "check, pulumi up --refresh, wait until everything from Git is synced and healthy, verify the Secrets, and report the recovery time.")
      .addOption(required("--stack <name>", "the stack to restore")),
    new Option("--kubeconfig <file>", "the cluster to watch (default: the stack's kubernetes:kubeconfig / kubernetes:context, else the current context)"),
  )
    .addHelpText("after", examples("PULUMI_CONFIG_PASSPHRASE=... gitops-bootstrap restore --stack prod --timeout 20m"))
    .action(recovery("restore"));

  recoveryOptions(
    command("drill", "restore onto a throwaway cluster, then destroy it (also on failure, timeout and Ctrl-C); refuses a cluster that is not empty.")
      .addOption(required("--stack <name>", "the drill stack (must not set kubernetes:kubeconfig or kubernetes:context)")),
    required("--kubeconfig <file>", "the throwaway cluster to restore onto and destroy"),
  )
    .option("--keep", "do not destroy what the drill deployed")
    .option("--force", "run on a cluster that is not empty, or that another stack deploys to")
    .option("--audit <kubeconfig>", "first audit the source cluster (what a rebuild from Git would lose) and put the counts in the report")
    .addHelpText("after", `\nExit status: 0 recovered, 1 failed or timed out, 2 usage, 3 refused by the guard, 130 interrupted.\n${examples("gitops-bootstrap drill --stack drill --kubeconfig /tmp/kind-drill.kubeconfig")}`)
    .action(recovery("drill"));

  command("drill-stacks", "List the drill stacks (stacks/Pulumi.drill.yaml, Pulumi.drill-<name>.yaml) and check each can be drilled: a real repository URL, no pinned cluster.")
    .option("--only <stacks>", "only these stacks, comma-separated")
    .option("--json", "print the list as JSON (a workflow's matrix)")
    .option("--key-file", "print where the stack reads its age key (ageKeyFile, ~ expanded); with one stack")
    .addHelpText("after", `\nExit status: 0 every listed stack can be drilled, 2 one cannot (each problem named) or usage error.\n${examples("gitops-bootstrap drill-stacks", "gitops-bootstrap drill-stacks --only drill --key-file")}`)
    .action((opts: import("./drill-stacks/command").DrillStacksOptions) => {
      const { runDrillStacks } = load<typeof import("./drill-stacks/command")>("./drill-stacks/command");
      result.code = runDrillStacks(opts, io);
    });

  command("drill-summary", "One table of every environment's last drill (environment, outcome, recovery time, slowest phase and app) from the drills' reports.")
    .argument("<reports...>", "a drill's report.json, its report folder, or a folder of report folders (as a CI artifact download lays them out)")
    .addOption(new Option("--format <format>", "what to print").choices(["markdown", "json", "junit"]).default("markdown"))
    .addHelpText("after", `\nExit status: 0 every environment recovered, 1 one did not, 2 a report is missing or not a drill report.\n${examples("gitops-bootstrap drill-summary reports/", "gitops-bootstrap drill-summary reports/drill-prod reports/drill-staging --format junit > drills.xml")}`)
    .action((reports: string[], opts: import("./drill-summary/command").DrillSummaryOptions) => {
      const { runDrillSummary } = load<typeof import("./drill-summary/command")>("./drill-summary/command");
      result.code = runDrillSummary(reports, opts, io);
    });

  return program;
}

/**
 * What users type by habit, in the form commander knows: `-v` alone for the version, and
 * `help <command>` as `<command> --help`, so a mistyped `help rendr` gets "did you mean render?".
 */
function conventionalArgs(program: Command, argv: readonly string[]): string[] {
  if (argv.length === 1 && argv[0] === "-v") return ["--version"];
  if (argv.length === 2 && argv[0] === "help" && !argv[1].startsWith("-")) {
    // An unknown name alone gets commander's "unknown command … (Did you mean …?)".
    return program.commands.some((c) => c.name() === argv[1]) ? [argv[1], "--help"] : [argv[1]];
  }
  return [...argv];
}

/**
 * Whether a command line parses with the current commands and options (as a workflow or the README
 * writes it), without running anything: undefined when it does, else commander's message.
 */
export async function parseCommandLine(argv: readonly string[]): Promise<string | undefined> {
  let errors = "";
  const io: CliIo = { stdout: () => undefined, stderr: (s) => void (errors += s), env: {}, projectDir: "." };
  const program = buildProgram(io, { code: EXIT.ok }, true);
  try {
    await program.parseAsync(conventionalArgs(program, argv), { from: "user" });
    return undefined;
  } catch (e) {
    if (e instanceof ParsedOnly || (e instanceof CommanderError && e.exitCode === 0)) return undefined;
    return errors.trim() || (e as Error).message;
  }
}

/** Runs the command line; resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const result = { code: EXIT.ok };
  const program = buildProgram(io, result);
  try {
    await program.parseAsync(conventionalArgs(program, argv), { from: "user" });
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help, help and --version exit 0; every parse error (already printed) is a usage error.
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (e instanceof UsageError) {
      io.stderr(`✗ ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
}

/** Entry point of the bin shim; `projectDir` is the package's root (Pulumi.yaml, stacks/). */
export function run(projectDir: string): void {
  // Output piped into `head` (or a closed pager) ends the command quietly, as other CLIs do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
      process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
    });
  }
  const io: CliIo = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    projectDir,
    // A terminal without a width (some CI ptys) cannot have a line redrawn: plain lines there.
    interactive: process.stderr.isTTY === true && !process.env.CI && (process.stderr.columns ?? 0) > 0,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // Unexpected: the kind of failure and its message (messages never carry key material).
      io.stderr(`✗ ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
