import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SealedSecretsConfig } from "../bootstrap/config";
import { MANAGED_BY_LABELS, OWNED_ANNOTATIONS, type PodSecurityLevel, SEALED_SECRETS, componentToken, podSecurityLabels } from "../bootstrap/defaults";
import { SEALING_KEY_LABEL, SEALING_KEY_NAME_HINT, isSealingKeyName } from "../bootstrap/sealed-secrets/keys";
import { sealedSecretsValues } from "../bootstrap/helm-values";
import { chartSource, secretIf } from "./argocd";

export interface SealedSecretsArgs {
  readonly config: SealedSecretsConfig;
  /** Directory a local chart path is resolved against. @default process.cwd() */
  readonly baseDir?: string;
  /** The namespace resource, when the controller's namespace is one the stack creates anyway (the reconciler's). */
  readonly namespaceResource?: pulumi.Resource;
  /** Seconds Helm waits for the controller to become ready. @default 300 */
  readonly timeoutSeconds?: number;
  /** The Pod Security level a namespace this component creates enforces. @default none */
  readonly podSecurity?: PodSecurityLevel;
}

/** Namespaces every cluster has: nothing to create. */
const EXISTING_NAMESPACES = ["kube-system", "default"];

/**
 * The Bitnami Sealed Secrets controller, with the sealing keys restored from the backup first:
 * each key becomes the `kubernetes.io/tls` Secret the controller looks for (labelled
 * `sealedsecrets.bitnami.com/sealed-secrets-key: active`, its data a Pulumi secret), and the Helm
 * release waits for them, so the controller starts with the old keys, does not generate a new
 * one, and unseals every SealedSecret in Git on its first pass.
 */
export class SealedSecrets extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;
  readonly keyNames: readonly string[];

  constructor(name: string, args: SealedSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("SealedSecrets"), name, {}, opts);
    const cfg = args.config;
    // The config's validation refuses these already; a component built from other code must not
    // let a key take over another kubernetes.io/tls Secret of the namespace either.
    const foreign = cfg.keys.filter((k) => !isSealingKeyName(k.name)).map((k) => k.name);
    if (foreign.length > 0) {
      throw new pulumi.InputPropertyError({ propertyPath: "config.keys", reason: `${foreign.join(", ")}: not a sealing key's name (${SEALING_KEY_NAME_HINT})` });
    }
    let namespaceDeps: pulumi.Resource[] = args.namespaceResource ? [args.namespaceResource] : [];
    if (!args.namespaceResource && !EXISTING_NAMESPACES.includes(cfg.namespace)) {
      namespaceDeps = [new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: cfg.namespace, labels: { ...MANAGED_BY_LABELS, ...podSecurityLabels(args.podSecurity) }, annotations: { ...OWNED_ANNOTATIONS } } }, { parent: this })];
    }
    const keys = cfg.keys.map(
      (key) =>
        new k8s.core.v1.Secret(
          `${name}-key-${key.name}`,
          {
            metadata: { name: key.name, namespace: cfg.namespace, labels: { ...MANAGED_BY_LABELS, [SEALING_KEY_LABEL]: key.state ?? "active" }, annotations: { ...OWNED_ANNOTATIONS } },
            type: "kubernetes.io/tls",
            stringData: pulumi.secret({ "tls.crt": key.certificate, "tls.key": key.privateKey.reveal() }),
          },
          { parent: this, dependsOn: namespaceDeps },
        ),
    );
    this.keyNames = cfg.keys.map((k) => k.name);
    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: SEALED_SECRETS.releaseName,
        namespace: cfg.namespace,
        ...chartSource(cfg, args.baseDir ?? process.cwd(), SEALED_SECRETS.chart),
        values: secretIf(cfg.valuesSecret, sealedSecretsValues({ controllerName: cfg.controllerName, userValues: cfg.values })),
        createNamespace: false,
        timeout: args.timeoutSeconds ?? 300,
        maxHistory: 10,
      },
      { parent: this, dependsOn: [...namespaceDeps, ...keys] },
    );
    this.registerOutputs({ keyNames: this.keyNames });
  }
}
