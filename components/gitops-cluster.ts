import * as pulumi from "@pulumi/pulumi";
import type { BootstrapConfig } from "../bootstrap/config";
import { componentToken } from "../bootstrap/defaults";
import { ArgoCd } from "./argocd";
import { RootApplication } from "./root-application";

export interface GitOpsClusterArgs {
  /** The validated stack config (`resolveConfig`). */
  readonly config: BootstrapConfig;
  /**
   * Directory relative paths in the config (a local chart) are resolved against.
   * @default process.cwd()
   */
  readonly baseDir?: string;
}

/** Everything `pulumi up` puts on a fresh cluster, composed from the validated config. */
export class GitOpsCluster extends pulumi.ComponentResource {
  readonly argocd: ArgoCd;
  readonly rootApplication: RootApplication;

  constructor(name: string, args: GitOpsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("GitOpsCluster"), name, {}, opts);
    const { config } = args;
    this.argocd = new ArgoCd(
      `${name}-argocd`,
      { argocd: config.argocd, repo: config.repo, ageIdentities: pulumi.secret(config.ageKey.identities.reveal()), baseDir: args.baseDir },
      { parent: this },
    );
    this.rootApplication = new RootApplication(
      `${name}-root`,
      { namespace: this.argocd.namespace, repo: config.repo, app: config.rootApp, crdProvider: this.argocd.release },
      { parent: this },
    );
    this.registerOutputs({});
  }
}
