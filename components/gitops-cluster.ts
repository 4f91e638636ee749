import * as pulumi from "@pulumi/pulumi";
import { checkOtherReconcilerUnset, readReconciler } from "./settings/bootstrap-config";
import { checkExternalSecretsNamespace } from "./settings/external-secrets";
import { ARGOCD, EXTERNAL_SECRETS, FLUX, SEALED_SECRETS, componentToken } from "./defaults";
import type { ArgoCdOptions, ExternalSecretsOptions, FluxOptions, PodSecurity, RepositoryArgs, RootAppArgs, SealedSecretsOptions } from "./args";
import { Reconciler } from "./args";
import { ArgoCd } from "./argocd";
import { checkAgeKey, checkArgoCdOptions, checkExternalSecretsOptions, checkFluxOptions, checkPodSecurity, checkRepository, checkRootApp, checkSealedSecretsOptions } from "./checks";
import { ExternalSecrets } from "./external-secrets";
import { Flux } from "./flux";
import { releaseOf, rootWaitsFor } from "./releases";
import { RootApplication } from "./root-application";
import { SealedSecrets, createsNamespaceByDefault } from "./sealed-secrets";
import { ArgsChecker, argsPath } from "./validation";

/** The args follow the stack config's keys (`gitops-bootstrap:<key>`), and their checks give its messages. */
export interface GitOpsClusterArgs {
  /**
   * Argo CD or Flux. It decides which resources exist, so it is plain (not an Output).
   * @default Reconciler.ArgoCd
   */
  readonly reconciler?: Reconciler;
  /** The Git repository the cluster is rebuilt from. */
  readonly repo: RepositoryArgs;
  /**
   * The age identities SOPS decrypts with (`age-keygen` output, `AGE-SECRET-KEY-1...`). Pass a
   * secret (`config.requireSecret`); it is wrapped in `pulumi.secret` whatever is passed.
   */
  readonly ageKey: pulumi.Input<string>;
  /** Argo CD's chart and settings (reconciler argocd only). @default the pinned chart in `argocd` */
  readonly argocd?: ArgoCdOptions;
  /** Flux's chart and settings (reconciler flux only). @default the pinned chart in `flux-system` */
  readonly flux?: FluxOptions;
  /** The root Application (argocd), or the root GitRepository and Kustomization (flux). @default name "root" */
  readonly rootApp?: RootAppArgs;
  /** The Sealed Secrets controller and the sealing keys it starts with. @default not installed */
  readonly sealedSecrets?: SealedSecretsOptions;
  /**
   * The External Secrets Operator and its store credentials, installed and ready before the
   * reconciler's root, so the ExternalSecrets in Git sync on the first pass.
   * @default not installed
   */
  readonly externalSecrets?: ExternalSecretsOptions;
  /**
   * The Pod Security Standards level enforced on the namespaces this component creates.
   * @default none: the cluster's default applies
   */
  readonly podSecurity?: pulumi.Input<PodSecurity>;
  /**
   * Seconds Helm waits for each release's workloads to become ready.
   * @default 600 (Sealed Secrets: 300)
   */
  readonly timeoutSeconds?: pulumi.Input<number>;
  /**
   * Directory local chart paths (`chartRepo`) are relative to.
   * @default the working directory
   */
  readonly baseDir?: string;
}

/**
 * Everything a fresh cluster needs to rebuild itself from Git: Argo CD and the root Application,
 * or Flux with its GitRepository and root Kustomization; the `sops-age` Secret and the
 * repository's credentials beside the reconciler; optionally the Sealed Secrets controller with
 * its restored keys. The Kubernetes provider comes through the resource options
 * (`{ provider }` or `{ providers: { kubernetes } }`).
 */
export class GitOpsCluster extends pulumi.ComponentResource {
  /** Where the reconciler, the `sops-age` Secret and the root objects live. */
  public readonly reconcilerNamespace: pulumi.Output<string>;
  /** The reconciler's Helm release status (`deployed`). */
  public readonly releaseStatus: pulumi.Output<string>;
  /** The reconciler's chart version as installed. */
  public readonly chartVersion: pulumi.Output<string>;
  /** The root Application's name (reconciler argocd). */
  public readonly rootApplicationName: pulumi.Output<string | undefined>;
  /** The root GitRepository's name (reconciler flux). */
  public readonly gitRepositoryName: pulumi.Output<string | undefined>;
  /** The root Kustomization's name (reconciler flux). */
  public readonly kustomizationName: pulumi.Output<string | undefined>;

  constructor(name: string, args: GitOpsClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentToken("GitOpsCluster"), name, {}, opts);
    // Every field is checked here first, named as the stack config names it, before any child exists.
    const checker = new ArgsChecker("GitOpsCluster", name, argsPath());
    checker.check(args.reconciler, (problems, value) => checkOtherReconcilerUnset(problems, readReconciler(problems, value), args.argocd !== undefined, args.flux !== undefined));
    const flux = args.reconciler === Reconciler.Flux;
    checkRepository(checker, args.repo, flux);
    checkRootApp(checker, args.rootApp, flux);
    const ageKey = checkAgeKey(checker, args.ageKey);
    checkPodSecurity(checker, args.podSecurity);
    const argo = flux ? undefined : checkArgoCdOptions(checker, args.argocd ?? {}, args.repo);
    const fluxChart = flux ? checkFluxOptions(checker, args.flux ?? {}) : undefined;
    const sealed = args.sealedSecrets && checkSealedSecretsOptions(checker, args.sealedSecrets, "sealedSecrets.keys");
    const eso = args.externalSecrets && checkExternalSecretsOptions(checker, args.externalSecrets, "externalSecrets.credentials");
    if (args.externalSecrets) checkExternalSecretsNamespaceArgs(checker, args, flux);
    checker.throwIfInvalid();

    // The children get the checked values: a bad one known only at deploy time fails here, under this component's field names.
    const common = { repo: args.repo, ageKey, podSecurity: args.podSecurity, timeoutSeconds: args.timeoutSeconds, baseDir: args.baseDir };
    // The operator and its credentials first (beside the reconciler's install); the root waits for both.
    const externalSecrets =
      eso &&
      new ExternalSecrets(
        `${name}-external-secrets`,
        {
          chartVersion: eso.settings.apply((x) => x.chartVersion),
          chartRepo: eso.settings.apply((x) => x.chartRepo),
          namespace: eso.settings.apply((x) => x.namespace),
          values: eso.values,
          credentials: eso.credentials.map((c) => ({ name: c.name, type: c.type, stringData: c.stringData })),
          podSecurity: args.podSecurity,
          timeoutSeconds: args.timeoutSeconds,
          baseDir: args.baseDir,
        },
        { parent: this },
      );
    const rootWaits = externalSecrets ? [releaseOf(externalSecrets)] : [];
    let reconcilerComponent: ArgoCd | Flux;
    if (fluxChart) {
      const s = fluxChart.settings;
      const fluxArgs = { ...common, rootApp: args.rootApp, chartVersion: s.apply((x) => x.chartVersion), chartRepo: s.apply((x) => x.chartRepo), namespace: s.apply((x) => x.namespace), interval: s.apply((x) => x.interval), values: fluxChart.values };
      rootWaitsFor(fluxArgs, rootWaits);
      const fluxComponent = new Flux(`${name}-flux`, fluxArgs, { parent: this });
      reconcilerComponent = fluxComponent;
      this.gitRepositoryName = fluxComponent.gitRepositoryName;
      this.kustomizationName = fluxComponent.kustomizationName;
      this.rootApplicationName = pulumi.output(undefined);
    } else {
      const s = argo!.settings;
      const argocd = new ArgoCd(
        `${name}-argocd`,
        { ...common, chartVersion: s.apply((x) => x.chartVersion), chartRepo: s.apply((x) => x.chartRepo), namespace: s.apply((x) => x.namespace), ksopsImage: s.apply((x) => x.ksopsImage), values: argo!.values },
        { parent: this },
      );
      const root = new RootApplication(`${name}-root`, { namespace: argocd.namespace, repo: args.repo, rootApp: args.rootApp }, { parent: this, dependsOn: [releaseOf(argocd), ...rootWaits] });
      reconcilerComponent = argocd;
      this.rootApplicationName = root.applicationName;
      this.gitRepositoryName = pulumi.output(undefined);
      this.kustomizationName = pulumi.output(undefined);
    }
    this.reconcilerNamespace = reconcilerComponent.namespace;
    this.releaseStatus = reconcilerComponent.releaseStatus;
    this.chartVersion = reconcilerComponent.chartVersion;

    if (sealed && args.sealedSecrets) {
      // Independent of the reconciler: its keys and release go in beside it, in their own namespace,
      // or in the reconciler's, which the reconciler's component creates.
      const reconcilerNs = (flux ? args.flux?.namespace : args.argocd?.namespace) ?? (flux ? FLUX.namespace : ARGOCD.namespace);
      const sealedNs = args.sealedSecrets.namespace ?? SEALED_SECRETS.namespace;
      const shares = typeof sealedNs === "string" && sealedNs === reconcilerNs;
      const s = sealed.settings;
      new SealedSecrets(
        `${name}-sealed-secrets`,
        {
          chartVersion: s.apply((x) => x.chartVersion),
          chartRepo: s.apply((x) => x.chartRepo),
          namespace: args.sealedSecrets.namespace === undefined ? undefined : s.apply((x) => x.namespace),
          controllerName: s.apply((x) => x.controllerName),
          values: sealed.values,
          keys: sealed.keys.map((k) => ({ name: k.name, state: k.state, certificate: k.certificate, privateKey: k.privateKey })),
          createNamespace: shares ? false : (args.sealedSecrets.createNamespace ?? createsNamespaceByDefault(sealedNs)),
          podSecurity: args.podSecurity,
          timeoutSeconds: args.timeoutSeconds,
          baseDir: args.baseDir,
        },
        { parent: this, dependsOn: shares ? [reconcilerComponent] : undefined },
      );
    }
    this.registerOutputs({
      reconcilerNamespace: this.reconcilerNamespace,
      releaseStatus: this.releaseStatus,
      chartVersion: this.chartVersion,
      rootApplicationName: this.rootApplicationName,
      gitRepositoryName: this.gitRepositoryName,
      kustomizationName: this.kustomizationName,
    });
  }
}

/** The operator's namespace is its own (the stack config's rule), when the namespaces are known now. */
function checkExternalSecretsNamespaceArgs(checker: ArgsChecker, args: GitOpsClusterArgs, flux: boolean): void {
  const reconcilerNs = (flux ? args.flux?.namespace : args.argocd?.namespace) ?? (flux ? FLUX.namespace : ARGOCD.namespace);
  const sealedNs = args.sealedSecrets ? (args.sealedSecrets.namespace ?? SEALED_SECRETS.namespace) : undefined;
  checker.check({ ns: args.externalSecrets?.namespace ?? EXTERNAL_SECRETS.namespace, reconcilerNs, sealedNs }, (problems, v) => checkExternalSecretsNamespace(problems, v.ns, v.reconcilerNs, v.sealedNs));
}
