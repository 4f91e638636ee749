import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ARGOCD, MANAGED_BY_LABELS, OWNED_ANNOTATIONS, REPO_SECRET_NAME, componentToken, podSecurityLabels } from "./defaults";
import { argoCdValues } from "./builders/helm-values";
import { repositorySecretData } from "./builders/manifests";
import { AgeKeySecret } from "./age-key-secret";
import type { ArgoCdOptions, PodSecurity, RepositoryArgs } from "./args";
import { chartInputs } from "./chart-source";
import { checkAgeKey, checkArgoCdOptions, checkPodSecurity, checkRepository } from "./checks";
import { rememberRelease } from "./releases";
import { ArgsChecker, argsPath } from "./validation";

export interface ArgoCdArgs extends ArgoCdOptions {
  /**
   * The Git repository the cluster syncs from; becomes an Argo CD repository Secret with its
   * credentials. Its `caCertificates` go into the chart values (`configs.tls.certificates.<host>`),
   * from which the chart makes `argocd-tls-certs-cm`.
   */
  readonly repo: RepositoryArgs;
  /**
   * The age identities SOPS decrypts with (`age-keygen` output). Pass a secret
   * (`config.requireSecret`); it is wrapped in `pulumi.secret` here whatever is passed.
   */
  readonly ageKey: pulumi.Input<string>;
  /**
   * The Pod Security Standards level the namespace enforces (labels `pod-security.kubernetes.io/
   * enforce`, `warn`, `audit`); the chart's pods and the ones this component adds meet `restricted`.
   * @default none: the cluster's default applies
   */
  readonly podSecurity?: pulumi.Input<PodSecurity>;
  /**
   * Seconds Helm waits for the release's workloads to become ready.
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
 * Argo CD installed with Helm (`helm.v3.Release`: the chart relies on Helm hooks), wired for
 * SOPS: the namespace, the `sops-age` Secret, the repository Secret, and the release with KSOPS
 * as a kustomize exec plugin. The two Secrets do not wait for the release; the release waits for
 * the age key Secret, so the repo-server finds it when it first starts.
 */
export class ArgoCd extends pulumi.ComponentResource {
  /** Argo CD's namespace: the `sops-age` Secret and the repository Secret are there too. */
  public readonly namespace: pulumi.Output<string>;
  /** The Helm release's status (`deployed`). */
  public readonly releaseStatus: pulumi.Output<string>;
  /** The chart version Helm installed. */
  public readonly chartVersion: pulumi.Output<string>;

  constructor(name: string, args: ArgoCdArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("ArgoCd"), name, {}, opts);
    const checker = new ArgsChecker("ArgoCd", name, argsPath("argocd"));
    const repo = checkRepository(checker, args.repo, false);
    const chart = checkArgoCdOptions(checker, args, args.repo);
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
    new k8s.core.v1.Secret(
      `${name}-repository`,
      {
        metadata: {
          name: REPO_SECRET_NAME,
          namespace: ns.metadata.name,
          labels: { ...MANAGED_BY_LABELS, [ARGOCD.repositorySecretLabel]: "repository" },
          annotations: { ...OWNED_ANNOTATIONS },
        },
        type: "Opaque",
        stringData: pulumi.secret(repo.withCredentials.apply(repositorySecretData)),
      },
      { parent: this },
    );
    const release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: ARGOCD.releaseName,
        namespace: ns.metadata.name,
        ...chartInputs(chart.settings, args.baseDir, ARGOCD.chart),
        values: pulumi.all([chart.settings, chart.values, repo.settings]).apply(([s, userValues, r]) =>
          argoCdValues({
            ksopsImage: s.ksopsImage,
            sshKnownHosts: r.sshKnownHosts,
            gitServerCa: r.caCertificates ? { repoUrl: r.url, pem: r.caCertificates.pem } : undefined,
            userValues,
          }),
        ),
        createNamespace: false,
        timeout: args.timeoutSeconds ?? 600,
        maxHistory: 10,
      },
      { parent: this, dependsOn: [ageKeySecret] },
    );
    rememberRelease(this, release);
    this.namespace = ns.metadata.name;
    this.releaseStatus = release.status.status;
    this.chartVersion = release.status.version;
    this.registerOutputs({ namespace: this.namespace, releaseStatus: this.releaseStatus, chartVersion: this.chartVersion });
  }
}
