/**
 * `gitops-bootstrap check [--repo PATH|URL] [--revision R] [--age-key-file F] [--ca-file F] [--json]`:
 * proves the age key decrypts every SOPS file of the repository at the revision that will be
 * deployed (real decryption and MAC verification). Identities come from `--age-key-file`, or
 * else from `SOPS_AGE_KEY_FILE` and `SOPS_AGE_KEY`, like sops.
 *
 * Exit status: 0 every SOPS file verified, 1 some file failed, 2 usage or configuration error.
 * Decrypted values and keys never appear in the output.
 */
import * as fs from "node:fs/promises";
import { AgeIdentities, AgeIdentityError } from "./sops/age";
import { type RepositoryCheckReport, checkRepository } from "./sops/check";
import { formatJsonReport, formatTextReport } from "./sops/report";
import { RepositoryError, redactUrl } from "./sops/repository";

export { type CheckRepositoryOptions, type RepositoryCheckReport, checkRepository } from "./sops/check";

export interface CheckIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const CHECK_USAGE = `Usage: gitops-bootstrap check [--repo PATH|URL] [--revision R] [--age-key-file F] [--ca-file F] [--json]

Proves the age key decrypts every SOPS file in the repository at the revision (values and MACs).
  --repo PATH|URL      local directory or Git URL (default: the current directory)
  --revision R         branch, tag or commit (default: a URL's default branch; a directory as it is on disk)
  --age-key-file F     age identity file (default: $SOPS_AGE_KEY_FILE and $SOPS_AGE_KEY)
  --ca-file F          PEM CA certificate(s) to trust when cloning an https URL (default: the stack's repo.caFile)
  --json               machine-readable output
Exit status: 0 all files verified, 1 a file failed, 2 usage or configuration error.
`;

class UsageError extends Error {}

interface CheckFlags {
  readonly repo: string;
  readonly revision: string | undefined;
  readonly ageKeyFile: string | undefined;
  readonly caFile: string | undefined;
  readonly json: boolean;
  readonly help: boolean;
}

function parseCheckFlags(argv: readonly string[]): CheckFlags {
  const valued = new Map<string, string>();
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (arg === "--json") {
      json = true;
      continue;
    }
    const m = /^--(repo|revision|age-key-file|ca-file)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new UsageError(arg.startsWith("--") ? `unknown option ${arg.split("=")[0]}` : `unexpected argument ${JSON.stringify(arg)}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === "" || (m[2] === undefined && value.startsWith("--"))) throw new UsageError(`--${m[1]} needs a value`);
    valued.set(m[1], value);
  }
  return { repo: valued.get("repo") ?? ".", revision: valued.get("revision"), ageKeyFile: valued.get("age-key-file"), caFile: valued.get("ca-file"), json, help };
}

async function readKeyFile(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read the age key file ${file} (${what}${code ? `: ${code}` : ""})`);
  }
}

/** The identities from the flag, or from `SOPS_AGE_KEY_FILE` and `SOPS_AGE_KEY`. */
async function loadIdentities(flags: CheckFlags, env: NodeJS.ProcessEnv): Promise<AgeIdentities> {
  if (flags.ageKeyFile !== undefined) {
    return AgeIdentities.parse(await readKeyFile(flags.ageKeyFile, "--age-key-file"), flags.ageKeyFile);
  }
  const sets: AgeIdentities[] = [];
  const keyFile = env.SOPS_AGE_KEY_FILE;
  if (keyFile) sets.push(await AgeIdentities.parse(await readKeyFile(keyFile, "SOPS_AGE_KEY_FILE"), keyFile));
  if (env.SOPS_AGE_KEY) sets.push(await AgeIdentities.parse(env.SOPS_AGE_KEY, "SOPS_AGE_KEY", true));
  const merged = AgeIdentities.merge(sets);
  if (merged.size === 0) {
    throw new UsageError("no age identity: pass --age-key-file F, or set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY");
  }
  return merged;
}

const processIo: CheckIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
};

/** Runs `gitops-bootstrap check` with the arguments after `check`; resolves to the exit status. */
export async function runCheck(argv: readonly string[], io: CheckIo = processIo): Promise<number> {
  let flags: CheckFlags;
  try {
    flags = parseCheckFlags(argv);
  } catch (err) {
    io.stderr(`✗ ${(err as Error).message}\n\n${CHECK_USAGE}`);
    return EXIT.usage;
  }
  if (flags.help) {
    io.stdout(CHECK_USAGE);
    return EXIT.ok;
  }
  let report: RepositoryCheckReport;
  try {
    const identities = await loadIdentities(flags, io.env);
    report = await checkRepository({ source: flags.repo, revision: flags.revision, identities, caFile: flags.caFile });
  } catch (err) {
    if (err instanceof UsageError || err instanceof AgeIdentityError || err instanceof RepositoryError) {
      io.stderr(`✗ ${redactUrl(err.message)}\n`);
      return EXIT.usage;
    }
    // Unexpected: report the kind of failure, not a message that might quote file content.
    io.stderr(`✗ the check failed unexpectedly (${err instanceof Error ? err.name : typeof err}); please report this\n`);
    return EXIT.usage;
  }
  io.stdout(flags.json ? formatJsonReport(report) : formatTextReport(report));
  return report.ok ? EXIT.ok : EXIT.failed;
}
