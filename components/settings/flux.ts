/** The `flux` block of the stack config (reconciler flux), and what Flux needs of the repository. */
import type { RepoConfig } from "./repository";
import { Problems, checkKnownKeys, describe, isObject, optString, parseDuration, readChartRepo, readChartVersion, readNamespace, readValues } from "./fields";
import { FLUX } from "../defaults";

const FLUX_KEYS = ["chartVersion", "chartRepo", "namespace", "values", "interval"];

export interface FluxConfig {
  readonly chartVersion: string;
  /** A Helm repository URL, or a local chart directory (tests). */
  readonly chartRepo: string;
  readonly namespace: string;
  /** User values deep-merged over ours. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Flux duration (`1m`, `10m0s`): how often the GitRepository is fetched and the root Kustomization re-applied. */
  readonly interval: string;
  /** The `flux` key is a Pulumi secret: the release's values are then a Pulumi secret too (see ArgoCdConfig). */
  readonly valuesSecret: boolean;
}

/** `secret`: whether the stack holds `flux` as a Pulumi secret. */
export function readFlux(problems: Problems, raw: unknown, secret: boolean): FluxConfig {
  const fallback: FluxConfig = { chartVersion: FLUX.chartVersion, chartRepo: FLUX.chartRepo, namespace: FLUX.namespace, values: {}, interval: FLUX.interval, valuesSecret: secret };
  const block = raw ?? {};
  if (!isObject(block)) {
    problems.add("flux", `expected an object {chartVersion, chartRepo, namespace, values, interval}, got ${describe(block)}`);
    return fallback;
  }
  checkKnownKeys(problems, "flux", block, FLUX_KEYS);
  const chartVersion = readChartVersion(problems, "flux.chartVersion", block.chartVersion, FLUX.chartVersion);
  const chartRepo = readChartRepo(problems, "flux.chartRepo", block.chartRepo, FLUX.chartRepo);
  const namespace = readNamespace(problems, "flux.namespace", block.namespace, FLUX.namespace);
  const values = readValues(problems, "flux.values", block.values);
  // The root objects need the CRDs from the release and these two controllers to do anything.
  if (values.installCRDs === false) {
    problems.add("flux.values.installCRDs", "is false, but the GitRepository and Kustomization this stack creates need the Flux CRDs the chart installs");
  }
  for (const controller of ["sourceController", "kustomizeController"]) {
    if (isObject(values[controller]) && values[controller].create === false) {
      problems.add(`flux.values.${controller}.create`, "is false, but the root GitRepository and Kustomization need this controller");
    }
  }
  const interval = optString(problems, "flux.interval", block.interval) ?? FLUX.interval;
  const ms = parseDuration(interval);
  if (ms === undefined || ms < 1000) {
    problems.add("flux.interval", `expected a Flux duration of at least 1s such as 1m, 10m0s or 1h, got ${describe(interval)}`);
  }
  return { chartVersion, chartRepo, namespace, values, interval, valuesSecret: secret };
}

/**
 * What Flux needs beyond Argo CD for an SSH repository: known_hosts (Flux has no built-in list)
 * and a key (source-controller has no anonymous SSH). scp-style URLs are fine: the Flux
 * component rewrites them to the ssh:// form (`fluxGitUrl`).
 */
export function checkRepoForFlux(problems: Problems, repo: RepoConfig, rawCredentials: unknown): void {
  if (repo.revision === "HEAD") {
    // Seen with the real source-controller (v1.9.6): ref.name HEAD resolves to no commit and no
    // artifact is ever made, so the root Kustomization would wait forever.
    problems.add(
      "repo.revision",
      "is HEAD (the default), which Flux cannot follow: its source-controller resolves ref name HEAD to no commit; name the branch, tag or commit to deploy, e.g. main",
    );
  }
  if (repo.transport !== "ssh") return;
  if (repo.sshKnownHosts === undefined) {
    problems.add(
      "repo.sshKnownHosts",
      "is required with reconciler flux and an SSH repo.url: Flux, unlike Argo CD, has no built-in known hosts; set it to the lines ssh-keyscan <host> prints",
    );
  }
  if (rawCredentials === undefined || rawCredentials === null) {
    problems.add(
      "repo.credentials.sshPrivateKey",
      "is required with reconciler flux and an SSH repo.url (Flux authenticates SSH with a deploy key): pulumi config set --secret --path 'gitops-bootstrap:repo.credentials.sshPrivateKey' < deploy_key",
    );
  }
}

