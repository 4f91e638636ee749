/**
 * One source for every pinned version, image, name and key the program uses. Nothing else in
 * the tree repeats these strings: components and tests import them from here.
 */

/** Pulumi config namespace of this project (`gitops-bootstrap:<key>` in `stacks/Pulumi.<stack>.yaml`). */
export const CONFIG_NAMESPACE = "gitops-bootstrap";

/** Component type tokens are `gitops-bootstrap:index:<Name>`. */
export const componentToken = (name: string): string => `${CONFIG_NAMESPACE}:index:${name}`;

export const ARGOCD = {
  /**
   * The argo-cd chart from argoproj/argo-helm. 10.1.1 ships Argo CD v3.4.4 (with redis-ha 4.38.0):
   * the version the e2e installs (test/e2e/toolchain/versions.sh, kept equal by a unit test).
   */
  chart: "argo-cd",
  chartRepo: "https://argoproj.github.io/argo-helm",
  chartVersion: "10.1.1",
  namespace: "argocd",
  releaseName: "argocd",
  /** Argo CD's name for the cluster it runs in. */
  inClusterServer: "https://kubernetes.default.svc",
  /** Cascading delete: removing the root app removes what it created. */
  resourcesFinalizer: "resources-finalizer.argocd.argoproj.io",
  repositorySecretLabel: "argocd.argoproj.io/secret-type",
  /** `kustomize build` flags KSOPS needs (it is a kustomize exec plugin). */
  kustomizeBuildOptions: "--enable-alpha-plugins --enable-exec",
} as const;

export const FLUX = {
  /**
   * The flux2 chart from fluxcd-community/helm-charts. 2.18.3 ships Flux 2.8.5 (source-controller
   * v1.8.2, kustomize-controller v1.8.3): the chart the e2e installs, CRDs included. The e2e runs
   * Flux 2.9's controllers (v1.9.6; Flux 2.8's are not served by the Go module proxy), whose
   * GitRepository v1 and Kustomization v1 APIs are the same.
   */
  chart: "flux2",
  chartRepo: "https://fluxcd-community.github.io/helm-charts",
  chartVersion: "2.18.3",
  namespace: "flux-system",
  releaseName: "flux",
  /** How often Flux fetches the repository and re-applies the root Kustomization. */
  interval: "1m",
  /**
   * How long the root Kustomization waits for what it applied to become healthy (`wait: true`).
   * Flux would default it to the interval, which is too short for a first sync of a cluster.
   */
  kustomizationTimeout: "5m",
  gitRepositoryApiVersion: "source.toolkit.fluxcd.io/v1",
  kustomizationApiVersion: "kustomize.toolkit.fluxcd.io/v1",
  /** The controllers the chart installs and the root Kustomization needs (Deployment names). */
  controllers: ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"],
  /** Set on the GitRepository when an scp-style repo.url was rewritten to the ssh:// form Flux requires. */
  originalUrlAnnotation: "gitops-bootstrap/original-url",
  /**
   * The key of the GitRepository's Secret that source-controller reads the Git server's CA
   * certificate(s) from (`caFile` is the older name it still reads; `ca.crt` wins when both are set).
   */
  gitCaKey: "ca.crt",
} as const;

export const SEALED_SECRETS = {
  /** The sealed-secrets chart from bitnami-labs/sealed-secrets. 2.18.5 ships controller 0.36.6; the e2e installs it. */
  chart: "sealed-secrets",
  chartRepo: "https://bitnami-labs.github.io/sealed-secrets",
  chartVersion: "2.18.5",
  namespace: "kube-system",
  releaseName: "sealed-secrets",
  /** kubeseal's default `--controller-name`; the chart's `fullnameOverride`. */
  controllerName: "sealed-secrets-controller",
} as const;

export const EXTERNAL_SECRETS = {
  /**
   * The external-secrets chart (External Secrets Operator). 0.16.2 ships ESO v0.16.2, the newest
   * whose Go module builds from the module proxy, so the one the e2e runs; its API is `external-secrets.io/v1`.
   */
  chart: "external-secrets",
  chartRepo: "https://charts.external-secrets.io",
  chartVersion: "0.16.2",
  namespace: "external-secrets",
  releaseName: "external-secrets",
} as const;

export const KSOPS = {
  /** Distroless image: its `ksops install <dir>` copies the binary, no shell needed. */
  image: "viaductoss/ksops:v4.5.1",
  initContainerName: "install-ksops",
  toolsVolume: "custom-tools",
  toolsDir: "/custom-tools",
  binaryPath: "/usr/local/bin/ksops",
  /**
   * What Pod Security `restricted` requires of the init container. The image's user is the
   * distroless `nonroot`, a name the kubelet cannot check against `runAsNonRoot`, so its UID
   * (65532) is given; `ksops install` only writes into the emptyDir, so the root file system can
   * be read-only.
   */
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  },
} as const;

/** Pod Security Standards levels a namespace can enforce (`podSecurity` in the stack config). */
export const POD_SECURITY_LEVELS = ["privileged", "baseline", "restricted"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/**
 * The labels that make the API server's PodSecurity admission enforce `level` on a namespace
 * (and warn and audit at the same level), or none when the stack does not ask for it.
 */
export function podSecurityLabels(level: PodSecurityLevel | undefined): Record<string, string> {
  if (level === undefined) return {};
  return Object.fromEntries(["enforce", "warn", "audit"].map((mode) => [`pod-security.kubernetes.io/${mode}`, level]));
}

export const AGE_SECRET = {
  /** The Secret KSOPS (Argo CD) and kustomize-controller (Flux) read the identity from. */
  name: "sops-age",
  /** Flux only reads keys ending in `.agekey`; Argo CD mounts the same key as a file. */
  key: "age.agekey",
  /** Where the repo-server mounts the Secret, and the file SOPS_AGE_KEY_FILE names. */
  mountPath: "/sops-age",
  volume: "sops-age",
} as const;

export const ROOT_APP = {
  name: "root",
  project: "default",
  retry: { limit: 5, backoff: { duration: "5s", factor: 2, maxDuration: "3m" } },
} as const;

/** The Git credentials Secret: an Argo CD repository Secret, or the Flux GitRepository's `secretRef`. */
export const REPO_SECRET_NAME = "gitops-bootstrap-repo";

/**
 * Keys of the Secrets this program creates whose values are public: CA certificates
 * (`repo.caFile`, checked to hold certificates only), and the Argo CD repository Secret's `type`
 * and `url` (config validation refuses a URL that carries credentials). `render` shows them;
 * every other Secret value is redacted.
 */
export const PUBLIC_SECRET_KEYS: readonly string[] = [FLUX.gitCaKey, "tls.crt", "type", "url"];

/** Labels every object this program creates carries, so an operator can find them. */
export const MANAGED_BY_LABELS = { "app.kubernetes.io/managed-by": "gitops-bootstrap" } as const;

/**
 * Annotations every object this program applies carries. The Kubernetes provider applies with
 * Server-Side Apply, where a field someone else set since (an operator's `kubectl patch` or
 * `kubectl edit`) belongs to their field manager, and the next apply stops with a conflict.
 * What this program creates is desired state, and a rebuild must be able to put it back over a
 * half-changed cluster, so it takes its fields back: `pulumi.com/patchForce` makes the provider
 * apply with force (only for the fields this program sets; fields it does not set stay theirs).
 */
export const OWNED_ANNOTATIONS = { "pulumi.com/patchForce": "true" } as const;
