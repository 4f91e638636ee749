/**
 * The command line itself, for every command: --help (options, defaults, an example), help
 * <command>, --version, "did you mean" for a mistyped command or option, and the exit status of
 * usage errors. The commands' work is tested in their own files.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cli, projectDir } from "./cli-harness";

const version = (JSON.parse(fs.readFileSync(path.join(projectDir, "package.json"), "utf8")) as { version: string }).version;

/** Every command and the options its help must list. */
const COMMANDS: Record<string, readonly string[]> = {
  init: ["--stack <name>", "--repo-url <url>", "--repo-path <path>", "--revision <rev>", "--reconciler <name>", "--gitops-repo <dir>", "--key-file <file>", "--post-quantum"],
  render: ["--stack <name>", "--out <dir>", "--show-secrets"],
  check: ["--stack <name>", "--repo <path|url>", "--revision <rev>", "--age-key-file <file>", "--ca-file <file>", "--json"],
  restore: ["--stack <name>", "--kubeconfig <file>", "--timeout <duration>", "--failure-grace <duration>", "--report-dir <dir>", "--repo-checkout <dir>", "--secrets-under <path>"],
  drill: ["--stack <name>", "--kubeconfig <file>", "--timeout <duration>", "--keep", "--force", "--audit <kubeconfig>"],
  "backup-keys": ["--stack <name>", "--kubeconfig <file>", "--out <file>", "--recipient <age1...>", "--prune"],
  audit: ["--stack <name>", "--kubeconfig <file>", "--ignore <file>", "--report-dir <dir>", "--json"],
};

describe("--help", () => {
  test("the top level lists every command and the exit statuses", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^Usage: gitops-bootstrap \[options\] \[command\]/);
    for (const name of Object.keys(COMMANDS)) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
    expect(r.stdout).toContain("Exit status: 0 success, 1 failed (or not recovered in time), 2 usage or config error,\n3 drill refused by its guard, 130 interrupted.");
  });

  test.each(Object.entries(COMMANDS))("%s --help shows its options, defaults and an example", async (name, options) => {
    const r = await cli([name, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: gitops-bootstrap ${name} \\[options\\]`));
    for (const option of options) expect(r.stdout).toContain(`  ${option}`);
    expect(r.stdout).toMatch(new RegExp(`Examples:\\n  \\$ .*gitops-bootstrap ${name} --`));
    // `help <command>` says the same.
    expect((await cli(["help", name])).stdout).toBe(r.stdout);
  });

  test("defaults are shown where there is one", async () => {
    expect((await cli(["restore", "--help"])).stdout).toMatch(/--timeout <duration>\s+give up waiting after this long \(90s, 15m, 1h30m\)\s+\(default: "15m"\)/);
    const init = (await cli(["init", "--help"])).stdout.replace(/\s+/g, " ");
    expect(init).toContain('--reconciler <name> what syncs the cluster from Git (choices: "argocd", "flux", default: "argocd")');
    expect(init).toContain('(default: "~/.config/sops/age/keys.txt")');
    expect(init).toContain("--stack <name> the stack (environment) to create, e.g. dev (required)");
    expect(init).not.toContain("default: false");
  });
});

test("--version and -V print the package's version", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await cli([flag]);
    expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  }
});

describe("mistakes are usage errors (exit 2) that say what to do", () => {
  test.each([
    [["rendr", "--stack", "demo"], "✗ unknown command 'rendr'\n(Did you mean render?)"],
    [["chek"], "✗ unknown command 'chek'\n(Did you mean check?)"],
    [["render", "--stak", "demo"], "✗ unknown option '--stak'\n(Did you mean --stack?)"],
    [["drill", "--stack", "drill", "--kubeconfig", "k", "--kep"], "✗ unknown option '--kep'\n(Did you mean --keep?)"],
    [["restore", "--stack", "prod", "--timout", "1m"], "✗ unknown option '--timout'\n(Did you mean --timeout?)"],
    [["init", "--stack", "dev", "--repo-url", "https://git.example.com/a/b.git", "--post-quantm"], "✗ unknown option '--post-quantm'\n(Did you mean --post-quantum?)"],
    [["render"], "✗ required option '--stack <name>' not specified\n(gitops-bootstrap render --help shows its options)"],
    [["drill", "--stack", "drill"], "✗ required option '--kubeconfig <file>' not specified"],
    [["init", "--stack", "dev"], "✗ required option '--repo-url <url>' not specified"],
    [["init", "--stack", "dev", "--repo-url", "https://git.example.com/a/b.git", "--reconciler", "argo"], "✗ option '--reconciler <name>' argument 'argo' is invalid. Allowed choices are argocd, flux."],
    [["check", "extra"], "✗ too many arguments for 'check'"],
    [["audit", "--stack", "demo", "--ignor", "x"], "✗ unknown option '--ignor'\n(Did you mean --ignore?)"],
    [["audit", "--stack", "demo", "--ignore", "/nonexistent/ignore.yaml"], "✗ --ignore /nonexistent/ignore.yaml cannot be read (ENOENT)"],
    [["restore", "--stack", "prod", "--timeout", "10 minutes"], '✗ --timeout "10 minutes" is not a duration: use e.g. 90s, 15m or 1h'],
  ])("%j", async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(message);
  });

  test("no command shows the help on stderr", async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^Usage: gitops-bootstrap/);
  });
});

describe("the installed command (bin shim, fresh process)", () => {
  /** Runs the bin as a user does; reports the modules the process loaded. */
  function runBin(args: string[]): { status: number | null; stdout: string; stderr: string; modules: string[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bin-"));
    const probe = path.join(dir, "probe.js");
    const list = path.join(dir, "modules.json");
    fs.writeFileSync(probe, `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(list)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const r = spawnSync(process.execPath, ["--require", probe, path.join(projectDir, "bootstrap/gitops-bootstrap.js"), ...args], { cwd: projectDir, encoding: "utf8", env: { PATH: process.env.PATH, HOME: dir } });
    const modules = JSON.parse(fs.readFileSync(list, "utf8")) as string[];
    fs.rmSync(dir, { recursive: true });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, modules };
  }
  const heavy = (modules: string[]) => modules.filter((m) => /node_modules\/(@pulumi|@kubernetes\/client-node|@grpc)\//.test(m));

  test("--help answers without loading Pulumi or the Kubernetes client", () => {
    const r = runBin(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage: gitops-bootstrap");
    expect(heavy(r.modules)).toEqual([]);
  });

  test("check loads neither; render loads Pulumi", () => {
    const check = runBin(["check", "--repo", "examples/gitops-repo", "--age-key-file", "examples/gitops-repo/demo-age-key.txt"]);
    expect(check.status).toBe(0);
    expect(heavy(check.modules)).toEqual([]);
    const render = runBin(["render", "--stack", "demo"]);
    expect(render.status).toBe(0);
    expect(heavy(render.modules).length).toBeGreaterThan(0);
  });
});
