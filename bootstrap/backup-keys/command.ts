/**
 * `gitops-bootstrap backup-keys`: reads every sealing key of the Sealed Secrets controller (all
 * generations: the Secrets labelled `sealedsecrets.bitnami.com/sealed-secrets-key`) and writes
 * them SOPS-encrypted to the stack's age recipients (and any `--recipient`), in the format sops
 * writes, so `sops decrypt` opens it and `up` restores it. Never prints key material; with the
 * same keys and recipients it leaves the file as it is.
 *
 * It never loses a key: every key already in the backup is kept and the cluster's new ones are
 * added (a rebuilt cluster not yet restored, or the wrong cluster, holds fewer: it says so);
 * only `--prune` drops keys, and names them. Only the controller's key names are backed up, and
 * the file is replaced through an exclusive temporary file (mode 0600), never through a link.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import * as YAML from "yaml";
import { ApiClient } from "../cluster/list";
import { ClusterError } from "../cluster/api";
import { resolveConfig } from "../config/stack-config";
import { resolveConfigPath } from "../../components/settings/fields";
import { CONFIG_NAMESPACE, SEALED_SECRETS } from "../../components/defaults";
import { UsageError } from "../../components/errors";
import { SecretString } from "../../components/settings/secret";
import { kubeConfigFor } from "../cluster/kubeconfig";
import { KUBERNETES_NEEDS, readStackConfigWithSecrets } from "../config/stack-secrets";
import { decryptSopsContentInternal } from "../sops/internal/decrypt";
import type { AgeIdentities } from "../../components/settings/age-identities";
import { type Plain, writeSopsYaml } from "../sops/writer";
import { replaceFile } from "../cli-common/output-files";
import { RESULT_LABELS } from "../sops/types";
import { SEALING_KEY_LABEL, SEALING_KEY_NAME_HINT, type SealingKey, backupDocument, isSealingKeyName, mergeSealingKeys, parseBackup } from "../../components/settings/sealing-keys";

export interface BackupOptions {
  readonly stack: string;
  readonly kubeconfig?: string;
  readonly out?: string;
  readonly recipient?: readonly string[];
  /** Drop the backup's keys the cluster does not hold (and say which); without it the backup keeps every key. */
  readonly prune?: boolean;
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

interface ExistingBackup {
  readonly keys: SealingKey[];
  readonly recipients: string[];
}

/**
 * The keys and recipients of the backup already at `file`; undefined when there is none. A file
 * that is there but does not open, or is not a backup, is refused: its keys could not be kept.
 */
async function existingBackup(file: string, flag: string, identities: AgeIdentities): Promise<ExistingBackup | undefined> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  const refuse = (why: string, todo: string): UsageError =>
    new UsageError(`${flag} ${file} ${why}; backup-keys keeps every key of an existing backup, so it never replaces a file it cannot read: ${todo} (nothing was written)`);
  if (!stat.isFile()) throw refuse(stat.isSymbolicLink() ? "is a symbolic link" : "is not a regular file", "give the file itself, or another path");
  if (identities.size === 0) {
    throw refuse("exists, and the stack's age key is not available to open it (its ageKey is not readable offline)", "use ageKeyFile for the stack, or another path");
  }
  const content = fs.readFileSync(file);
  const opened = await decryptSopsContentInternal(content, file, identities);
  if (opened.result.kind !== "ok" || !opened.documents) {
    const why = opened.result.kind === "ok" ? "could not be read" : `${RESULT_LABELS[opened.result.kind]}: ${opened.result.detail}`;
    throw refuse(`does not open with the stack's age key (${why})`, "give the stack whose key opens it, or another path");
  }
  let keys: SealingKey[];
  try {
    keys = parseBackup(opened.documents[0]);
  } catch (e) {
    throw refuse(`is not a key backup: ${(e as Error).message}`, "fix or move it, or give another path");
  }
  const recipients = (YAML.parse(content.toString("utf8")) as { sops?: { age?: { recipient: string }[] } })?.sops?.age?.map((a) => a.recipient) ?? [];
  return { keys: keys.sort((a, b) => a.name.localeCompare(b.name)), recipients };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

export async function runBackupKeys(opts: BackupOptions, io: BackupIo): Promise<number> {
  // The stack's config, without the backup it may name (which may not exist yet: this makes it).
  // The age key (for the recipients and the existing backup) and the cluster's kubernetes:* keys,
  // decrypted through Pulumi when they are encrypted in the stack file.
  const needs = [{ key: `${CONFIG_NAMESPACE}:ageKey` }, ...(opts.kubeconfig === undefined ? KUBERNETES_NEEDS : [])];
  const { raw, kubernetes } = await readStackConfigWithSecrets({ projectDir: io.projectDir, stack: opts.stack, env: io.env, needs });
  const block = raw.values.sealedSecrets ? (JSON.parse(raw.values.sealedSecrets) as Record<string, unknown>) : {};
  const { keysFile, ...rest } = block;
  const config = await resolveConfig({ ...raw, values: { ...raw.values, sealedSecrets: JSON.stringify(rest) } });
  const sealed = config.sealedSecrets ?? { namespace: SEALED_SECRETS.namespace, controllerName: SEALED_SECRETS.controllerName };
  const outGiven = opts.out ?? (typeof keysFile === "string" ? keysFile : undefined);
  if (!outGiven) throw new UsageError("backup-keys needs --out FILE, or sealedSecrets.keysFile in the stack config");
  const out = opts.out ? path.resolve(opts.out) : resolveConfigPath(raw, outGiven);
  const flag = opts.out ? "--out" : "sealedSecrets.keysFile";
  const extra = opts.recipient ?? [];
  for (const r of extra) if (!/^age1[0-9a-z]+$/.test(r)) throw new UsageError(`--recipient ${JSON.stringify(r)} is not an age recipient (age1...)`);
  const recipients = [...new Set([...config.ageKey.recipients, ...extra])];
  if (recipients.length === 0) throw new UsageError(`the age recipients of stack ${opts.stack} are not known offline (its ageKey is encrypted in the stack file): pass --recipient age1...`);
  // The backup there now is read before the cluster: its keys are kept, so it must open.
  const before = await existingBackup(out, flag, config.ageKey.set);

  const kc = kubeConfigFor(opts.kubeconfig, kubernetes, io.projectDir, io.env);
  io.stderr(`► backup-keys ${opts.stack}: reading the sealing keys of ${sealed.namespace}/${sealed.controllerName} in ${kc.getCurrentCluster()?.server}\n`);
  let cluster: SealingKey[];
  try {
    cluster = await readSealingKeys(kc, sealed.namespace, sealed.controllerName);
  } catch (e) {
    if (e instanceof ClusterError) {
      io.stderr(`✗ ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  io.stderr(`✔ ${plural(cluster.length, "sealing key")}: ${cluster.map((k) => k.name).join(", ")}\n`);
  const foreign = cluster.filter((k) => !isSealingKeyName(k.name)).map((k) => k.name);
  if (foreign.length > 0) {
    io.stderr(
      `✗ ${foreign.join(", ")} in ${sealed.namespace} ${foreign.length === 1 ? "is a sealing key whose name is" : "are sealing keys whose names are"} not the controller's (${SEALING_KEY_NAME_HINT}): ` +
        `a backup holds only such names, so that restoring it cannot replace another Secret. Copy each under such a name (same data and label) and run backup-keys again; nothing was written\n`,
    );
    return 1;
  }

  const merge = mergeSealingKeys(before?.keys ?? [], cluster, opts.prune === true);
  if (merge.differing.length > 0 && !opts.prune) {
    io.stderr(
      `✗ ${merge.differing.join(", ")}: the backup's key and the cluster's differ under the same name; is this the cluster the backup is for? ` +
        `backup-keys does not replace a key in the backup (--prune makes the backup exactly the cluster's keys, and says what it drops); nothing was written\n`,
    );
    return 1;
  }
  if (before && merge.notInCluster.length > 0) {
    const held = before.keys.length - merge.notInCluster.length;
    io.stderr(`! the cluster holds ${held} of the ${plural(before.keys.length, "sealing key")} in the backup: is it a rebuilt cluster not yet restored, or another cluster?\n`);
    if (!opts.prune) io.stderr(`  the backup keeps ${merge.notInCluster.join(", ")} (--prune would drop ${merge.notInCluster.length === 1 ? "it" : "them"})\n`);
  }
  if (merge.dropped.length > 0) {
    io.stderr(`! --prune: dropping ${plural(merge.dropped.length, "key")} from the backup: ${merge.dropped.join(", ")}; SealedSecrets sealed with ${merge.dropped.length === 1 ? "it" : "them"} will not open after a restore from this backup\n`);
  }
  const lostRecipients = before?.recipients.filter((r) => !recipients.includes(r)) ?? [];
  if (lostRecipients.length > 0) io.stderr(`! no longer encrypted to ${lostRecipients.join(", ")} (neither the stack's recipient nor a --recipient)\n`);

  if (before && sameKeys(before.keys, merge.keys) && before.recipients.length === recipients.length && lostRecipients.length === 0) {
    io.stdout(`✔ ${out} already holds these keys for ${recipients.join(", ")}: unchanged\n`);
    return 0;
  }
  const text = await writeSopsYaml([backupDocument(merge.keys, sealed.namespace) as Plain], { recipients, encryptedRegex: "^(data|stringData)$" });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  replaceFile(out, text, 0o600);
  const added = merge.added.length > 0 ? `, ${merge.added.length} new (${merge.added.join(", ")})` : "";
  io.stdout(`✔ wrote ${out}: ${plural(merge.keys.length, "key")}${added}, encrypted to ${recipients.join(", ")}\n`);
  if (typeof keysFile !== "string") io.stdout(`  set sealedSecrets.keysFile to it in stacks/Pulumi.${opts.stack}.yaml, and commit it: up restores these keys before the controller starts\n`);
  return 0;
}
