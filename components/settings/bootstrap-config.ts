/**
 * Stack config -> one typed, validated object. Pure: no Pulumi calls, so it runs the same in
 * `pulumi up`, in `render` and in tests. Every problem is collected and reported together, each
 * naming the config key and what is expected, and never the value of a secret.
 */
import { type ArgoCdConfig } from "./argocd";
import { DNS_SUBDOMAIN, DURATION, Problems, checkKnownKeys, describe, isObject, optBoolean, optString } from "./fields";
import { type FluxConfig } from "./flux";
import { type RepoConfig } from "./repository";
import { type ExternalSecretsConfig } from "./external-secrets";
import { type SealedSecretsConfig } from "./sealed-secrets";
import { POD_SECURITY_LEVELS, type PodSecurityLevel, ROOT_APP } from "../defaults";
import { SecretString } from "./secret";
import { AgeIdentities, AgeIdentityError } from "./age-identities";

export { type ArgoCdConfig } from "./argocd";
export { type ConfigProblem, ConfigError, formatProblems, parseDuration } from "./fields";
export { type FluxConfig } from "./flux";
export { type ExternalSecretsConfig } from "./external-secrets";
export { type SealedSecretsConfig } from "./sealed-secrets";

export interface AgeKeyConfig {
  /** The identities, one per line, as the key file the reconciler reads. */
  readonly identities: SecretString;
  /** Public recipients of those identities (`age1...`), safe to print. Empty when not decryptable offline. */
  readonly recipients: readonly string[];
  /** `ageKey` or the resolved path of `ageKeyFile`. */
  readonly source: string;
  /** The same identities, parsed (to decrypt with). Empty when not decryptable offline. */
  readonly set: AgeIdentities;
}

export interface RetryPolicy {
  readonly limit: number;
  readonly backoff: { readonly duration: string; readonly factor: number; readonly maxDuration: string };
}

/**
 * The root of everything else: an Argo CD Application, or with Flux a GitRepository and a
 * Kustomization (both named `name`). `project`, `selfHeal` and `retry` are Argo CD's only: under
 * flux setting them is an error, and the defaults here are unused.
 */
export interface RootAppConfig {
  readonly name: string;
  readonly project: string;
  readonly prune: boolean;
  readonly selfHeal: boolean;
  readonly retry: RetryPolicy;
}

interface CommonConfig {
  readonly environment: string;
  readonly repo: RepoConfig;
  readonly ageKey: AgeKeyConfig;
  readonly rootApp: RootAppConfig;
  readonly verifyRepoSecrets: boolean;
  /** The Pod Security level enforced on the namespaces this program creates; none when unset. */
  readonly podSecurity?: PodSecurityLevel;
  /** The Sealed Secrets controller and its restored keys, when configured. */
  readonly sealedSecrets?: SealedSecretsConfig;
  /** The External Secrets Operator and its store credentials, when configured. */
  readonly externalSecrets?: ExternalSecretsConfig;
}

export interface ArgoCdBootstrapConfig extends CommonConfig {
  readonly reconciler: "argocd";
  readonly argocd: ArgoCdConfig;
  readonly flux?: undefined;
}

export interface FluxBootstrapConfig extends CommonConfig {
  readonly reconciler: "flux";
  readonly flux: FluxConfig;
  readonly argocd?: undefined;
}

/** The validated stack config; `reconciler` says which of `argocd` / `flux` is set. */
export type BootstrapConfig = ArgoCdBootstrapConfig | FluxBootstrapConfig;

/** The namespace the reconciler (and the `sops-age` Secret, the repository Secret, the root objects) live in. */
export function reconcilerNamespace(config: BootstrapConfig): string {
  return config.reconciler === "flux" ? config.flux.namespace : config.argocd.namespace;
}

const ROOT_APP_KEYS = ["name", "project", "syncPolicy"];
const SYNC_POLICY_KEYS = ["prune", "selfHeal", "retry"];
const RETRY_KEYS = ["limit", "backoff"];
const BACKOFF_KEYS = ["duration", "factor", "maxDuration"];

/** The age identities in `text` (from `source`, named in messages), reported under `key` when there are none. */
export async function readAgeIdentities(problems: Problems, key: string, text: string, source: string): Promise<AgeIdentities | undefined> {
  let set: AgeIdentities;
  try {
    set = await AgeIdentities.parse(text, source);
  } catch (e) {
    if (!(e instanceof AgeIdentityError)) throw e;
    problems.add(key, e.message);
    return undefined;
  }
  if (set.size === 0) {
    problems.add(key, "holds no age identity (expected a line AGE-SECRET-KEY-1... from age-keygen)");
    return undefined;
  }
  return set;
}

export function readRootApp(problems: Problems, raw: unknown, reconciler: "argocd" | "flux"): RootAppConfig {
  const block = raw ?? {};
  const fallback: RootAppConfig = { name: ROOT_APP.name, project: ROOT_APP.project, prune: true, selfHeal: true, retry: ROOT_APP.retry };
  if (!isObject(block)) {
    problems.add("rootApp", `expected an object {name, project, syncPolicy}, got ${describe(block)}`);
    return fallback;
  }
  checkKnownKeys(problems, "rootApp", block, ROOT_APP_KEYS);
  const name = optString(problems, "rootApp.name", block.name) ?? ROOT_APP.name;
  if (!DNS_SUBDOMAIN.test(name)) problems.add("rootApp.name", `must be a DNS-1123 name (lower case, digits, '-', '.'), got ${describe(name)}`);
  const project = optString(problems, "rootApp.project", block.project) ?? ROOT_APP.project;
  if (reconciler === "flux" && block.project !== undefined) {
    problems.add("rootApp.project", "is an Argo-only option (the Argo CD project) under reconciler flux; remove it");
  } else if (!DNS_SUBDOMAIN.test(project)) {
    problems.add("rootApp.project", `must be an Argo CD project name, got ${describe(project)}`);
  }

  const sync = block.syncPolicy ?? {};
  if (!isObject(sync)) {
    problems.add("rootApp.syncPolicy", "expected an object {prune, selfHeal, retry}");
    return { ...fallback, name, project };
  }
  checkKnownKeys(problems, "rootApp.syncPolicy", sync, SYNC_POLICY_KEYS);
  if (reconciler === "flux") {
    if (sync.selfHeal !== undefined) {
      problems.add("rootApp.syncPolicy.selfHeal", "is an Argo-only option under reconciler flux (Flux undoes drift at every interval); remove it");
    }
    if (sync.retry !== undefined) {
      problems.add("rootApp.syncPolicy.retry", "is an Argo-only option under reconciler flux (Flux retries at every flux.interval); remove it");
    }
  }
  const prune = optBoolean(problems, "rootApp.syncPolicy.prune", sync.prune, true);
  const selfHeal = optBoolean(problems, "rootApp.syncPolicy.selfHeal", sync.selfHeal, true);
  const retry = readRetry(problems, sync.retry ?? {});
  return { name, project, prune, selfHeal, retry };
}

function readRetry(problems: Problems, raw: unknown): RetryPolicy {
  const key = "rootApp.syncPolicy.retry";
  if (!isObject(raw)) {
    problems.add(key, "expected an object {limit, backoff: {duration, factor, maxDuration}}");
    return ROOT_APP.retry;
  }
  checkKnownKeys(problems, key, raw, RETRY_KEYS);
  let limit: number = ROOT_APP.retry.limit;
  if (raw.limit !== undefined) {
    if (typeof raw.limit !== "number" || !Number.isInteger(raw.limit) || raw.limit < -1) {
      problems.add(`${key}.limit`, `expected a whole number of retries (-1 = unlimited), got ${describe(raw.limit)}`);
    } else limit = raw.limit;
  }
  const backoffRaw = raw.backoff ?? {};
  if (!isObject(backoffRaw)) {
    problems.add(`${key}.backoff`, "expected an object {duration, factor, maxDuration}");
    return { limit, backoff: ROOT_APP.retry.backoff };
  }
  checkKnownKeys(problems, `${key}.backoff`, backoffRaw, BACKOFF_KEYS);
  const duration = optString(problems, `${key}.backoff.duration`, backoffRaw.duration) ?? ROOT_APP.retry.backoff.duration;
  const maxDuration = optString(problems, `${key}.backoff.maxDuration`, backoffRaw.maxDuration) ?? ROOT_APP.retry.backoff.maxDuration;
  for (const [k, v] of [["duration", duration], ["maxDuration", maxDuration]] as const) {
    if (!DURATION.test(v)) problems.add(`${key}.backoff.${k}`, `expected a duration such as 5s, 2m or 1h, got ${describe(v)}`);
  }
  let factor: number = ROOT_APP.retry.backoff.factor;
  if (backoffRaw.factor !== undefined) {
    if (typeof backoffRaw.factor !== "number" || !Number.isInteger(backoffRaw.factor) || backoffRaw.factor < 1) {
      problems.add(`${key}.backoff.factor`, `expected a whole number >= 1, got ${describe(backoffRaw.factor)}`);
    } else factor = backoffRaw.factor;
  }
  return { limit, backoff: { duration, factor, maxDuration } };
}

/** `reconciler`: argocd (the default) or flux. */
export function readReconciler(problems: Problems, raw: unknown): BootstrapConfig["reconciler"] {
  const given = optString(problems, "reconciler", raw) ?? "argocd";
  if (given !== "argocd" && given !== "flux") problems.add("reconciler", `expected argocd or flux, got ${describe(given)}`);
  return given === "flux" ? "flux" : "argocd";
}

/** Only the chosen reconciler's block may be set; the other one would be silently ignored. */
export function checkOtherReconcilerUnset(problems: Problems, reconciler: BootstrapConfig["reconciler"], argocd: boolean, flux: boolean): void {
  if (reconciler === "flux" && argocd) {
    problems.add("argocd", "holds Argo-only options under reconciler flux; put chart settings under gitops-bootstrap:flux, or set reconciler: argocd");
  }
  if (reconciler === "argocd" && flux) {
    problems.add("flux", "holds Flux-only options under reconciler argocd; put chart settings under gitops-bootstrap:argocd, or set reconciler: flux");
  }
}

/** `podSecurity`: a Pod Security Standards level, or none. */
export function readPodSecurity(problems: Problems, raw: unknown): PodSecurityLevel | undefined {
  const podSecurity = optString(problems, "podSecurity", raw);
  if (podSecurity !== undefined && !(POD_SECURITY_LEVELS as readonly string[]).includes(podSecurity)) {
    problems.add("podSecurity", `expected one of ${POD_SECURITY_LEVELS.join(", ")} (the Pod Security Standards level to enforce on the namespaces gitops-bootstrap creates), got ${describe(podSecurity)}`);
    return undefined;
  }
  return podSecurity as PodSecurityLevel | undefined;
}
