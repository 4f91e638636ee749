/**
 * The Pulumi program: validate the whole stack config first, then build the components. Nothing
 * is registered when the config is invalid.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, RawStackConfig, resolveConfig } from "./config";
import { CONFIG_NAMESPACE } from "./defaults";
import { GitOpsCluster } from "../components/gitops-cluster";

// Public in the SDK's JavaScript, not in its typings: which config keys hold secrets.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

/** Reads this project's keys (`gitops-bootstrap:*`) from the running Pulumi program. */
export function rawConfigFromPulumi(baseDir: string): RawStackConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(prefix)) continue;
    const short = key.slice(prefix.length);
    values[short] = value;
    if (isConfigSecret(key)) secretKeys.add(short);
  }
  return { values, secretKeys, baseDir };
}

/** What a stack exports: enough for an operator (and the drill) to find what was built. Never a secret. */
export interface BootstrapOutputs {
  readonly environment: string;
  readonly reconciler: string;
  readonly ageRecipients: readonly string[];
  readonly repoUrl: string;
  readonly revision: string;
  readonly path: string;
  readonly argocdNamespace: pulumi.Output<string>;
  readonly argocdReleaseStatus: pulumi.Output<string>;
  readonly rootApplication: pulumi.Output<string>;
}

export async function bootstrap(raw: RawStackConfig): Promise<BootstrapOutputs> {
  let config;
  try {
    config = await resolveConfig(raw);
  } catch (e) {
    // A clean message without a stack trace; the problems name keys, never secret values.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
  const kube = new pulumi.Config("kubernetes");
  const provider = new k8s.Provider("k8s", {
    kubeconfig: kube.get("kubeconfig"),
    context: kube.get("context"),
    // A rebuilt cluster has a new kubeconfig; the same identifier keeps the provider (and so
    // every object) from being replaced when the stack is pointed at it.
    clusterIdentifier: `${CONFIG_NAMESPACE}-${config.environment}`,
  });
  const cluster = new GitOpsCluster("gitops", { config, baseDir: raw.baseDir }, { providers: { kubernetes: provider } });
  return {
    environment: config.environment,
    reconciler: config.reconciler,
    ageRecipients: config.ageKey.recipients,
    repoUrl: config.repo.url,
    revision: config.repo.revision,
    path: config.repo.path,
    argocdNamespace: cluster.argocd.namespace,
    argocdReleaseStatus: cluster.argocd.releaseStatus,
    rootApplication: cluster.rootApplication.applicationName,
  };
}
