/**
 * Which files of a repository a stack's cluster will decrypt: the files its root reaches at the
 * revision. From the root's folder (the stack's `repo.path`), the walk follows what Argo CD and
 * Flux would deploy from the same repository:
 *
 * - a folder with a `kustomization.yaml` (or `.yml`, `Kustomization`): its `resources`, `bases`,
 *   `components`, `generators` (a KSOPS generator's `files`), `patches`, `patchesStrategicMerge`,
 *   `configMapGenerator` / `secretGenerator` files, each relative to the kustomization;
 * - a folder without one: its YAML and JSON manifests (Argo CD reads only the folder itself
 *   unless `directory.recurse`; Flux reads every subfolder too);
 * - in those manifests, Argo CD `Application`s whose `spec.source(s)` has this repository's
 *   `repoURL` and a `path`, and Flux `Kustomization`s whose `sourceRef` is a `GitRepository` of
 *   this repository (the stack's own, or one found in the repository with the same URL), and
 *   their folders in turn;
 * - Argo CD `ApplicationSet`s whose generators are all Git directory generators of this
 *   repository and whose template's source is this repository at the generated path
 *   (`{{.path.path}}`, `{{path}}`): every folder their `directories` globs match (Go's
 *   path.Match, as the applicationset-controller matches them; `exclude` entries removed),
 *   hidden folders included. Any other ApplicationSet is a note: its Applications are not followed.
 *
 * A file is in scope when it is under a folder reached this way or named by a kustomization.
 * The walk is bounded (depth, folders, manifests read); when a bound is hit it gives up and
 * everything is in scope (judging too much can fail a check, never pass a wrong key). A manifest
 * that cannot be read is a note, never an error. Pure logic on the snapshot: no Git, no I/O.
 */
import * as path from "node:path";
import * as YAML from "yaml";
import { type RepositoryFile, type RepositorySnapshot, isKustomizationName } from "./repository";

export interface ScopeRoots {
  /** The folders the stack's root syncs (its `repo.path`), relative to the repository root. */
  readonly paths: readonly string[];
  /**
   * The repository's URL as the stack names it: Applications and GitRepositories with this URL
   * are this repository. When unknown (a local `--repo`), every Git source with a path that
   * exists here is taken to be this repository.
   */
  readonly repoUrl?: string;
  /** Flux GitRepository names that are this repository (the stack's root GitRepository). */
  readonly gitRepositoryNames?: readonly string[];
}

export interface ScopeLimits {
  /** How many Applications / Kustomizations deep the walk follows. */
  readonly maxDepth: number;
  /** How many folders it visits. */
  readonly maxFolders: number;
  /** How many manifest files it parses, and how many bytes of them in all. */
  readonly maxManifests: number;
  readonly maxManifestBytes: number;
  /** How many folder-against-glob matches ApplicationSet directory generators may cost. @default 1_000_000 */
  readonly maxGlobMatches?: number;
}

export const DEFAULT_SCOPE_LIMITS: ScopeLimits = {
  maxDepth: 32,
  maxFolders: 5000,
  maxManifests: 20000,
  maxManifestBytes: 64 * 1024 * 1024,
};

export interface Scope {
  /** The root folders the walk started from, as given. */
  readonly roots: readonly string[];
  /** Folders reached ("" is the whole repository). */
  readonly folders: readonly string[];
  /** Files named by a kustomization outside those folders. */
  readonly files: readonly string[];
  /** What the walk could not follow (a manifest that does not parse, a path that does not exist, ...). */
  readonly notes: readonly string[];
  /** False when a bound was hit: then every file is in scope. */
  readonly complete: boolean;
  /** Whether the stack's cluster will decrypt the file at `filePath`. */
  includes(filePath: string): boolean;
}

/** The same repository whatever the spelling: scheme, user, port, `.git`, case and trailing slash aside. */
export function repositoryKey(url: string): string {
  let rest = url.trim();
  const scp = /^[\w.-]+@([\w.-]+):(?!\/\/)(.*)$/.exec(rest);
  if (scp) rest = `${scp[1]}/${scp[2]}`;
  else rest = rest.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/^[^/@]*@/, "").replace(/^([^/:]+):\d+(?=\/)/, "$1");
  return rest.replace(/\/+$/, "").replace(/\.git$/i, "").replace(/\/+$/, "").toLowerCase();
}

/** A repository-relative folder or file path without `./`, trailing `/` or `..` (undefined if it leaves the repository). */
function normalize(p: string): string | undefined {
  const n = path.posix.normalize(p.replace(/^\/+/, ""));
  if (n === "." || n === "") return "";
  if (n === ".." || n.startsWith("../")) return undefined;
  return n.replace(/\/+$/, "");
}

const KUSTOMIZATION_NAMES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

const isRemote = (ref: string): boolean => /^[a-z][a-z0-9+.-]*:\/\/|^git@|^git::|^github\.com\/|\?ref=/i.test(ref);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

class LimitReached extends Error {}

/** The objects of a YAML (or JSON) manifest; undefined when it does not parse within the alias budget. */
function parseManifest(content: Buffer): Obj[] | undefined {
  try {
    const docs = YAML.parseAllDocuments(content.toString("utf8"), { prettyErrors: false, uniqueKeys: false });
    const list = Array.isArray(docs) ? docs : [docs];
    if (list.some((d) => d.errors.length > 0)) return undefined;
    return list.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown).filter(isObj);
  } catch {
    // Too many aliases, nesting too deep for the parser: the file is noted, never a crash.
    return undefined;
  }
}

class Walk {
  readonly folders = new Set<string>();
  readonly files = new Set<string>();
  readonly notes: string[] = [];
  private readonly manifests: Map<string, Buffer>;
  private readonly allPaths: ReadonlySet<string>;
  private readonly folderPaths = new Set<string>();
  private readonly parsed = new Map<string, Obj[] | undefined>();
  /** Files whose parse failure is already a note. */
  private readonly noted = new Set<string>();
  private readonly sameRepoNames: Set<string>;
  private readonly repoKey: string | undefined;
  private readonly queue: { folder: string; recurse: boolean; depth: number; from: string }[] = [];

  private parsedCount = 0;
  private parsedBytes = 0;
  private globMatches = 0;

  constructor(
    snapshot: Pick<RepositorySnapshot, "paths" | "manifests">,
    private readonly roots: ScopeRoots,
    private readonly limits: ScopeLimits,
  ) {
    this.manifests = new Map(snapshot.manifests.map((f: RepositoryFile) => [f.path, f.content]));
    this.allPaths = new Set(snapshot.paths);
    for (const p of snapshot.paths) for (let d = path.posix.dirname(p); d !== "."; d = path.posix.dirname(d)) this.folderPaths.add(d);
    this.repoKey = roots.repoUrl === undefined ? undefined : repositoryKey(roots.repoUrl);
    this.sameRepoNames = new Set(roots.gitRepositoryNames ?? []);
  }

  /** Parses a manifest within the walk's budget (how many, how many bytes). */
  private parse(content: Buffer): Obj[] | undefined {
    this.parsedCount++;
    this.parsedBytes += content.length;
    if (this.parsedCount > this.limits.maxManifests) throw new LimitReached(`more than ${this.limits.maxManifests} manifests`);
    const max = this.limits.maxManifestBytes;
    const size = max >= 2 ** 20 ? `${Math.round(max / 2 ** 20)} MiB` : `${Math.round(max / 1024)} KiB`;
    if (this.parsedBytes > max) throw new LimitReached(`more than ${size} of manifests`);
    return parseManifest(content);
  }

  run(): void {
    // A GitRepository anywhere in the repository that points back at it is the same repository.
    if (this.repoKey !== undefined) {
      for (const [file, content] of this.manifests) {
        if (!content.includes("GitRepository")) continue;
        const objects = this.parse(content);
        this.parsed.set(file, objects);
        for (const o of objects ?? []) {
          const spec = isObj(o.spec) ? o.spec : {};
          if (o.kind === "GitRepository" && typeof spec.url === "string" && repositoryKey(spec.url) === this.repoKey) {
            const name = isObj(o.metadata) ? o.metadata.name : undefined;
            if (typeof name === "string") this.sameRepoNames.add(name);
          }
        }
      }
    }
    for (const root of this.roots.paths) {
      const folder = normalize(root);
      if (folder === undefined) this.notes.push(`scope: the root path ${JSON.stringify(root)} leaves the repository; not followed`);
      else this.queue.push({ folder, recurse: true, depth: 0, from: "the stack's repo.path" });
    }
    while (this.queue.length > 0) {
      const next = this.queue.shift() as (typeof this.queue)[number];
      this.visitFolder(next.folder, next.recurse, next.depth, next.from);
    }
  }

  private exists(folder: string): boolean {
    return folder === "" || this.folderPaths.has(folder);
  }

  private enqueue(folder: string, recurse: boolean, depth: number, from: string): void {
    if (depth > this.limits.maxDepth) {
      throw new LimitReached(`more than ${this.limits.maxDepth} levels of Applications and kustomizations`);
    }
    this.queue.push({ folder, recurse, depth, from });
  }

  private visitFolder(folder: string, recurse: boolean, depth: number, from: string): void {
    if (this.folders.has(folder)) return;
    if (!this.exists(folder)) {
      this.notes.push(`scope: ${folder || "."} (named by ${from}) does not exist at this revision`);
      return;
    }
    this.folders.add(folder);
    if (this.folders.size > this.limits.maxFolders) throw new LimitReached(`more than ${this.limits.maxFolders} folders`);
    const prefix = folder === "" ? "" : `${folder}/`;
    const kustomization = KUSTOMIZATION_NAMES.map((n) => prefix + n).find((f) => this.allPaths.has(f));
    if (kustomization) {
      this.visitKustomization(kustomization, depth);
      return;
    }
    for (const file of this.manifests.keys()) {
      if (!file.startsWith(prefix) || isKustomizationName(file)) continue;
      if (!recurse && file.slice(prefix.length).includes("/")) continue;
      this.visitManifest(file, depth);
    }
  }

  /** Parsed objects of a manifest file (cached); a file that does not parse is a note. */
  private objects(file: string): Obj[] {
    const content = this.manifests.get(file);
    if (content === undefined) return [];
    const objects = this.parsed.has(file) ? this.parsed.get(file) : this.parse(content);
    if (!objects && !this.noted.has(file)) {
      this.noted.add(file);
      this.notes.push(`scope: ${file} does not parse as YAML; what it names is not followed`);
    }
    this.parsed.set(file, objects);
    return objects ?? [];
  }

  private reachFile(file: string, depth: number): void {
    this.files.add(file);
    if (this.manifests.has(file)) this.visitManifest(file, depth);
  }

  /** A kustomization's references: folders are visited, files reached (and read when they are manifests). */
  private visitKustomization(file: string, depth: number): void {
    this.files.add(file);
    const k = this.objects(file)[0];
    if (!k) return;
    const dir = path.posix.dirname(file) === "." ? "" : path.posix.dirname(file);
    const resolve = (ref: string): string | undefined => {
      const target = normalize(path.posix.join(dir, ref));
      if (target === undefined) this.notes.push(`scope: ${file} names ${JSON.stringify(ref)}, outside the repository; not followed`);
      return target;
    };
    const follow = (ref: string, manifest: boolean): void => {
      if (isRemote(ref)) return;
      const target = resolve(ref);
      if (target === undefined) return;
      if (this.exists(target) && !this.allPaths.has(target)) this.enqueue(target, true, depth, file);
      else if (manifest) this.reachFile(target, depth);
      else this.files.add(target);
    };
    for (const key of ["resources", "bases", "components", "crds", "transformers", "validators"]) {
      for (const ref of strings(k[key])) follow(ref, true);
    }
    for (const ref of strings(k.patchesStrategicMerge)) follow(ref, false);
    for (const p of Array.isArray(k.patches) ? k.patches : []) if (isObj(p) && typeof p.path === "string") follow(p.path, false);
    for (const ref of strings(k.generators)) {
      follow(ref, true);
      const target = isRemote(ref) ? undefined : resolve(ref);
      // A KSOPS generator's files are relative to the kustomization (kustomize runs it there).
      for (const g of target ? this.objects(target) : []) {
        if (typeof g.kind === "string" && g.kind.toLowerCase() === "ksops") for (const f of strings(g.files)) follow(f, false);
      }
    }
    for (const key of ["configMapGenerator", "secretGenerator"]) {
      for (const g of Array.isArray(k[key]) ? k[key] : []) {
        if (!isObj(g)) continue;
        // `files` entries may be `key=path`.
        const files = strings(g.files).map((f) => f.replace(/^[^=/]*=/, ""));
        const refs = [...files, ...strings(g.envs), ...(typeof g.env === "string" ? [g.env] : [])];
        for (const ref of refs) follow(ref, false);
      }
    }
  }

  /** An Application or Kustomization was followed without knowing whether its source is this repository. */
  followedUnknown = false;

  private sameRepository(url: unknown): boolean {
    if (typeof url !== "string") return false;
    if (this.repoKey === undefined) this.followedUnknown = true;
    return this.repoKey === undefined || repositoryKey(url) === this.repoKey;
  }

  /** Applications and Flux Kustomizations in a manifest: their folders in this repository are visited. */
  private visitManifest(file: string, depth: number): void {
    this.files.add(file);
    for (const o of this.objects(file)) {
      const apiVersion = typeof o.apiVersion === "string" ? o.apiVersion : "";
      const spec = isObj(o.spec) ? o.spec : {};
      const name = isObj(o.metadata) && typeof o.metadata.name === "string" ? o.metadata.name : "?";
      if (apiVersion.startsWith("argoproj.io/") && o.kind === "Application") {
        const sources = [...(isObj(spec.source) ? [spec.source] : []), ...(Array.isArray(spec.sources) ? spec.sources.filter(isObj) : [])];
        for (const s of sources) {
          if (typeof s.path !== "string" || typeof s.chart === "string" || !this.sameRepository(s.repoURL)) continue;
          const folder = normalize(s.path);
          const recurse = isObj(s.directory) && s.directory.recurse === true;
          if (folder === undefined) this.notes.push(`scope: Application ${name} (${file}) has a path outside the repository; not followed`);
          else this.enqueue(folder, recurse, depth + 1, `Application ${name} in ${file}`);
        }
      } else if (apiVersion.startsWith("argoproj.io/") && o.kind === "ApplicationSet") {
        const globs = this.followableDirectories(spec);
        if (globs === undefined) {
          this.notes.push(
            `scope: ApplicationSet ${name} (${file}): the Applications it generates are not followed (only Git directory generators of this repository, with the generated path as the template's path, are); their SOPS files are judged only when encrypted to this key`,
          );
          continue;
        }
        const source = (spec.template as { spec: { source: Obj } }).spec.source;
        const recurse = isObj(source.directory) && source.directory.recurse === true;
        for (const folder of this.matchingFolders(globs)) this.enqueue(folder, recurse, depth + 1, `ApplicationSet ${name} in ${file}`);
      } else if (apiVersion.startsWith("kustomize.toolkit.fluxcd.io/") && o.kind === "Kustomization") {
        const ref = isObj(spec.sourceRef) ? spec.sourceRef : {};
        const named = typeof ref.name === "string" ? ref.name : undefined;
        const ours = ref.kind === "GitRepository" && named !== undefined && (this.repoKey === undefined || this.sameRepoNames.has(named));
        if (!ours) continue;
        if (this.repoKey === undefined) this.followedUnknown = true;
        const folder = normalize(typeof spec.path === "string" ? spec.path : "");
        if (folder === undefined) this.notes.push(`scope: Kustomization ${name} (${file}) has a path outside the repository; not followed`);
        else this.enqueue(folder, true, depth + 1, `Kustomization ${name} in ${file}`);
      }
    }
  }

  /**
   * The `directories` of an ApplicationSet whose Applications can be followed statically (see the
   * module comment), or undefined.
   */
  private followableDirectories(spec: Obj): { include: string[][]; exclude: string[][] } | undefined {
    const generators = Array.isArray(spec.generators) ? spec.generators : [];
    const template = isObj(spec.template) && isObj(spec.template.spec) ? spec.template.spec : {};
    const source = isObj(template.source) ? template.source : undefined;
    if (generators.length === 0 || !source || template.sources !== undefined || spec.templatePatch !== undefined) return undefined;
    if (typeof source.repoURL !== "string" || source.repoURL.includes("{{") || !this.sameRepository(source.repoURL)) return undefined;
    const include: string[][] = [];
    const exclude: string[][] = [];
    for (const g of generators) {
      const git = isObj(g) && isObj(g.git) ? g.git : undefined;
      if (!git || Object.keys(g as Obj).length !== 1 || git.template !== undefined || !Array.isArray(git.directories)) return undefined;
      if (typeof git.repoURL !== "string" || !this.sameRepository(git.repoURL)) return undefined;
      const prefix = typeof git.pathParamPrefix === "string" && git.pathParamPrefix !== "" ? `${git.pathParamPrefix}.` : "";
      const pathParam = spec.goTemplate === true ? `\\.${prefix.replace(/\./g, "\\.")}path\\.path` : `${prefix.replace(/\./g, "\\.")}path`;
      if (typeof source.path !== "string" || !new RegExp(`^\\{\\{-?\\s*${pathParam}\\s*-?\\}\\}$`).test(source.path)) return undefined;
      for (const d of git.directories) {
        const segments = isObj(d) && typeof d.path === "string" ? globSegments(d.path) : undefined;
        if (!segments) return undefined;
        (isObj(d) && d.exclude === true ? exclude : include).push(segments);
      }
    }
    return { include, exclude };
  }

  /** The repository's folders that a directory generator with these globs yields, within the match budget. */
  private matchingFolders(globs: { include: string[][]; exclude: string[][] }): string[] {
    const budget = this.limits.maxGlobMatches ?? 1_000_000;
    const matches = (folder: string[], glob: string[]): boolean => {
      if (++this.globMatches > budget) throw new LimitReached(`more than ${budget} ApplicationSet directory matches`);
      return glob.length === folder.length && glob.every((g, i) => segmentMatches(g, folder[i]));
    };
    const out: string[] = [];
    for (const folder of [...this.folderPaths].sort()) {
      const parts = folder.split("/");
      if (globs.include.some((g) => matches(parts, g)) && !globs.exclude.some((g) => matches(parts, g))) out.push(folder);
    }
    return out;
  }
}

/** Longer globs are not followed (a bound on the matching cost). */
const MAX_GLOB_LENGTH = 1024;

/**
 * A directory generator's glob, split at `/` (path.Match's `*`, `?` and classes never match a
 * `/`); undefined when it is malformed (the controller then matches nothing with it) or has a `/`
 * inside a class, which this reading cannot tell apart; or longer than any real one.
 */
export function globSegments(glob: string): string[] | undefined {
  if (glob.length > MAX_GLOB_LENGTH) return undefined;
  const segments = glob.replace(/^\/+/, "").split("/");
  return segments.every((s) => segmentMatches(s, "") !== undefined) ? segments : undefined;
}

/**
 * One path segment against one glob segment with Go's path.Match rules: `*` (any run), `?` (one
 * character), `[...]` / `[^...]` classes of characters and ranges, `\\` escaping. Backtracks only
 * to the last `*`, so the cost is at most the product of the lengths. Undefined for a malformed
 * glob (path.Match's ErrBadPattern), whatever the name.
 */
export function segmentMatches(glob: string, name: string): boolean | undefined {
  /** One non-star element at `gi` against `c` (undefined: past the name): [matched, next index], or undefined if malformed. */
  const element = (gi: number, c: string | undefined): [boolean, number] | undefined => {
    if (glob[gi] === "?") return [c !== undefined, gi + 1];
    if (glob[gi] === "\\") return gi + 1 < glob.length ? [c === glob[gi + 1], gi + 2] : undefined;
    if (glob[gi] !== "[") return [c === glob[gi], gi + 1];
    let i = gi + 1;
    const negated = glob[i] === "^";
    if (negated) i++;
    // A class character: `-` and `]` only escaped (path.Match's getEsc).
    const classChar = (): string | undefined => {
      if (glob[i] === undefined || glob[i] === "-" || glob[i] === "]") return undefined;
      if (glob[i] === "\\") i++;
      const ch = glob[i];
      if (ch !== undefined) i++;
      return ch;
    };
    let hit = false;
    for (let ranges = 0; ; ranges++) {
      if (glob[i] === "]" && ranges > 0) return [c !== undefined && hit !== negated, i + 1];
      const lo = classChar();
      if (lo === undefined) return undefined;
      let hi = lo;
      if (glob[i] === "-") {
        i++;
        const h = classChar();
        if (h === undefined) return undefined;
        hi = h;
      }
      if (c !== undefined && lo <= c && c <= hi) hit = true;
    }
  };
  for (let gi = 0; gi < glob.length; ) {
    const e = glob[gi] === "*" ? [true, gi + 1] : element(gi, undefined);
    if (!e) return undefined;
    gi = e[1] as number;
  }
  let gi = 0;
  let ni = 0;
  let star = -1;
  let starNi = 0;
  while (ni < name.length) {
    if (glob[gi] === "*") {
      star = ++gi;
      starNi = ni;
      continue;
    }
    const e = gi < glob.length ? element(gi, name[ni]) : undefined;
    if (e?.[0]) {
      gi = e[1];
      ni++;
    } else if (star >= 0) {
      gi = star;
      ni = ++starNi;
    } else {
      return false;
    }
  }
  while (glob[gi] === "*") gi++;
  return gi === glob.length;
}

/** Walks from the stack's root folders; see the module comment for the rules and bounds. */
export function walkScope(
  snapshot: Pick<RepositorySnapshot, "paths" | "manifests">,
  roots: ScopeRoots,
  limits: ScopeLimits = DEFAULT_SCOPE_LIMITS,
): Scope {
  const walk = new Walk(snapshot, roots, limits);
  let complete = true;
  try {
    walk.run();
  } catch (e) {
    if (!(e instanceof LimitReached)) throw e;
    complete = false;
    walk.notes.push(`scope: the walk from ${roots.paths.join(", ")} stopped at ${e.message}; every SOPS file of the repository is judged`);
  }
  // No root folder exists (a repo.path the repository lacks at this revision, or a checkout of
  // another repository): nothing tells which files are this environment's, so all are judged,
  // rather than passing a check that judged nothing.
  const rootFolders = roots.paths.map(normalize).filter((f): f is string => f !== undefined);
  if (complete && rootFolders.length > 0 && !rootFolders.some((f) => walk.folders.has(f))) {
    complete = false;
    walk.notes.push(`scope: ${roots.paths.join(", ")} does not exist in the repository at this revision; every SOPS file of the repository is judged`);
  }
  if (walk.followedUnknown && complete) {
    walk.notes.push(
      "scope: the repository's URL is not known here (a local --repo), so every Application and Flux Kustomization path that exists in it was followed",
    );
  }
  const folders = [...walk.folders].sort();
  const files = [...walk.files].sort();
  const fileSet = new Set(files);
  const includes = (filePath: string): boolean => {
    if (!complete || fileSet.has(filePath) || walk.folders.has("")) return true;
    for (let d = path.posix.dirname(filePath); d !== "."; d = path.posix.dirname(d)) if (walk.folders.has(d)) return true;
    return false;
  };
  return { roots: roots.paths, folders, files, notes: walk.notes, complete, includes };
}
