import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RepoConfig, RootAppConfig } from "../bootstrap/config";
import { ARGOCD, MANAGED_BY_LABELS, OWNED_ANNOTATIONS, componentToken } from "../bootstrap/defaults";
import { rootApplicationSpec } from "../bootstrap/manifests";

export interface RootApplicationArgs {
  /** Argo CD's namespace: the Application lives there (set explicitly, never left to the provider default). */
  readonly namespace: pulumi.Input<string>;
  /** Repository, revision and path of the app-of-apps manifests. */
  readonly repo: Pick<RepoConfig, "url" | "revision" | "path">;
  /** Name, project and sync policy (automated prune + selfHeal, retry with backoff by default). */
  readonly app: RootAppConfig;
  /**
   * The resource that installs the Application CRD (the Argo CD release). The Application is
   * registered only after it, so the CRD exists (pulumi-kubernetes #1735).
   */
  readonly crdProvider: pulumi.Resource;
}

/**
 * The root app-of-apps: one Argo CD Application pointing at the repository path that holds the
 * child Applications. Its finalizer makes deleting it delete what it deployed, so `destroy`
 * removes it before Argo CD itself.
 */
export class RootApplication extends pulumi.ComponentResource {
  readonly applicationName: pulumi.Output<string>;

  constructor(name: string, args: RootApplicationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("RootApplication"), name, {}, opts);
    const app = new k8s.apiextensions.CustomResource(
      `${name}-application`,
      {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: {
          name: args.app.name,
          namespace: args.namespace,
          labels: { ...MANAGED_BY_LABELS },
          annotations: { ...OWNED_ANNOTATIONS },
          finalizers: [ARGOCD.resourcesFinalizer],
        },
        spec: pulumi.output(args.namespace).apply((ns) => rootApplicationSpec({ repo: args.repo, app: args.app, destinationNamespace: ns })),
      },
      { parent: this, dependsOn: [args.crdProvider] },
    );
    this.applicationName = app.metadata.name;
    this.registerOutputs({ applicationName: this.applicationName });
  }
}
