/**
 * The `sealedSecrets` block of the stack config: the Bitnami Sealed Secrets controller, and the
 * backup of its sealing keys (`keysFile`, SOPS-encrypted to the stack's age key), which `up`
 * restores before the controller starts so that every SealedSecret in Git opens on the first
 * pass. The backup is decrypted and checked here, with the rest of the config, before anything
 * is created.
 */
import { DNS_LABEL, type FileAccess, Problems, checkKnownKeys, describe, isObject, optBoolean, optString, readChartRepo, readChartVersion, readConfigFile, readNamespace, readValues } from "./config-fields";
import { SEALED_SECRETS } from "./defaults";
import { type SealingKey, parseBackup } from "./sealed-secrets/keys";
import type { AgeIdentities } from "./sops/age";
import { decryptSopsContentInternal } from "./sops/internal/decrypt";
import { RESULT_LABELS } from "./sops/types";

const SEALED_SECRETS_KEYS = ["enabled", "chartVersion", "chartRepo", "namespace", "controllerName", "values", "keysFile"];

export interface SealedSecretsConfig {
  readonly chartVersion: string;
  readonly chartRepo: string;
  readonly namespace: string;
  /** The controller's name (kubeseal's `--controller-name`), the chart's `fullnameOverride`. */
  readonly controllerName: string;
  readonly values: Readonly<Record<string, unknown>>;
  /** The `sealedSecrets` key is a Pulumi secret: the release's values are then a Pulumi secret too (see ArgoCdConfig). */
  readonly valuesSecret: boolean;
  /** The resolved path of `keysFile`, when a backup is configured. */
  readonly keysFile?: string;
  /** The backed-up sealing keys, restored before the controller starts. */
  readonly keys: readonly SealingKey[];
}

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

/**
 * The block's chart, namespace, controller and values (what a component's args give as well),
 * without the keys; undefined when it is not an object or `enabled: false`. `known`: its keys.
 */
export function readSealedSecretsSettings(
  problems: Problems,
  raw: unknown,
  secret: boolean,
  known: readonly string[],
): Omit<SealedSecretsConfig, "keys" | "keysFile"> | undefined {
  if (!isObject(raw)) {
    problems.add("sealedSecrets", `expected an object {enabled, chartVersion, chartRepo, namespace, controllerName, values, keysFile}, got ${describe(raw)}`);
    return undefined;
  }
  checkKnownKeys(problems, "sealedSecrets", raw, known);
  if (!optBoolean(problems, "sealedSecrets.enabled", raw.enabled, true)) return undefined;
  const chartVersion = readChartVersion(problems, "sealedSecrets.chartVersion", raw.chartVersion, SEALED_SECRETS.chartVersion);
  const chartRepo = readChartRepo(problems, "sealedSecrets.chartRepo", raw.chartRepo, SEALED_SECRETS.chartRepo);
  const namespace = readNamespace(problems, "sealedSecrets.namespace", raw.namespace, SEALED_SECRETS.namespace);
  const controllerName = optString(problems, "sealedSecrets.controllerName", raw.controllerName) ?? SEALED_SECRETS.controllerName;
  if (!DNS_LABEL.test(controllerName)) problems.add("sealedSecrets.controllerName", `must be a DNS-1123 label (it names the controller's Deployment and Service), got ${describe(controllerName)}`);
  const values = readValues(problems, "sealedSecrets.values", raw.values);
  if (values.fullnameOverride !== undefined && values.fullnameOverride !== controllerName) {
    problems.add("sealedSecrets.values.fullnameOverride", "is set by controllerName; set controllerName instead");
  }
  return { chartVersion, chartRepo, namespace, controllerName, values, valuesSecret: secret };
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
