/**
 * After convergence: every Kubernetes Secret that a SOPS file in Git defines must exist in the
 * cluster. Names and namespaces come from the files' unencrypted metadata (sops leaves
 * `metadata` in clear with the usual `encrypted_regex: ^(data|stringData)$`); nothing is
 * decrypted here, and only the existence of the Secrets is looked at, never their data.
 */
import { sealedSecretRefs } from "../sealed-secrets/check";
import type { RepositoryFile } from "../sops/repository";
import { looksEncrypted } from "../sops/values";
import { manifestDocuments } from "../sops/yaml-budget";

export interface ExpectedSecret {
  readonly file: string;
  readonly name: string;
  /** Absent when the file leaves it to kustomize or the Application's destination. */
  readonly namespace: string | undefined;
}

const isEncrypted = (v: unknown): boolean => typeof v === "string" && looksEncrypted(v);

/**
 * The files the stack's check judged: the SOPS and SealedSecret files of other environments in
 * the same repository (the check's scope walk left them out) are not expected in this cluster.
 */
export function judgedOnly<F extends { readonly path: string }>(files: readonly F[], notJudged: readonly string[]): F[] {
  const skip = new Set(notJudged);
  return files.filter((f) => !skip.has(f.path));
}

/** The files under `under/` of the repository (all of them without it). */
function underFolder(files: readonly RepositoryFile[], under: string | undefined): readonly RepositoryFile[] {
  const prefix = under ? `${under.replace(/^\.?\/+|\/+$/g, "")}/` : "";
  return prefix === "" ? files : files.filter((f) => f.path.startsWith(prefix));
}

/** The Secrets defined by the SOPS-encrypted YAML files among `files` (optionally only under `under/`). */
export function expectedSecrets(files: readonly RepositoryFile[], under?: string): ExpectedSecret[] {
  const out: ExpectedSecret[] = [];
  for (const file of underFolder(files, under)) {
    if (!/\.ya?ml$/i.test(file.path)) continue;
    for (const doc of manifestDocuments(file.content)) {
      const obj = doc as { kind?: unknown; apiVersion?: unknown; metadata?: { name?: unknown; namespace?: unknown }; sops?: unknown } | null;
      if (!obj || typeof obj !== "object" || obj.kind !== "Secret" || obj.sops === undefined) continue;
      const name = obj.metadata?.name;
      const namespace = obj.metadata?.namespace;
      if (typeof name !== "string" || isEncrypted(name)) continue;
      out.push({ file: file.path, name, namespace: typeof namespace === "string" && !isEncrypted(namespace) ? namespace : undefined });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.name.localeCompare(b.name));
}

/** The Secrets the SealedSecrets among `files` unseal to (same name and namespace), optionally only under `under/`. */
export function expectedSealedSecrets(files: readonly RepositoryFile[], under?: string): ExpectedSecret[] {
  return sealedSecretRefs(underFolder(files, under))
    .map((r) => ({ file: r.path, name: r.name, namespace: r.namespace }))
    .sort((a, b) => a.file.localeCompare(b.file) || a.name.localeCompare(b.name));
}
