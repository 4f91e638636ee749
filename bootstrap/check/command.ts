/**
 * `gitops-bootstrap check [--stack S] [--repo PATH|URL] [--path DIR]... [--revision R] [--age-key-file F] [--ca-file F] [--json]`:
 * proves the age key decrypts every SOPS file of the repository at the revision that will be
 * deployed (real decryption and MAC verification). Identities come from `--age-key-file`, or
 * else from `SOPS_AGE_KEY_FILE` and `SOPS_AGE_KEY`, like sops. With `--stack` (or `--path`), only
 * what the stack's root folder (or those folders) reaches is judged, plus any file encrypted to
 * the key; other environments' files are counted, not judged.
 *
 * Exit status: 0 every SOPS file verified, 1 some file will not decrypt at sync time (or is too big,
 * or beyond the check's limits, to verify; with `--strict` also suspicious files), 2 usage or
 * configuration error, 3 every file decrypts as sops decrypts it, but some were changed where sops
 * does not look, 130 interrupted (Ctrl-C or SIGTERM: a clone in progress is ended and removed).
 * Decrypted values and keys never appear in the output.
 */
import * as fs from "node:fs/promises";
import type { KeyObject } from "node:crypto";
import { resolveConfig } from "../config/stack-config";
import { privateKeyObjects } from "../../components/settings/sealing-keys";
import { elapsed, statusLineFor } from "../cli-common/progress";
import { UsageError } from "../../components/errors";
import { AgeIdentities, AgeIdentityError } from "../../components/settings/age-identities";
import { type RepositoryCheckReport, checkRepository } from "../sops/check";
import { formatJsonReport, formatTextReport } from "../sops/report";
import { type GitCredentials, ReadInterrupted, RepositoryError, isGitUrl, redactUrl, splitUrlCredentials } from "../sops/repository";
import type { ScopeRoots } from "../sops/scope";
import { safeLine } from "../cli-common/terminal-text";
import { stackGitCredentials, stackScope } from "../config/stack-repository";
import { CONFIG_NAMESPACE } from "../../components/defaults";
import { readStackConfigWithSecrets } from "../config/stack-secrets";

export { type CheckRepositoryOptions, type RepositoryCheckReport, checkRepository } from "../sops/check";

export interface CheckIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Where stacks/ is, for `--stack`. */
  readonly projectDir?: string;
  /** stderr is a terminal: progress is one live line. */
  readonly interactive?: boolean;
  /** Registers a Ctrl-C handler; returns its removal. @default process SIGINT and SIGTERM */
  readonly onInterrupt?: (handler: () => void) => () => void;
}

const EXIT = { ok: 0, failed: 1, usage: 2, suspicious: 3, interrupted: 130 } as const;

/** The options of `gitops-bootstrap check` (its flags, parsed by the CLI). */
export interface CheckOptions {
  /** Take the age key, repository URL, revision and CA from this stack's config (explicit options still win). */
  readonly stack?: string;
  readonly repo?: string;
  readonly revision?: string;
  readonly ageKeyFile?: string;
  readonly caFile?: string;
  readonly json?: boolean;
  /** Suspicious files fail the run too. */
  readonly strict?: boolean;
  /** Files bigger than this many MiB are not read. @default 256 */
  readonly maxFileSize?: number;
  /** Judge only what these folders of the repository reach (the stack's repo.path with `--stack`). */
  readonly path?: readonly string[];
}

function onSignals(handler: () => void): () => void {
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
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
async function loadIdentities(flags: CheckOptions, env: NodeJS.ProcessEnv): Promise<AgeIdentities> {
  const noIdentity = (file: string, where: string): UsageError =>
    new UsageError(`the key file ${file} (${where}) has no age identity: expected AGE-SECRET-KEY-1… lines, as age-keygen writes`);
  if (flags.ageKeyFile !== undefined) {
    const set = await AgeIdentities.parse(await readKeyFile(flags.ageKeyFile, "--age-key-file"), flags.ageKeyFile);
    if (set.size === 0) throw noIdentity(flags.ageKeyFile, "--age-key-file");
    return set;
  }
  const sets: AgeIdentities[] = [];
  const keyFile = env.SOPS_AGE_KEY_FILE;
  if (keyFile) sets.push(await AgeIdentities.parse(await readKeyFile(keyFile, "SOPS_AGE_KEY_FILE"), keyFile));
  if (env.SOPS_AGE_KEY) sets.push(await AgeIdentities.parse(env.SOPS_AGE_KEY, "SOPS_AGE_KEY", true));
  const merged = AgeIdentities.merge(sets);
  // Like sops, an empty key file is no problem when SOPS_AGE_KEY has the identities.
  if (merged.size === 0 && keyFile) throw noIdentity(keyFile, env.SOPS_AGE_KEY ? "SOPS_AGE_KEY_FILE, and SOPS_AGE_KEY has none either" : "SOPS_AGE_KEY_FILE");
  if (merged.size === 0) throw new UsageError("no age identity: pass --age-key-file F, or set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY");
  return merged;
}

const processIo: CheckIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
};

interface Resolved {
  readonly opts: CheckOptions;
  readonly identities?: AgeIdentities;
  readonly sealingKeys?: KeyObject[];
  readonly scope?: ScopeRoots;
  readonly credentials?: GitCredentials;
}

/** `--path`: folders of the repository, relative to its root. */
function pathScope(paths: readonly string[], repo: string | undefined): ScopeRoots {
  for (const p of paths) {
    if (p.startsWith("/") || p.split("/").includes("..")) throw new UsageError(`--path ${JSON.stringify(p)}: expected a folder of the repository, relative to its root (no leading / or ..)`);
  }
  // Applications name the repository by URL: known for a URL, not for a local directory.
  return { paths, repoUrl: repo !== undefined && isGitUrl(repo) ? splitUrlCredentials(repo).url : undefined };
}

/** What `--stack` supplies: the stack's identities, scope and credentials, and its repository unless given explicitly. */
async function fromStack(opts: CheckOptions, io: CheckIo): Promise<Resolved> {
  const paths = opts.path ?? [];
  if (opts.stack === undefined) return { opts, scope: paths.length > 0 ? pathScope(paths, opts.repo) : undefined };
  if (io.projectDir === undefined) throw new UsageError("--stack needs the project directory (stacks/)");
  // The stack's key, decrypted through Pulumi when it is encrypted in the stack file, unless a key file is given.
  const needs = opts.ageKeyFile === undefined ? [{ key: `${CONFIG_NAMESPACE}:ageKey`, instead: "--age-key-file F" }] : [];
  const { raw } = await readStackConfigWithSecrets({ projectDir: io.projectDir, stack: opts.stack, env: io.env, needs });
  const config = await resolveConfig(raw);
  io.stderr(`► checking ${opts.stack}: ${config.ageKey.recipients.join(", ")}\n`);
  const eso = config.externalSecrets;
  if (eso?.credentialsFile) {
    // resolveConfig refused a file the stack's key does not open; this says what it holds, by name only.
    io.stderr(`✔ externalSecrets.credentialsFile ${eso.credentialsFile} opens with the stack's key: ${eso.credentials.length} store credential(s) (${eso.credentials.map((c) => `${eso.namespace}/${c.name}`).join(", ")})\n`);
  }
  const merged: CheckOptions = {
    ...opts,
    repo: opts.repo ?? config.repo.url,
    revision: opts.revision ?? (config.repo.revision !== "HEAD" ? config.repo.revision : undefined),
    caFile: opts.caFile ?? config.repo.caCertificates?.file,
  };
  // --path narrows to other folders; the repository's URL (and the root GitRepository's name) stay the stack's.
  const scope = paths.length > 0 ? { ...stackScope(config), paths } : stackScope(config);
  return {
    opts: merged,
    identities: opts.ageKeyFile === undefined ? config.ageKey.set : undefined,
    sealingKeys: config.sealedSecrets?.keysFile ? privateKeyObjects(config.sealedSecrets.keys) : undefined,
    scope,
    // Secret values this command cannot decrypt (a passphrase-protected stack) are left to the user's own Git setup.
    credentials: raw.undecryptedKeys?.has("repo") ? undefined : stackGitCredentials(config),
  };
}

/** Runs `gitops-bootstrap check`; resolves to the exit status. */
export async function runCheck(options: CheckOptions, io: CheckIo = processIo): Promise<number> {
  let report: RepositoryCheckReport;
  const started = Date.now();
  const status = statusLineFor(io);
  const onProgress = (verified: number, total: number): void => {
    if (verified % 25 === 0 || verified === total) status.update(`► checking files: ${verified}/${total} (${elapsed(Date.now() - started)})`);
  };
  const interrupt = new AbortController();
  const removeHandler = (io.onInterrupt ?? onSignals)(() => interrupt.abort());
  try {
    const { opts, identities: stackIdentities, sealingKeys, scope, credentials } = await fromStack(options, io);
    const identities = stackIdentities ?? (await loadIdentities(opts, io.env));
    const maxFileBytes = (options.maxFileSize ?? 256) * 2 ** 20;
    report = await checkRepository({
      source: opts.repo ?? ".",
      revision: opts.revision,
      identities,
      caFile: opts.caFile,
      onProgress,
      sealingKeys,
      maxFileBytes,
      scope,
      credentials,
      signal: interrupt.signal,
    });
    if (interrupt.signal.aborted) throw new ReadInterrupted();
  } catch (err) {
    status.clear();
    if (err instanceof ReadInterrupted || interrupt.signal.aborted) {
      io.stderr("■ interrupted: the check stopped before a verdict; a clone in progress was ended and removed\n");
      return EXIT.interrupted;
    }
    if (err instanceof UsageError || err instanceof AgeIdentityError || err instanceof RepositoryError) {
      io.stderr(`✗ ${safeLine(redactUrl(err.message))}\n`);
      return EXIT.usage;
    }
    // Unexpected: report the kind of failure, not a message that might quote file content.
    io.stderr(`✗ the check failed unexpectedly (${err instanceof Error ? err.name : typeof err}); please report this\n`);
    return EXIT.usage;
  } finally {
    removeHandler();
  }
  status.clear();
  io.stdout(options.json === true ? formatJsonReport(report) : formatTextReport(report));
  if (report.outcome === "fails") return EXIT.failed;
  if (options.strict === true && report.outcome === "suspicious") return EXIT.failed;
  return report.outcome === "suspicious" ? EXIT.suspicious : EXIT.ok;
}
