import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { FLUX, MANAGED_BY_LABELS, OWNED_ANNOTATIONS, REPO_SECRET_NAME, componentToken, podSecurityLabels } from "./defaults";
import { fluxValues } from "./builders/helm-values";
import { fluxGitSecretData, fluxGitUrl, gitRepositorySpec, kustomizationSpec } from "./builders/manifests";
import { AgeKeySecret } from "./age-key-secret";
import type { FluxOptions, PodSecurity, RepositoryArgs, RootAppArgs } from "./args";
import { chartInputs } from "./chart-source";
import { checkAgeKey, checkFluxOptions, checkPodSecurity, checkRepository, checkRootApp } from "./checks";
import { rememberRelease, rootDependenciesOf } from "./releases";
import { ArgsChecker, argsPath } from "./validation";

export interface FluxArgs extends FluxOptions {
  /**
   * The Git repository the cluster syncs from. Flux needs a named `revision` (not `HEAD`), and
   * with an SSH URL `credentials.sshPrivateKey` and `sshKnownHosts`. An scp-style URL is rewritten
   * to the `ssh://` form Flux requires (the GitRepository is annotated with the URL as given).
   * With `caCertificates` the Git Secret holds them as `ca.crt`, even for a public repository.
   */
  readonly repo: RepositoryArgs;
  /**
   * The age identities SOPS decrypts with (`age-keygen` output). Pass a secret
   * (`config.requireSecret`); it is wrapped in `pulumi.secret` here whatever is passed.
   */
  readonly ageKey: pulumi.Input<string>;
  /**
   * Name of the GitRepository and of the root Kustomization, and whether it prunes
   * (`syncPolicy.prune`); `project`, `selfHeal` and `retry` are Argo CD's only and refused here.
   * @default name "root", prune true
   */
  readonly rootApp?: RootAppArgs;
  /**
   * The Pod Security Standards level the namespace enforces; the chart's pods meet `restricted`.
   * @default none: the cluster's default applies
   */
  readonly podSecurity?: pulumi.Input<PodSecurity>;
  /**
   * Seconds Helm waits for the controllers to become ready.
   * @default 600
   */
  readonly timeoutSeconds?: pulumi.Input<number>;
  /**
   * Directory a local chart path in `chartRepo` is relative to.
   * @default the working directory
   */
  readonly baseDir?: string;
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
  /** Flux's namespace: the `sops-age` Secret, the Git Secret and the root objects are there too. */
  public readonly namespace: pulumi.Output<string>;
  /** The Helm release's status (`deployed`). */
  public readonly releaseStatus: pulumi.Output<string>;
  /** The chart version Helm installed. */
  public readonly chartVersion: pulumi.Output<string>;
  /** The root GitRepository's name. */
  public readonly gitRepositoryName: pulumi.Output<string>;
  /** The root Kustomization's name. */
  public readonly kustomizationName: pulumi.Output<string>;

  constructor(name: string, args: FluxArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("Flux"), name, {}, opts);
    const checker = new ArgsChecker("Flux", name, argsPath("flux"));
    const repo = checkRepository(checker, args.repo, true);
    const chart = checkFluxOptions(checker, args);
    const rootApp = checkRootApp(checker, args.rootApp, true);
    const ageKey = checkAgeKey(checker, args.ageKey);
    const podSecurity = checkPodSecurity(checker, args.podSecurity);
    checker.throwIfInvalid();

    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: chart.settings.apply((s) => s.namespace),
          labels: podSecurity.apply((level) => ({ ...MANAGED_BY_LABELS, ...podSecurityLabels(level) })),
          annotations: { ...OWNED_ANNOTATIONS },
        },
      },
      { parent: this },
    );
    const ageKeySecret = new AgeKeySecret(`${name}-age-key`, { namespace: ns.metadata.name, ageKey }, { parent: this });
    const gitSecret = repo.needsSecret
      ? new k8s.core.v1.Secret(
          `${name}-git-credentials`,
          {
            metadata: { name: REPO_SECRET_NAME, namespace: ns.metadata.name, labels: { ...MANAGED_BY_LABELS }, annotations: { ...OWNED_ANNOTATIONS } },
            type: "Opaque",
            stringData: pulumi.secret(repo.withCredentials.apply((r) => fluxGitSecretData(r) ?? {})),
          },
          { parent: this },
        )
      : undefined;
    const release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: FLUX.releaseName,
        namespace: ns.metadata.name,
        ...chartInputs(chart.settings, args.baseDir, FLUX.chart),
        values: chart.values.apply((userValues) => fluxValues({ userValues })),
        createNamespace: false,
        timeout: args.timeoutSeconds ?? 600,
        maxHistory: 10,
      },
      { parent: this },
    );
    rememberRelease(this, release);
    const rootName = rootApp.apply((a) => a.name);
    const gitRepository = new k8s.apiextensions.CustomResource(
      `${name}-git-repository`,
      {
        apiVersion: FLUX.gitRepositoryApiVersion,
        kind: "GitRepository",
        metadata: {
          name: rootName,
          namespace: ns.metadata.name,
          labels: { ...MANAGED_BY_LABELS },
          // Say what happened to an scp-style URL, on the object a person inspects.
          annotations: repo.settings.apply((r) => {
            const { rewrittenFrom } = fluxGitUrl(r.url);
            return { ...OWNED_ANNOTATIONS, ...(rewrittenFrom ? { [FLUX.originalUrlAnnotation]: rewrittenFrom } : {}) };
          }),
        },
        spec: pulumi
          .all([repo.settings, chart.settings])
          .apply(([r, s]) => gitRepositorySpec({ repo: r, interval: s.interval, secretName: repo.needsSecret ? REPO_SECRET_NAME : undefined })),
      },
      { parent: this, dependsOn: [release, ...(gitSecret ? [gitSecret] : [])] },
    );
    const kustomization = new k8s.apiextensions.CustomResource(
      `${name}-kustomization`,
      {
        apiVersion: FLUX.kustomizationApiVersion,
        kind: "Kustomization",
        metadata: { name: rootName, namespace: ns.metadata.name, labels: { ...MANAGED_BY_LABELS }, annotations: { ...OWNED_ANNOTATIONS } },
        spec: pulumi
          .all([rootApp, repo.settings, chart.settings])
          .apply(([a, r, s]) => kustomizationSpec({ sourceName: a.name, path: r.path, interval: s.interval, prune: a.prune })),
      },
      { parent: this, dependsOn: [release, gitRepository, ageKeySecret, ...rootDependenciesOf(args)] },
    );
    this.namespace = ns.metadata.name;
    this.releaseStatus = release.status.status;
    this.chartVersion = release.status.version;
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
