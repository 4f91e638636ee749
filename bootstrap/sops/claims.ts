/**
 * Which files the check judges. A file that reads as a SOPS file is judged. A file that does
 * not (it does not parse, or has no usable `sops` metadata) is judged only when it shows it was
 * meant to be one, since sops (and so KSOPS or kustomize-controller) will refuse it at sync
 * time: its name says so, it holds values sops wrote, or it carries sops metadata that is cut
 * off or damaged. Anything else (a README that shows an `ENC[...]` example, a chart's
 * `values.yaml` with a `sops:` setting, a plain manifest) is not a SOPS file and is not judged.
 */
import * as path from "node:path";

/** How sops picks a store for a path (`cmd/sops/formats`): by extension, else binary. */
export function storeForName(fileName: string): "yaml" | "json" | "dotenv" | "ini" | "binary" {
  if (fileName.endsWith(".yaml") || fileName.endsWith(".yml")) return "yaml";
  if (fileName.endsWith(".json")) return "json";
  if (fileName.endsWith(".env")) return "dotenv";
  if (fileName.endsWith(".ini")) return "ini";
  return "binary";
}

const ENC_VALUE = "ENC[AES256_GCM,data:";
const AGE_ARMOR = "-----BEGIN AGE ENCRYPTED FILE-----";

/** A name that says the file is encrypted: `db.sops.yaml`, `app.enc.env`, `blob.enc`. */
export function nameClaims(filePath: string): boolean {
  const base = path.posix.basename(filePath).toLowerCase();
  if (base === ".sops.yaml" || base === ".sops.yml") return false;
  return /\.(?:sops|enc)(?:\.[^.]+)?$/.test(base);
}

/** sops metadata in the text, also when it is cut off or does not parse. */
function metadataInText(store: ReturnType<typeof storeForName>, text: string): boolean {
  const keyed = /^[ \t"]*(?:mac|lastmodified)"?[ \t]*[:=]/m.test(text) || text.includes(AGE_ARMOR);
  switch (store) {
    case "yaml":
      return /^sops:/m.test(text) && keyed;
    case "dotenv":
      return /^sops_(?:mac|lastmodified|version|age__list_|pgp__list_|kms__list_|key_groups__list_)[^=\n]*=/m.test(text);
    case "ini":
      return /^[ \t]*\[sops\][ \t]*\r?$/m.test(text);
    default:
      return /"sops"[ \t\r\n]*:/.test(text) && keyed;
  }
}

/**
 * Why a file that did not read as a SOPS file must have been meant as one, or undefined when
 * nothing says so. `text` is the file's text (or its start and end, when big). `ruleMatch`
 * names a `.sops.yaml` creation rule whose path_regex covers the file: that counts only for a
 * file that mentions sops and does not even parse, since broad rules (`.*\.yaml$`) cover plain
 * manifests, KSOPS generators and Helm templates too.
 */
export function sopsClaim(filePath: string, text: string, ruleMatch: string | undefined, unreadable: boolean): string | undefined {
  if (nameClaims(filePath)) return `its name (${path.posix.basename(filePath)}) says it is a SOPS file`;
  const store = storeForName(filePath);
  // sops reads any other file as a binary-store JSON envelope: text that is not JSON is not one,
  // unless it holds the envelope's encrypted value (a damaged envelope).
  const readable = store !== "binary" || text.trimStart().startsWith("{") || /"data":[ \t\r\n]*"ENC\[AES256_GCM,data:/.test(text);
  if (!readable) return undefined;
  const covered = ruleMatch ? ` and ${ruleMatch} covers it` : "";
  if (text.includes(ENC_VALUE)) return `it holds values sops encrypted (ENC[AES256_GCM,…])${covered}`;
  if (metadataInText(store, text)) return `it has sops metadata${covered}`;
  if (ruleMatch && unreadable && /sops/i.test(text)) return `${ruleMatch} covers it and it mentions sops`;
  return undefined;
}
