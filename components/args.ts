/**
 * The argument types the components share. They follow the stack config's shape (`repo`,
 * `rootApp`, `argocd`, `flux`, `sealedSecrets`), so a field is named as the config key it stands
 * for, and a bad value gets the message the stack config gives. Written for Pulumi's schema
 * inference too (a source-based plugin package): interfaces, `pulumi.Input` fields, enums for
 * choices, no unions, callbacks or anonymous object types.
 */
import type * as pulumi from "@pulumi/pulumi";

/** The GitOps reconciler that syncs the cluster from Git. */
export enum Reconciler {
  /** Argo CD, with KSOPS for SOPS files and a root app-of-apps Application. */
  ArgoCd = "argocd",
  /** Flux, decrypting SOPS files itself, with a root GitRepository and Kustomization. */
  Flux = "flux",
}

/** A Pod Security Standards level (the `pod-security.kubernetes.io/*` namespace labels). */
export enum PodSecurity {
  Privileged = "privileged",
  Baseline = "baseline",
  Restricted = "restricted",
}

/**
 * How the reconciler authenticates to the Git repository: `sshPrivateKey` (an `ssh://` or
 * `git@host:` URL), or `username` + `password` (https). Both secrets are wrapped in
 * `pulumi.secret` by the components, whatever the caller passes.
 */
export interface RepositoryCredentialsArgs {
  /** An unencrypted deploy key (OpenSSH or PEM private key block). */
  readonly sshPrivateKey?: pulumi.Input<string>;
  /** The user for https (any non-empty name works with most hosts' access tokens). */
  readonly username?: pulumi.Input<string>;
  /** The password or access token for https. */
  readonly password?: pulumi.Input<string>;
}

/** The Git repository the cluster is rebuilt from. */
export interface RepositoryArgs {
  /** The Git URL: `https://host/org/repo.git`, `ssh://git@host/org/repo.git` or `git@host:org/repo.git`. */
  readonly url: pulumi.Input<string>;
  /**
   * The branch, tag or commit to deploy. Flux cannot follow `HEAD`: name a branch with Flux.
   * @default "HEAD"
   */
  readonly revision?: pulumi.Input<string>;
  /** The folder in the repository that holds the root app's manifests (e.g. `apps`, `clusters/prod`). */
  readonly path: pulumi.Input<string>;
  /** Credentials for a private repository. @default none (a public repository) */
  readonly credentials?: RepositoryCredentialsArgs;
  /**
   * `known_hosts` lines for an SSH host (as `ssh-keyscan <host>` prints them). Required with Flux
   * and an SSH URL; Argo CD knows github.com, gitlab.com and a few more itself.
   * @default none
   */
  readonly sshKnownHosts?: pulumi.Input<string>;
  /**
   * PEM text of the CA certificate(s) that sign the Git server's HTTPS certificate (https URLs
   * only); certificates only, a private key is refused.
   * @default none (the public CAs)
   */
  readonly caCertificates?: pulumi.Input<string>;
}

/** Argo CD's retry backoff for the root Application's sync. */
export interface BackoffArgs {
  /** First wait, a duration such as `5s`. @default "5s" */
  readonly duration?: pulumi.Input<string>;
  /** Multiplier between waits, a whole number >= 1. @default 2 */
  readonly factor?: pulumi.Input<number>;
  /** Longest wait. @default "3m" */
  readonly maxDuration?: pulumi.Input<string>;
}

/** Argo CD's retry policy for the root Application's sync. */
export interface RetryArgs {
  /** Retries, -1 for no limit. @default 5 */
  readonly limit?: pulumi.Input<number>;
  /** Waits between retries. @default 5s, factor 2, at most 3m */
  readonly backoff?: BackoffArgs;
}

/** How the root app syncs. `selfHeal` and `retry` are Argo CD's only (Flux undoes drift and retries at every interval). */
export interface SyncPolicyArgs {
  /** Delete from the cluster what was removed from Git. @default true */
  readonly prune?: pulumi.Input<boolean>;
  /** Argo CD only: undo changes made in the cluster. @default true */
  readonly selfHeal?: pulumi.Input<boolean>;
  /** Argo CD only. @default limit 5, backoff 5s, factor 2, at most 3m */
  readonly retry?: RetryArgs;
}

/** The root of everything else: an Argo CD Application, or a Flux GitRepository and Kustomization of that name. */
export interface RootAppArgs {
  /** A DNS-1123 name. @default "root" */
  readonly name?: pulumi.Input<string>;
  /** Argo CD only: the Argo CD project. @default "default" */
  readonly project?: pulumi.Input<string>;
  /** @default prune and (Argo CD) selfHeal, retry 5 times */
  readonly syncPolicy?: SyncPolicyArgs;
}

/** Argo CD's chart and its settings. */
export interface ArgoCdOptions {
  /** An exact argo-cd chart version (a range would install another release on every rebuild). @default "10.9.1" */
  readonly chartVersion?: pulumi.Input<string>;
  /**
   * Where the chart comes from: an `https://` chart repository, an `oci://` registry, or a local
   * chart directory (relative to `baseDir`). @default "https://argoproj.github.io/argo-helm"
   */
  readonly chartRepo?: pulumi.Input<string>;
  /** The namespace Argo CD, the `sops-age` Secret, the repository Secret and the root Application go in. @default "argocd" */
  readonly namespace?: pulumi.Input<string>;
  /** The KSOPS image whose binary the repo-server's init container installs; a pinned tag or digest. @default "viaductoss/ksops:v4.5.1" */
  readonly ksopsImage?: pulumi.Input<string>;
  /**
   * Helm values deep-merged over the ones this component sets (lists of named objects such as
   * volumes are merged by name; `null` removes a key). Values that would drop the KSOPS wiring or
   * the Git server's CA are refused. @default {}
   */
  readonly values?: pulumi.Input<{ [key: string]: any }>;
}

/** Flux's chart and its settings. */
export interface FluxOptions {
  /** An exact flux2 chart version. @default "2.18.3" */
  readonly chartVersion?: pulumi.Input<string>;
  /** An `https://` chart repository, an `oci://` registry or a local chart directory. @default "https://fluxcd-community.github.io/helm-charts" */
  readonly chartRepo?: pulumi.Input<string>;
  /** The namespace Flux, the `sops-age` Secret and the root objects go in. @default "flux-system" */
  readonly namespace?: pulumi.Input<string>;
  /** Helm values deep-merged over ours (`installCRDs: true`); the CRDs and the source and kustomize controllers must stay. @default {} */
  readonly values?: pulumi.Input<{ [key: string]: any }>;
  /** How often Flux fetches the repository and re-applies the root Kustomization (a Flux duration, at least 1s). @default "1m" */
  readonly interval?: pulumi.Input<string>;
}

/**
 * A Sealed Secrets sealing key to restore (as `gitops-bootstrap backup-keys` saves them): a
 * `kubernetes.io/tls` Secret the controller finds at start.
 */
export interface SealingKeyArgs {
  /** The Secret's name: `sealed-secrets-key` and the suffix the API server gave it (it names a resource, so it is plain). */
  readonly name: string;
  /** The PEM certificate (public). */
  readonly certificate: pulumi.Input<string>;
  /** The PEM RSA private key; wrapped in `pulumi.secret`. */
  readonly privateKey: pulumi.Input<string>;
  /** The key's label value: `active`, or `compromised` for a retired key. @default "active" */
  readonly state?: pulumi.Input<string>;
}

/** The Sealed Secrets controller's chart, its settings, and the keys restored before it starts. */
export interface SealedSecretsOptions {
  /** An exact sealed-secrets chart version. @default "2.17.7" */
  readonly chartVersion?: pulumi.Input<string>;
  /** @default "https://bitnami-labs.github.io/sealed-secrets" */
  readonly chartRepo?: pulumi.Input<string>;
  /** @default "kube-system" */
  readonly namespace?: pulumi.Input<string>;
  /** The controller's name (kubeseal's `--controller-name`; the chart's `fullnameOverride`). @default "sealed-secrets-controller" */
  readonly controllerName?: pulumi.Input<string>;
  /** Helm values; `fullnameOverride` comes from `controllerName`. @default {} */
  readonly values?: pulumi.Input<{ [key: string]: any }>;
  /** The sealing keys to restore, so that every SealedSecret in Git opens on the first pass. @default none: the controller makes a new key */
  readonly keys?: SealingKeyArgs[];
  /**
   * Create the namespace. Set it to false for a namespace that something else creates, and give
   * that resource in `dependsOn`.
   * @default true, unless the namespace is `kube-system` or `default`
   */
  readonly createNamespace?: boolean;
}

/**
 * A credential the External Secrets Operator reaches its secret store with (a Vault token, cloud
 * access keys, another cluster's ServiceAccount token): a Secret in the operator's namespace,
 * created before the operator. A ClusterSecretStore references it with that namespace.
 */
export interface StoreCredentialArgs {
  /** The Secret's name (it names a resource, so it is plain). */
  readonly name: string;
  /**
   * The Secret's type: `Opaque`, `kubernetes.io/basic-auth`, `kubernetes.io/ssh-auth` or `kubernetes.io/tls`.
   * @default "Opaque"
   */
  readonly type?: pulumi.Input<string>;
  /** Its keys and text values; wrapped in `pulumi.secret`. */
  readonly stringData: pulumi.Input<{ [key: string]: pulumi.Input<string> }>;
}

/** The External Secrets Operator's chart, its settings, and the store credentials created before it. */
export interface ExternalSecretsOptions {
  /** An exact external-secrets chart version. @default "0.16.2" */
  readonly chartVersion?: pulumi.Input<string>;
  /** @default "https://charts.external-secrets.io" */
  readonly chartRepo?: pulumi.Input<string>;
  /** The operator's namespace, where its credentials go too; not the reconciler's. @default "external-secrets" */
  readonly namespace?: pulumi.Input<string>;
  /**
   * Helm values deep-merged over ours (CRDs installed and kept on uninstall). Cloud workload
   * identity: `serviceAccount.annotations` (`eks.amazonaws.com/role-arn`, `iam.gke.io/gcp-service-account`).
   * @default {}
   */
  readonly values?: pulumi.Input<{ [key: string]: any }>;
  /** The store credentials ("secret zero"). @default none: the operator uses workload identity */
  readonly credentials?: StoreCredentialArgs[];
}
