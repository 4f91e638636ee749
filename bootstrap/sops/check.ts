/**
 * The repository-wide SOPS check: read the repository at the revision that will be deployed,
 * verify every SOPS file in it with the age identities (real decryption and MAC verification),
 * and compare the `.sops.yaml` creation rules with the key. Pure logic plus file and Git access;
 * no Pulumi, no Kubernetes.
 */
import type { KeyObject } from "node:crypto";
import { type SealedSecretResult, checkSealedFiles, sealedSecretRefs } from "../sealed-secrets/check";
import { AgeIdentities } from "./age";
import { DEFAULT_MAX_FILE_BYTES, type RepositorySnapshot, readRepository } from "./repository";
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

async function verifyAll(snapshot: RepositorySnapshot, identities: AgeIdentities, hintsFor: (filePath: string) => ExamineHints, concurrency: number | undefined, onProgress?: CheckRepositoryOptions["onProgress"]): Promise<SopsFileResult[]> {
  const size = VerifierPool.sizeFor(snapshot.candidates.length, concurrency);
  const total = snapshot.candidates.length;
  let done = 0;
  const counted = (r: SopsFileResult): SopsFileResult => {
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
  const snapshot = opts.snapshot ?? (await readRepository({ source: opts.source, revision: opts.revision, maxFileBytes, caFile: opts.caFile }));

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
  const verified = await verifyAll(snapshot, identities, ruleHints(configs), opts.concurrency, opts.onProgress);
  const files = [...verified.filter((r) => r.kind !== "not-sops"), ...snapshot.oversized.map((f) => tooBig(f, maxFileBytes))].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  warnings.push(...ruleWarnings(configs, files, identities.recipients));
  for (const f of files) if (f.kind === "ok") warnings.push(...f.warnings.map((w) => `${f.path}: ${w}`));
  let sealedSecrets: SealedSecretResult[] = [];
  if (opts.sealingKeys) sealedSecrets = checkSealedFiles(snapshot.sealed, opts.sealingKeys);
  else {
    const found = sealedSecretRefs(snapshot.sealed);
    if (found.length > 0) {
      warnings.push(
        `${found.length} SealedSecret${found.length === 1 ? "" : "s"} (${found.map((f) => `${f.path}: ${f.namespace ? `${f.namespace}/` : ""}${f.name}`).join(", ")}) and no key backup to prove: a rebuilt cluster's new controller cannot open them; configure sealedSecrets.keysFile (gitops-bootstrap backup-keys) and check with --stack`,
      );
    }
  }
  for (const r of sealedSecrets) if (r.kind === "unchecked") warnings.push(`${r.path}: SealedSecret ${r.secret} not checked: ${r.detail}`);
  if (files.length === 0 && snapshot.sealed.length === 0) warnings.push("no SOPS files found");

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
    outcome,
    ok: outcome === "verified",
  };
}
