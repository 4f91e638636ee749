/**
 * The `sealedSecrets` block of the stack config: the Bitnami Sealed Secrets controller, and the
 * backup of its sealing keys (`keysFile`, SOPS-encrypted to the stack's age key), which `up`
 * restores before the controller starts so that every SealedSecret in Git opens on the first
 * pass. The backup is decrypted and checked with the rest of the stack config
 * (bootstrap/config/stack-config.ts), before anything is created.
 */
import { DNS_LABEL, Problems, checkKnownKeys, describe, isObject, optBoolean, optString, readChartRepo, readChartVersion, readNamespace, readValues } from "./fields";
import { SEALED_SECRETS } from "../defaults";
import type { SealingKey } from "./sealing-keys";

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
