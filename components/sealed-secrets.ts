import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { MANAGED_BY_LABELS, OWNED_ANNOTATIONS, SEALED_SECRETS, componentToken, podSecurityLabels } from "./defaults";
import { sealedSecretsValues } from "./builders/helm-values";
import { SEALING_KEY_LABEL } from "./settings/sealing-keys";
import type { PodSecurity, SealedSecretsOptions } from "./args";
import { chartInputs } from "./chart-source";
import { checkPodSecurity, checkSealedSecretsOptions } from "./checks";
import { ArgsChecker, argsPath } from "./validation";

export interface SealedSecretsArgs extends SealedSecretsOptions {
  /**
   * The Pod Security level a namespace this component creates enforces.
   * @default none: the cluster's default applies
   */
  readonly podSecurity?: pulumi.Input<PodSecurity>;
  /**
   * Seconds Helm waits for the controller to become ready.
   * @default 300
   */
  readonly timeoutSeconds?: pulumi.Input<number>;
  /**
   * Directory a local chart path in `chartRepo` is relative to.
   * @default the working directory
   */
  readonly baseDir?: string;
}

/** Namespaces every cluster has: nothing to create. */
const EXISTING_NAMESPACES = ["kube-system", "default"];

/** Whether the component creates `namespace` when `createNamespace` is not given. */
export function createsNamespaceByDefault(namespace: pulumi.Input<string> | undefined): boolean {
  const given = namespace ?? SEALED_SECRETS.namespace;
  return !(typeof given === "string" && EXISTING_NAMESPACES.includes(given));
}

/**
 * The Bitnami Sealed Secrets controller, with the sealing keys restored from the backup first:
 * each key becomes the `kubernetes.io/tls` Secret the controller looks for (labelled
 * `sealedsecrets.bitnami.com/sealed-secrets-key: active`, its data a Pulumi secret), and the Helm
 * release waits for them, so the controller starts with the old keys, does not generate a new
 * one, and unseals every SealedSecret in Git on its first pass.
 */
export class SealedSecrets extends pulumi.ComponentResource {
  /** The Helm release's status (`deployed`). */
  public readonly releaseStatus: pulumi.Output<string>;
  /** The names of the restored key Secrets. */
  public readonly keyNames: pulumi.Output<string[]>;

  constructor(name: string, args: SealedSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("SealedSecrets"), name, {}, opts);
    const checker = new ArgsChecker("SealedSecrets", name, argsPath("sealedSecrets"));
    const checked = checkSealedSecretsOptions(checker, args, "keys");
    const podSecurity = checkPodSecurity(checker, args.podSecurity);
    checker.throwIfInvalid();
    const namespace = checked.settings.apply((s) => s.namespace);
    const create = args.createNamespace ?? createsNamespaceByDefault(args.namespace);
    const namespaceDeps: pulumi.Input<pulumi.Resource>[] = create
      ? [
          new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: namespace, labels: podSecurity.apply((level) => ({ ...MANAGED_BY_LABELS, ...podSecurityLabels(level) })), annotations: { ...OWNED_ANNOTATIONS } } },
            { parent: this },
          ),
        ]
      : dependsOnList(opts?.dependsOn);
    const keys = checked.keys.map(
      (key) =>
        new k8s.core.v1.Secret(
          `${name}-key-${key.name}`,
          {
            metadata: { name: key.name, namespace, labels: key.state.apply((state) => ({ ...MANAGED_BY_LABELS, [SEALING_KEY_LABEL]: state })), annotations: { ...OWNED_ANNOTATIONS } },
            type: "kubernetes.io/tls",
            stringData: pulumi.secret({ "tls.crt": key.certificate, "tls.key": key.privateKey }),
          },
          { parent: this, dependsOn: namespaceDeps },
        ),
    );
    const release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: SEALED_SECRETS.releaseName,
        namespace,
        ...chartInputs(checked.settings, args.baseDir, SEALED_SECRETS.chart),
        values: pulumi.all([checked.settings, checked.values]).apply(([s, userValues]) => sealedSecretsValues({ controllerName: s.controllerName, userValues })),
        createNamespace: false,
        timeout: args.timeoutSeconds ?? 300,
        maxHistory: 10,
      },
      { parent: this, dependsOn: [...namespaceDeps, ...keys] },
    );
    this.releaseStatus = release.status.status;
    this.keyNames = pulumi.output(checked.keys.map((k) => k.name));
    this.registerOutputs({ releaseStatus: this.releaseStatus, keyNames: this.keyNames });
  }
}

/** The resources of a `dependsOn` option given as one or as a list. */
function dependsOnList(dependsOn: pulumi.ResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] {
  if (dependsOn === undefined) return [];
  return Array.isArray(dependsOn) ? dependsOn : [dependsOn as pulumi.Input<pulumi.Resource>];
}
