/**
 * The code's layout as rules a move can break: the library (index.ts, components/) never imports
 * the command-line application (bootstrap/); a command's folder never reaches into another
 * command's folder (what several share lives in the shared folders below); no import cycles.
 * Import statements are read with a regex, not the compiler: fast, and enough for this code.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(__dirname, "../..");

/**
 * Folders under bootstrap/ several commands share: cluster access, stack config, CLI helpers, the
 * repository's SOPS, SealedSecret and External Secrets checks, the rebuild audit. Every other folder is one command's.
 */
const SHARED_FOLDERS = new Set(["cluster", "config", "cli-common", "sops", "sealed-secrets", "external-secrets", "rebuild-audit"]);

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(rel);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [rel] : [];
  });
}

/** `from` (a repository-relative .ts file) imports `spec`: the .ts file it names, or undefined for a package. */
function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const candidate of [`${base}.ts`, `${base}/index.ts`, base.replace(/\.js$/, ".ts")]) {
    if (fs.existsSync(path.join(root, candidate)) && candidate.endsWith(".ts")) return candidate;
  }
  throw new Error(`${from} imports ${spec}, which is no .ts file`);
}

interface Graph {
  readonly files: readonly string[];
  readonly edges: ReadonlyMap<string, readonly string[]>;
  readonly packages: ReadonlyMap<string, readonly string[]>;
}

function importGraph(): Graph {
  const files = ["index.ts", ...sourceFiles("components"), ...sourceFiles("bootstrap")];
  const edges = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  for (const file of files) {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    const specs = [...text.matchAll(IMPORT)].map((m) => m[1]);
    edges.set(file, [...new Set(specs.flatMap((s) => resolveImport(file, s) ?? []))]);
    packages.set(file, [...new Set(specs.filter((s) => !s.startsWith(".")))]);
  }
  return { files, edges, packages };
}

const graph = importGraph();
const importsOf = (file: string): readonly string[] => graph.edges.get(file) ?? [];

/** The command folder a bootstrap/ file belongs to, if any (files directly in bootstrap/ belong to none). */
function commandFolder(file: string): string | undefined {
  const parts = file.split("/");
  if (parts[0] !== "bootstrap" || parts.length < 3) return undefined;
  return SHARED_FOLDERS.has(parts[1]) ? undefined : parts[1];
}

test("the import graph was read (guards the regex against matching nothing)", () => {
  expect(importsOf("index.ts").length).toBeGreaterThan(3);
  expect(importsOf("bootstrap/index.ts")).toContain("bootstrap/program.ts");
});

test("nothing under components/ (or the library entry) imports from bootstrap/", () => {
  const library = graph.files.filter((f) => f === "index.ts" || f.startsWith("components/"));
  const crossing = library.flatMap((f) => importsOf(f).filter((to) => to.startsWith("bootstrap/")).map((to) => `${f} -> ${to}`));
  expect(crossing).toEqual([]);
});

test("the library entry reaches no command-line package (commander, log-update)", () => {
  const seen = new Set<string>();
  const stack = ["index.ts"];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    stack.push(...importsOf(file));
  }
  const cliPackages = [...seen].flatMap((f) => (graph.packages.get(f) ?? []).filter((p) => p === "commander" || p.startsWith("log-update")).map((p) => `${f} -> ${p}`));
  expect(cliPackages).toEqual([]);
});

test("no command's folder imports from another command's folder", () => {
  const crossing = graph.files.flatMap((f) => {
    const own = commandFolder(f);
    if (!own) return [];
    return importsOf(f)
      .filter((to) => commandFolder(to) !== undefined && commandFolder(to) !== own)
      .map((to) => `${f} -> ${to}`);
  });
  expect(crossing).toEqual([]);
});

test("shared code (the shared folders, the library) imports no command's folder", () => {
  const shared = graph.files.filter((f) => commandFolder(f) === undefined && f.split("/").length > 2);
  const crossing = shared.flatMap((f) => importsOf(f).filter((to) => commandFolder(to) !== undefined).map((to) => `${f} -> ${to}`));
  expect(crossing).toEqual([]);
});

test("no import cycles", () => {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const trail: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    trail.push(file);
    for (const to of importsOf(file)) {
      if (state.get(to) === "open") cycles.push([...trail.slice(trail.indexOf(to)), to].join(" -> "));
      else if (!state.has(to)) visit(to);
    }
    trail.pop();
    state.set(file, "done");
  };
  for (const file of graph.files) if (!state.has(file)) visit(file);
  expect(cycles).toEqual([]);
});
