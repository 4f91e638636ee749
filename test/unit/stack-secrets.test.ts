/**
 * Encrypted (`secure:`) stack values for the commands that read the stack file themselves: the
 * Pulumi CLI is asked only for keys a command needs that are encrypted; what it returns replaces
 * the placeholders; when it cannot decrypt, the error says what to set or pass, and never shows a
 * value. (test/e2e/stack-secrets.test.ts runs the same with the real Pulumi CLI.)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import { resolveConfig } from "../../bootstrap/config/stack-config";
import { type PulumiConfigRunner, KUBERNETES_NEEDS, StackSecretsError, holdsSecure, readStackConfigWithSecrets } from "../../bootstrap/config/stack-secrets";
import { cli } from "./cli-harness";

const AGE_KEY = { key: "gitops-bootstrap:ageKey", instead: "--age-key-file F" };
const KUBECONFIG_TEXT = "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://10.0.0.1:6443'}}]\n" +
  "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: kube-token-secret}}]\n";

let dir: string;
let identity: string;
let recipient: string;

beforeAll(async () => {
  identity = await age.generateX25519Identity();
  recipient = await age.identityToRecipient(identity);
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-secrets-"));
  fs.mkdirSync(path.join(dir, "stacks"));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A stack file as `pulumi config set --secret` leaves it: a salt and `secure:` values. */
function stackFile(extra: string[] = []): void {
  fs.writeFileSync(
    path.join(dir, "stacks", "Pulumi.prod.yaml"),
    [
      "encryptionsalt: v1:c2FsdA==:v1:aXY=:dGFn",
      "config:",
      "  gitops-bootstrap:environment: prod",
      "  gitops-bootstrap:repo:",
      "    url: https://git.example.com/org/state.git",
      "    path: clusters/prod",
      "  gitops-bootstrap:ageKey:",
      "    secure: v1:AAAA:BBBB",
      ...extra,
      "",
    ].join("\n"),
  );
}

/** Stands in for `pulumi config --show-secrets --json`, recording each call. */
function fakePulumi(values: Record<string, string>, calls: string[] = []): PulumiConfigRunner {
  return async ({ stack }) => {
    calls.push(stack);
    return JSON.stringify(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, secret: true }])));
  };
}

const failingPulumi = (error: Partial<NodeJS.ErrnoException> & { stderr?: string }): PulumiConfigRunner => async () => {
  throw Object.assign(new Error("Command failed: pulumi config"), error);
};

test("holdsSecure finds an encrypted leaf anywhere in a value", () => {
  expect(holdsSecure({ secure: "v1:x" })).toBe(true);
  expect(holdsSecure({ values: { a: [1, { b: { secure: "v1:x" } }] } })).toBe(true);
  expect(holdsSecure({ values: { secure: "not alone", other: 1 } })).toBe(false);
  expect(holdsSecure("plain")).toBe(false);
});

test("an encrypted age key the command needs is decrypted by Pulumi, once, and the config then has its recipient", async () => {
  stackFile();
  const calls: string[] = [];
  const env = { PULUMI_CONFIG_PASSPHRASE: "pass" };
  const { raw } = await readStackConfigWithSecrets({
    projectDir: dir,
    stack: "prod",
    env,
    needs: [AGE_KEY, ...KUBERNETES_NEEDS],
    run: fakePulumi({ "gitops-bootstrap:ageKey": identity }, calls),
  });
  expect(calls).toEqual(["prod"]);
  expect(raw.undecryptedKeys?.has("ageKey")).toBe(false);
  expect(raw.secretKeys.has("ageKey")).toBe(true);
  const config = await resolveConfig(raw);
  expect(config.ageKey.recipients).toEqual([recipient]);
  expect(config.ageKey.set.size).toBe(1);
});

test("nothing needed is encrypted: the Pulumi CLI is not run, and other encrypted keys stay placeholders", async () => {
  stackFile();
  const calls: string[] = [];
  const { raw, kubernetes } = await readStackConfigWithSecrets({ projectDir: dir, stack: "prod", env: {}, needs: KUBERNETES_NEEDS, run: fakePulumi({}, calls) });
  expect(calls).toEqual([]);
  expect(raw.undecryptedKeys?.has("ageKey")).toBe(true);
  expect(kubernetes).toEqual({ kubeconfig: undefined, context: undefined });
});

test("an encrypted kubernetes:kubeconfig is decrypted for the commands that pick the cluster; a plain context is read as is", async () => {
  stackFile(["  kubernetes:kubeconfig:", "    secure: v1:CCCC:DDDD", "  kubernetes:context: c"]);
  const { kubernetes } = await readStackConfigWithSecrets({
    projectDir: dir,
    stack: "prod",
    env: { PULUMI_CONFIG_PASSPHRASE_FILE: "/run/pass" },
    needs: KUBERNETES_NEEDS,
    run: fakePulumi({ "kubernetes:kubeconfig": KUBECONFIG_TEXT, "kubernetes:context": "c" }),
  });
  expect(kubernetes).toEqual({ kubeconfig: KUBECONFIG_TEXT, context: "c" });
});

describe("when Pulumi cannot decrypt, the command stops and says what to do", () => {
  const attempt = (run: PulumiConfigRunner, env: NodeJS.ProcessEnv = { PULUMI_CONFIG_PASSPHRASE: "pass" }) =>
    readStackConfigWithSecrets({ projectDir: dir, stack: "prod", env, needs: [AGE_KEY], run });

  test("no passphrase for a passphrase stack: said before the CLI runs", async () => {
    stackFile();
    const calls: string[] = [];
    const error = await attempt(fakePulumi({}, calls), {}).catch((e: Error) => e);
    expect(error).toBeInstanceOf(StackSecretsError);
    expect((error as Error).message).toBe(
      "stacks/Pulumi.prod.yaml holds gitops-bootstrap:ageKey encrypted, and the Pulumi CLI could not decrypt it " +
        "(its secrets provider is a passphrase, and none is set): " +
        "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE); or pass --age-key-file F instead",
    );
    expect(calls).toEqual([]);
  });

  test("a wrong passphrase, a missing login, a missing CLI: each with its remedy and the alternative", async () => {
    stackFile();
    await expect(attempt(failingPulumi({ stderr: "error: incorrect passphrase\n" }))).rejects.toThrow(
      /\(incorrect passphrase\): set PULUMI_CONFIG_PASSPHRASE .*to the stack's passphrase; or pass --age-key-file F instead$/,
    );
    await expect(attempt(failingPulumi({ stderr: "error: no stack named 'prod' found\n" }))).rejects.toThrow(
      /log in to the backend that holds the stack's state \(`pulumi login <backend>`, or PULUMI_BACKEND_URL\)/,
    );
    await expect(attempt(failingPulumi({ code: "ENOENT" }))).rejects.toThrow(/the Pulumi CLI is not on PATH\): install it .*; or pass --age-key-file F instead$/);
  });

  test("a key the CLI does not return is an error, not a placeholder taken for the value", async () => {
    stackFile();
    await expect(attempt(fakePulumi({ "gitops-bootstrap:environment": "prod" }))).rejects.toThrow(/has no such key for this stack/);
  });
});

test("audit with an encrypted kubernetes:kubeconfig it cannot decrypt: exit 2 naming the passphrase and --kubeconfig, not the default cluster", async () => {
  fs.writeFileSync(path.join(dir, "key.txt"), `${identity}\n`);
  fs.writeFileSync(
    path.join(dir, "stacks", "Pulumi.prod.yaml"),
    [
      "encryptionsalt: v1:c2FsdA==:v1:aXY=:dGFn",
      "config:",
      "  gitops-bootstrap:environment: prod",
      "  gitops-bootstrap:ageKeyFile: key.txt",
      "  gitops-bootstrap:repo:",
      "    url: https://git.example.com/org/state.git",
      "    path: clusters/prod",
      "  kubernetes:kubeconfig:",
      "    secure: v1:CCCC:DDDD",
      "",
    ].join("\n"),
  );
  for (const command of ["audit", "backup-keys"]) {
    const r = await cli([command, "--stack", "prod", ...(command === "backup-keys" ? ["--out", path.join(dir, "keys.sops.yaml")] : [])], dir, { HOME: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("holds kubernetes:kubeconfig encrypted");
    expect(r.stderr).toContain("PULUMI_CONFIG_PASSPHRASE");
    expect(r.stderr).toContain("--kubeconfig K");
    expect(fs.existsSync(path.join(dir, "keys.sops.yaml"))).toBe(false);
  }
});

test("check --stack with the age key encrypted and no way to decrypt it: exit 2, not 'wrong key' for every file", async () => {
  stackFile();
  const r = await cli(["check", "--stack", "prod", "--repo", dir], dir, { HOME: dir });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("holds gitops-bootstrap:ageKey encrypted");
  expect(r.stderr).toContain("--age-key-file F");
  expect(r.stdout).not.toContain("wrong key");
});
