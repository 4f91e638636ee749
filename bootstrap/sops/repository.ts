/**
 * The files of a GitOps repository as they are at the revision that will be deployed: a local
 * directory as it is on disk, a local Git work tree at a revision (read from Git objects, never
 * from the working tree), or a Git URL cloned shallowly into a temporary directory that is
 * removed afterwards. Only files that could be SOPS files (text mentioning `sops`, under the size
 * limit) and `.sops.yaml` configs are read into memory.
 */
import { spawn } from "node:child_process";
import * as fsSync from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { nameClaims, sopsClaim, storeForName } from "./claims";
import { type SopsConfig, coveringRule, parseSopsConfig } from "./sops-config";

/** Files bigger than this are not read; one that may be a SOPS file is reported, never passed. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;
const BINARY_SNIFF_BYTES = 8000;

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
  /** `.sops.yaml` files (and ignored `.sops.yml` ones). */
  readonly configs: readonly RepositoryFile[];
  /** All file paths seen (after skipping `.git`). */
  readonly fileCount: number;
  /** Files not read: too big, binary, symbolic links, submodules. */
  readonly skipped: number;
}

/** A source that cannot be read (no such path, clone failed, unknown revision). */
export class RepositoryError extends Error {}

/** Removes `user:password@` from URLs, so that messages never show credentials. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1***@");
}

/** Whether `source` is a Git URL rather than a local path. */
export function isGitUrl(source: string): boolean {
  return /^(?:https?|ssh|git|file):\/\//i.test(source) || /^[\w.-]+@[\w.-]+:/.test(source);
}

function isConfigName(name: string): boolean {
  return name === ".sops.yaml" || name === ".sops.yml";
}

/**
 * Cheap test of content read in full: could this be a SOPS file, or one meant to be? Every SOPS
 * file has "sops" in its metadata; one cut off before its metadata still has its ENC values.
 */
function mayBeSops(filePath: string, content: Buffer): boolean {
  if (nameClaims(filePath)) return true;
  return !content.subarray(0, BINARY_SNIFF_BYTES).includes(0) && (content.includes("sops") || content.includes("ENC[AES256_GCM"));
}

/** A text file in a store sops reads by its name: a creation rule may say it should be encrypted. */
function ruleMayCover(filePath: string, content: Buffer): boolean {
  return storeForName(filePath) !== "binary" && !content.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

/**
 * The plain files that a `.sops.yaml` creation rule with a path_regex and a value selector
 * covers: the check decides from their content whether the rule would have encrypted them.
 */
function coveredByRules(plain: readonly RepositoryFile[], configFiles: readonly RepositoryFile[]): RepositoryFile[] {
  if (plain.length === 0) return [];
  const configs = configFiles.map((c) => parseSopsConfig(c.path, c.content)).filter((c): c is SopsConfig => typeof c !== "string");
  return plain.filter((f) => {
    const selector = coveringRule(f.path, configs)?.rule.selector;
    return selector !== undefined && !selector.kind.includes("comment");
  });
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

function maySeal(name: string, content: Buffer): boolean {
  return /\.(ya?ml|json)$/i.test(name) && content.includes("SealedSecret") && !content.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

interface GitResult {
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly code: number;
}

function git(args: readonly string[], cwd: string, input?: string, env: NodeJS.ProcessEnv = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", ...env },
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (d: Buffer) => out.push(d));
    child.stderr?.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => reject(new RepositoryError(`cannot run git (${e.message}); install Git to check a revision or a URL`)));
    child.on("close", (code) => resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8"), code: code ?? 1 }));
    if (child.stdin) {
      // git may exit before reading all of it; that shows in its exit status, not as EPIPE.
      child.stdin.on("error", () => undefined);
      child.stdin.end(input);
    }
  });
}

async function gitOk(args: readonly string[], cwd: string, what: string, env?: NodeJS.ProcessEnv): Promise<Buffer> {
  const r = await git(args, cwd, undefined, env);
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

async function listTree(cwd: string, commit: string): Promise<TreeEntry[]> {
  const out = await gitOk(["ls-tree", "-r", "-z", "-l", commit], cwd, `cannot list the files of ${commit}`);
  const entries: TreeEntry[] = [];
  for (const record of out.toString("utf8").split("\0")) {
    if (record === "") continue;
    const tab = record.indexOf("\t");
    const [mode, type, oid, size] = record.slice(0, tab).split(/\s+/);
    entries.push({ mode, type, oid, size: size === "-" ? 0 : Number(size), path: record.slice(tab + 1) });
  }
  return entries;
}

/** Reads blobs with one `git cat-file --batch`. */
async function readBlobs(cwd: string, oids: readonly string[]): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  if (oids.length === 0) return blobs;
  const out = (await git(["cat-file", "--batch"], cwd, oids.map((o) => o + "\n").join(""))).stdout;
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    if (nl < 0) break;
    const [oid, type, size] = out.toString("latin1", pos, nl).split(" ");
    if (type === "missing" || size === undefined) {
      pos = nl + 1;
      continue;
    }
    const length = Number(size);
    blobs.set(oid, out.subarray(nl + 1, nl + 1 + length));
    pos = nl + 1 + length + 1;
  }
  return blobs;
}

async function snapshotFromGit(cwd: string, commit: string, source: string, maxFileBytes: number): Promise<RepositorySnapshot> {
  const entries = await listTree(cwd, commit);
  let skipped = 0;
  const wanted: TreeEntry[] = [];
  const oversized: { path: string; bytes: number }[] = [];
  for (const e of entries) {
    if (e.type === "blob" && e.mode !== "120000" && e.size > maxFileBytes && oversizedMayBeSops(e.path, undefined)) oversized.push({ path: e.path, bytes: e.size });
    if (e.type !== "blob" || e.mode === "120000" || e.size > maxFileBytes) skipped++;
    else wanted.push(e);
  }
  const blobs = await readBlobs(cwd, [...new Set(wanted.map((e) => e.oid))]);
  const candidates: RepositoryFile[] = [];
  const plain: RepositoryFile[] = [];
  const sealed: RepositoryFile[] = [];
  const configs: RepositoryFile[] = [];
  for (const e of wanted) {
    const content = blobs.get(e.oid);
    if (!content) continue;
    if (isConfigName(path.posix.basename(e.path))) configs.push({ path: e.path, content });
    else if (mayBeSops(e.path, content)) candidates.push({ path: e.path, content });
    else if (ruleMayCover(e.path, content)) plain.push({ path: e.path, content });
    if (maySeal(e.path, content)) sealed.push({ path: e.path, content });
  }
  candidates.push(...coveredByRules(plain, configs));
  return { source, commit, candidates, oversized, sealed, configs, fileCount: entries.length, skipped };
}

async function resolveCommit(cwd: string, revision: string): Promise<string> {
  const r = await git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${revision}^{commit}`], cwd);
  if (r.code !== 0) throw new RepositoryError(`revision ${JSON.stringify(revision)} is not a commit of the repository`);
  return r.stdout.toString("utf8").trim();
}

function snapshotFromDirectory(root: string, maxFileBytes: number): RepositorySnapshot {
  // Synchronous reads: for many small files they are several times faster than fs/promises.
  const candidates: RepositoryFile[] = [];
  const plain: RepositoryFile[] = [];
  const sealed: RepositoryFile[] = [];
  const configs: RepositoryFile[] = [];
  const oversized: { path: string; bytes: number }[] = [];
  let skipped = 0;
  let fileCount = 0;
  const walk = (dir: string, rel: string): void => {
    const entries = fsSync.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const childRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== ".git") walk(full, childRel);
        continue;
      }
      fileCount++;
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
      const content = fsSync.readFileSync(full);
      if (isConfigName(entry.name)) configs.push({ path: childRel, content });
      else if (mayBeSops(childRel, content)) candidates.push({ path: childRel, content });
      else if (ruleMayCover(childRel, content)) plain.push({ path: childRel, content });
      if (maySeal(entry.name, content)) sealed.push({ path: childRel, content });
    }
  };
  walk(root, "");
  candidates.push(...coveredByRules(plain, configs));
  return { source: root, commit: undefined, candidates, oversized, sealed, configs, fileCount, skipped };
}

async function cloneUrl(url: string, revision: string | undefined, dir: string, caFile: string | undefined): Promise<string> {
  const redacted = redactUrl(url);
  // A private CA (repo.caFile) is what this clone trusts, as the reconciler will. Through the
  // environment, since GIT_SSL_CAINFO (often set machine-wide) would override http.sslCAInfo.
  const tls = caFile ? { GIT_SSL_CAINFO: caFile } : {};
  if (revision === undefined || !/^[0-9a-f]{7,64}$/i.test(revision)) {
    const shallow = ["clone", "--quiet", "--bare", "--depth", "1", ...(revision ? ["--branch", revision] : []), "--", url, dir];
    if ((await git(shallow, os.tmpdir(), undefined, tls)).code === 0) return resolveCommit(dir, "HEAD");
  } else {
    await gitOk(["init", "--quiet", "--bare", dir], os.tmpdir(), "cannot create a temporary repository");
    const fetched = await git(["fetch", "--quiet", "--depth", "1", "--", url, revision], dir, undefined, tls);
    if (fetched.code === 0) return resolveCommit(dir, "FETCH_HEAD");
  }
  // The server refuses shallow fetches of this revision (or it is not a branch or tag): full clone.
  await fs.rm(dir, { recursive: true, force: true });
  await gitOk(["clone", "--quiet", "--bare", "--", url, dir], os.tmpdir(), `cannot clone ${redacted}`, tls);
  return resolveCommit(dir, revision ?? "HEAD");
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
}

/** Reads a repository; throws {@link RepositoryError} when it cannot. */
export async function readRepository(opts: ReadRepositoryOptions): Promise<RepositorySnapshot> {
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (isGitUrl(opts.source)) {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "gitops-bootstrap-check-"));
    try {
      const dir = path.join(tmp, "repo.git");
      const commit = await cloneUrl(opts.source, opts.revision, dir, opts.caFile);
      return await snapshotFromGit(dir, commit, redactUrl(opts.source), maxFileBytes);
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
  const inside = await git(["rev-parse", "--is-inside-work-tree"], root);
  if (inside.code !== 0 || inside.stdout.toString().trim() !== "true") {
    throw new RepositoryError(`${opts.source} is not a Git work tree, so --revision ${opts.revision} cannot be read there`);
  }
  const commit = await resolveCommit(root, opts.revision);
  // ls-tree run inside the directory lists that subtree, with paths relative to it.
  return snapshotFromGit(root, commit, opts.source, maxFileBytes);
}
