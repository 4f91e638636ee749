/**
 * Pure builders for the Kubernetes objects the components create, so their shape is tested
 * without Pulumi and `render` shows the same thing `pulumi up` applies.
 */
import { AGE_SECRET, ARGOCD, FLUX } from "../defaults";
import type { RootAppConfig } from "../settings/bootstrap-config";
import type { RepoConfig } from "../settings/repository";

/**
 * `stringData` of an Argo CD repository Secret (label `argocd.argoproj.io/secret-type:
 * repository`). Returns plaintext credentials: the caller wraps the result in `pulumi.secret`.
 */
export function repositorySecretData(repo: RepoConfig): Record<string, string> {
  const data: Record<string, string> = { type: "git", url: repo.url };
  const creds = repo.credentials;
  if (creds?.kind === "ssh") data.sshPrivateKey = creds.sshPrivateKey.reveal();
  if (creds?.kind === "basic") {
    data.username = creds.username;
    data.password = creds.password.reveal();
  }
  return data;
}

export interface RootApplicationSpecInput {
  readonly repo: Pick<RepoConfig, "url" | "revision" | "path">;
  readonly app: RootAppConfig;
  /** Where the root app's own manifests (the child Applications) go: Argo CD's namespace. */
  readonly destinationNamespace: string;
}

/** `spec` of the root app-of-apps Application. */
export function rootApplicationSpec(input: RootApplicationSpecInput): Record<string, unknown> {
  const { repo, app } = input;
  return {
    project: app.project,
    source: { repoURL: repo.url, targetRevision: repo.revision, path: repo.path },
    destination: { server: ARGOCD.inClusterServer, namespace: input.destinationNamespace },
    syncPolicy: {
      automated: { prune: app.prune, selfHeal: app.selfHeal },
      retry: {
        limit: app.retry.limit,
        backoff: { duration: app.retry.backoff.duration, factor: app.retry.backoff.factor, maxDuration: app.retry.backoff.maxDuration },
      },
    },
  };
}

/**
 * The URL a Flux GitRepository accepts. Flux takes only URL forms (`ssh://`, `https://`), so an
 * scp-style `git@host:org/repo.git` (which Argo CD and git accept) becomes
 * `ssh://git@host/org/repo.git`; `rewrittenFrom` then holds the URL as configured.
 */
export function fluxGitUrl(url: string): { readonly url: string; readonly rewrittenFrom?: string } {
  const scp = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/.exec(url);
  if (!scp) return { url };
  const [, user, host, repoPath] = scp;
  return { url: `ssh://${user}@${host}/${repoPath.replace(/^\/+/, "")}`, rewrittenFrom: url };
}

/**
 * `spec.ref` of the GitRepository for `repo.revision`, which names a branch, tag or commit as
 * Argo CD's targetRevision does. Flux must be told which: a full commit SHA is a commit,
 * full `refs/...` names are checked out by name (config validation refuses `HEAD` with Flux:
 * source-controller cannot resolve it), a version-like name (`v1.2.3`, `2.0.0-rc.1`) is a tag, anything else a branch.
 * Write `refs/tags/<name>` or `refs/heads/<name>` to say which explicitly.
 */
export function gitRepositoryRef(revision: string): Record<string, string> {
  if (/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(revision)) return { commit: revision };
  if (revision === "HEAD" || revision.startsWith("refs/")) return { name: revision };
  if (/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/.test(revision)) return { tag: revision };
  return { branch: revision };
}

/**
 * `stringData` of the Secret a Flux GitRepository's `secretRef` names: `identity` and
 * `known_hosts` for SSH, `username` and `password` for https, and `ca.crt` with the Git server's
 * CA (`repo.caFile`), also for a public repository; undefined for a public https repository
 * without a CA (no Secret, no secretRef). Plaintext: the caller wraps it in `pulumi.secret`.
 */
export function fluxGitSecretData(repo: RepoConfig): Record<string, string> | undefined {
  const creds = repo.credentials;
  const ca: Record<string, string> = repo.caCertificates ? { [FLUX.gitCaKey]: repo.caCertificates.pem } : {};
  if (creds?.kind === "ssh") {
    const knownHosts = repo.sshKnownHosts ?? "";
    return { identity: creds.sshPrivateKey.reveal(), known_hosts: knownHosts.endsWith("\n") ? knownHosts : `${knownHosts}\n`, ...ca };
  }
  if (creds?.kind === "basic") return { username: creds.username, password: creds.password.reveal(), ...ca };
  return repo.caCertificates ? ca : undefined;
}

export interface GitRepositorySpecInput {
  readonly repo: Pick<RepoConfig, "url" | "revision">;
  /** Flux duration between fetches. */
  readonly interval: string;
  /** The Secret in the same namespace with the credentials and/or the CA, if the repository needs one. */
  readonly secretName?: string;
}

/** `spec` of the Flux GitRepository the root Kustomization reads from. */
export function gitRepositorySpec(input: GitRepositorySpecInput): Record<string, unknown> {
  return {
    url: fluxGitUrl(input.repo.url).url,
    interval: input.interval,
    ref: gitRepositoryRef(input.repo.revision),
    ...(input.secretName ? { secretRef: { name: input.secretName } } : {}),
  };
}

export interface KustomizationSpecInput {
  /** Name of the GitRepository in the Kustomization's namespace. */
  readonly sourceName: string;
  /** Folder in the repository (`repo.path`). */
  readonly path: string;
  /** Flux duration between re-applies. */
  readonly interval: string;
  /** Delete what was removed from Git (`rootApp.syncPolicy.prune`). */
  readonly prune: boolean;
}

/**
 * `spec` of the root Kustomization: applies `path` from the GitRepository, decrypting SOPS
 * files with the `sops-age` Secret in its own namespace (Flux reads keys ending in `.agekey`),
 * prunes, and waits for what it applied to be healthy, so Ready means the cluster converged.
 */
export function kustomizationSpec(input: KustomizationSpecInput): Record<string, unknown> {
  return {
    interval: input.interval,
    timeout: FLUX.kustomizationTimeout,
    sourceRef: { kind: "GitRepository", name: input.sourceName },
    path: input.path === "." ? "./" : `./${input.path}`,
    prune: input.prune,
    wait: true,
    decryption: { provider: "sops", secretRef: { name: AGE_SECRET.name } },
  };
}
