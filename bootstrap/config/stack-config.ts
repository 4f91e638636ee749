/**
 * Stack config -> one typed, validated object: the stack file's strings read with the library's
 * readers (components/settings/), plus what only a stack file has (ageKeyFile, sealedSecrets.keysFile). Pure: no Pulumi calls, so it runs the same in
 * `pulumi up`, in `render` and in tests. Every problem is collected and reported together, each
 * naming the config key and what is expected, and never the value of a secret.
 */
import { type AgeKeyConfig, type BootstrapConfig, checkOtherReconcilerUnset, readAgeIdentities, readPodSecurity, readReconciler, readRootApp } from "../../components/settings/bootstrap-config";
import { AgeIdentities } from "../../components/settings/age-identities";
import { checkArgoCdKeepsCa, readArgoCd } from "../../components/settings/argocd";
import { DNS_LABEL, type FileAccess, Problems, ConfigError, describe, isObject, optBoolean, optString, parseRaw, readConfigFile } from "../../components/settings/fields";
import { checkRepoForFlux, readFlux } from "../../components/settings/flux";
import { readRepo } from "../../components/settings/repository";
import { type ExternalSecretsConfig, checkExternalSecretsNamespace, parseCredentials, readExternalSecretsSettings } from "../../components/settings/external-secrets";
import { type SealedSecretsConfig, readSealedSecretsSettings } from "../../components/settings/sealed-secrets";
import { type SealingKey, parseBackup } from "../../components/settings/sealing-keys";
import { SecretString } from "../../components/settings/secret";
import { decryptSopsContentInternal } from "../sops/internal/decrypt";
import { RESULT_LABELS } from "../sops/types";

/** The stack's config as Pulumi hands it over: `key -> string` (objects as JSON), plus which keys are secret. */
export interface RawStackConfig {
  /** Keys without the `gitops-bootstrap:` prefix. */
  readonly values: Readonly<Record<string, string>>;
  /** Keys (without prefix) whose value is a Pulumi secret. */
  readonly secretKeys: ReadonlySet<string>;
  /** Keys whose secret value could not be decrypted here (offline render): shape is checked, content is not. */
  readonly undecryptedKeys?: ReadonlySet<string>;
  /** Relative `ageKeyFile` and `repo.caFile` paths are resolved against this directory (the project root). */
  readonly baseDir: string;
  /** `~/` in `ageKeyFile` and `repo.caFile` expands to this. @default os.homedir() */
  readonly homeDir?: string;
  /** Reads a file; defaults to `fs.readFileSync(p, "utf8")`. Tests swap it. */
  readonly readFile?: (file: string) => string;
}

const TOP_LEVEL_KEYS = [
  "environment",
  "reconciler",
  "repo",
  "ageKey",
  "ageKeyFile",
  "ageRecipient",
  "argocd",
  "flux",
  "rootApp",
  "sealedSecrets",
  "externalSecrets",
  "verifyRepoSecrets",
  "podSecurity",
] as const;

async function readAgeKey(problems: Problems, raw: RawStackConfig): Promise<AgeKeyConfig | undefined> {
  const inline = raw.values.ageKey;
  const file = raw.values.ageKeyFile;
  if (inline !== undefined && file !== undefined) {
    problems.add("ageKey", "and ageKeyFile are both set; keep one (ageKey as a secret, or ageKeyFile as a path)");
    return undefined;
  }
  if (inline === undefined && file === undefined) {
    problems.add(
      "ageKey",
      "no age key: set ageKey (pulumi config set --secret ageKey < key.txt) or ageKeyFile (a path to the age-keygen file)",
    );
    return undefined;
  }
  const recipient = optString(problems, "ageRecipient", raw.values.ageRecipient);
  if (recipient !== undefined && !/^age1[0-9a-z]+$/.test(recipient)) {
    problems.add("ageRecipient", `must be a public age recipient (age1...), got ${describe(recipient)}`);
    return undefined;
  }
  let text: string;
  let source: string;
  let key: string;
  if (inline !== undefined) {
    key = "ageKey";
    source = "ageKey";
    if (!raw.secretKeys.has("ageKey")) {
      problems.add("ageKey", "must be a secret: pulumi config set --secret ageKey < key.txt (it is stored in plain text now)");
    }
    if (raw.undecryptedKeys?.has("ageKey")) return { identities: new SecretString(""), recipients: recipient ? [recipient] : [], source, set: AgeIdentities.none() };
    text = inline;
  } else {
    key = "ageKeyFile";
    const read = readConfigFile(problems, raw, "ageKeyFile", file ?? "", "the age key file (age-keygen -o <file>)");
    if (!read) return undefined;
    source = read.file;
    text = read.text;
  }
  let set = await readAgeIdentities(problems, key, text, source === "ageKey" ? "the ageKey value" : source);
  if (!set) return undefined;
  if (recipient !== undefined) {
    const chosen = set.select(recipient);
    if (!chosen) {
      problems.add("ageRecipient", `${recipient} is not the recipient of any identity in ${source === "ageKey" ? "ageKey" : source}; it holds ${set.recipients.join(", ")}`);
      return undefined;
    }
    set = chosen;
  }
  return { identities: new SecretString(`${set.revealIdentities()}\n`), recipients: set.recipients, source, set };
}

const SEALED_SECRETS_KEYS = ["enabled", "chartVersion", "chartRepo", "namespace", "controllerName", "values", "keysFile"];

/** Reads the block; undefined when it is absent or `enabled: false`. `secret`: the stack holds it as a Pulumi secret. */
export async function readSealedSecrets(
  problems: Problems,
  raw: unknown,
  files: FileAccess,
  identities: AgeIdentities | undefined,
  secret: boolean,
): Promise<SealedSecretsConfig | undefined> {
  if (raw === undefined || raw === null) return undefined;
  const settings = readSealedSecretsSettings(problems, raw, secret, SEALED_SECRETS_KEYS);
  if (!settings || !isObject(raw)) return undefined;
  return { ...settings, ...(await readKeysFile(problems, raw, files, identities)) };
}

async function readKeysFile(
  problems: Problems,
  raw: Record<string, unknown>,
  files: FileAccess,
  identities: AgeIdentities | undefined,
): Promise<Pick<SealedSecretsConfig, "keys" | "keysFile">> {
  const given = optString(problems, "sealedSecrets.keysFile", raw.keysFile);
  let keys: SealingKey[] = [];
  let keysFile: string | undefined;
  if (given !== undefined) {
    const read = readConfigFile(problems, files, "sealedSecrets.keysFile", given, "the SOPS-encrypted key backup that gitops-bootstrap backup-keys writes");
    if (read && identities) {
      keysFile = read.file;
      const opened = await decryptSopsContentInternal(Buffer.from(read.text), given, identities);
      if (opened.result.kind !== "ok" || !opened.documents) {
        const why = opened.result.kind === "ok" ? "could not be read" : `${RESULT_LABELS[opened.result.kind]}: ${opened.result.detail}`;
        problems.add("sealedSecrets.keysFile", `${read.file} does not open with the stack's age key (${why}); re-run backup-keys for this stack's recipients`);
      } else {
        try {
          keys = parseBackup(opened.documents[0]);
        } catch (e) {
          problems.add("sealedSecrets.keysFile", `${read.file} ${(e as Error).message}`);
        }
      }
    }
  }
  return { keysFile, keys };
}

const EXTERNAL_SECRETS_KEYS = ["enabled", "chartVersion", "chartRepo", "namespace", "values", "credentialsFile"];

/**
 * The `externalSecrets` block, with its credentials file decrypted with the stack's age key and
 * its Secrets checked (components/settings/external-secrets.ts), before anything is created.
 */
async function readExternalSecrets(
  problems: Problems,
  raw: unknown,
  files: FileAccess,
  identities: AgeIdentities | undefined,
  secret: boolean,
): Promise<ExternalSecretsConfig | undefined> {
  if (raw === undefined || raw === null) return undefined;
  const settings = readExternalSecretsSettings(problems, raw, secret, EXTERNAL_SECRETS_KEYS);
  if (!settings || !isObject(raw)) return undefined;
  const given = optString(problems, "externalSecrets.credentialsFile", raw.credentialsFile);
  if (given === undefined) return { ...settings, credentials: [] };
  const read = readConfigFile(problems, files, "externalSecrets.credentialsFile", given, "a SOPS-encrypted YAML file of the Secrets the operator reaches its store with");
  if (!read) return { ...settings, credentials: [] };
  if (!identities) return { ...settings, credentialsFile: read.file, credentials: [] };
  const opened = await decryptSopsContentInternal(Buffer.from(read.text), given, identities);
  if (opened.result.kind !== "ok" || !opened.documents) {
    const why = opened.result.kind === "ok" ? "could not be read" : `${RESULT_LABELS[opened.result.kind]}: ${opened.result.detail}`;
    problems.add("externalSecrets.credentialsFile", `${read.file} does not open with the stack's age key (${why}); encrypt it with sops for this stack's age recipients`);
    return { ...settings, credentialsFile: read.file, credentials: [] };
  }
  const found = new Problems((key) => key);
  const credentials = parseCredentials(found, opened.documents, settings.namespace);
  for (const p of found.list) problems.add("externalSecrets.credentialsFile", `${read.file}: ${p.key}: ${p.message}`);
  if (found.list.length === 0 && credentials.length === 0) {
    problems.add("externalSecrets.credentialsFile", `${read.file} holds no Secret; remove the key to run the operator without credentials (workload identity)`);
  }
  return { ...settings, credentialsFile: read.file, credentials };
}

/**
 * Validates the whole stack config. Resolves to the typed config, or throws a ConfigError
 * listing every problem found.
 */
export async function resolveConfig(raw: RawStackConfig): Promise<BootstrapConfig> {
  const problems = new Problems();
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw.values)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(k)) {
      problems.add(k, `unknown key; expected one of: ${TOP_LEVEL_KEYS.join(", ")}`);
      continue;
    }
    values[k] = parseRaw(v);
  }
  const environment = optString(problems, "environment", values.environment);
  if (environment === undefined || environment === "") {
    problems.add("environment", "is required: the environment this stack rebuilds (e.g. dev, staging, prod)");
  } else if (!DNS_LABEL.test(environment)) {
    problems.add("environment", `must be a DNS-1123 label (lower case letters, digits, '-'), got ${describe(environment)}`);
  }
  const reconciler = readReconciler(problems, values.reconciler);
  const repo = readRepo(problems, values.repo, raw.secretKeys.has("repo"), raw.undecryptedKeys?.has("repo") ?? false, raw);
  if (reconciler === "flux" && repo) checkRepoForFlux(problems, repo, isObject(values.repo) ? values.repo.credentials : undefined);
  const ageKey = await readAgeKey(problems, raw);
  // Only the chosen reconciler's block may be set; the other one would be silently ignored.
  const chosen =
    reconciler === "flux"
      ? { reconciler: "flux" as const, flux: readFlux(problems, values.flux, raw.secretKeys.has("flux")) }
      : { reconciler: "argocd" as const, argocd: readArgoCd(problems, values.argocd, raw.secretKeys.has("argocd")) };
  checkOtherReconcilerUnset(problems, reconciler, values.argocd !== undefined, values.flux !== undefined);
  if (chosen.reconciler === "argocd" && repo?.caCertificates) checkArgoCdKeepsCa(problems, repo.url, repo.caCertificates.pem, chosen.argocd.values);
  const rootApp = readRootApp(problems, values.rootApp, reconciler);
  const identities = ageKey && ageKey.set.size > 0 ? ageKey.set : undefined;
  const sealedSecrets = await readSealedSecrets(problems, values.sealedSecrets, raw, identities, raw.secretKeys.has("sealedSecrets"));
  const externalSecrets = await readExternalSecrets(problems, values.externalSecrets, raw, identities, raw.secretKeys.has("externalSecrets"));
  if (externalSecrets) checkExternalSecretsNamespace(problems, externalSecrets.namespace, chosen.reconciler === "flux" ? chosen.flux.namespace : chosen.argocd.namespace, sealedSecrets?.namespace);
  const verifyRepoSecrets = optBoolean(problems, "verifyRepoSecrets", values.verifyRepoSecrets, true);
  const level = readPodSecurity(problems, values.podSecurity);
  if (problems.list.length > 0 || !repo || !ageKey) throw new ConfigError(problems.list);
  return { environment: environment ?? "", repo, ageKey, rootApp, verifyRepoSecrets, ...(level ? { podSecurity: level } : {}), ...(sealedSecrets ? { sealedSecrets } : {}), ...(externalSecrets ? { externalSecrets } : {}), ...chosen };
}
