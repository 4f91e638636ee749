import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { readNamespace } from "./settings/fields";
import { ARGOCD, MANAGED_BY_LABELS, OWNED_ANNOTATIONS, componentToken } from "./defaults";
import { rootApplicationSpec } from "./builders/manifests";
import type { RepositoryArgs, RootAppArgs } from "./args";
import { checkRepository, checkRootApp } from "./checks";
import { ArgsChecker, argsPath } from "./validation";

export interface RootApplicationArgs {
  /** Argo CD's namespace: the Application lives there (set explicitly, never left to the provider default). */
  readonly namespace: pulumi.Input<string>;
  /** The repository, revision and path of the app-of-apps manifests (credentials are the `ArgoCd` component's). */
  readonly repo: RepositoryArgs;
  /**
   * Name, project and sync policy.
   * @default name "root", project "default", automated prune + selfHeal, 5 retries with backoff
   */
  readonly rootApp?: RootAppArgs;
}

/**
 * The root app-of-apps: one Argo CD Application pointing at the repository path that holds the
 * child Applications. Its finalizer makes deleting it delete what it deployed, so `destroy`
 * removes it before Argo CD itself. The Application CRD must exist first: give the Argo CD
 * release (or the `ArgoCd` component) in `dependsOn`; the Application waits for it
 * (pulumi-kubernetes #1735).
 */
export class RootApplication extends pulumi.ComponentResource {
  /** The Application's name. */
  public readonly applicationName: pulumi.Output<string>;

  constructor(name: string, args: RootApplicationArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("RootApplication"), name, {}, opts);
    const checker = new ArgsChecker("RootApplication", name, argsPath());
    const namespace = checker.check(args.namespace, (problems, value) => readNamespace(problems, "namespace", value, ""));
    const repo = checkRepository(checker, args.repo, false);
    const rootApp = checkRootApp(checker, args.rootApp, false);
    checker.throwIfInvalid();
    const app = new k8s.apiextensions.CustomResource(
      `${name}-application`,
      {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: {
          name: rootApp.apply((a) => a.name),
          namespace,
          labels: { ...MANAGED_BY_LABELS },
          annotations: { ...OWNED_ANNOTATIONS },
          finalizers: [ARGOCD.resourcesFinalizer],
        },
        spec: pulumi.all([namespace, repo.settings, rootApp]).apply(([ns, r, a]) => rootApplicationSpec({ repo: r, app: a, destinationNamespace: ns })),
      },
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.applicationName = app.metadata.name;
    this.registerOutputs({ applicationName: this.applicationName });
  }
}
