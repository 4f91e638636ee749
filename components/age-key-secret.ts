import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { readNamespace } from "./settings/fields";
import { AGE_SECRET, MANAGED_BY_LABELS, OWNED_ANNOTATIONS, componentToken } from "./defaults";
import { checkAgeKey } from "./checks";
import { ArgsChecker, argsPath } from "./validation";

export interface AgeKeySecretArgs {
  /** Namespace the reconciler reads the key from (Argo CD's namespace, or Flux's `flux-system`). */
  readonly namespace: pulumi.Input<string>;
  /**
   * The age identities, one per line, as `age-keygen` writes them (`AGE-SECRET-KEY-1...`). Pass a
   * secret (`config.requireSecret`); it is wrapped in `pulumi.secret` here whatever is passed.
   */
  readonly ageKey: pulumi.Input<string>;
  /**
   * Secret name.
   * @default "sops-age" (the name the KSOPS wiring and Flux decryption refer to)
   */
  readonly name?: pulumi.Input<string>;
}

/**
 * The Secret holding the age identities SOPS decrypts with at sync time, under the key
 * `age.agekey` (Flux only reads keys ending in `.agekey`; Argo CD's repo-server mounts the same
 * key as the file SOPS_AGE_KEY_FILE names).
 */
export class AgeKeySecret extends pulumi.ComponentResource {
  /** The Secret's name. */
  public readonly secretName: pulumi.Output<string>;

  constructor(name: string, args: AgeKeySecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("AgeKeySecret"), name, {}, opts);
    const checker = new ArgsChecker("AgeKeySecret", name, argsPath());
    const namespace = checker.check(args.namespace, (problems, value) => readNamespace(problems, "namespace", value, ""));
    const identities = checkAgeKey(checker, args.ageKey);
    checker.throwIfInvalid();
    const secret = new k8s.core.v1.Secret(
      `${name}-secret`,
      {
        metadata: { name: args.name ?? AGE_SECRET.name, namespace, labels: { ...MANAGED_BY_LABELS }, annotations: { ...OWNED_ANNOTATIONS } },
        type: "Opaque",
        stringData: { [AGE_SECRET.key]: identities },
      },
      { parent: this },
    );
    this.secretName = secret.metadata.name;
    this.registerOutputs({ secretName: this.secretName });
  }
}
