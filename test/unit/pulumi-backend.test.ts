/**
 * Which state backend `restore` uses (the Pulumi CLI's choice, in its order), the drill's own
 * default folder (created 0700, never chmodded when it exists), and when a stack needs a passphrase.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  cliStateBackend,
  defaultDrillStateDir,
  drillStateBackend,
  printableBackend,
  pulumiCredentialsFile,
  restoreStateBackend,
  stackNeedsPassphrase,
} from "../../bootstrap/config/pulumi-backend";

let dir: string;
let project: string;
let home: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-backend-"));
  project = path.join(dir, "project");
  home = path.join(dir, "home");
  fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
  fs.mkdirSync(path.join(home, ".pulumi"), { recursive: true });
  fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const login = (folder: string, current: string): void => {
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, "credentials.json"), JSON.stringify({ current, accessTokens: { [current]: "" } }));
};

describe("the backend restore uses, in the Pulumi CLI's order", () => {
  test("PULUMI_BACKEND_URL, then backend.url in Pulumi.yaml, then the current login", () => {
    login(path.join(home, ".pulumi"), "file:///srv/from-login");
    const env = { HOME: home };
    expect(cliStateBackend(env, project)).toEqual({ url: "file:///srv/from-login", source: "pulumi login" });
    fs.appendFileSync(path.join(project, "Pulumi.yaml"), "backend:\n  url: s3://team-state/gitops\n");
    expect(cliStateBackend(env, project)).toEqual({ url: "s3://team-state/gitops", source: "Pulumi.yaml" });
    expect(cliStateBackend({ ...env, PULUMI_BACKEND_URL: "file:///srv/from-env" }, project)).toEqual({ url: "file:///srv/from-env", source: "PULUMI_BACKEND_URL" });
  });

  test("the login is read where the CLI keeps it: PULUMI_CREDENTIALS_PATH, else PULUMI_HOME, else ~/.pulumi", () => {
    expect(pulumiCredentialsFile({ HOME: home })).toBe(path.join(home, ".pulumi", "credentials.json"));
    login(path.join(dir, "pulumi-home"), "file:///srv/home");
    login(path.join(dir, "creds"), "https://api.pulumi.com");
    expect(cliStateBackend({ HOME: home, PULUMI_HOME: path.join(dir, "pulumi-home") }, project)?.url).toBe("file:///srv/home");
    const both = { HOME: home, PULUMI_HOME: path.join(dir, "pulumi-home"), PULUMI_CREDENTIALS_PATH: path.join(dir, "creds") };
    expect(cliStateBackend(both, project)?.url).toBe("https://api.pulumi.com");
  });

  test("none configured: restore stops and says how to choose one (no default of its own)", () => {
    expect(cliStateBackend({ HOME: home }, project)).toBeUndefined();
    login(path.join(home, ".pulumi"), "");
    expect(() => restoreStateBackend({ HOME: home }, project)).toThrow(/pulumi login <backend>.*set PULUMI_BACKEND_URL/);
  });

  test("a local backend whose folder is missing holds no state: restore stops instead of starting an empty one", () => {
    const missing = path.join(dir, "gone");
    expect(() => restoreStateBackend({ HOME: home, PULUMI_BACKEND_URL: `file://${missing}` }, project)).toThrow(
      `the state folder ${missing} (from PULUMI_BACKEND_URL) does not exist`,
    );
    expect(fs.existsSync(missing)).toBe(false);
    login(path.join(home, ".pulumi"), "file://~");
    expect(restoreStateBackend({ HOME: home }, project)).toEqual({ url: "file://~", source: "pulumi login" });
  });

  test("a damaged credentials file is an error naming it, not a silent other backend", () => {
    fs.writeFileSync(path.join(home, ".pulumi", "credentials.json"), "{not json");
    expect(() => cliStateBackend({ HOME: home }, project)).toThrow(path.join(home, ".pulumi", "credentials.json"));
  });

  test("a printed backend never shows a password", () => {
    expect(printableBackend("postgres://bob:hunter2@db.example.com/state")).toBe("postgres://***@db.example.com/state");
    expect(printableBackend("file:///srv/state")).toBe("file:///srv/state");
  });
});

describe("the drill's own backend", () => {
  test("its default folder is created 0700", () => {
    const env = { HOME: home, XDG_STATE_HOME: path.join(dir, "state") };
    const backend = drillStateBackend(env);
    expect(backend).toEqual({ url: `file://${path.join(dir, "state", "gitops-bootstrap", "pulumi")}`, source: "the drill's default" });
    expect(fs.statSync(defaultDrillStateDir(env)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dir, "state", "gitops-bootstrap")).mode & 0o777).toBe(0o700);
  });

  test("an existing folder others can read is left as it is, with a warning that says how to tighten it", () => {
    const env = { HOME: home, XDG_STATE_HOME: path.join(dir, "state") };
    const folder = defaultDrillStateDir(env);
    fs.mkdirSync(folder, { recursive: true });
    fs.chmodSync(folder, 0o755);
    expect(drillStateBackend(env).warning).toBe(`the state folder ${folder} can be read by others (mode 0755): chmod 700 ${folder}`);
    expect(fs.statSync(folder).mode & 0o777).toBe(0o755);
    fs.chmodSync(folder, 0o700);
    expect(drillStateBackend(env).warning).toBeUndefined();
  });

  test("PULUMI_BACKEND_URL wins: no default folder; a missing local one is made 0700, an existing one is the user's", () => {
    const env = { HOME: home, XDG_STATE_HOME: path.join(dir, "state"), PULUMI_BACKEND_URL: "s3://drills" };
    expect(drillStateBackend(env)).toEqual({ url: "s3://drills", source: "PULUMI_BACKEND_URL" });
    expect(fs.existsSync(path.join(dir, "state"))).toBe(false);
    const mine = path.join(dir, "my-drills");
    expect(drillStateBackend({ ...env, PULUMI_BACKEND_URL: `file://${mine}` })).toEqual({ url: `file://${mine}`, source: "PULUMI_BACKEND_URL" });
    expect(fs.statSync(mine).mode & 0o777).toBe(0o700);
    fs.chmodSync(home, 0o755);
    expect(drillStateBackend({ ...env, PULUMI_BACKEND_URL: "file://~" }).warning).toBeUndefined();
    expect(fs.statSync(home).mode & 0o777).toBe(0o755);
  });
});

describe("whether the stack's secrets need a passphrase", () => {
  const stackFile = (text: string) => fs.writeFileSync(path.join(project, "stacks", "Pulumi.dev.yaml"), text);

  test("the stack file decides when it names its provider or has a salt; else a DIY backend does", () => {
    expect(stackNeedsPassphrase(project, "dev", "file:///srv/state")).toBe(true);
    expect(stackNeedsPassphrase(project, "dev", "https://api.pulumi.com")).toBe(false);
    stackFile("encryptionsalt: v1:abc:def\nconfig: {}\n");
    expect(stackNeedsPassphrase(project, "dev", "https://api.pulumi.com")).toBe(true);
    stackFile("secretsprovider: awskms://alias/state\nencryptedkey: abc\nconfig: {}\n");
    expect(stackNeedsPassphrase(project, "dev", "file:///srv/state")).toBe(false);
    stackFile("secretsprovider: passphrase\nconfig: {}\n");
    expect(stackNeedsPassphrase(project, "dev", "https://api.pulumi.com")).toBe(true);
  });
});
