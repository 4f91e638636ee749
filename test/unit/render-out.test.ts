/**
 * `render --out DIR` deletes and overwrites nothing it did not write: a folder that is not empty
 * and holds no earlier render output, `.` of a checkout, an existing file, a symbolic link are
 * refused with exit 2 and left byte for byte; its own earlier output is replaced, a user's extra
 * file kept; `--show-secrets` writes 0600 files in a 0700 folder.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cli, demoIdentity } from "./cli-harness";

const MARKER = ".gitops-bootstrap-render.json";
let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "render-out-"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** Every file under `dir` (recursively, links as links) with its bytes, to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) out[path.relative(dir, p)] = `link -> ${fs.readlinkSync(p)}`;
      else if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, "latin1");
    }
  };
  walk(dir);
  return out;
}

const write = (file: string, text: string): void => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
};

describe("render --out refuses what it did not write, and deletes nothing", () => {
  test("a folder that is not empty and holds no earlier render output", async () => {
    const out = path.join(root, "manifests");
    write(path.join(out, "01-namespace-argocd.yaml"), "mine: true\n");
    write(path.join(out, "notes.md"), "# my notes\n");
    const before = snapshot(root);
    const r = await cli(["render", "--stack", "demo", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`✗ --out ${out} is not empty and holds no earlier render output (no ${MARKER} in it)`);
    expect(r.stderr).toContain("give a new or empty folder (nothing was written or deleted)");
    expect(snapshot(root)).toEqual(before);
  });

  test("`.` of a project with a .git: the checkout stays byte for byte", async () => {
    const project = path.join(root, "project");
    write(path.join(project, ".git/HEAD"), "ref: refs/heads/main\n");
    write(path.join(project, ".git/objects/ab/cdef"), "\x00\x01binary");
    write(path.join(project, "README.md"), "# project\n");
    const before = snapshot(root);
    const cwd = process.cwd();
    process.chdir(project);
    try {
      const r = await cli(["render", "--stack", "demo", "--out", "."]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--out ${project} is not empty`);
    } finally {
      process.chdir(cwd);
    }
    expect(snapshot(root)).toEqual(before);
  });

  test("an existing file", async () => {
    const file = path.join(root, "render.yaml");
    write(file, "a file the user keeps\n");
    const r = await cli(["render", "--stack", "demo", "--out", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out ${file} exists and is not a folder`);
    expect(fs.readFileSync(file, "utf8")).toBe("a file the user keeps\n");
  });

  test("a symbolic link to a folder, even one holding render output", async () => {
    const real = path.join(root, "real");
    expect((await cli(["render", "--stack", "demo", "--out", real])).code).toBe(0);
    write(path.join(real, "notes.md"), "kept\n");
    const link = path.join(root, "link");
    fs.symlinkSync(real, link);
    const before = snapshot(root);
    const r = await cli(["render", "--stack", "demo", "--out", link]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out ${link} is a symbolic link`);
    expect(snapshot(root)).toEqual(before);
  });

  test("a manifest that is a symbolic link, or lists a file render does not write", async () => {
    const out = path.join(root, "out");
    write(path.join(root, "elsewhere.json"), JSON.stringify({ writtenBy: "gitops-bootstrap render", files: [] }));
    write(path.join(out, "keep.txt"), "kept\n");
    fs.symlinkSync(path.join(root, "elsewhere.json"), path.join(out, MARKER));
    let before = snapshot(root);
    const linked = await cli(["render", "--stack", "demo", "--out", out]);
    expect(linked.code).toBe(2);
    expect(linked.stderr).toContain(`holds ${MARKER}, which is a symbolic link`);
    expect(snapshot(root)).toEqual(before);

    fs.rmSync(path.join(out, MARKER));
    write(path.join(out, MARKER), JSON.stringify({ writtenBy: "gitops-bootstrap render", files: ["keep.txt"] }));
    before = snapshot(root);
    const forged = await cli(["render", "--stack", "demo", "--out", out]);
    expect(forged.code).toBe(2);
    expect(forged.stderr).toContain(`which lists "keep.txt", not a file name render writes`);
    expect(snapshot(root)).toEqual(before);
  });

  test("a file render would write, present but not listed in its manifest", async () => {
    const out = path.join(root, "out");
    expect((await cli(["render", "--stack", "demo", "--out", out])).code).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, MARKER), "utf8")) as { files: string[] };
    write(path.join(out, MARKER), JSON.stringify({ ...manifest, writtenBy: "gitops-bootstrap render", files: manifest.files.slice(1) }));
    const before = snapshot(root);
    const r = await cli(["render", "--stack", "demo", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`holds ${manifest.files[0]}, which render did not write (${MARKER} does not list it)`);
    expect(snapshot(root)).toEqual(before);
  });
});

describe("render --out into its own earlier output", () => {
  test("replaces its files, removes the ones it no longer writes, and leaves the user's file untouched", async () => {
    const out = path.join(root, "nested", "out");
    const first = await cli(["render", "--stack", "demo", "--out", out]);
    expect(first.code).toBe(0);
    const written = fs.readdirSync(out).filter((f) => f !== MARKER).sort();
    expect(written).toHaveLength(5);
    expect(JSON.parse(fs.readFileSync(path.join(out, MARKER), "utf8"))).toEqual({ writtenBy: "gitops-bootstrap render", files: written });
    // An earlier render that wrote one more file (listed), a user's notes (not listed), a changed file of ours.
    const manifest = { writtenBy: "gitops-bootstrap render", files: [...written, "06-configmap-gone.yaml"] };
    write(path.join(out, MARKER), JSON.stringify(manifest));
    write(path.join(out, "06-configmap-gone.yaml"), "stale\n");
    write(path.join(out, "notes.md"), "# the user's\n");
    write(path.join(out, written[0]), "edited\n");

    const second = await cli(["render", "--stack", "demo", "--out", out]);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("removed 1 file(s) of the earlier render that this one does not write: 06-configmap-gone.yaml");
    expect(second.stderr).toContain("left untouched (not written by render): notes.md");
    expect(fs.readdirSync(out).sort()).toEqual([MARKER, ...written, "notes.md"].sort());
    expect(fs.readFileSync(path.join(out, "notes.md"), "utf8")).toBe("# the user's\n");
    expect(fs.readFileSync(path.join(out, written[0]), "utf8")).toMatch(/^# kubernetes:core\/v1:Namespace/);
    expect(JSON.parse(fs.readFileSync(path.join(out, MARKER), "utf8")).files).toEqual(written);
  });

  test("an empty folder that exists is used", async () => {
    const out = path.join(root, "empty");
    fs.mkdirSync(out);
    expect((await cli(["render", "--stack", "demo", "--out", out])).code).toBe(0);
    expect(fs.readdirSync(out)).toHaveLength(6);
  });
});

describe("render --out --show-secrets", () => {
  const mode = (p: string): number => fs.statSync(p).mode & 0o777;

  test("a new folder is 0700 and every file 0600; the age key is in it, not in the output", async () => {
    const out = path.join(root, "secret");
    const r = await cli(["render", "--stack", "demo", "--out", out, "--show-secrets"]);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(demoIdentity);
    expect(mode(out)).toBe(0o700);
    for (const f of fs.readdirSync(out)) expect([f, mode(path.join(out, f))]).toEqual([f, 0o600]);
    expect(fs.readFileSync(path.join(out, "02-secret-sops-age.yaml"), "utf8")).toContain(demoIdentity);
  });

  test("its own earlier, non-secret output in a 0755 folder: the folder is tightened to 0700 and says so", async () => {
    const out = path.join(root, "was-open");
    expect((await cli(["render", "--stack", "demo", "--out", out])).code).toBe(0);
    fs.chmodSync(out, 0o755);
    const r = await cli(["render", "--stack", "demo", "--out", out, "--show-secrets"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`! ${out} was mode 755; it is now 0700 (it holds secrets)`);
    expect(mode(out)).toBe(0o700);
    for (const f of fs.readdirSync(out)) expect([f, mode(path.join(out, f))]).toEqual([f, 0o600]);
  });
});
