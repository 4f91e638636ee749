/**
 * SOPS checking: our own SOPS reader and verifier (age + AES-256-GCM + MAC), per file and
 * repository-wide. Nothing exported here returns a decrypted value; the one internal way to
 * read plaintext is `./internal/decrypt`, deliberately not exported.
 */
export { AgeIdentities, AgeIdentityError } from "../../components/settings/age-identities";
export { type CheckOutcome, type CheckRepositoryOptions, type RepositoryCheckReport, checkRepository, toIdentities } from "./check";
export { formatFileLine, formatJsonReport, formatTextReport } from "./report";
export { RepositoryError, isGitUrl, redactUrl } from "./repository";
export type {
  SopsFileResult,
  SopsFormat,
  SopsMacMismatch,
  SopsMalformed,
  SopsNotAge,
  SopsNotSops,
  SopsOk,
  SopsResultKind,
  SopsSuspicious,
  SopsTamperedValue,
  SopsTooBig,
  SopsWrongKey,
} from "./types";
export { RESULT_LABELS, failsTheCheck, sopsDecrypts } from "./types";
export { verifySopsContent, verifySopsFile } from "./verify";
