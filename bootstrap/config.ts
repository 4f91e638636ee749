/**
 * Stack config -> one typed, validated object. Pure: no Pulumi calls, so it runs the same in
 * `pulumi up`, in `render` and in tests. Every problem is collected and reported together, each
 * naming the config key and what is expected, and never the value of a secret.
 */
import { X509Certificate } from "node:crypto";
import { type ArgoCdConfig, checkArgoCdKeepsCa, readArgoCd } from "./config-argocd";
import {
  ConfigError,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  DURATION,
  type FileAccess,
  Problems,
  checkKnownKeys,
  describe,
  isObject,
  optBoolean,
  optString,
  parseRaw,
  readConfigFile,
} from "./config-fields";
import { type FluxConfig, checkRepoForFlux, readFlux } from "./config-flux";
import { type ExternalSecretsConfig, readExternalSecrets } from "./config-external-secrets";
import { type SealedSecretsConfig, readSealedSecrets } from "./config-sealed-secrets";
import { EXTERNAL_SECRETS, POD_SECURITY_LEVELS, type PodSecurityLevel, ROOT_APP } from "./defaults";
import { SecretString } from "./secret";
import { AgeIdentities, AgeIdentityError } from "./sops/age";

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

export type RepoCredentials =
  | { readonly kind: "ssh"; readonly sshPrivateKey: SecretString }
  | { readonly kind: "basic"; readonly username: string; readonly password: SecretString };

export { type ArgoCdConfig } from "./config-argocd";
export { type ConfigProblem, ConfigError, formatProblems, parseDuration } from "./config-fields";
export { type FluxConfig } from "./config-flux";
export { type ExternalSecretsConfig } from "./config-external-secrets";
export { type SealedSecretsConfig } from "./config-sealed-secrets";


/**
 * `repo.caFile`, read and checked: the CA certificate(s) the reconciler trusts for the Git
 * server's HTTPS certificate. Public (a certificate, never a key), but not logged either.
 */
export interface RepoCaCertificates {
  /** The resolved path of `repo.caFile`. */
  readonly file: string;
  /** The file's certificates, each re-encoded as PEM; any text around them is dropped. */
  readonly pem: string;
  /** How many certificates `pem` holds. */
  readonly count: number;
}

export interface RepoConfig {
  readonly url: string;
  readonly transport: "https" | "ssh";
  readonly revision: string;
  readonly path: string;
  readonly credentials?: RepoCredentials;
  /**
   * `known_hosts` lines for the SSH host. Argo CD knows github.com, gitlab.com and a few more
   * itself; Flux knows none, so with reconciler flux an SSH URL requires them.
   */
  readonly sshKnownHosts?: string;
  /**
   * `repo.caFile`: the CA that signed the Git server's HTTPS certificate (https URLs only). Argo CD
   * gets it as `configs.tls.certificates.<host>`, Flux as `ca.crt` in the GitRepository's Secret.
   */
  readonly caCertificates?: RepoCaCertificates;
}

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
const REPO_KEYS = ["url", "revision", "path", "credentials", "sshKnownHosts", "caFile"];
const CREDENTIAL_KEYS = ["sshPrivateKey", "username", "password"];
const ROOT_APP_KEYS = ["name", "project", "syncPolicy"];
const SYNC_POLICY_KEYS = ["prune", "selfHeal", "retry"];
const RETRY_KEYS = ["limit", "backoff"];
const BACKOFF_KEYS = ["duration", "factor", "maxDuration"];

/**
 * Validates a Git repository URL for Argo CD: `https://host/org/repo.git`,
 * `ssh://git@host[:port]/org/repo.git` or scp-style `git@host:org/repo.git`. Returns an error
 * message or the transport. Never echoes user info (it may hold a token).
 */
export function checkRepoUrl(url: string): { transport: "https" | "ssh" } | { error: string } {
  if (/^\s|\s$/.test(url)) return { error: "has leading or trailing white space" };
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // scp-style: user@host:path. A slash where the colon belongs is the usual mistake.
    const scp = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/.exec(url);
    if (scp) {
      if (/^\d+\//.test(scp[3])) {
        return { error: `scp-style URLs cannot carry a port; use ssh://${scp[1]}@${scp[2]}:<port>/<path>` };
      }
      return { transport: "ssh" };
    }
    if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+\//.test(url)) {
      return {
        error: "looks like an scp-style SSH URL with '/' after the host; write git@host:org/repo.git or ssh://git@host/org/repo.git",
      };
    }
    return { error: "expected https://host/org/repo.git, ssh://git@host/org/repo.git or git@host:org/repo.git" };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    if (scheme === "ssh" && /^ssh:\/\/[^/]*:[^0-9/]/.test(url)) {
      return { error: "mixes ssh:// with an scp-style ':' path; write ssh://git@host/org/repo.git (or git@host:org/repo.git)" };
    }
    return { error: "is not a valid URL" };
  }
  if (parsed.username || parsed.password) {
    if (scheme !== "ssh" || parsed.password) {
      return { error: "carries credentials in the URL; put them in repo.credentials (as a secret) instead" };
    }
  }
  if (scheme === "http") {
    return { error: "uses plain http, which sends repository credentials unencrypted; use https://" };
  }
  if (scheme !== "https" && scheme !== "ssh") {
    return { error: `unsupported scheme ${scheme}://; expected https:// or ssh://` };
  }
  if (!parsed.hostname) return { error: "has no host" };
  if (parsed.pathname === "/" || parsed.pathname === "") return { error: "has no repository path after the host" };
  if (scheme === "ssh" && !parsed.username) {
    return { error: "ssh:// URL has no user; most Git hosts expect ssh://git@host/org/repo.git" };
  }
  return { transport: scheme };
}

/** Checks a repository sub-path: relative, no `..`, no leading slash. */
function checkRepoPath(problems: Problems, key: string, p: string | undefined): string {
  if (p === undefined || p.trim() === "") {
    problems.add(key, "is required: the folder in the repository that holds the root app's manifests (e.g. apps or clusters/prod)");
    return "";
  }
  if (p.startsWith("/")) problems.add(key, `must be relative to the repository root, got ${describe(p)}`);
  else if (p.split("/").includes("..")) problems.add(key, `must stay inside the repository (no '..'), got ${describe(p)}`);
  return p.replace(/\/+$/, "") || ".";
}

/** A deploy key as the reconciler gets it: trimmed, one final newline. */
export const sshPrivateKeyText = (key: string): string => `${key.trim()}\n`;

/** `repo.credentials.password`: a message when it cannot be one. */
export function checkPassword(password: string): string | undefined {
  return password === "" ? "is required with username (a password or access token)" : undefined;
}

export function checkSshPrivateKey(key: string): string | undefined {
  const text = key.trim();
  if (/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-|sk-)/.test(text)) {
    return "holds an SSH public key; expected the private key (the OpenSSH or PEM private key block, not the .pub line)";
  }
  const begin = /^-----BEGIN ([A-Z ]*)PRIVATE KEY-----/.exec(text);
  if (!begin || !/-----END [A-Z ]*PRIVATE KEY-----$/.test(text)) {
    return "is not a PEM/OpenSSH private key (expected -----BEGIN ... PRIVATE KEY----- ... -----END ... PRIVATE KEY-----)";
  }
  if (begin[1] === "ENCRYPTED " || /Proc-Type: 4,ENCRYPTED/.test(text)) {
    return "is protected by a passphrase, which neither Argo CD nor Flux can use; give an unencrypted deploy key";
  }
  if (begin[1] === "OPENSSH ") {
    const body = text.split("\n").slice(1, -1).join("");
    const raw = Buffer.from(body, "base64");
    const magic = "openssh-key-v1\0";
    if (raw.subarray(0, magic.length).toString("latin1") !== magic) return "is not a valid OpenSSH private key";
    const cipherLen = raw.readUInt32BE(magic.length);
    const cipher = raw.subarray(magic.length + 4, magic.length + 4 + cipherLen).toString("latin1");
    if (cipher !== "none") {
      return "is protected by a passphrase, which neither Argo CD nor Flux can use; give an unencrypted deploy key";
    }
  }
  return undefined;
}

/**
 * The `repo` block. `caPem`: the CA certificates as text, under the key a component's args name
 * them by, instead of the `caFile` the stack config names (read through `files`).
 */
export function readRepo(
  problems: Problems,
  raw: unknown,
  secret: boolean,
  undecrypted: boolean,
  files: FileAccess,
  caPem?: { readonly key: string; readonly text: string },
): RepoConfig | undefined {
  if (raw === undefined) {
    problems.add("repo", "is required: {url, revision, path} of the Git repository the cluster is rebuilt from");
    return undefined;
  }
  if (!isObject(raw)) {
    problems.add("repo", `expected an object {url, revision, path, credentials?}, got ${describe(raw)}`);
    return undefined;
  }
  checkKnownKeys(problems, "repo", raw, REPO_KEYS);
  const url = optString(problems, "repo.url", raw.url);
  let transport: "https" | "ssh" = "https";
  if (url === undefined || url === "") {
    problems.add("repo.url", "is required: the Git URL the reconciler syncs from (https://... or ssh://git@...)");
  } else {
    const checked = checkRepoUrl(url);
    if ("error" in checked) problems.add("repo.url", checked.error);
    else transport = checked.transport;
  }
  const revision = optString(problems, "repo.revision", raw.revision) ?? "HEAD";
  if (/\s/.test(revision) || revision === "") problems.add("repo.revision", `expected a branch, tag or commit, got ${describe(revision)}`);
  const repoPath = checkRepoPath(problems, "repo.path", optString(problems, "repo.path", raw.path));
  const sshKnownHosts = optString(problems, "repo.sshKnownHosts", raw.sshKnownHosts);
  if (sshKnownHosts !== undefined && transport !== "ssh") {
    problems.add("repo.sshKnownHosts", "only applies to ssh:// or git@host: URLs");
  } else if (sshKnownHosts !== undefined) {
    const bad = checkKnownHosts(sshKnownHosts);
    if (bad) problems.add("repo.sshKnownHosts", bad);
  }
  const credentials = readCredentials(problems, raw.credentials, transport, secret, undecrypted);
  const sshUrl = url !== undefined && transport === "ssh";
  if (caPem && sshUrl) caOverSsh(problems, caPem.key);
  const caCertificates = caPem ? readRepoCa(problems, caPem.key, caPem.text) : readRepoCaFile(problems, raw.caFile, sshUrl, files);
  return { url: url ?? "", transport, revision, path: repoPath, credentials, sshKnownHosts, caCertificates };
}

/**
 * `repo.caFile`: a PEM file with the CA certificate(s) that sign the Git server's HTTPS
 * certificate, resolved like `ageKeyFile`. Meaningless with an SSH URL, which says so.
 */
function readRepoCaFile(problems: Problems, raw: unknown, sshUrl: boolean, files: FileAccess): RepoCaCertificates | undefined {
  const given = optString(problems, "repo.caFile", raw);
  if (given === undefined) return undefined;
  const expected = "a PEM file with the CA certificate(s) that sign the Git server's HTTPS certificate";
  if (given.trim() === "") {
    problems.add("repo.caFile", `is empty; expected a path (relative to the project, or ~/...) to ${expected}`);
    return undefined;
  }
  if (sshUrl) caOverSsh(problems, "repo.caFile");
  const read = readConfigFile(problems, files, "repo.caFile", given, expected);
  if (!read) return undefined;
  return readRepoCa(problems, "repo.caFile", read.text, read.file);
}

function caOverSsh(problems: Problems, key: string): void {
  problems.add(
    key,
    "only applies to an https:// repo.url: it is the CA of the Git server's HTTPS certificate, and over SSH the server is checked with repo.sshKnownHosts instead; remove it or use the https:// URL",
  );
}

/** The CA certificate(s) under `key`; `file`, where they were read from, is named in messages. */
function readRepoCa(problems: Problems, key: string, text: string, file?: string): RepoCaCertificates | undefined {
  const parsed = parseCaCertificates(text);
  if ("error" in parsed) {
    problems.add(key, file ? `${file} ${parsed.error}` : parsed.error);
    return undefined;
  }
  return { file: file ?? key, ...parsed };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

/**
 * Reads PEM text that must hold one or more X.509 certificates and nothing else: a private key
 * is refused (the cluster must never receive one through a public setting), as is any other PEM
 * block. Messages never quote the text. Returns the certificates, each re-encoded as PEM.
 */
export function parseCaCertificates(text: string): { pem: string; count: number } | { error: string } {
  if (/PRIVATE KEY/.test(text)) {
    return { error: "holds a private key (a PRIVATE KEY block); give only the CA certificate(s), never a key: delete the key from the file or point at the certificate file" };
  }
  const certificates: X509Certificate[] = [];
  let index = 0;
  for (const [block, label] of text.matchAll(PEM_BLOCK)) {
    index++;
    if (label !== "CERTIFICATE") return { error: `has a ${label} block (block ${index}); expected only CERTIFICATE blocks` };
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      return { error: `block ${index} is not a valid X.509 certificate (a damaged or truncated copy?)` };
    }
  }
  if ((text.match(/-----BEGIN /g) ?? []).length > index) {
    return { error: "has a -----BEGIN ...----- line without its matching -----END ...----- line (a truncated copy?)" };
  }
  if (certificates.length === 0) {
    // A DER file read as text shows replacement characters or NULs.
    if (/[\uFFFD\u0000]/.test(text)) {
      return { error: "is not PEM text (DER?); convert it: openssl x509 -inform der -in <file> -out ca.pem" };
    }
    return { error: "holds no certificate; expected one or more -----BEGIN CERTIFICATE----- blocks (PEM), such as the CA's ca.crt" };
  }
  return { pem: certificates.map((c) => c.toString()).join(""), count: certificates.length };
}

/**
 * Checks `known_hosts` text line by line: `host[,host...] key-type base64-key [comment]`, or a
 * `@cert-authority` / `@revoked` marker line. Lines are not quoted back (they are long).
 */
export function checkKnownHosts(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  let entries = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const [, type, key] = fields[0].startsWith("@") ? fields.slice(1) : fields;
    if (!type || !key || !/^(ssh-|ecdsa-sha2-|sk-)/.test(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) {
      return `line ${i + 1} is not a known_hosts entry; expected "host key-type base64-key" lines, as ssh-keyscan <host> prints them`;
    }
    entries++;
  }
  return entries === 0 ? "holds no known_hosts entry; expected the lines ssh-keyscan <host> prints" : undefined;
}

function readCredentials(
  problems: Problems,
  raw: unknown,
  transport: "https" | "ssh",
  secret: boolean,
  undecrypted: boolean,
): RepoCredentials | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) {
    problems.add("repo.credentials", "expected an object {sshPrivateKey} or {username, password}");
    return undefined;
  }
  checkKnownKeys(problems, "repo.credentials", raw, CREDENTIAL_KEYS);
  if (!secret) {
    problems.add(
      "repo.credentials",
      "must be stored as a secret: pulumi config set --secret --path 'repo.credentials.password' (or sshPrivateKey)",
    );
  }
  const hasSsh = raw.sshPrivateKey !== undefined;
  const hasBasic = raw.username !== undefined || raw.password !== undefined;
  if (hasSsh && hasBasic) {
    problems.add("repo.credentials", "give either sshPrivateKey or username + password, not both");
    return undefined;
  }
  if (hasSsh) {
    if (transport !== "ssh") {
      problems.add("repo.credentials.sshPrivateKey", "is set but repo.url is https://; use an ssh:// URL or username + password");
    }
    if (typeof raw.sshPrivateKey !== "string") {
      problems.add("repo.credentials.sshPrivateKey", "expected the private key as a string");
      return undefined;
    }
    const bad = undecrypted ? undefined : checkSshPrivateKey(raw.sshPrivateKey);
    if (bad) problems.add("repo.credentials.sshPrivateKey", bad);
    return { kind: "ssh", sshPrivateKey: new SecretString(sshPrivateKeyText(raw.sshPrivateKey)) };
  }
  if (transport === "ssh") {
    problems.add("repo.credentials", "repo.url is an SSH URL: give sshPrivateKey (username/password only work over https)");
  }
  const username = optString(problems, "repo.credentials.username", raw.username);
  if (!username) problems.add("repo.credentials.username", "is required with password (for tokens, GitHub accepts any non-empty user)");
  const password = typeof raw.password === "string" ? raw.password : "";
  const badPassword = checkPassword(password);
  if (badPassword) {
    problems.add("repo.credentials.password", badPassword);
    return undefined;
  }
  return { kind: "basic", username: username ?? "", password: new SecretString(password) };
}

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

/** Namespaces the operator and its store credentials must not share: the cluster's own, and the bootstrap's keys'. */
const SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"];

/**
 * The operator gets a namespace of its own: its credentials must not sit beside the reconciler's
 * `sops-age` key and repository Secret, the sealing keys, or the cluster's system objects.
 */
export function checkExternalSecretsNamespace(problems: Problems, namespace: string, reconcilerNs: string | undefined, sealedNs: string | undefined): void {
  const shared = SYSTEM_NAMESPACES.includes(namespace) ? "a system namespace" : namespace === reconcilerNs ? "the reconciler's namespace" : namespace === sealedNs ? "the Sealed Secrets namespace" : undefined;
  if (shared) problems.add("externalSecrets.namespace", `${namespace} is ${shared}; give the operator and its store credentials a namespace of their own (default ${EXTERNAL_SECRETS.namespace})`);
}

