import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { EXTERNAL_SECRETS, MANAGED_BY_LABELS, OWNED_ANNOTATIONS, componentToken, podSecurityLabels } from "./defaults";
import { externalSecretsValues } from "./builders/helm-values";
import type { ExternalSecretsOptions, PodSecurity } from "./args";
import { chartInputs } from "./chart-source";
import { checkExternalSecretsOptions, checkPodSecurity } from "./checks";
import { rememberRelease } from "./releases";
import { ArgsChecker, argsPath } from "./validation";

export interface ExternalSecretsArgs extends ExternalSecretsOptions {
  /**
   * The Pod Security level the operator's namespace enforces.
   * @default none: the cluster's default applies
   */
  readonly podSecurity?: pulumi.Input<PodSecurity>;
  /**
   * Seconds Helm waits for the operator (and its webhook) to become ready.
   * @default 300
   */
  readonly timeoutSeconds?: pulumi.Input<number>;
  /**
   * Directory a local chart path in `chartRepo` is relative to.
   * @default the working directory
   */
  readonly baseDir?: string;
}

/**
 * The External Secrets Operator, ready before anything in Git needs it: its namespace, then the
 * store credentials (each a Secret whose data is a Pulumi secret), then the Helm release, which
 * waits until the CRDs exist and the controller and webhook are ready. A reconciler's root that
 * depends on this component therefore applies the SecretStores and ExternalSecrets in Git only
 * when they can be admitted and synced, so the first sync succeeds instead of waiting a retry.
 */
export class ExternalSecrets extends pulumi.ComponentResource {
  /** The operator's namespace. */
  public readonly namespace: pulumi.Output<string>;
  /** The Helm release's status (`deployed`). */
  public readonly releaseStatus: pulumi.Output<string>;
  /** The names of the store credential Secrets. */
  public readonly credentialNames: pulumi.Output<string[]>;

  constructor(name: string, args: ExternalSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("ExternalSecrets"), name, {}, opts);
    const checker = new ArgsChecker("ExternalSecrets", name, argsPath("externalSecrets"));
    const checked = checkExternalSecretsOptions(checker, args, "externalSecrets.credentials");
    const podSecurity = checkPodSecurity(checker, args.podSecurity);
    checker.throwIfInvalid();
    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: checked.settings.apply((s) => s.namespace),
          labels: podSecurity.apply((level) => ({ ...MANAGED_BY_LABELS, ...podSecurityLabels(level) })),
          annotations: { ...OWNED_ANNOTATIONS },
        },
      },
      { parent: this },
    );
    const namespace = ns.metadata.name;
    const credentials = checked.credentials.map(
      (c) =>
        new k8s.core.v1.Secret(
          `${name}-credential-${c.name}`,
          { metadata: { name: c.name, namespace, labels: { ...MANAGED_BY_LABELS }, annotations: { ...OWNED_ANNOTATIONS } }, type: c.type, stringData: c.stringData },
          { parent: this, additionalSecretOutputs: ["data", "stringData"] },
        ),
    );
    const release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: EXTERNAL_SECRETS.releaseName,
        namespace,
        ...chartInputs(checked.settings, args.baseDir, EXTERNAL_SECRETS.chart),
        values: checked.values.apply((userValues) => externalSecretsValues({ userValues })),
        createNamespace: false,
        timeout: args.timeoutSeconds ?? 300,
        maxHistory: 10,
      },
      { parent: this, dependsOn: [ns, ...credentials] },
    );
    rememberRelease(this, release);
    this.namespace = namespace;
    this.releaseStatus = release.status.status;
    this.credentialNames = pulumi.output(checked.credentials.map((c) => c.name));
    this.registerOutputs({ namespace: this.namespace, releaseStatus: this.releaseStatus, credentialNames: this.credentialNames });
  }
}
