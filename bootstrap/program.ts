/**
 * The Pulumi program: validate the whole stack config first, then build the components. Nothing
 * is registered when the config is invalid.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RawStackConfig, resolveConfig } from "./config/stack-config";
import { BootstrapConfig, ConfigError } from "../components/settings/bootstrap-config";
import { checkRepository, failsTheCheck, formatFileLine } from "./sops";
import { notJudgedLine } from "./sops/report";
import { RepositoryError, redactUrl } from "./sops/repository";
import { stackGitCredentials, stackScope } from "./config/stack-repository";
import { CONFIG_NAMESPACE } from "../components/defaults";
import { type PodSecurity, Reconciler } from "../components/args";
import { GitOpsCluster, type GitOpsClusterArgs } from "../components/gitops-cluster";
import { undecryptedSecret } from "../components/validation";
import type { SecretString } from "../components/settings/secret";

// Public in the SDK's JavaScript, not in its typings: which config keys hold secrets.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

/** This project's keys (`gitops-bootstrap:*`) out of a stack's whole config: `[key, value, is secret]`. */
export function rawConfigFromEntries(entries: Iterable<readonly [string, string, boolean]>, baseDir: string): RawStackConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  for (const [key, value, secret] of entries) {
    if (!key.startsWith(prefix)) continue;
    const short = key.slice(prefix.length);
    values[short] = value;
    if (secret) secretKeys.add(short);
  }
  return { values, secretKeys, baseDir };
}

/** Reads this project's keys from the running Pulumi program. */
export function rawConfigFromPulumi(baseDir: string): RawStackConfig {
  return rawConfigFromEntries(Object.entries(pulumi.runtime.allConfig()).map(([key, value]) => [key, value, isConfigSecret(key)] as const), baseDir);
}

/** What a stack exports: enough for an operator (and the drill) to find what was built. Never a secret. */
export interface BootstrapOutputs {
  readonly environment: string;
  readonly reconciler: string;
  readonly ageRecipients: readonly string[];
  readonly repoUrl: string;
  readonly revision: string;
  readonly path: string;
  /** The reconciler's namespace (Argo CD's or Flux's): the `sops-age` Secret and the root objects are there. */
  readonly reconcilerNamespace: pulumi.Output<string>;
  /** reconciler argocd: Argo CD's namespace, the Helm release status, the root Application's name. */
  readonly argocdNamespace?: pulumi.Output<string>;
  readonly argocdReleaseStatus?: pulumi.Output<string>;
  readonly rootApplication?: pulumi.Output<string>;
  /** reconciler flux: Flux's namespace, the Helm release status, the GitRepository's and root Kustomization's names. */
  readonly fluxNamespace?: pulumi.Output<string>;
  readonly fluxReleaseStatus?: pulumi.Output<string>;
  readonly gitRepository?: pulumi.Output<string>;
  readonly rootKustomization?: pulumi.Output<string>;
}

/** Checks the repository's SOPS files with the stack's key; the real one is `checkRepository`. */
export type RepoSecretsCheck = typeof checkRepository;

/**
 * `verifyRepoSecrets`: before anything is registered, prove the age key decrypts every SOPS file
 * in the repository at the deployed revision. A key that does not match stops the update here,
 * not ten minutes into a recovery. A repository this machine cannot read (private without local
 * Git credentials, offline) is a warning, not an error: the cluster may still reach it.
 */
export async function verifyRepoSecretsBeforeUp(
  config: BootstrapConfig,
  check: RepoSecretsCheck,
  log: { info(m: string): void; warn(m: string): void },
): Promise<void> {
  const revision = config.repo.revision === "HEAD" ? undefined : config.repo.revision;
  let report;
  try {
    report = await check({
      source: config.repo.url,
      revision,
      identities: config.ageKey.set,
      caFile: config.repo.caCertificates?.file,
      credentials: stackGitCredentials(config),
      scope: stackScope(config),
    });
  } catch (e) {
    if (!(e instanceof RepositoryError)) throw e;
    log.warn(`verifyRepoSecrets: could not read ${redactUrl(config.repo.url)} from here (${redactUrl(e.message)}); SOPS files not checked. Set gitops-bootstrap:verifyRepoSecrets false to skip this step.`);
    return;
  }
  if (report.outcome !== "fails") {
    // sops decrypts suspicious files, so the sync will: a warning, not a reason to stop.
    for (const f of report.files.filter((x) => x.kind === "suspicious")) log.warn(`verifyRepoSecrets: ${formatFileLine(f)}`);
    const others = report.notJudged.length > 0 ? `; ${notJudgedLine(report.notJudged.length)}` : "";
    log.info(`verifyRepoSecrets: ${report.files.length} SOPS file(s) that ${config.repo.path} reaches in ${redactUrl(config.repo.url)} decrypt with the stack's age key${others}`);
    return;
  }
  const failed = report.files.filter((f) => failsTheCheck(f.kind)).map((f) => `  ${formatFileLine(f)}`);
  throw new pulumi.RunError(
    [`verifyRepoSecrets: the stack's age key does not verify ${failed.length} SOPS file(s) in ${redactUrl(config.repo.url)}; nothing was changed:`, ...failed,
      "Fix the key (gitops-bootstrap:ageKey / ageKeyFile) or the files; gitops-bootstrap check --stack <stack> shows the details."].join("\n"),
  );
}

/** The one cluster `restore` and `drill` deploy to, resolved and checked before the engine runs. */
export interface TargetCluster {
  /** A kubeconfig holding only `context`, its cluster and its user (credentials: kept as a Pulumi secret). */
  readonly kubeconfig: string;
  readonly context: string;
}

export interface BootstrapOptions {
  /** Runs the `verifyRepoSecrets` check with this function; `false` skips it (offline render). @default checkRepository */
  readonly repoSecretsCheck?: RepoSecretsCheck | false;
  /**
   * Deploy to this cluster instead of the stack's `kubernetes:kubeconfig` / `kubernetes:context`
   * (and instead of the KUBECONFIG of the process running the program, which the SDK would
   * otherwise put in the provider's inputs). @default the stack's keys, else the default kubeconfig
   */
  readonly cluster?: TargetCluster;
}

export async function bootstrap(raw: RawStackConfig, options: BootstrapOptions = {}): Promise<BootstrapOutputs> {
  let config;
  try {
    config = await resolveConfig(raw);
  } catch (e) {
    // A clean message without a stack trace; the problems name keys, never secret values.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
  const check = options.repoSecretsCheck ?? checkRepository;
  if (config.verifyRepoSecrets && check !== false) {
    await verifyRepoSecretsBeforeUp(config, check, { info: (m) => void pulumi.log.info(m), warn: (m) => void pulumi.log.warn(m) });
  }
  const kube = new pulumi.Config("kubernetes");
  const provider = new k8s.Provider("k8s", {
    kubeconfig: options.cluster ? pulumi.secret(options.cluster.kubeconfig) : kube.get("kubeconfig"),
    context: options.cluster?.context ?? kube.get("context"),
    // A rebuilt cluster has a new kubeconfig; the same identifier keeps the provider (and so
    // every object) from being replaced when the stack is pointed at it.
    clusterIdentifier: `${CONFIG_NAMESPACE}-${config.environment}`,
  });
  const cluster = new GitOpsCluster("gitops", gitOpsClusterArgs(config, raw), { providers: { kubernetes: provider } });
  return {
    environment: config.environment,
    reconciler: config.reconciler,
    ageRecipients: config.ageKey.recipients,
    repoUrl: config.repo.url,
    revision: config.repo.revision,
    path: config.repo.path,
    reconcilerNamespace: cluster.reconcilerNamespace,
    ...(config.reconciler === "argocd"
      ? {
          argocdNamespace: cluster.reconcilerNamespace,
          argocdReleaseStatus: cluster.releaseStatus,
          rootApplication: cluster.rootApplicationName as pulumi.Output<string>,
        }
      : {
          fluxNamespace: cluster.reconcilerNamespace,
          fluxReleaseStatus: cluster.releaseStatus,
          gitRepository: cluster.gitRepositoryName as pulumi.Output<string>,
          rootKustomization: cluster.kustomizationName as pulumi.Output<string>,
        }),
  };
}

/**
 * The validated stack config as the component's args: the one place a stack file becomes a
 * `GitOpsCluster`. Values from a key the stack holds as a secret (`--secret`) stay Pulumi
 * secrets; secrets `render` cannot decrypt here pass as such (their shape was checked).
 */
export function gitOpsClusterArgs(config: BootstrapConfig, raw: Pick<RawStackConfig, "baseDir" | "undecryptedKeys">): GitOpsClusterArgs {
  const undecrypted = raw.undecryptedKeys ?? new Set<string>();
  const secretOf = (key: string, value: SecretString): pulumi.Input<string> => (undecrypted.has(key) ? undecryptedSecret(value.reveal()) : value.reveal());
  const values = (secret: boolean, v: Readonly<Record<string, unknown>>): pulumi.Input<Record<string, unknown>> => (secret ? pulumi.secret(v) : v);
  const { repo, rootApp } = config;
  const creds = repo.credentials;
  const sealed = config.sealedSecrets;
  const eso = config.externalSecrets;
  return {
    reconciler: config.reconciler === "flux" ? Reconciler.Flux : Reconciler.ArgoCd,
    repo: {
      url: repo.url,
      revision: repo.revision,
      path: repo.path,
      sshKnownHosts: repo.sshKnownHosts,
      caCertificates: repo.caCertificates?.pem,
      credentials:
        creds?.kind === "ssh"
          ? { sshPrivateKey: secretOf("repo", creds.sshPrivateKey) }
          : creds?.kind === "basic"
            ? { username: creds.username, password: secretOf("repo", creds.password) }
            : undefined,
    },
    ageKey: secretOf("ageKey", config.ageKey.identities),
    ...(config.reconciler === "flux"
      ? { flux: { ...pick(config.flux, "chartVersion", "chartRepo", "namespace", "interval"), values: values(config.flux.valuesSecret, config.flux.values) } }
      : { argocd: { ...pick(config.argocd, "chartVersion", "chartRepo", "namespace", "ksopsImage"), values: values(config.argocd.valuesSecret, config.argocd.values) } }),
    rootApp:
      config.reconciler === "flux"
        ? { name: rootApp.name, syncPolicy: { prune: rootApp.prune } }
        : { name: rootApp.name, project: rootApp.project, syncPolicy: { prune: rootApp.prune, selfHeal: rootApp.selfHeal, retry: { limit: rootApp.retry.limit, backoff: { ...rootApp.retry.backoff } } } },
    ...(sealed
      ? {
          sealedSecrets: {
            ...pick(sealed, "chartVersion", "chartRepo", "namespace", "controllerName"),
            values: values(sealed.valuesSecret, sealed.values),
            keys: sealed.keys.map((k) => ({ name: k.name, certificate: k.certificate, privateKey: k.privateKey.reveal(), state: k.state })),
          },
        }
      : {}),
    ...(eso
      ? {
          externalSecrets: {
            ...pick(eso, "chartVersion", "chartRepo", "namespace"),
            values: values(eso.valuesSecret, eso.values),
            credentials: eso.credentials.map((c) => ({
              name: c.name,
              type: c.type,
              stringData: pulumi.secret(Object.fromEntries(Object.entries(c.stringData).map(([k, v]) => [k, v.reveal()]))),
            })),
          },
        }
      : {}),
    podSecurity: config.podSecurity as PodSecurity | undefined,
    baseDir: raw.baseDir,
  };
}

function pick<T extends object, K extends keyof T>(from: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, from[k]])) as Pick<T, K>;
}
