import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AGE_SECRET, MANAGED_BY_LABELS, OWNED_ANNOTATIONS, componentToken } from "../bootstrap/defaults";

export interface AgeKeySecretArgs {
  /** Namespace the reconciler reads the key from (Argo CD's namespace, or `flux-system`). */
  readonly namespace: pulumi.Input<string>;
  /**
   * The age identities, one per line, as `age-keygen` writes them. Wrapped in `pulumi.secret`
   * here whatever the caller passes, so the key is encrypted in state.
   */
  readonly identities: pulumi.Input<string>;
  /**
   * Secret name.
   * @default "sops-age" (the name the KSOPS wiring and Flux decryption refer to)
   */
  readonly name?: string;
}

/**
 * The Secret holding the age identities SOPS decrypts with at sync time, under the key
 * `age.agekey` (Flux only reads keys ending in `.agekey`; Argo CD's repo-server mounts the same
 * key as the file SOPS_AGE_KEY_FILE names).
 */
export class AgeKeySecret extends pulumi.ComponentResource {
  readonly secretName: pulumi.Output<string>;

  constructor(name: string, args: AgeKeySecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("AgeKeySecret"), name, {}, opts);
    const secret = new k8s.core.v1.Secret(
      `${name}-secret`,
      {
        metadata: { name: args.name ?? AGE_SECRET.name, namespace: args.namespace, labels: { ...MANAGED_BY_LABELS }, annotations: { ...OWNED_ANNOTATIONS } },
        type: "Opaque",
        stringData: { [AGE_SECRET.key]: pulumi.secret(args.identities) },
      },
      { parent: this },
    );
    this.secretName = secret.metadata.name;
    this.registerOutputs({ secretName: this.secretName });
  }
}
