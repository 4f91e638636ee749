/**
 * `gitops-bootstrap backup-keys`: reads every sealing key of the Sealed Secrets controller (all
 * generations: the Secrets labelled `sealedsecrets.bitnami.com/sealed-secrets-key`) and writes
 * them SOPS-encrypted to the stack's age recipients (and any `--recipient`), in the format sops
 * writes, so `sops decrypt` opens it and `up` restores it. Never prints key material; with the
 * same keys and recipients it leaves the file as it is.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import * as YAML from "yaml";
import { ApiClient } from "../audit/list";
import { ClusterError } from "../drill/cluster";
import { resolveConfig } from "../config";
import { resolveConfigPath } from "../config-fields";
import { SEALED_SECRETS } from "../defaults";
import { UsageError } from "../errors";
import { SecretString } from "../secret";
import { stackKubeConfig } from "../kubeconfig";
import { readStackConfig } from "../stack-file";
import { decryptSopsContentInternal } from "../sops/internal/decrypt";
import type { AgeIdentities } from "../sops/age";
import { type Plain, writeSopsYaml } from "../sops/writer";
import { SEALING_KEY_LABEL, type SealingKey, backupDocument, parseBackup } from "./keys";

export interface BackupOptions {
  readonly stack: string;
  readonly kubeconfig?: string;
  readonly out?: string;
  readonly recipient?: readonly string[];
}

export interface BackupIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly projectDir: string;
}

interface SecretList {
  readonly items: { metadata: { name: string; labels?: Record<string, string> }; type?: string; data?: Record<string, string> }[];
}

/** The controller's sealing keys, oldest name first; a clear error when the controller or its keys are missing. */
export async function readSealingKeys(kc: KubeConfig, namespace: string, controllerName: string): Promise<SealingKey[]> {
  const api = new ApiClient(kc);
  try {
    const deployment = await api.get(`/apis/apps/v1/namespaces/${namespace}/deployments/${controllerName}`);
    if (!deployment) throw new ClusterError(`no Sealed Secrets controller ${namespace}/${controllerName} in ${api.server}: check sealedSecrets.namespace and sealedSecrets.controllerName`);
    const list = await api.get<SecretList>(`/api/v1/namespaces/${namespace}/secrets?labelSelector=${encodeURIComponent(SEALING_KEY_LABEL)}`);
    const keys = (list?.items ?? [])
      .filter((s) => s.type === "kubernetes.io/tls" && s.data?.["tls.crt"] && s.data["tls.key"])
      .map((s) => ({
        name: s.metadata.name,
        certificate: Buffer.from(s.data!["tls.crt"], "base64").toString("utf8"),
        privateKey: new SecretString(Buffer.from(s.data!["tls.key"], "base64").toString("utf8")),
        state: s.metadata.labels?.[SEALING_KEY_LABEL] || "active",
      }));
    if (keys.length === 0) throw new ClusterError(`the controller ${namespace}/${controllerName} has no sealing key (no kubernetes.io/tls Secret labelled ${SEALING_KEY_LABEL} in ${namespace})`);
    return keys.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    api.close();
  }
}

const sameKeys = (a: readonly SealingKey[], b: readonly SealingKey[]): boolean =>
  a.length === b.length && a.every((k, i) => k.name === b[i].name && k.certificate === b[i].certificate && k.privateKey.reveal() === b[i].privateKey.reveal() && (k.state ?? "active") === (b[i].state ?? "active"));

/** The keys and recipients an existing backup holds, when it opens with `identities`. */
async function existingBackup(file: string, identities: AgeIdentities): Promise<{ keys: SealingKey[]; recipients: string[] } | undefined> {
  if (!fs.existsSync(file) || identities.size === 0) return undefined;
  const content = fs.readFileSync(file);
  const opened = await decryptSopsContentInternal(content, file, identities);
  if (opened.result.kind !== "ok" || !opened.documents) return undefined;
  try {
    const doc = opened.documents[0];
    const recipients = (YAML.parse(content.toString("utf8")) as { sops?: { age?: { recipient: string }[] } })?.sops?.age?.map((a) => a.recipient) ?? [];
    return { keys: parseBackup(doc).sort((a, b) => a.name.localeCompare(b.name)), recipients };
  } catch {
    return undefined;
  }
}

export async function runBackupKeys(opts: BackupOptions, io: BackupIo): Promise<number> {
  // The stack's config, without the backup it may name (which may not exist yet: this makes it).
  const raw = readStackConfig(io.projectDir, opts.stack, io.env.HOME);
  const block = raw.values.sealedSecrets ? (JSON.parse(raw.values.sealedSecrets) as Record<string, unknown>) : {};
  const { keysFile, ...rest } = block;
  const config = await resolveConfig({ ...raw, values: { ...raw.values, sealedSecrets: JSON.stringify(rest) } });
  const sealed = config.sealedSecrets ?? { namespace: SEALED_SECRETS.namespace, controllerName: SEALED_SECRETS.controllerName };
  const outGiven = opts.out ?? (typeof keysFile === "string" ? keysFile : undefined);
  if (!outGiven) throw new UsageError("backup-keys needs --out FILE, or sealedSecrets.keysFile in the stack config");
  const out = opts.out ? path.resolve(opts.out) : resolveConfigPath(raw, outGiven);
  const extra = opts.recipient ?? [];
  for (const r of extra) if (!/^age1[0-9a-z]+$/.test(r)) throw new UsageError(`--recipient ${JSON.stringify(r)} is not an age recipient (age1...)`);
  const recipients = [...new Set([...config.ageKey.recipients, ...extra])];
  if (recipients.length === 0) throw new UsageError(`the age recipients of stack ${opts.stack} are not known offline (its ageKey is encrypted in the stack file): pass --recipient age1...`);

  const kc = stackKubeConfig(io.projectDir, opts.stack, opts.kubeconfig, io.env);
  io.stderr(`► backup-keys ${opts.stack}: reading the sealing keys of ${sealed.namespace}/${sealed.controllerName} in ${kc.getCurrentCluster()?.server}\n`);
  let keys: SealingKey[];
  try {
    keys = await readSealingKeys(kc, sealed.namespace, sealed.controllerName);
  } catch (e) {
    if (e instanceof ClusterError) {
      io.stderr(`✗ ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  io.stderr(`✔ ${keys.length} sealing key${keys.length === 1 ? "" : "s"}: ${keys.map((k) => k.name).join(", ")}\n`);

  const before = await existingBackup(out, config.ageKey.set);
  if (before && sameKeys(before.keys, keys) && before.recipients.length === recipients.length && recipients.every((r) => before.recipients.includes(r))) {
    io.stdout(`✔ ${out} already holds these keys for ${recipients.join(", ")}: unchanged\n`);
    return 0;
  }
  const text = await writeSopsYaml([backupDocument(keys, sealed.namespace) as Plain], { recipients, encryptedRegex: "^(data|stringData)$" });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, out);
  io.stdout(`✔ wrote ${out}: ${keys.length} key${keys.length === 1 ? "" : "s"}, encrypted to ${recipients.join(", ")}\n`);
  if (typeof keysFile !== "string") io.stdout(`  set sealedSecrets.keysFile to it in stacks/Pulumi.${opts.stack}.yaml, and commit it: up restores these keys before the controller starts\n`);
  return 0;
}
