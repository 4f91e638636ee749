/**
 * The library entry (`import { GitOpsCluster } from "gitops-bootstrap"`): the components and their
 * args, nothing of the command-line application. A Pulumi plugin package serves the same classes
 * to programs in other languages (PulumiPlugin.yaml); their schema is inferred from these types.
 */
export { AgeKeySecret, type AgeKeySecretArgs } from "./components/age-key-secret";
export { ArgoCd, type ArgoCdArgs } from "./components/argocd";
export {
  type ArgoCdOptions,
  type BackoffArgs,
  type ExternalSecretsOptions,
  type FluxOptions,
  PodSecurity,
  Reconciler,
  type RepositoryArgs,
  type RepositoryCredentialsArgs,
  type RetryArgs,
  type RootAppArgs,
  type SealedSecretsOptions,
  type SealingKeyArgs,
  type StoreCredentialArgs,
  type SyncPolicyArgs,
} from "./components/args";
export { ExternalSecrets, type ExternalSecretsArgs } from "./components/external-secrets";
export { Flux, type FluxArgs } from "./components/flux";
export { GitOpsCluster, type GitOpsClusterArgs } from "./components/gitops-cluster";
export { RootApplication, type RootApplicationArgs } from "./components/root-application";
export { SealedSecrets, type SealedSecretsArgs } from "./components/sealed-secrets";
export { ComponentArgsError } from "./components/validation";
