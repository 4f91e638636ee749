/**
 * How the SOPS check reads a stack's repository (`check --stack`, `verifyRepoSecrets`, the
 * restore and drill check phase): which files its cluster decrypts, and with which credentials.
 * Light on purpose (types only from the config): `check` loads it without Pulumi.
 */
import type { BootstrapConfig } from "../../components/settings/bootstrap-config";
import type { GitCredentials } from "../sops/repository";
import type { ScopeRoots } from "../sops/scope";

/**
 * What a stack's cluster decrypts, for the check (`check --stack`, `verifyRepoSecrets`, the
 * restore and drill check phase): the files its root folder (`repo.path`) reaches in its
 * repository, whose GitRepository (Flux) is named like the root app.
 */
export function stackScope(config: BootstrapConfig): ScopeRoots {
  return { paths: [config.repo.path], repoUrl: config.repo.url, gitRepositoryNames: [config.rootApp.name] };
}

/** The stack's repository credentials as the repository reader takes them (through git's environment, never its arguments). */
export function stackGitCredentials(config: BootstrapConfig): GitCredentials | undefined {
  const c = config.repo.credentials;
  if (!c) return undefined;
  return c.kind === "basic" ? c : { kind: "ssh", sshPrivateKey: c.sshPrivateKey, knownHosts: config.repo.sshKnownHosts };
}
