/**
 * The repository-wide SOPS check: read the repository at the revision that will be deployed,
 * verify every SOPS file in it with the age identities (real decryption and MAC verification),
 * and compare the `.sops.yaml` creation rules with the key. Pure logic plus file and Git access;
 * no Pulumi, no Kubernetes.
 */
import type { KeyObject } from "node:crypto";
import { type ExternalSecretsInRepo, externalSecretsIn, missingStores } from "../external-secrets/refs";
import { type SealedSecretResult, checkSealedFiles, sealedSecretRefs } from "../sealed-secrets/check";
import { AgeIdentities } from "../../components/settings/age-identities";
import { DEFAULT_MAX_FILE_BYTES, type GitCredentials, ReadInterrupted, type RepositorySnapshot, readRepository } from "./repository";
import { type Scope, type ScopeRoots, walkScope } from "./scope";
import { type SopsConfig, configFor, coveringRule, parseSopsConfig, ruleFor } from "./sops-config";
import { RESULT_LABELS, type SopsFileResult, type SopsResultKind, failsTheCheck } from "./types";
import { type ExamineHints, verifySopsContent } from "./verify";
import { VerifierPool } from "./worker";

export interface CheckRepositoryOptions {
  /** A local directory or a Git URL (see {@link readRepository}). */
  readonly source: string;
  /**
   * Branch, tag or commit to check. @default for a URL, the remote's default branch; for a local
   * directory, the files as they are on disk.
   */
  readonly revision?: string;
  /**
   * The age identities: parsed, or the text of an identity file (one or several
   * `AGE-SECRET-KEY-…` lines, `#` comments), or a secret holder with `reveal()`.
   */
  readonly identities: AgeIdentities | string | { reveal(): string };
  /** Worker threads for verification. @default one per core, none for fewer than 64 files */
  readonly concurrency?: number;
  /** Files bigger than this are not read; one that may be a SOPS file fails as too big. @default 256 MiB */
  readonly maxFileBytes?: number;
  /** The repository already read (by {@link readRepository}) from `source` at `revision`: it is not read again. */
  readonly snapshot?: RepositorySnapshot;
  /** A PEM file of CA certificates to trust when cloning an https URL (the stack's `repo.caFile`). */
  readonly caFile?: string;
  /** Called after each candidate file is verified: how many so far, of how many. */
  readonly onProgress?: (verified: number, total: number) => void;
  /**
   * The Sealed Secrets key backup (private keys) to prove against every SealedSecret; without
   * it, SealedSecrets in the repository only get a warning that names them.
   */
  readonly sealingKeys?: readonly KeyObject[];
  /**
   * Judge only what a stack's cluster will decrypt: the files its root folders reach (see
   * scope.ts), plus any file encrypted to the check's own recipients. Other SOPS files are
   * counted as belonging to other environments, never failures. @default every file is judged
   */
  readonly scope?: ScopeRoots;
  /** Credentials for cloning a URL (see {@link readRepository}); never in git's arguments. */
  readonly credentials?: GitCredentials;
  /** Stops the check: a clone in progress is ended and removed, and `ReadInterrupted` thrown. */
  readonly signal?: AbortSignal;
}

export type CheckOutcome = "verified" | "suspicious" | "fails";

export interface RepositoryCheckReport {
  /** The source as given, credentials removed. */
  readonly source: string;
  readonly revision: string | undefined;
  /** The commit that was read (Git sources). */
  readonly commit: string | undefined;
  /** The public recipients of the identities used. */
  readonly recipients: readonly string[];
  /** One result per SOPS file (files that are not SOPS files are not listed), by path. */
  readonly files: readonly SopsFileResult[];
  /** Problems that do not fail the check (`.sops.yaml` rules that leave the key out, ...). */
  readonly warnings: readonly string[];
  /** Files in the repository, and how many were skipped unread (too big, links, ...). */
  readonly scannedFiles: number;
  readonly skippedFiles: number;
  readonly counts: Readonly<Record<SopsResultKind, number>>;
  /** One result per SealedSecret, when a key backup was given. */
  readonly sealedSecrets: readonly SealedSecretResult[];
  /** The External Secrets Operator's stores and ExternalSecrets in what the check judged. */
  readonly externalSecrets: ExternalSecretsInRepo;
  /**
   * With a scope: the SOPS files (and SealedSecret files) outside what the stack's root reaches
   * and not encrypted to the check's recipients: other environments' files, not judged.
   */
  readonly notJudged: readonly string[];
  /** The scope walk, when the check was scoped: its roots, the folders reached, and whether it finished. */
  readonly scope?: { readonly roots: readonly string[]; readonly folders: readonly string[]; readonly complete: boolean };
  /**
   * `fails`: some SOPS file will not decrypt at sync time with this key (or is too big to
   * verify), or the key backup does not open a SealedSecret. `suspicious`: nothing fails, but
   * sops would accept a file the check is stricter about. `verified`: neither.
   */
  readonly outcome: CheckOutcome;
  /** `outcome === "verified"`. */
  readonly ok: boolean;
}

/** Turns the `identities` option into parsed identities. */
export async function toIdentities(identities: CheckRepositoryOptions["identities"]): Promise<AgeIdentities> {
  if (identities instanceof AgeIdentities) return identities;
  const text = typeof identities === "string" ? identities : identities.reveal();
  return AgeIdentities.parse(text, "the age key", true);
}

async function verifyAll(snapshot: RepositorySnapshot, identities: AgeIdentities, hintsFor: (filePath: string) => ExamineHints, opts: Pick<CheckRepositoryOptions, "concurrency" | "onProgress" | "signal">): Promise<SopsFileResult[]> {
  const { concurrency, onProgress, signal } = opts;
  const size = VerifierPool.sizeFor(snapshot.candidates.length, concurrency);
  const total = snapshot.candidates.length;
  let done = 0;
  const counted = (r: SopsFileResult): SopsFileResult => {
    if (signal?.aborted) throw new ReadInterrupted();
    onProgress?.(++done, total);
    return r;
  };
  if (size <= 1) {
    const results: SopsFileResult[] = [];
    for (const file of snapshot.candidates) results.push(counted(await verifySopsContent(file.content, file.path, identities, hintsFor(file.path))));
    return results;
  }
  const pool = new VerifierPool(identities, size);
  try {
    return await Promise.all(snapshot.candidates.map(async (f) => counted(await pool.verify(f.path, f.content, hintsFor(f.path)))));
  } finally {
    await pool.close();
  }
}

/** The creation rule (with a path_regex) that covers each file: what the file was meant to be. */
export function ruleHints(configs: readonly SopsConfig[]): (filePath: string) => ExamineHints {
  return (filePath) => {
    const covering = coveringRule(filePath, configs);
    if (!covering) return {};
    return { rule: { name: `creation rule ${covering.rule.index} of ${covering.config.path}`, selector: covering.rule.selector } };
  };
}

const byPath = (a: { path: string } | string, b: { path: string } | string): number => {
  const x = typeof a === "string" ? a : a.path;
  const y = typeof b === "string" ? b : b.path;
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * Which files the check judges: with a scope, those the stack's root reaches and those encrypted
 * to the check's own recipients (a recipient is named in the file's metadata); without one, all.
 */
function judgedFiles(snapshot: RepositorySnapshot, scope: Scope | undefined, recipients: readonly string[]): (filePath: string) => boolean {
  if (!scope) return () => true;
  const ours = new Set(snapshot.candidates.filter((f) => recipients.some((r) => f.content.includes(r))).map((f) => f.path));
  return (filePath) => scope.includes(filePath) || ours.has(filePath);
}

function tooBig(file: { path: string; bytes: number }, limit: number): SopsFileResult {
  const mib = (n: number): string => `${Math.ceil(n / 2 ** 20)} MiB`;
  const detail = `it is ${mib(file.bytes)}, over the ${mib(limit)} this check reads, so it was not verified (raise the limit with --max-file-size)`;
  return { kind: "too-big", path: file.path, detail, reason: `${file.path}: ${detail}`, bytes: file.bytes, limit };
}

function ruleWarnings(configs: readonly SopsConfig[], files: readonly SopsFileResult[], recipients: readonly string[]): string[] {
  const warnings: string[] = [];
  const applied = new Map<string, { config: SopsConfig; index: number; files: number }>();
  for (const file of files) {
    const config = configFor(file.path, configs);
    const rule = config && ruleFor(file.path, config);
    if (!config || !rule) continue;
    const key = `${config.path}#${rule.index}`;
    const entry = applied.get(key) ?? { config, index: rule.index, files: 0 };
    entry.files++;
    applied.set(key, entry);
  }
  for (const { config, index, files: count } of applied.values()) {
    const rule = config.rules[index - 1];
    if (rule.ageRecipients.some((r) => recipients.includes(r))) continue;
    const which = `${config.path}: creation rule ${index}${rule.pathRegex ? ` (path_regex ${rule.pathRegex})` : ""}`;
    const what = rule.ageRecipients.length === 0 ? "lists no age recipient" : "does not list your age recipient";
    warnings.push(
      `${which} applies to ${count} SOPS file${count === 1 ? "" : "s"} here but ${what}: files created or rotated under it will not be decryptable with this key`,
    );
  }
  return warnings;
}

/**
 * Checks every SOPS file of a repository at a revision. Throws `RepositoryError` when the
 * repository cannot be read and `AgeIdentityError` for unusable identities; everything found in
 * the files is in the report.
 */
export async function checkRepository(opts: CheckRepositoryOptions): Promise<RepositoryCheckReport> {
  const identities = await toIdentities(opts.identities);
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const snapshot = opts.snapshot ?? (await readRepository({ source: opts.source, revision: opts.revision, maxFileBytes, caFile: opts.caFile, credentials: opts.credentials, signal: opts.signal }));
  const scope = opts.scope ? walkScope(snapshot, opts.scope) : undefined;

  const warnings: string[] = [];
  const configs: SopsConfig[] = [];
  for (const c of snapshot.configs) {
    if (c.path.endsWith(".sops.yml")) {
      warnings.push(`${c.path}: sops ignores .sops.yml; the config file must be called .sops.yaml`);
      continue;
    }
    const parsed = parseSopsConfig(c.path, c.content);
    if (typeof parsed === "string") warnings.push(parsed);
    else configs.push(parsed);
  }
  if (scope) warnings.push(...scope.notes);
  const verified = await verifyAll(snapshot, identities, ruleHints(configs), opts);
  const judged = judgedFiles(snapshot, scope, identities.recipients);
  const found = [...verified.filter((r) => r.kind !== "not-sops"), ...snapshot.oversized.map((f) => tooBig(f, maxFileBytes))];
  const files = found.filter((f) => judged(f.path)).sort(byPath);
  const sealedFiles = snapshot.sealed.filter((f) => judged(f.path));
  const notJudged = [...new Set([...found.map((f) => f.path), ...sealedSecretRefs(snapshot.sealed).map((r) => r.path)].filter((p) => !judged(p)))].sort(byPath);
  warnings.push(...ruleWarnings(configs, files, identities.recipients));
  for (const f of files) if (f.kind === "ok") warnings.push(...f.warnings.map((w) => `${f.path}: ${w}`));
  let sealedSecrets: SealedSecretResult[] = [];
  if (opts.sealingKeys) sealedSecrets = checkSealedFiles(sealedFiles, opts.sealingKeys);
  else {
    const refs = sealedSecretRefs(sealedFiles);
    if (refs.length > 0) {
      warnings.push(
        `${refs.length} SealedSecret${refs.length === 1 ? "" : "s"} (${refs.map((f) => `${f.path}: ${f.namespace ? `${f.namespace}/` : ""}${f.name}`).join(", ")}) and no key backup to prove: a rebuilt cluster's new controller cannot open them; configure sealedSecrets.keysFile (gitops-bootstrap backup-keys) and check with --stack`,
      );
    }
  }
  for (const r of sealedSecrets) if (r.kind === "unchecked") warnings.push(`${r.path}: SealedSecret ${r.secret} not checked: ${r.detail}`);
  const externalSecrets = externalSecretsIn(snapshot.external.filter((f) => judged(f.path)));
  for (const m of missingStores(externalSecrets)) {
    warnings.push(`${m.store} is needed by ${m.neededBy.join(", ")} but is not in the repository: a rebuilt cluster has no such store unless something else creates it`);
  }
  if (files.length === 0 && sealedFiles.length === 0) warnings.push(notJudged.length > 0 ? "no SOPS files in what this stack's root reaches" : "no SOPS files found");

  const counts = Object.fromEntries(Object.keys(RESULT_LABELS).map((k) => [k, 0])) as Record<SopsResultKind, number>;
  for (const f of files) counts[f.kind]++;
  const sealedFail = sealedSecrets.some((r) => r.kind !== "ok" && r.kind !== "unchecked");
  const fails = files.some((f) => failsTheCheck(f.kind)) || sealedFail;
  const outcome: CheckOutcome = fails ? "fails" : files.some((f) => f.kind === "suspicious") ? "suspicious" : "verified";
  return {
    source: snapshot.source,
    revision: opts.revision,
    commit: snapshot.commit,
    recipients: identities.recipients,
    files,
    warnings,
    scannedFiles: snapshot.fileCount,
    skippedFiles: snapshot.skipped,
    counts,
    sealedSecrets,
    externalSecrets,
    notJudged,
    ...(scope ? { scope: { roots: scope.roots, folders: scope.folders, complete: scope.complete } } : {}),
    outcome,
    ok: outcome === "verified",
  };
}
