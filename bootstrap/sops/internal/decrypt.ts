/**
 * @internal The one way to get plaintext out of the SOPS verifier. The drill uses it to read a
 * file's unencrypted metadata (a Secret's kind, name and namespace); tests use it to know which
 * strings must never appear in output. Never log, print or return what it gives to a user.
 * Deliberately not exported from `bootstrap/sops/index.ts`.
 */
import type { AgeIdentities } from "../../../components/settings/age-identities";
import type { SopsFileResult } from "../types";
import { type DecryptedDocument, examineSopsFile } from "../verify";

export type { DecryptedDocument } from "../verify";

/**
 * Verifies and decrypts a SOPS file's content. The documents are returned only when the file
 * verifies (`result.kind === "ok"`); maps are plain objects in file order, integers beyond
 * 2^53 are bigints, timestamps RFC 3339 strings, encrypted comments left out.
 */
export async function decryptSopsContentInternal(
  content: Buffer,
  path: string,
  identities: AgeIdentities,
): Promise<{ readonly result: SopsFileResult; readonly documents: readonly DecryptedDocument[] | undefined }> {
  const examined = await examineSopsFile(content, path, identities, true);
  return { result: examined.result, documents: examined.result.kind === "ok" ? examined.documents : undefined };
}
