/**
 * Pure builders for the Kubernetes objects the components create, so their shape is tested
 * without Pulumi and `render` shows the same thing `pulumi up` applies.
 */
import { ARGOCD } from "./defaults";
import type { RepoConfig, RootAppConfig } from "./config";

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
