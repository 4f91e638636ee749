/** Sealing keys and key backups for the Sealed Secrets tests: keys made by openssl, backups written by our SOPS writer. */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SecretString } from "../../components/settings/secret";
import { type SealingKey, backupDocument } from "../../components/settings/sealing-keys";
import { type Plain, writeSopsYaml } from "../../bootstrap/sops/writer";

/** An RSA key and its self-signed certificate, as the controller makes them (2048 bits here, for speed). */
export function makeSealingKey(name: string): SealingKey {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealing-key-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "tls.key"), "-out", path.join(dir, "tls.crt"), "-subj", "/O=sealed-secret", "-days", "3650"], { stdio: "ignore" });
    return { name, certificate: fs.readFileSync(path.join(dir, "tls.crt"), "utf8"), privateKey: new SecretString(fs.readFileSync(path.join(dir, "tls.key"), "utf8")) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const publicKeyOf = (k: SealingKey): crypto.KeyObject => new crypto.X509Certificate(k.certificate).publicKey;

/** A SOPS-encrypted backup of `keys` to `recipients`, as backup-keys writes it. */
export async function backupText(keys: readonly SealingKey[], recipients: readonly string[], namespace = "kube-system"): Promise<string> {
  return writeSopsYaml([backupDocument(keys, namespace) as Plain], { recipients, encryptedRegex: "^(data|stringData)$" });
}
