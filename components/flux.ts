import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { FluxConfig, RepoConfig, RootAppConfig } from "../bootstrap/config";
import { FLUX, MANAGED_BY_LABELS, OWNED_ANNOTATIONS, type PodSecurityLevel, REPO_SECRET_NAME, componentToken, podSecurityLabels } from "../bootstrap/defaults";
import { fluxValues } from "../bootstrap/helm-values";
import { fluxGitSecretData, fluxGitUrl, gitRepositorySpec, kustomizationSpec } from "../bootstrap/manifests";
import { AgeKeySecret } from "./age-key-secret";
import { chartSource, secretIf } from "./argocd";

export interface FluxArgs {
  /** Chart version, chart source, namespace, the user's values and the interval (see `bootstrap/config.ts`). */
  readonly flux: FluxConfig;
  /**
   * The Git repository the cluster syncs from. An scp-style URL is rewritten to the `ssh://`
   * form Flux requires (the GitRepository is annotated with the URL as configured); SSH needs
   * `credentials.sshPrivateKey` and `sshKnownHosts`, which config validation enforces. With
   * `caCertificates` (`repo.caFile`) the Git Secret holds them as `ca.crt`, even for a public
   * repository, and the GitRepository names it.
   */
  readonly repo: RepoConfig;
  /**
   * Name of the GitRepository and of the root Kustomization (both in the Flux namespace), and
   * whether the Kustomization prunes what was removed from Git.
   */
  readonly rootApp: Pick<RootAppConfig, "name" | "prune">;
  /** The age identities (plaintext in memory, a Pulumi secret once handed over). */
  readonly ageIdentities: pulumi.Input<string>;
  /**
   * Directory a local chart path in `flux.chartRepo` is relative to.
   * @default process.cwd()
   */
  readonly baseDir?: string;
  /**
   * Seconds Helm waits for the controllers to become ready.
   * @default 600
   */
  readonly timeoutSeconds?: number;
  /**
   * The Pod Security Standards level the namespace enforces (labels `pod-security.kubernetes.io/
   * enforce`, `warn`, `audit`); the chart's pods and the ones this program adds meet `restricted`.
   * @default none: the cluster's default applies
   */
  readonly podSecurity?: PodSecurityLevel;
}

/**
 * Flux installed with Helm (`helm.v3.Release` of the fluxcd-community flux2 chart, CRDs
 * included), wired for SOPS, and pointed at the repository: the namespace, the `sops-age` Secret
 * (key `age.agekey`: Flux reads keys ending in `.agekey`), the Git Secret (credentials and/or
 * the Git server's CA), the release, the `GitRepository`, and the root `Kustomization` that decrypts with `sops-age`.
 * The custom resources wait for the release (their CRDs come with it); the Kustomization also
 * waits for the GitRepository and the age key, so its first reconcile can fetch and decrypt, and
 * `destroy` removes it first, while the controller that prunes what it deployed still runs.
 */
export class Flux extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly release: k8s.helm.v3.Release;
  readonly releaseStatus: pulumi.Output<string>;
  readonly chartVersion: pulumi.Output<string>;
  readonly gitRepositoryName: pulumi.Output<string>;
  readonly kustomizationName: pulumi.Output<string>;

  constructor(name: string, args: FluxArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("Flux"), name, {}, opts);
    const cfg = args.flux;
    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: cfg.namespace, labels: { ...MANAGED_BY_LABELS, ...podSecurityLabels(args.podSecurity) }, annotations: { ...OWNED_ANNOTATIONS } } },
      { parent: this },
    );
    const ageKey = new AgeKeySecret(`${name}-age-key`, { namespace: ns.metadata.name, identities: args.ageIdentities }, { parent: this });
    const secretData = fluxGitSecretData(args.repo);
    const gitSecret = secretData
      ? new k8s.core.v1.Secret(
          `${name}-git-credentials`,
          {
            metadata: { name: REPO_SECRET_NAME, namespace: ns.metadata.name, labels: { ...MANAGED_BY_LABELS }, annotations: { ...OWNED_ANNOTATIONS } },
            type: "Opaque",
            stringData: pulumi.secret(secretData),
          },
          { parent: this },
        )
      : undefined;
    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: FLUX.releaseName,
        namespace: ns.metadata.name,
        ...chartSource(cfg, args.baseDir ?? process.cwd(), FLUX.chart),
        values: secretIf(cfg.valuesSecret, fluxValues({ userValues: cfg.values })),
        createNamespace: false,
        timeout: args.timeoutSeconds ?? 600,
        maxHistory: 10,
      },
      { parent: this },
    );
    const { rewrittenFrom } = fluxGitUrl(args.repo.url);
    const gitRepository = new k8s.apiextensions.CustomResource(
      `${name}-git-repository`,
      {
        apiVersion: FLUX.gitRepositoryApiVersion,
        kind: "GitRepository",
        metadata: {
          name: args.rootApp.name,
          namespace: ns.metadata.name,
          labels: { ...MANAGED_BY_LABELS },
          // Say what happened to an scp-style URL, on the object a person inspects.
          annotations: { ...OWNED_ANNOTATIONS, ...(rewrittenFrom ? { [FLUX.originalUrlAnnotation]: rewrittenFrom } : {}) },
        },
        spec: gitRepositorySpec({ repo: args.repo, interval: cfg.interval, secretName: secretData ? REPO_SECRET_NAME : undefined }),
      },
      { parent: this, dependsOn: [this.release, ...(gitSecret ? [gitSecret] : [])] },
    );
    const kustomization = new k8s.apiextensions.CustomResource(
      `${name}-kustomization`,
      {
        apiVersion: FLUX.kustomizationApiVersion,
        kind: "Kustomization",
        metadata: { name: args.rootApp.name, namespace: ns.metadata.name, labels: { ...MANAGED_BY_LABELS }, annotations: { ...OWNED_ANNOTATIONS } },
        spec: kustomizationSpec({ sourceName: args.rootApp.name, path: args.repo.path, interval: cfg.interval, prune: args.rootApp.prune }),
      },
      { parent: this, dependsOn: [this.release, gitRepository, ageKey] },
    );
    this.namespace = ns.metadata.name;
    this.releaseStatus = this.release.status.status;
    this.chartVersion = this.release.status.version;
    this.gitRepositoryName = gitRepository.metadata.name;
    this.kustomizationName = kustomization.metadata.name;
    this.registerOutputs({
      namespace: this.namespace,
      releaseStatus: this.releaseStatus,
      chartVersion: this.chartVersion,
      gitRepositoryName: this.gitRepositoryName,
      kustomizationName: this.kustomizationName,
    });
  }
}
