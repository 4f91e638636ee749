/**
 * The choice between dist/ and the TypeScript sources that the bin shim and the Pulumi program
 * entry (Pulumi.yaml `main: bootstrap/pulumi-program.js`) make: the pure rule, and the real entry
 * in a scratch project whose dist/ is current, stale, missing, or overridden.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
interface Choice {
  readonly compiled: boolean;
  readonly note?: string;
}
const { chooseEntry } = require(path.join(ROOT, "bootstrap/compiled.js")) as {
  chooseEntry(facts: { compiledMtimeMs: number | undefined; newestSourceMtimeMs: number; fromSources: boolean }): Choice;
};

describe("chooseEntry", () => {
  it("dist/ at least as new as every source: compiled", () => {
    expect(chooseEntry({ compiledMtimeMs: 2000, newestSourceMtimeMs: 2000, fromSources: false })).toEqual({ compiled: true });
    expect(chooseEntry({ compiledMtimeMs: 2000, newestSourceMtimeMs: 0, fromSources: false })).toEqual({ compiled: true });
  });
  it("dist/ older than a source, or missing: the sources, saying why", () => {
    expect(chooseEntry({ compiledMtimeMs: 1000, newestSourceMtimeMs: 2000, fromSources: false })).toEqual({ compiled: false, note: "dist/ is older than them" });
    expect(chooseEntry({ compiledMtimeMs: undefined, newestSourceMtimeMs: 2000, fromSources: false })).toEqual({ compiled: false, note: "no dist/" });
  });
  it("GITOPS_BOOTSTRAP_FROM_SOURCES: the sources, without a note (the user asked)", () => {
    expect(chooseEntry({ compiledMtimeMs: 3000, newestSourceMtimeMs: 2000, fromSources: true })).toEqual({ compiled: false });
  });
});

describe("the Pulumi program entry in a scratch project", () => {
  let dir: string;
  const compiled = (): string => path.join(dir, "dist", "bootstrap", "index.js");
  const source = (): string => path.join(dir, "bootstrap", "index.ts");

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "compiled-entry-"));
    fs.mkdirSync(path.join(dir, "bootstrap"));
    fs.mkdirSync(path.join(dir, "dist", "bootstrap"), { recursive: true });
    for (const f of ["bootstrap/compiled.js", "bootstrap/pulumi-program.js", "tsconfig.build.json", "tsconfig.json"]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(source(), 'const from: string = "the sources";\nexport = from;\n');
    fs.writeFileSync(compiled(), 'module.exports = "dist";\n');
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(source(), past, past);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const load = (env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, ["-e", `process.stdout.write(require(${JSON.stringify(path.join(dir, "bootstrap/pulumi-program.js"))}))`], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, ...env },
    });
    expect(r.status).toBe(0);
    return { program: r.stdout, stderr: r.stderr };
  };

  it("runs dist/ when it is current, quietly", () => {
    expect(load()).toEqual({ program: "dist", stderr: "" });
  });

  it("runs the sources when one is newer than dist/, and says so", () => {
    fs.utimesSync(source(), new Date(), new Date(Date.now() + 5_000));
    expect(load()).toEqual({ program: "the sources", stderr: expect.stringContaining("running from the TypeScript sources (dist/ is older than them)") });
  });

  it("runs the sources without dist/, and says so", () => {
    fs.rmSync(path.join(dir, "dist"), { recursive: true });
    expect(load()).toEqual({ program: "the sources", stderr: expect.stringContaining("(no dist/)") });
  });

  it("runs the sources with GITOPS_BOOTSTRAP_FROM_SOURCES=1 although dist/ is current", () => {
    expect(load({ GITOPS_BOOTSTRAP_FROM_SOURCES: "1" })).toEqual({ program: "the sources", stderr: "" });
  });
});
