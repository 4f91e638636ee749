/**
 * The `repo` block: the Git repository URL, revision, path, credentials, known hosts and CA. The
 * stack config and the components' args are read and checked here with the same messages.
 */
import { X509Certificate } from "node:crypto";
import { type FileAccess, Problems, checkKnownKeys, describe, isObject, optString, readConfigFile } from "./fields";
import { SecretString } from "./secret";

export type RepoCredentials =
  | { readonly kind: "ssh"; readonly sshPrivateKey: SecretString }
  | { readonly kind: "basic"; readonly username: string; readonly password: SecretString };

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

const REPO_KEYS = ["url", "revision", "path", "credentials", "sshKnownHosts", "caFile"];
const CREDENTIAL_KEYS = ["sshPrivateKey", "username", "password"];

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
