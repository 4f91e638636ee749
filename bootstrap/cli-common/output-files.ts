/**
 * Files the commands write, under one rule: nothing is deleted or overwritten that the tool did
 * not write.
 *
 * An output folder (`render --out`, the report folders of `audit` and `drill`) is new, empty, or
 * holds the command's own earlier output: a manifest in it (`.gitops-bootstrap-<command>.json`)
 * lists the files the command wrote, and only those are replaced; anything else in the folder is
 * left as it is. The manifest is written before the files and lists every file that may exist,
 * so a run that stops half way still leaves a folder the next run can clean.
 *
 * A single file the tool replaces (the key backup, the manifest) goes through a temporary file
 * created exclusively in the target's folder (O_EXCL: never an existing path, never through a
 * symbolic link), then renamed over the target.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../components/errors";

export interface OutputFolderSpec {
  /** The command, as the manifest and the messages name it: `render`, `audit`, `drill`. */
  readonly command: string;
  /** The flag that names the folder, for messages: `--out`, `--report-dir`. */
  readonly flag: string;
  /** Every name the command writes; a manifest listing another name is not the command's. */
  readonly fileNames: RegExp;
  /** The files hold secrets: the folder is 0700 and the files 0600. */
  readonly secret: boolean;
}

export interface OutputFile {
  readonly name: string;
  readonly text: string;
}

/** What a write did, for the command to say. */
export interface OutputFolderResult {
  /** Files of the earlier output that this run did not write again (removed). */
  readonly removed: readonly string[];
  /** Files in the folder the command did not write: left untouched. */
  readonly kept: readonly string[];
  /** The folder's mode before it was tightened to 0700 for secrets, when it was. */
  readonly tightenedFrom?: number;
}

export const manifestName = (command: string): string => `.gitops-bootstrap-${command}.json`;
const writtenBy = (command: string): string => `gitops-bootstrap ${command}`;

interface FolderState {
  readonly exists: boolean;
  /** Files the manifest lists (the command's earlier output). */
  readonly previous: readonly string[];
  /** Other entries of the folder (not the manifest, not listed). */
  readonly others: readonly string[];
}

const refuse = (spec: OutputFolderSpec, dir: string, why: string, todo: string): UsageError =>
  new UsageError(`${spec.flag} ${dir} ${why}; ${spec.command} never deletes or overwrites what it did not write: ${todo} (nothing was written or deleted)`);

const NEW_FOLDER = "give a new or empty folder";

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** The files a manifest lists, or why it is not one this command wrote. */
function readManifest(file: string, spec: OutputFolderSpec): string[] | string {
  const stat = lstatOrUndefined(file);
  if (!stat?.isFile()) return stat?.isSymbolicLink() ? "is a symbolic link" : "is not a regular file";
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return "is not JSON";
  }
  const m = parsed as { writtenBy?: unknown; files?: unknown };
  if (typeof m !== "object" || m === null || m.writtenBy !== writtenBy(spec.command) || !Array.isArray(m.files)) {
    return `is not a manifest ${writtenBy(spec.command)} wrote ({"writtenBy": "${writtenBy(spec.command)}", "files": [...]})`;
  }
  const bad = m.files.find((f) => typeof f !== "string" || !isPlainName(f) || !spec.fileNames.test(f));
  if (bad !== undefined) return `lists ${JSON.stringify(bad)}, not a file name ${spec.command} writes`;
  return m.files as string[];
}

const isPlainName = (name: string): boolean => name !== "." && name !== ".." && !name.includes("/") && !name.includes("\\") && !name.includes("\0");

/** Checks the folder (before any work, and again before writing); throws a UsageError saying why and what to do. */
export function inspectOutputFolder(dir: string, spec: OutputFolderSpec): FolderState {
  const stat = lstatOrUndefined(dir);
  if (!stat) return { exists: false, previous: [], others: [] };
  if (stat.isSymbolicLink()) throw refuse(spec, dir, "is a symbolic link", `give the folder it points to, or ${NEW_FOLDER}`);
  if (!stat.isDirectory()) throw refuse(spec, dir, "exists and is not a folder", NEW_FOLDER);
  const entries = fs.readdirSync(dir);
  if (entries.length === 0) return { exists: true, previous: [], others: [] };
  const marker = manifestName(spec.command);
  if (!entries.includes(marker)) {
    throw refuse(spec, dir, `is not empty and holds no earlier ${spec.command} output (no ${marker} in it)`, NEW_FOLDER);
  }
  const listed = readManifest(path.join(dir, marker), spec);
  if (typeof listed === "string") throw refuse(spec, dir, `holds ${marker}, which ${listed}`, `remove it, or ${NEW_FOLDER}`);
  for (const name of listed) {
    const entry = lstatOrUndefined(path.join(dir, name));
    if (entry && !entry.isFile()) {
      throw refuse(spec, dir, `holds ${name}, listed in ${marker} but now ${entry.isSymbolicLink() ? "a symbolic link" : "not a regular file"}`, `move it away, or ${NEW_FOLDER}`);
    }
  }
  return { exists: true, previous: listed, others: entries.filter((e) => e !== marker && !listed.includes(e)) };
}

/**
 * Writes `files` into `dir` (created when missing), replacing the command's earlier output there
 * and nothing else. A name a file of this run would take that the command did not write is a
 * refusal, before anything is removed.
 */
export function writeOutputFolder(dir: string, spec: OutputFolderSpec, files: readonly OutputFile[]): OutputFolderResult {
  const state = inspectOutputFolder(dir, spec);
  const names = files.map((f) => f.name);
  for (const name of names) {
    if (!isPlainName(name) || !spec.fileNames.test(name)) throw new Error(`${spec.command}: ${JSON.stringify(name)} is not a name it writes`);
    if (state.others.includes(name)) {
      throw refuse(spec, dir, `holds ${name}, which ${spec.command} did not write (${manifestName(spec.command)} does not list it)`, `move it away, or ${NEW_FOLDER}`);
    }
  }
  let tightenedFrom: number | undefined;
  if (!state.exists) {
    fs.mkdirSync(dir, { recursive: true, ...(spec.secret ? { mode: 0o700 } : {}) });
  } else if (spec.secret) {
    const mode = fs.statSync(dir).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      fs.chmodSync(dir, 0o700);
      tightenedFrom = mode;
    }
  }
  const manifest = path.join(dir, manifestName(spec.command));
  const writeManifest = (listed: readonly string[]): void =>
    replaceFile(manifest, `${JSON.stringify({ writtenBy: writtenBy(spec.command), files: [...listed].sort() }, null, 2)}\n`, spec.secret ? 0o600 : 0o644);
  writeManifest([...new Set([...state.previous, ...names])]);
  for (const name of state.previous) fs.rmSync(path.join(dir, name), { force: true });
  for (const f of files) fs.writeFileSync(path.join(dir, f.name), f.text, { flag: "wx", mode: spec.secret ? 0o600 : 0o666 });
  writeManifest(names);
  return { removed: state.previous.filter((n) => !names.includes(n)), kept: state.others, ...(tightenedFrom !== undefined ? { tightenedFrom } : {}) };
}

/** How many names a temporary file may try before giving up (each one already taken). */
const TEMP_ATTEMPTS = 8;

/**
 * Replaces (or creates) `file` with `text`, mode `mode`: written to a temporary file created
 * exclusively in the same folder, then renamed over it. An existing `file` that is a symbolic
 * link or not a regular file is refused (UsageError); the caller decides whether the file is
 * the tool's to replace.
 */
export function replaceFile(file: string, text: string | Buffer, mode: number): void {
  const target = lstatOrUndefined(file);
  if (target && !target.isFile()) {
    throw new UsageError(`${file} is ${target.isSymbolicLink() ? "a symbolic link" : "not a regular file"}; it is replaced only as a regular file: give the file itself, or another path (nothing was written)`);
  }
  const dir = path.dirname(file);
  for (let attempt = 1; ; attempt++) {
    // The first name is predictable (it names the process), later ones random: a path already in
    // the way (a stale temporary file, a link planted there) is never opened, another is tried.
    const suffix = attempt === 1 ? `${process.pid}` : `${process.pid}.${crypto.randomBytes(6).toString("hex")}`;
    const tmp = path.join(dir, `.${path.basename(file)}.${suffix}.tmp`);
    let fd: number;
    try {
      fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST" && attempt < TEMP_ATTEMPTS) continue;
      throw e;
    }
    try {
      try {
        fs.writeFileSync(fd, text);
        fs.fchmodSync(fd, mode);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    return;
  }
}
