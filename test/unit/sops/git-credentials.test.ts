/**
 * Git credentials never reach a command line: `check --repo https://user:token@host/…` and the
 * stack's `repo.credentials` go to git through a credential helper that reads the environment.
 * A local HTTP server asks for basic auth and records what git sends; a `git` first on PATH
 * records every git command line, and GIT_TRACE records every command git itself runs
 * (git-remote-http, the credential helper). The token is in none of them, yet the server gets it.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import { RepositoryError, readRepository, splitUrlCredentials } from "../../../bootstrap/sops/repository";
import { cli } from "../cli-harness";

jest.setTimeout(60_000);

const TOKEN = "tok3n-9f2c1e5a7b";
let server: http.Server;
let base: string;
const authorizations: string[] = [];
let work: string;
let argvLog: string;
let traceLog: string;
const saved = { PATH: process.env.PATH, GIT_TRACE: process.env.GIT_TRACE, GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL, GIT_CONFIG_NOSYSTEM: process.env.GIT_CONFIG_NOSYSTEM };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const auth = req.headers.authorization;
    if (!auth) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' }).end();
      return;
    }
    authorizations.push(Buffer.from(auth.replace(/^Basic /, ""), "base64").toString("utf8"));
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  work = fs.mkdtempSync(path.join(os.tmpdir(), "git-credentials-"));
  const bin = path.join(work, "bin");
  fs.mkdirSync(bin);
  argvLog = path.join(work, "argv.log");
  traceLog = path.join(work, "trace.log");
  const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
  fs.writeFileSync(path.join(bin, "git"), `#!/bin/sh\nprintf '%s\\n' "git $*" >> '${argvLog}'\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
  Object.assign(process.env, { PATH: `${bin}:${process.env.PATH}`, GIT_TRACE: traceLog, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" });
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  authorizations.length = 0;
  for (const f of [argvLog, traceLog]) fs.rmSync(f, { force: true });
});

function commandLines(): string {
  return `${fs.readFileSync(argvLog, "utf8")}\n${fs.existsSync(traceLog) ? fs.readFileSync(traceLog, "utf8") : ""}`;
}

test("check --repo https://user:token@…: git gets the URL without them, the server gets them, no command line has the token", async () => {
  const keyFile = path.join(work, "key.txt");
  fs.writeFileSync(keyFile, `${await age.generateX25519Identity()}\n`, { mode: 0o600 });
  const run = await cli(["check", "--repo", `http://ci-bot:${TOKEN}@${base}/org/state.git`, "--age-key-file", keyFile], undefined, { HOME: work });
  expect(run.code).toBe(2);
  expect(`${run.stdout}${run.stderr}`).not.toContain(TOKEN);
  expect(authorizations).toContain(`ci-bot:${TOKEN}`);
  const lines = commandLines();
  // GIT_TRACE saw the commands git ran for the fetch, and the credential helper.
  expect(lines).toMatch(/remote-http/);
  expect(lines).toMatch(/credential helper|git credential|run_command: .*f\(\)/);
  expect(lines).toMatch(new RegExp(`git clone .*http://${base.replace(/\./g, "\\.")}/org/state\\.git`));
  expect(lines).not.toContain(TOKEN);
  expect(lines).not.toContain("ci-bot@");
});

test("the stack's repo.credentials take the same way; no helper of the user's is asked or stores them", async () => {
  const credentials = { kind: "basic" as const, username: "deploy", password: { reveal: () => TOKEN } };
  await expect(readRepository({ source: `http://${base}/org/state.git`, credentials })).rejects.toThrow(RepositoryError);
  expect(authorizations).toContain(`deploy:${TOKEN}`);
  expect(commandLines()).not.toContain(TOKEN);
  // The helper list is reset before ours: git never runs a "store" of another helper.
  expect(commandLines()).not.toMatch(/credential-(store|cache|osxkeychain|libsecret)/);
});

test("the stack's SSH key goes to ssh as a 0600 file in the temporary folder (removed afterwards), never as an argument", async () => {
  const sshLog = path.join(work, "ssh.log");
  const keyCopy = path.join(work, "key-seen");
  fs.writeFileSync(
    path.join(work, "bin", "ssh"),
    [
      "#!/bin/sh",
      `printf '%s\\n' "ssh $*" >> '${sshLog}'`,
      'while [ $# -gt 0 ]; do',
      `  if [ "$1" = "-i" ]; then stat -c %a "$2" >> '${sshLog}'; cat "$2" > '${keyCopy}'; fi`,
      "  shift",
      "done",
      "exit 255",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  // Armor built at run time, so the repository holds no key-shaped literal (this is no real key).
  const armor = (edge: string): string => `${"-".repeat(5)}${edge} OPENSSH PRIVATE KEY${"-".repeat(5)}`;
  const key = `${armor("BEGIN")}\nb3BlbnNzaC1rZXktdjEAAAAAFAKEKEYMATERIAL\n${armor("END")}\n`;
  const credentials = { kind: "ssh" as const, sshPrivateKey: { reveal: () => key }, knownHosts: "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKE\n" };
  await expect(readRepository({ source: "ssh://git@git.example.com/org/state.git", credentials })).rejects.toThrow(RepositoryError);
  const seen = fs.readFileSync(sshLog, "utf8");
  expect(seen).toMatch(/^ssh -i \S+\/ssh-key -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=\S+\/known_hosts -o StrictHostKeyChecking=yes .*git@git\.example\.com/m);
  expect(seen).toMatch(/^600$/m);
  expect(fs.readFileSync(keyCopy, "utf8")).toBe(key);
  expect(`${seen}\n${commandLines()}`).not.toContain("FAKEKEYMATERIAL");
  // The temporary folder, key file included, is gone.
  const keyPath = /-i (\S+)/.exec(seen)?.[1] as string;
  expect(fs.existsSync(keyPath)).toBe(false);
});

test("splitUrlCredentials takes user and token out of http(s) URLs only, percent-decoded", () => {
  const { url, credentials } = splitUrlCredentials("https://a%40b:p%3Ass@git.example.com/x.git");
  expect(url).toBe("https://git.example.com/x.git");
  expect(credentials?.kind === "basic" && [credentials.username, credentials.password.reveal()]).toEqual(["a@b", "p:ss"]);
  expect(splitUrlCredentials("ssh://git@git.example.com/x.git")).toEqual({ url: "ssh://git@git.example.com/x.git" });
  expect(splitUrlCredentials("https://git.example.com/x.git")).toEqual({ url: "https://git.example.com/x.git" });
});
