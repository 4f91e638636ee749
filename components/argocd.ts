import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ArgoCdConfig, RepoConfig } from "../bootstrap/config";
import { ARGOCD, MANAGED_BY_LABELS, OWNED_ANNOTATIONS, type PodSecurityLevel, REPO_SECRET_NAME, componentToken, podSecurityLabels } from "../bootstrap/defaults";
import { argoCdValues } from "../bootstrap/helm-values";
import { repositorySecretData } from "../bootstrap/manifests";
import { AgeKeySecret } from "./age-key-secret";

export interface ArgoCdArgs {
  /** Chart version, chart source, namespace, KSOPS image and the user's values (see `bootstrap/config.ts`). */
  readonly argocd: ArgoCdConfig;
  /**
   * The Git repository the cluster syncs from; becomes an Argo CD repository Secret with its
   * credentials. Its `caCertificates` (`repo.caFile`) go into the chart values
   * (`configs.tls.certificates.<host>`), from which the chart makes `argocd-tls-certs-cm`.
   */
  readonly repo: RepoConfig;
  /** The age identities (plaintext in memory, a Pulumi secret once handed over). */
  readonly ageIdentities: pulumi.Input<string>;
  /**
   * Directory a local chart path in `argocd.chartRepo` is relative to.
   * @default process.cwd()
   */
  readonly baseDir?: string;
  /**
   * Seconds Helm waits for the release's workloads to become ready.
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
 * `value` as a Pulumi secret when the config it comes from is one (user values from a config key
 * set with `--secret`), so that it is encrypted in the state; as it is otherwise.
 */
export function secretIf(secret: boolean, value: Record<string, unknown>): pulumi.Input<Record<string, unknown>> {
  return secret ? pulumi.secret(value) : value;
}

/**
 * Where Helm gets the chart from: a chart repository, an OCI registry, or a local directory.
 * @param chart the chart's name in the repository (default `argo-cd`; the Flux component passes `flux2`)
 */
export function chartSource(
  cfg: Pick<ArgoCdConfig, "chartRepo" | "chartVersion">,
  baseDir: string,
  chart: string = ARGOCD.chart,
): Pick<k8s.helm.v3.ReleaseArgs, "chart" | "version" | "repositoryOpts"> {
  if (/^oci:\/\//.test(cfg.chartRepo)) {
    return { chart: `${cfg.chartRepo.replace(/\/$/, "")}/${chart}`, version: cfg.chartVersion };
  }
  if (/^https:\/\//.test(cfg.chartRepo)) {
    return { chart, version: cfg.chartVersion, repositoryOpts: { repo: cfg.chartRepo } };
  }
  // A local chart directory: its Chart.yaml decides the version.
  return { chart: path.resolve(baseDir, cfg.chartRepo) };
}

/**
 * Argo CD installed with Helm (`helm.v3.Release`: the chart relies on Helm hooks), wired for
 * SOPS: the namespace, the `sops-age` Secret, the repository Secret, and the release with KSOPS
 * as a kustomize exec plugin. The two Secrets do not wait for the release; the release waits for
 * the age key Secret, so the repo-server finds it when it first starts.
 */
export class ArgoCd extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly release: k8s.helm.v3.Release;
  readonly releaseStatus: pulumi.Output<string>;
  readonly chartVersion: pulumi.Output<string>;

  constructor(name: string, args: ArgoCdArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("ArgoCd"), name, {}, opts);
    const cfg = args.argocd;
    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: cfg.namespace, labels: { ...MANAGED_BY_LABELS, ...podSecurityLabels(args.podSecurity) }, annotations: { ...OWNED_ANNOTATIONS } } },
      { parent: this },
    );
    const ageKey = new AgeKeySecret(`${name}-age-key`, { namespace: ns.metadata.name, identities: args.ageIdentities }, { parent: this });
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
        stringData: pulumi.secret(repositorySecretData(args.repo)),
      },
      { parent: this },
    );
    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: ARGOCD.releaseName,
        namespace: ns.metadata.name,
        ...chartSource(cfg, args.baseDir ?? process.cwd()),
        values: secretIf(
          cfg.valuesSecret,
          argoCdValues({
            ksopsImage: cfg.ksopsImage,
            sshKnownHosts: args.repo.sshKnownHosts,
            gitServerCa: args.repo.caCertificates ? { repoUrl: args.repo.url, pem: args.repo.caCertificates.pem } : undefined,
            userValues: cfg.values,
          }),
        ),
        createNamespace: false,
        timeout: args.timeoutSeconds ?? 600,
        maxHistory: 10,
      },
      { parent: this, dependsOn: [ageKey] },
    );
    this.namespace = ns.metadata.name;
    this.releaseStatus = this.release.status.status;
    this.chartVersion = this.release.status.version;
    this.registerOutputs({ namespace: this.namespace, releaseStatus: this.releaseStatus, chartVersion: this.chartVersion });
  }
}
