import * as pulumi from "@pulumi/pulumi";
import { type BootstrapConfig, reconcilerNamespace } from "../bootstrap/config";
import { componentToken } from "../bootstrap/defaults";
import { ArgoCd } from "./argocd";
import { Flux } from "./flux";
import { RootApplication } from "./root-application";
import { SealedSecrets } from "./sealed-secrets";

export interface GitOpsClusterArgs {
  /** The validated stack config (`resolveConfig`); `config.reconciler` picks Argo CD or Flux. */
  readonly config: BootstrapConfig;
  /**
   * Directory relative paths in the config (a local chart) are resolved against.
   * @default process.cwd()
   */
  readonly baseDir?: string;
}

/**
 * Everything `pulumi up` puts on a fresh cluster, composed from the validated config: Argo CD
 * and the root Application, or Flux with its GitRepository and root Kustomization.
 */
export class GitOpsCluster extends pulumi.ComponentResource {
  /** Set when `config.reconciler` is `argocd`. */
  readonly argocd?: ArgoCd;
  /** Set when `config.reconciler` is `argocd`. */
  readonly rootApplication?: RootApplication;
  /** Set when `config.reconciler` is `flux`. */
  readonly flux?: Flux;
  /** Where the reconciler, the `sops-age` Secret and the root objects live, whichever reconciler. */
  readonly reconcilerNamespace: pulumi.Output<string>;
  /** Set when the stack configures `sealedSecrets`. */
  readonly sealedSecrets?: SealedSecrets;

  constructor(name: string, args: GitOpsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("GitOpsCluster"), name, {}, opts);
    const { config } = args;
    const ageIdentities = pulumi.secret(config.ageKey.identities.reveal());
    if (config.reconciler === "flux") {
      this.flux = new Flux(
        `${name}-flux`,
        { flux: config.flux, repo: config.repo, rootApp: config.rootApp, ageIdentities, baseDir: args.baseDir, podSecurity: config.podSecurity },
        { parent: this },
      );
      this.reconcilerNamespace = this.flux.namespace;
    } else {
      this.argocd = new ArgoCd(`${name}-argocd`, { argocd: config.argocd, repo: config.repo, ageIdentities, baseDir: args.baseDir, podSecurity: config.podSecurity }, { parent: this });
      this.rootApplication = new RootApplication(
        `${name}-root`,
        { namespace: this.argocd.namespace, repo: config.repo, app: config.rootApp, crdProvider: this.argocd.release },
        { parent: this },
      );
      this.reconcilerNamespace = this.argocd.namespace;
    }
    if (config.sealedSecrets) {
      // Independent of the reconciler: its keys and release go in beside it, in their own namespace.
      const sharesNamespace = config.sealedSecrets.namespace === reconcilerNamespace(config);
      this.sealedSecrets = new SealedSecrets(
        `${name}-sealed-secrets`,
        { config: config.sealedSecrets, baseDir: args.baseDir, namespaceResource: sharesNamespace ? (this.argocd ?? this.flux) : undefined, podSecurity: config.podSecurity },
        { parent: this },
      );
    }
    this.registerOutputs({ reconcilerNamespace: this.reconcilerNamespace });
  }
}
