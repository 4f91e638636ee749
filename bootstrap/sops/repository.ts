/**
 * The files of a GitOps repository as they are at the revision that will be deployed: a local
 * directory as it is on disk, a local Git work tree at a revision (read from Git objects, never
 * from the working tree), or a Git URL cloned shallowly into a temporary directory that is
 * removed afterwards (also when the read is interrupted). Only files that could be SOPS files
 * (text mentioning `sops`, under the size limit), `.sops.yaml` configs, possible SealedSecrets
 * and small GitOps manifests (kustomizations, Applications, Flux Kustomizations) are kept in
 * memory; Git blobs are streamed one at a time, so a big file that is none of these costs time,
 * not memory. Git credentials reach `git` through its environment, never its arguments.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fsSync from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { nameClaims, sopsClaim, storeForName } from "./claims";
import { type SopsConfig, coveringRule, parseSopsConfig } from "./sops-config";

/** Files bigger than this are not read; one that may be a SOPS file is reported, never passed. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;
/** GitOps manifests (kustomizations, Applications) bigger than this are not followed by the scope walk. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
const BINARY_SNIFF_BYTES = 8000;
/** A Git blob up to this size is kept while it streams in; a bigger one is read again only if it is wanted. */
const KEEP_WHILE_STREAMING_BYTES = 4 * 1024 * 1024;

export interface RepositoryFile {
  /** Relative to the repository root, `/`-separated. */
  readonly path: string;
  readonly content: Buffer;
}

export interface RepositorySnapshot {
  /** The source as given, with any credentials in a URL removed. */
  readonly source: string;
  /** The commit read, when the files came from Git objects. */
  readonly commit: string | undefined;
  /** Files that may be SOPS files. */
  readonly candidates: readonly RepositoryFile[];
  /** Files over the size limit that are or may be SOPS files: reported as too big, never passed. */
  readonly oversized: readonly { readonly path: string; readonly bytes: number }[];
  /** YAML or JSON files that may hold Bitnami SealedSecrets. */
  readonly sealed: readonly RepositoryFile[];
  /** YAML or JSON files that may hold External Secrets Operator objects (stores, ExternalSecrets). */
  readonly external: readonly RepositoryFile[];
  /** `.sops.yaml` files (and ignored `.sops.yml` ones). */
  readonly configs: readonly RepositoryFile[];
  /**
   * YAML and JSON files up to {@link MAX_MANIFEST_BYTES} that may be kustomizations, KSOPS
   * generators, Argo CD Applications or Flux Kustomizations and GitRepositories: what the scope
   * walk follows.
   */
  readonly manifests: readonly RepositoryFile[];
  /** Every file path seen (after skipping `.git`), sorted. */
  readonly paths: readonly string[];
  /** All file paths seen (after skipping `.git`). */
  readonly fileCount: number;
  /** Files not read: too big, binary, symbolic links, submodules. */
  readonly skipped: number;
}

/** A source that cannot be read (no such path, clone failed, unknown revision). */
export class RepositoryError extends Error {}

/** The read was stopped (Ctrl-C): `git` was ended and the temporary clone removed. */
export class ReadInterrupted extends Error {
  constructor() {
    super("interrupted");
  }
}

/** Removes `user:password@` from URLs, so that messages never show credentials. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1***@");
}

/** Whether `source` is a Git URL rather than a local path. */
export function isGitUrl(source: string): boolean {
  return /^(?:https?|ssh|git|file):\/\//i.test(source) || /^[\w.-]+@[\w.-]+:/.test(source);
}

/**
 * Credentials for reading a private repository: they reach `git` through its environment
 * (a credential helper that reads environment variables, or `GIT_SSH_COMMAND` with a key file
 * only this user can read), never through its arguments.
 */
export type GitCredentials =
  | { readonly kind: "basic"; readonly username: string; readonly password: { reveal(): string } }
  | { readonly kind: "ssh"; readonly sshPrivateKey: { reveal(): string }; readonly knownHosts?: string };

/**
 * An http(s) URL's `user:password@` moved out of the URL: git gets the bare URL and the
 * credentials through a helper. Other URLs are returned as they are (an SSH user is no secret).
 */
export function splitUrlCredentials(url: string): { readonly url: string; readonly credentials?: GitCredentials } {
  const m = /^(https?:\/\/)([^/@\s]*)@(.*)$/is.exec(url);
  if (!m) return { url };
  const colon = m[2].indexOf(":");
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const username = decode(colon < 0 ? m[2] : m[2].slice(0, colon));
  const password = colon < 0 ? "" : decode(m[2].slice(colon + 1));
  return { url: m[1] + m[3], credentials: { kind: "basic", username, password: { reveal: () => password } } };
}

const GIT_USERNAME_VAR = "GITOPS_BOOTSTRAP_GIT_USERNAME";
const GIT_PASSWORD_VAR = "GITOPS_BOOTSTRAP_GIT_PASSWORD";
/**
 * A credential helper run by git's shell: `printf` is a shell builtin, so the password goes from
 * the environment to git's pipe without being any process's argument.
 */
const ENV_CREDENTIAL_HELPER =
  `!f() { test "$1" = get && printf 'username=%s\\npassword=%s\\n' "$${GIT_USERNAME_VAR}" "$${GIT_PASSWORD_VAR}"; }; f`;

/** Adds `key=value` settings to git's config through `GIT_CONFIG_COUNT` (after any the caller's environment has). */
function withGitConfig(env: NodeJS.ProcessEnv, settings: readonly (readonly [string, string])[]): NodeJS.ProcessEnv {
  const given = Number(env.GIT_CONFIG_COUNT ?? "0");
  const start = Number.isInteger(given) && given > 0 ? given : 0;
  const out: NodeJS.ProcessEnv = { ...env, GIT_CONFIG_COUNT: String(start + settings.length) };
  settings.forEach(([key, value], i) => {
    out[`GIT_CONFIG_KEY_${start + i}`] = key;
    out[`GIT_CONFIG_VALUE_${start + i}`] = value;
  });
  return out;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** The environment that gives `git` the credentials; an SSH key goes into `dir` (mode 0600, in a 0700 folder). */
function credentialEnv(credentials: GitCredentials | undefined, dir: string): NodeJS.ProcessEnv {
  if (!credentials) return {};
  if (credentials.kind === "basic") {
    // The empty value first drops the user's own helpers: none is asked, and none stores the token.
    const env = withGitConfig(process.env, [["credential.helper", ""], ["credential.helper", ENV_CREDENTIAL_HELPER]]);
    return { ...env, [GIT_USERNAME_VAR]: credentials.username, [GIT_PASSWORD_VAR]: credentials.password.reveal() };
  }
  const keyFile = path.join(dir, "ssh-key");
  fsSync.writeFileSync(keyFile, credentials.sshPrivateKey.reveal(), { mode: 0o600, flag: "wx" });
  const options = ["-i", shellQuote(keyFile), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"];
  if (credentials.knownHosts) {
    const hostsFile = path.join(dir, "known_hosts");
    fsSync.writeFileSync(hostsFile, credentials.knownHosts, { mode: 0o600, flag: "wx" });
    options.push("-o", shellQuote(`UserKnownHostsFile=${hostsFile}`), "-o", "StrictHostKeyChecking=yes");
  }
  return { GIT_SSH_COMMAND: `ssh ${options.join(" ")}` };
}

function isConfigName(name: string): boolean {
  return name === ".sops.yaml" || name === ".sops.yml";
}

/** What a cheap look at a file's bytes tells: enough to decide whether to keep it. */
export interface Sniffed {
  /** A NUL in the first 8000 bytes, as Git decides. */
  readonly binary: boolean;
  /** `sops` or an encrypted value's start. */
  readonly mentionsSops: boolean;
  readonly mentionsSealedSecret: boolean;
  readonly mentionsExternalSecrets: boolean;
  /** A kind the scope walk follows. */
  readonly mentionsGitOpsKind: boolean;
}

const SOPS_MARKERS = ["sops", "ENC[AES256_GCM"];
const GITOPS_MARKERS = ["Kustomization", "Application", "GitRepository", "ksops"];
const ESO_MARKER = "external-secrets.io";
const ALL_MARKERS = [...SOPS_MARKERS, "SealedSecret", ESO_MARKER, ...GITOPS_MARKERS];
const LONGEST_MARKER = Math.max(...ALL_MARKERS.map((m) => m.length));

/** Sniffs a file's bytes as they stream in: memory stays a few bytes per marker, whatever its size. @internal (exported for its test) */
export class Sniffer {
  private seen = 0;
  private nul = false;
  private tail = Buffer.alloc(0);
  private readonly found = new Set<string>();

  push(chunk: Buffer): void {
    if (this.seen < BINARY_SNIFF_BYTES && chunk.subarray(0, BINARY_SNIFF_BYTES - this.seen).includes(0)) this.nul = true;
    this.seen += chunk.length;
    // A marker split between two chunks is found in the seam: the previous tail and this head.
    const seam = Buffer.concat([this.tail, chunk.subarray(0, LONGEST_MARKER - 1)]);
    for (const marker of ALL_MARKERS) {
      if (!this.found.has(marker) && (chunk.includes(marker) || seam.includes(marker))) this.found.add(marker);
    }
    const keep = Math.min(LONGEST_MARKER - 1, chunk.length);
    this.tail = Buffer.concat([this.tail, chunk.subarray(chunk.length - keep)]).subarray(-(LONGEST_MARKER - 1));
  }

  result(): Sniffed {
    return {
      binary: this.nul,
      mentionsSops: SOPS_MARKERS.some((m) => this.found.has(m)),
      mentionsSealedSecret: this.found.has("SealedSecret"),
      mentionsExternalSecrets: this.found.has(ESO_MARKER),
      mentionsGitOpsKind: GITOPS_MARKERS.some((m) => this.found.has(m)),
    };
  }
}

function sniff(content: Buffer): Sniffed {
  const s = new Sniffer();
  s.push(content);
  return s.result();
}

/** A kustomization file by its name (kustomize reads these three). */
export function isKustomizationName(filePath: string): boolean {
  const base = path.posix.basename(filePath);
  return base === "kustomization.yaml" || base === "kustomization.yml" || base === "Kustomization";
}

const isYamlOrJson = (name: string): boolean => /\.(ya?ml|json)$/i.test(name);

/**
 * Decides, per file, what the snapshot keeps: from its path and size first (the `.sops.yaml`
 * rules are read before anything else), then from a sniff of its bytes.
 */
class Sorter {
  readonly candidates: RepositoryFile[] = [];
  readonly sealed: RepositoryFile[] = [];
  readonly external: RepositoryFile[] = [];
  readonly configs: RepositoryFile[] = [];
  readonly manifests: RepositoryFile[] = [];
  private parsedConfigs: SopsConfig[] = [];

  addConfig(file: RepositoryFile): void {
    this.configs.push(file);
    const parsed = parseSopsConfig(file.path, file.content);
    if (typeof parsed !== "string" && file.path.endsWith(".sops.yaml")) this.parsedConfigs.push(parsed);
  }

  /**
   * A plain text file in a store sops reads by its name, covered by a creation rule with a value
   * selector: the check decides from its content whether the rule would have encrypted it.
   */
  private ruleCovers(filePath: string): boolean {
    if (storeForName(filePath) === "binary" || this.parsedConfigs.length === 0) return false;
    const selector = coveringRule(filePath, this.parsedConfigs)?.rule.selector;
    return selector !== undefined && !selector.kind.includes("comment");
  }

  /** Whether the file is wanted, given its sniffed bytes. */
  wants(filePath: string, size: number, s: Sniffed): boolean {
    const name = path.posix.basename(filePath);
    if (nameClaims(filePath)) return true;
    if (s.binary) return false;
    if (s.mentionsSops || this.ruleCovers(filePath)) return true;
    if (isYamlOrJson(name) && (s.mentionsSealedSecret || s.mentionsExternalSecrets)) return true;
    return this.isManifest(filePath, size, s);
  }

  private isManifest(filePath: string, size: number, s: Sniffed): boolean {
    if (size > MAX_MANIFEST_BYTES || s.binary) return false;
    return isKustomizationName(filePath) || (isYamlOrJson(filePath) && s.mentionsGitOpsKind);
  }

  sorted(): Pick<RepositorySnapshot, "candidates" | "sealed" | "external" | "configs" | "manifests"> {
    return { candidates: this.candidates, sealed: this.sealed, external: this.external, configs: this.configs, manifests: this.manifests };
  }

  /** Files the check needs, from their full content. */
  add(file: RepositoryFile, s: Sniffed = sniff(file.content)): void {
    const name = path.posix.basename(file.path);
    if (nameClaims(file.path) || (!s.binary && (s.mentionsSops || this.ruleCovers(file.path)))) this.candidates.push(file);
    if (isYamlOrJson(name) && !s.binary && s.mentionsSealedSecret) this.sealed.push(file);
    if (isYamlOrJson(name) && !s.binary && s.mentionsExternalSecrets) this.external.push(file);
    if (this.isManifest(file.path, file.content.length, s)) this.manifests.push(file);
  }
}

/** Whether a file too big to read may be a SOPS file: by its name, or by its start and end when they can be read. */
function oversizedMayBeSops(filePath: string, edges: string | undefined): boolean {
  if (nameClaims(filePath)) return true;
  if (edges === undefined) return storeForName(filePath) !== "binary";
  return sopsClaim(filePath, edges, undefined, false) !== undefined;
}

function fileEdges(file: string, size: number): string {
  const edge = 64 * 1024;
  const fd = fsSync.openSync(file, "r");
  try {
    const head = Buffer.alloc(Math.min(edge, size));
    fsSync.readSync(fd, head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(edge, size));
    fsSync.readSync(fd, tail, 0, tail.length, size - tail.length);
    return `${head.toString("latin1")}\n${tail.toString("latin1")}`;
  } finally {
    fsSync.closeSync(fd);
  }
}

interface GitResult {
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly code: number;
}

interface GitOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Receives stdout as it arrives instead of collecting it. */
  readonly onStdout?: (chunk: Buffer) => void;
}

/**
 * Ends a `git` child and its own children (`git-remote-https` waits on the network and would
 * outlive git): SIGTERM to its process group, then SIGKILL if it is still there a moment later.
 */
function stopChild(child: ChildProcess): void {
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  signalGroup("SIGTERM");
  const hard = setTimeout(() => signalGroup("SIGKILL"), 2000);
  hard.unref();
  child.once("close", () => clearTimeout(hard));
}

function git(args: readonly string[], cwd: string, opts: GitOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new ReadInterrupted());
      return;
    }
    const child = spawn("git", args, {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", ...opts.env },
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      // With a stop signal, git and its helpers get a process group of their own, which the stop ends as a whole.
      detached: opts.signal !== undefined,
    });
    const onAbort = (): void => stopChild(child);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (d: Buffer) => (opts.onStdout ? opts.onStdout(d) : out.push(d)));
    child.stderr?.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => {
      opts.signal?.removeEventListener("abort", onAbort);
      reject(new RepositoryError(`cannot run git (${e.message}); install Git to check a revision or a URL`));
    });
    child.on("close", (code) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (opts.signal?.aborted) reject(new ReadInterrupted());
      else resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8"), code: code ?? 1 });
    });
    if (child.stdin) {
      // git may exit before reading all of it; that shows in its exit status, not as EPIPE.
      child.stdin.on("error", () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

async function gitOk(args: readonly string[], cwd: string, what: string, opts?: GitOptions): Promise<Buffer> {
  const r = await git(args, cwd, opts);
  if (r.code !== 0) {
    const first = redactUrl(r.stderr.trim().split("\n").filter((l) => l.trim() !== "").pop() ?? "");
    throw new RepositoryError(`${what}: ${first || `git exited with ${r.code}`}`);
  }
  return r.stdout;
}

interface TreeEntry {
  readonly mode: string;
  readonly type: string;
  readonly oid: string;
  readonly size: number;
  readonly path: string;
}

async function listTree(cwd: string, commit: string, signal: AbortSignal | undefined): Promise<TreeEntry[]> {
  const out = await gitOk(["ls-tree", "-r", "-z", "-l", commit], cwd, `cannot list the files of ${commit}`, { signal });
  const entries: TreeEntry[] = [];
  for (const record of out.toString("utf8").split("\0")) {
    if (record === "") continue;
    const tab = record.indexOf("\t");
    const [mode, type, oid, size] = record.slice(0, tab).split(/\s+/);
    entries.push({ mode, type, oid, size: size === "-" ? 0 : Number(size), path: record.slice(tab + 1) });
  }
  return entries;
}

/** Receives one blob's bytes as they stream in. */
interface BlobSink {
  chunk(bytes: Buffer): void;
  end(): void;
}

/**
 * Streams blobs through one `git cat-file --batch`: each blob's bytes go to its sink as they
 * arrive and are not collected here, so memory does not grow with the blobs' size.
 */
async function streamBlobs(
  cwd: string,
  oids: readonly string[],
  sinkFor: (oid: string, size: number) => BlobSink,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (oids.length === 0) return;
  let header: Buffer[] = [];
  let remaining = 0;
  let sink: BlobSink | undefined;
  let separator = false;
  const onStdout = (data: Buffer): void => {
    let pos = 0;
    while (pos < data.length) {
      if (sink) {
        const take = Math.min(remaining, data.length - pos);
        sink.chunk(data.subarray(pos, pos + take));
        remaining -= take;
        pos += take;
        if (remaining === 0) {
          sink.end();
          sink = undefined;
          separator = true;
        }
      } else if (separator) {
        pos++;
        separator = false;
      } else {
        const nl = data.indexOf(0x0a, pos);
        if (nl < 0) {
          header.push(Buffer.from(data.subarray(pos)));
          return;
        }
        const line = Buffer.concat([...header, data.subarray(pos, nl)]).toString("latin1");
        header = [];
        pos = nl + 1;
        const [oid, type, size] = line.split(" ");
        if (type === "missing" || size === undefined) continue;
        remaining = Number(size);
        const next = sinkFor(oid, remaining);
        if (remaining === 0) {
          next.end();
          separator = true;
        } else sink = next;
      }
    }
  };
  const input = oids.map((o) => o + "\n").join("");
  await gitOk(["cat-file", "--batch"], cwd, "cannot read the files from Git", { input, onStdout, signal });
}

/** Reads the given blobs whole (they are all wanted). */
async function readBlobs(cwd: string, oids: readonly string[], signal: AbortSignal | undefined): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  await streamBlobs(cwd, oids, (oid) => {
    const parts: Buffer[] = [];
    return { chunk: (b) => parts.push(Buffer.from(b)), end: () => blobs.set(oid, Buffer.concat(parts)) };
  }, signal);
  return blobs;
}

async function snapshotFromGit(
  cwd: string,
  commit: string,
  source: string,
  maxFileBytes: number,
  signal: AbortSignal | undefined,
): Promise<RepositorySnapshot> {
  const entries = await listTree(cwd, commit, signal);
  let skipped = 0;
  const readable: TreeEntry[] = [];
  const oversized: { path: string; bytes: number }[] = [];
  for (const e of entries) {
    const blob = e.type === "blob" && e.mode !== "120000";
    if (blob && e.size > maxFileBytes && oversizedMayBeSops(e.path, undefined)) oversized.push({ path: e.path, bytes: e.size });
    if (!blob || e.size > maxFileBytes) skipped++;
    else readable.push(e);
  }
  const sorter = new Sorter();
  // The creation rules first: they decide which plain files are candidates, by path.
  const configEntries = readable.filter((e) => isConfigName(path.posix.basename(e.path)));
  const configBlobs = await readBlobs(cwd, [...new Set(configEntries.map((e) => e.oid))], signal);
  for (const e of configEntries) {
    const content = configBlobs.get(e.oid);
    if (content) sorter.addConfig({ path: e.path, content });
  }
  // Every other blob is streamed once and sniffed; a small one is kept while it streams, a big
  // one only sniffed (and read again only if it turns out to be wanted).
  const others = readable.filter((e) => !isConfigName(path.posix.basename(e.path)));
  const pathsOf = new Map<string, TreeEntry[]>();
  for (const e of others) pathsOf.set(e.oid, [...(pathsOf.get(e.oid) ?? []), e]);
  const kept = new Map<string, { content?: Buffer; sniffed: Sniffed }>();
  await streamBlobs(cwd, [...pathsOf.keys()], (oid, size) => {
    const sniffer = new Sniffer();
    const parts: Buffer[] = [];
    const keep = size <= KEEP_WHILE_STREAMING_BYTES;
    return {
      chunk: (b) => {
        sniffer.push(b);
        if (keep) parts.push(Buffer.from(b));
      },
      end: () => {
        const sniffed = sniffer.result();
        const wanted = (pathsOf.get(oid) ?? []).some((e) => sorter.wants(e.path, size, sniffed));
        if (wanted) kept.set(oid, { content: keep ? Buffer.concat(parts) : undefined, sniffed });
      },
    };
  }, signal);
  const again = await readBlobs(cwd, [...kept].filter(([, k]) => k.content === undefined).map(([oid]) => oid), signal);
  for (const e of others) {
    const k = kept.get(e.oid);
    const content = k?.content ?? again.get(e.oid);
    if (k && content) sorter.add({ path: e.path, content }, k.sniffed);
  }
  const paths = entries.map((e) => e.path).sort(byPath);
  return { source, commit, ...sorter.sorted(), oversized, paths, fileCount: entries.length, skipped };
}

const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function resolveCommit(cwd: string, revision: string, signal?: AbortSignal): Promise<string> {
  const r = await git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${revision}^{commit}`], cwd, { signal });
  if (r.code !== 0) throw new RepositoryError(`revision ${JSON.stringify(revision)} is not a commit of the repository`);
  return r.stdout.toString("utf8").trim();
}

function snapshotFromDirectory(root: string, maxFileBytes: number): RepositorySnapshot {
  // Synchronous reads: for many small files they are several times faster than fs/promises.
  const files: { rel: string; full: string; size: number }[] = [];
  const paths: string[] = [];
  const oversized: { path: string; bytes: number }[] = [];
  let skipped = 0;
  const walk = (dir: string, rel: string): void => {
    const entries = fsSync.readdirSync(dir, { withFileTypes: true }).sort((a, b) => byPath(a.name, b.name));
    for (const entry of entries) {
      const childRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== ".git") walk(full, childRel);
        continue;
      }
      paths.push(childRel);
      // Symbolic links and special files are not followed.
      if (!entry.isFile()) {
        skipped++;
        continue;
      }
      const size = fsSync.statSync(full).size;
      if (size > maxFileBytes) {
        if (oversizedMayBeSops(childRel, fileEdges(full, size))) oversized.push({ path: childRel, bytes: size });
        skipped++;
        continue;
      }
      files.push({ rel: childRel, full, size });
    }
  };
  walk(root, "");
  const sorter = new Sorter();
  const isConfig = (f: { rel: string }): boolean => isConfigName(path.posix.basename(f.rel));
  for (const f of files.filter(isConfig)) sorter.addConfig({ path: f.rel, content: fsSync.readFileSync(f.full) });
  for (const f of files.filter((f) => !isConfig(f))) sorter.add({ path: f.rel, content: fsSync.readFileSync(f.full) });
  return { source: root, commit: undefined, ...sorter.sorted(), oversized, paths: paths.sort(byPath), fileCount: paths.length, skipped };
}

interface CloneOptions {
  readonly url: string;
  readonly revision: string | undefined;
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal | undefined;
}

async function cloneUrl({ url, revision, dir, env, signal }: CloneOptions): Promise<string> {
  const redacted = redactUrl(url);
  const opts = { env, signal };
  if (revision === undefined || !/^[0-9a-f]{7,64}$/i.test(revision)) {
    const shallow = ["clone", "--quiet", "--bare", "--depth", "1", ...(revision ? ["--branch", revision] : []), "--", url, dir];
    if ((await git(shallow, os.tmpdir(), opts)).code === 0) return resolveCommit(dir, "HEAD", signal);
  } else {
    await gitOk(["init", "--quiet", "--bare", dir], os.tmpdir(), "cannot create a temporary repository", { signal });
    const fetched = await git(["fetch", "--quiet", "--depth", "1", "--", url, revision], dir, opts);
    if (fetched.code === 0) return resolveCommit(dir, "FETCH_HEAD", signal);
  }
  // The server refuses shallow fetches of this revision (or it is not a branch or tag): full clone.
  await fs.rm(dir, { recursive: true, force: true });
  await gitOk(["clone", "--quiet", "--bare", "--", url, dir], os.tmpdir(), `cannot clone ${redacted}`, opts);
  return resolveCommit(dir, revision ?? "HEAD", signal);
}

export interface ReadRepositoryOptions {
  /** A local directory or a Git URL (https, ssh, git, file, or scp-like `git@host:org/repo`). */
  readonly source: string;
  /**
   * Branch, tag or commit. For a URL, the remote's default branch when absent; for a local Git
   * work tree, its files at this revision (from Git objects); a local directory without it is
   * read as it is on disk.
   */
  readonly revision?: string;
  /** Files bigger than this are not read (one that may be a SOPS file is reported). @default 256 MiB */
  readonly maxFileBytes?: number;
  /** A PEM file of CA certificates to trust when cloning an https URL (the stack's `repo.caFile`). */
  readonly caFile?: string;
  /**
   * Credentials for cloning a URL (the stack's `repo.credentials`); `user:token@` in an https
   * URL is taken out of it and used the same way. Neither ever reaches git's arguments.
   */
  readonly credentials?: GitCredentials;
  /** Stops the read: `git` is ended, the temporary clone removed, and {@link ReadInterrupted} thrown. */
  readonly signal?: AbortSignal;
}

/** Reads a repository; throws {@link RepositoryError} when it cannot, {@link ReadInterrupted} when stopped. */
export async function readRepository(opts: ReadRepositoryOptions): Promise<RepositorySnapshot> {
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const signal = opts.signal;
  if (isGitUrl(opts.source)) {
    const { url, credentials: fromUrl } = splitUrlCredentials(opts.source);
    // mkdtemp makes the folder 0700: an SSH key written into it is this user's alone.
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "gitops-bootstrap-check-"));
    try {
      // A private CA (repo.caFile) is what this clone trusts, as the reconciler will. Through the
      // environment, since GIT_SSL_CAINFO (often set machine-wide) would override http.sslCAInfo.
      const env = { ...credentialEnv(fromUrl ?? opts.credentials, tmp), ...(opts.caFile ? { GIT_SSL_CAINFO: opts.caFile } : {}) };
      const dir = path.join(tmp, "repo.git");
      const commit = await cloneUrl({ url, revision: opts.revision, dir, env, signal });
      return await snapshotFromGit(dir, commit, redactUrl(opts.source), maxFileBytes, signal);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }
  const root = path.resolve(opts.source);
  let stat;
  try {
    stat = await fs.stat(root);
  } catch {
    throw new RepositoryError(`${opts.source}: no such directory`);
  }
  if (!stat.isDirectory()) throw new RepositoryError(`${opts.source} is not a directory`);
  if (opts.revision === undefined) return snapshotFromDirectory(root, maxFileBytes);
  const inside = await git(["rev-parse", "--is-inside-work-tree"], root, { signal });
  if (inside.code !== 0 || inside.stdout.toString().trim() !== "true") {
    throw new RepositoryError(`${opts.source} is not a Git work tree, so --revision ${opts.revision} cannot be read there`);
  }
  const commit = await resolveCommit(root, opts.revision, signal);
  // ls-tree run inside the directory lists that subtree, with paths relative to it.
  return snapshotFromGit(root, commit, opts.source, maxFileBytes, signal);
}
