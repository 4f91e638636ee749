/**
 * A real Git server on loopback for the e2e tests: Git's smart HTTP protocol, served by
 * `git http-backend` (the CGI program that ships with git) behind a small node:https server
 * (git-http-server.js, in a process of its own), with a certificate authority made for the run. Flux's source-controller (go-git) and Argo
 * CD's repo-server (the git CLI) fetch from it exactly as from a hosted Git service over
 * https, with or without basic auth. The test changes a repository with `commit`, which
 * commits in a work tree and pushes into the served bare repository.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { killLeftovers } from "./processes";

/** What a repository starts with: a whole folder, or only some paths of one (files or folders). */
export type RepositorySource = string | { readonly dir: string; readonly include: readonly string[] };

/** A change to a work tree: file contents by path (`null` deletes), or a function editing the work tree. */
export type RepositoryChange = Readonly<Record<string, string | null>> | ((workTree: string) => void);

export interface BasicAuth {
  readonly username: string;
  readonly password: string;
}

export interface GitServerOptions {
  /** Where the bare repositories, work trees, certificates and the access log go. Created if missing. */
  readonly dir: string;
  /** Repositories to serve, by name (served at `<base>/<name>.git`), each committed once on `branch`. */
  readonly repos: Readonly<Record<string, RepositorySource>>;
  /** The branch every repository is created with. @default "main" */
  readonly branch?: string;
  /** Require these credentials for every request (fetches and pushes). @default no authentication */
  readonly auth?: BasicAuth;
}

export interface GitServer {
  /** `https://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** The clone URL of a repository (`https://127.0.0.1:<port>/<name>.git`). */
  url(name: string): string;
  /** The CA that signed the server's certificate (PEM): what a client must trust, e.g. `ca.crt` in Flux's Git Secret. */
  readonly caPem: string;
  /** The same CA written to a file, for a stack's `repo.caFile` or `GIT_SSL_CAINFO`. */
  readonly caFile: string;
  /** The branch repositories are created with. */
  readonly branch: string;
  /** Commits a change on the branch and pushes it to the served repository; returns the new commit's SHA. */
  commit(name: string, change: RepositoryChange, message: string): string;
  /** The commit the branch points to in the served repository. */
  head(name: string): string;
  /** Requests served so far, one line each (method, path, status, user): never credentials. */
  accessLog(): string[];
  stop(): Promise<void>;
}

const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: "gitops-bootstrap e2e",
  GIT_AUTHOR_EMAIL: "e2e@gitops-bootstrap.invalid",
  GIT_COMMITTER_NAME: "gitops-bootstrap e2e",
  GIT_COMMITTER_EMAIL: "e2e@gitops-bootstrap.invalid",
};

/** git with no user or system config (a developer's hooks, signing or templates stay out). */
function git(args: readonly string[], cwd: string): string {
  return execFileSync("git", [...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...GIT_IDENTITY, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_TERMINAL_PROMPT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync("openssl", [...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * A CA and a server certificate for 127.0.0.1 and localhost signed by it, made with the
 * openssl CLI (P-256 keys, two days). Returns the paths.
 */
export function makeTestCertificates(dir: string): { readonly caFile: string; readonly certFile: string; readonly keyFile: string } {
  fs.mkdirSync(dir, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl(
    ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=gitops-bootstrap e2e CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    dir,
  );
  openssl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], dir);
  fs.writeFileSync(
    path.join(dir, "server.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
  );
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext"], dir);
  for (const key of ["ca.key", "server.key"]) fs.chmodSync(path.join(dir, key), 0o600);
  return { caFile: path.join(dir, "ca.crt"), certFile: path.join(dir, "server.crt"), keyFile: path.join(dir, "server.key") };
}

function copySource(source: RepositorySource, to: string): void {
  const { dir, include } = typeof source === "string" ? { dir: source, include: ["."] } : source;
  for (const rel of include) {
    const from = path.join(dir, rel);
    if (!fs.existsSync(from)) throw new Error(`git server: ${from} does not exist (repository source)`);
    fs.cpSync(from, path.join(to, rel), { recursive: true, filter: (f) => path.basename(f) !== ".git" });
  }
}

class LocalGitServer implements GitServer {
  readonly caPem: string;
  private child: ChildProcess | undefined;
  private port = 0;

  constructor(
    private readonly dir: string,
    readonly caFile: string,
    readonly branch: string,
    private readonly auth: BasicAuth | undefined,
  ) {
    this.caPem = fs.readFileSync(caFile, "utf8");
  }

  get baseUrl(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  url(name: string): string {
    return `${this.baseUrl}/${name}.git`;
  }

  private bare(name: string): string {
    const p = path.join(this.dir, "repos", `${name}.git`);
    if (!fs.existsSync(p)) throw new Error(`git server: no repository named ${name}`);
    return p;
  }

  /** Creates the bare repository and its work tree, and commits the source once. */
  create(name: string, source: RepositorySource): void {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`git server: repository name ${JSON.stringify(name)} must be [A-Za-z0-9._-]+`);
    const bare = path.join(this.dir, "repos", `${name}.git`);
    const work = path.join(this.dir, "work", name);
    for (const d of [bare, work]) fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(bare, { recursive: true });
    git(["init", "--quiet", "--bare", `--initial-branch=${this.branch}`], bare);
    fs.mkdirSync(work, { recursive: true });
    git(["init", "--quiet", `--initial-branch=${this.branch}`], work);
    git(["remote", "add", "origin", bare], work);
    this.commit(name, (w) => copySource(source, w), "initial content");
  }

  commit(name: string, change: RepositoryChange, message: string): string {
    const bare = this.bare(name);
    const work = path.join(this.dir, "work", name);
    // Start from what is served (a client may have pushed over https since).
    if (git(["branch", "--list", this.branch], bare) !== "") {
      git(["fetch", "--quiet", "origin"], work);
      git(["reset", "--quiet", "--hard", `origin/${this.branch}`], work);
    }
    if (typeof change === "function") {
      change(work);
    } else {
      for (const [file, content] of Object.entries(change)) {
        const target = path.join(work, file);
        if (content === null) {
          fs.rmSync(target, { recursive: true, force: true });
        } else {
          fs.mkdirSync(path.dirname(target), { recursive: true });
          fs.writeFileSync(target, content);
        }
      }
    }
    git(["add", "--all"], work);
    git(["commit", "--quiet", "--allow-empty", "-m", message], work);
    git(["push", "--quiet", "origin", `HEAD:refs/heads/${this.branch}`], work);
    return git(["rev-parse", "HEAD"], work);
  }

  head(name: string): string {
    return git(["rev-parse", `refs/heads/${this.branch}`], this.bare(name));
  }

  accessLog(): string[] {
    const file = path.join(this.dir, "access.log");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  }

  /** Starts the https front (git-http-server.js) in a process of its own and waits for its port. */
  async listen(tls: { readonly certFile: string; readonly keyFile: string }): Promise<void> {
    const child = spawn(process.execPath, [path.join(__dirname, "git-http-server.js")], { stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    fs.writeFileSync(path.join(this.dir, "pid"), `${child.pid}\n`);
    const config = { root: path.join(this.dir, "repos"), cert: tls.certFile, key: tls.keyFile, accessLog: path.join(this.dir, "access.log"), auth: this.auth };
    // stdin stays open: the server exits when it closes, so it never outlives this process.
    child.stdin.write(`${JSON.stringify(config)}\n`);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
    this.port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`git server: not listening after 15s${stderr ? `: ${stderr.trim()}` : ""}`)), 15_000);
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`git server: exited with ${code} before listening${stderr ? `: ${stderr.trim()}` : ""}`));
      });
    });
    child.stdout.resume();
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(path.join(this.dir, "pid"), { force: true });
  }
}

/**
 * Starts a Git server on 127.0.0.1 (a free port) serving `repos` over https, with a CA made
 * for this run (`caPem`, `caFile`). Requires `git` (with `git http-backend`) and `openssl`.
 */
export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  fs.mkdirSync(options.dir, { recursive: true });
  const certs = makeTestCertificates(path.join(options.dir, "tls"));
  killLeftovers(path.join(options.dir, "pid"));
  const server = new LocalGitServer(options.dir, certs.caFile, options.branch ?? "main", options.auth);
  for (const [name, source] of Object.entries(options.repos)) server.create(name, source);
  await server.listen(certs);
  return server;
}
