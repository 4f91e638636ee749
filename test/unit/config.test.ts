import * as age from "age-encryption";
import { generateKeyPairSync } from "node:crypto";
import { RawStackConfig, resolveConfig } from "../../bootstrap/config/stack-config";
import { ConfigError } from "../../components/settings/bootstrap-config";
import { checkRepoUrl } from "../../components/settings/repository";
import { ARGOCD, KSOPS } from "../../components/defaults";
import { configProblems, pemLine, rawStackConfig } from "./config-harness";

let identity: string;
let recipient: string;
let pqIdentity: string;
const PASSWORD = "hunter2-token-do-not-leak";

beforeAll(async () => {
  identity = await age.generateX25519Identity();
  recipient = await age.identityToRecipient(identity);
  pqIdentity = await age.generateHybridIdentity();
});

const repo = { url: "https://git.example.com/org/state.git", revision: "main", path: "clusters/dev" };

/** A valid config, with overrides; `null` removes a key. Secret keys default to ageKey and repo-with-credentials. */
function raw(overrides: Record<string, unknown> = {}, secretKeys: string[] = ["ageKey"], files: Record<string, string> = {}): RawStackConfig {
  return rawStackConfig({ environment: "dev", reconciler: "argocd", repo, ageKey: identity, ...overrides }, secretKeys, files);
}

const problems = configProblems;

async function expectProblem(input: RawStackConfig, key: string, message: RegExp): Promise<ConfigError> {
  const list = await problems(input);
  expect(list).toContainEqual({ key: `gitops-bootstrap:${key}`, message: expect.stringMatching(message) });
  try {
    await resolveConfig(input);
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error("unreachable");
}

describe("resolveConfig: a valid stack", () => {
  test("applies every default and derives the recipient", async () => {
    const cfg = await resolveConfig(raw());
    expect(cfg.environment).toBe("dev");
    expect(cfg.reconciler).toBe("argocd");
    expect(cfg.repo).toMatchObject({ url: repo.url, transport: "https", revision: "main", path: "clusters/dev" });
    expect(cfg.repo.credentials).toBeUndefined();
    expect(cfg.ageKey.recipients).toEqual([recipient]);
    expect(cfg.ageKey.identities.reveal()).toBe(`${identity}\n`);
    expect(cfg.argocd).toEqual({
      chartVersion: ARGOCD.chartVersion,
      chartRepo: ARGOCD.chartRepo,
      namespace: "argocd",
      ksopsImage: KSOPS.image,
      values: {},
      valuesSecret: false,
    });
    expect(cfg.rootApp).toMatchObject({ name: "root", project: "default", prune: true, selfHeal: true });
    expect(cfg.verifyRepoSecrets).toBe(true);
  });

  test("reads a key file with comments and several identities, X25519 and post-quantum", async () => {
    const file = `# created: today\n# public key: ${recipient}\n${identity}\n\n${pqIdentity}\n`;
    const cfg = await resolveConfig(raw({ ageKey: null, ageKeyFile: "keys/age.txt" }, [], { "/project/keys/age.txt": file }));
    expect(cfg.ageKey.recipients).toHaveLength(2);
    expect(cfg.ageKey.recipients[0]).toBe(recipient);
    expect(cfg.ageKey.recipients[1]).toMatch(/^age1pq1/);
    expect(cfg.ageKey.identities.reveal()).toBe(`${identity}\n${pqIdentity}\n`);
    expect(cfg.ageKey.source).toBe("/project/keys/age.txt");
  });

  test("accepts ssh:// and scp-style URLs with an SSH key, and https with username + password", async () => {
    const { privateKey } = generateKeyPairSync("ed25519", { privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    for (const url of ["ssh://git@git.example.com/org/state.git", "git@git.example.com:org/state.git", "ssh://git@git.example.com:2222/org/state.git"]) {
      const cfg = await resolveConfig(raw({ repo: { ...repo, url, credentials: { sshPrivateKey: privateKey } } }, ["ageKey", "repo"]));
      expect(cfg.repo.transport).toBe("ssh");
      expect(cfg.repo.credentials?.kind).toBe("ssh");
    }
    const cfg = await resolveConfig(raw({ repo: { ...repo, credentials: { username: "bot", password: PASSWORD } } }, ["ageKey", "repo"]));
    expect(cfg.repo.credentials).toMatchObject({ kind: "basic", username: "bot" });
  });

  test("keeps the user's Helm values and sync policy", async () => {
    const cfg = await resolveConfig(
      raw({
        argocd: { chartVersion: "v10.2.0", namespace: "gitops", values: { server: { replicas: 2 } } },
        rootApp: { name: "cluster-root", syncPolicy: { prune: false, retry: { limit: 3, backoff: { duration: "10s", factor: 3, maxDuration: "5m" } } } },
      }),
    );
    expect(cfg.argocd).toMatchObject({ chartVersion: "10.2.0", namespace: "gitops", values: { server: { replicas: 2 } } });
    expect(cfg.rootApp).toEqual({
      name: "cluster-root",
      project: "default",
      prune: false,
      selfHeal: true,
      retry: { limit: 3, backoff: { duration: "10s", factor: 3, maxDuration: "5m" } },
    });
  });
});

describe("resolveConfig: bad input names the key and what is expected", () => {
  test("malformed age key", async () => {
    const bad = identity.slice(0, -3) + (identity.endsWith("QQQ") ? "PPP" : "QQQ");
    await expectProblem(raw({ ageKey: bad }), "ageKey", /^line 1 of the ageKey value is not a valid age identity \(bad checksum or length\)/);
  });
  test("a public recipient given as the private key", async () => {
    await expectProblem(raw({ ageKey: recipient }), "ageKey", /public recipient \(age1…\), not a private identity/);
  });
  test("something that is not an age key at all", async () => {
    await expectProblem(raw({ ageKey: pemLine("BEGIN", "PGP PRIVATE KEY BLOCK") }), "ageKey", /not an age identity/);
  });
  test("a plugin identity the cluster cannot use", async () => {
    await expectProblem(raw({ ageKey: "AGE-PLUGIN-YUBIKEY-1QQQQQQ" }), "ageKey", /plugin identity/);
  });
  test("an ageKey stored in plain text", async () => {
    await expectProblem(raw({}, []), "ageKey", /must be a secret: pulumi config set --secret ageKey/);
  });
  test("both ageKey and ageKeyFile", async () => {
    await expectProblem(raw({ ageKeyFile: "key.txt" }), "ageKey", /both set; keep one/);
  });
  test("neither ageKey nor ageKeyFile", async () => {
    await expectProblem(raw({ ageKey: null }), "ageKey", /no age key: set ageKey .* or ageKeyFile/);
  });
  test("an ageKeyFile that does not exist names the resolved file", async () => {
    await expectProblem(raw({ ageKey: null, ageKeyFile: "missing.txt" }, []), "ageKeyFile", /\/project\/missing\.txt does not exist/);
  });
  test("an empty key file", async () => {
    await expectProblem(raw({ ageKey: null, ageKeyFile: "k.txt" }, [], { "/project/k.txt": "# nothing\n" }), "ageKeyFile", /holds no age identity/);
  });
  test("plain http URL", async () => {
    await expectProblem(raw({ repo: { ...repo, url: "http://git.example.com/org/state.git" } }), "repo.url", /plain http.*use https:\/\//);
  });
  test("scp-style URL with a slash after the host", async () => {
    await expectProblem(raw({ repo: { ...repo, url: "git@github.com/org/state.git" } }), "repo.url", /scp-style SSH URL with '\/' after the host/);
  });
  test("ssh:// URL with an scp-style colon path", async () => {
    await expectProblem(raw({ repo: { ...repo, url: "ssh://git@github.com:org/state.git" } }), "repo.url", /mixes ssh:\/\/ with an scp-style ':' path/);
  });
  test("a token inside the URL is refused and not echoed", async () => {
    const err = await expectProblem(raw({ repo: { ...repo, url: `https://bot:${PASSWORD}@git.example.com/org/state.git` } }), "repo.url", /carries credentials in the URL/);
    expect(err.message).not.toContain(PASSWORD);
  });
  test("missing path", async () => {
    await expectProblem(raw({ repo: { url: repo.url, revision: "main" } }), "repo.path", /is required: the folder in the repository/);
  });
  test("a path escaping the repository", async () => {
    await expectProblem(raw({ repo: { ...repo, path: "../other" } }), "repo.path", /must stay inside the repository/);
  });
  test("repo given as a bare URL string", async () => {
    await expectProblem(raw({ repo: "https://git.example.com/org/state.git" }), "repo", /expected an object \{url, revision, path, credentials\?\}/);
  });
  test("unpinned chart versions", async () => {
    for (const v of ["^10.9.0", "latest", "10.x", "~10.9", ">=10"]) {
      await expectProblem(raw({ argocd: { chartVersion: v } }), "argocd.chartVersion", /must pin an exact chart version/);
    }
  });
  test("unpinned KSOPS image", async () => {
    await expectProblem(raw({ argocd: { ksopsImage: "viaductoss/ksops:latest" } }), "argocd.ksopsImage", /must pin a tag or digest/);
    await expectProblem(raw({ argocd: { ksopsImage: "viaductoss/ksops" } }), "argocd.ksopsImage", /must pin a tag or digest/);
  });
  test("invalid namespace", async () => {
    await expectProblem(raw({ argocd: { namespace: "Argo_CD" } }), "argocd.namespace", /DNS-1123 label/);
  });
  test("values that drop the flags KSOPS needs", async () => {
    await expectProblem(
      raw({ argocd: { values: { configs: { cm: { "kustomize.buildOptions": "--load-restrictor LoadRestrictionsNone" } } } } }),
      "argocd.values.configs.cm.kustomize.buildOptions",
      /without --enable-alpha-plugins --enable-exec/,
    );
  });
  test("unknown reconciler", async () => {
    await expectProblem(raw({ reconciler: "argo" }), "reconciler", /expected argocd or flux, got "argo"/);
  });
  test("flux is a reconciler now, not an error (its own cases: config-flux.test.ts)", async () => {
    const cfg = await resolveConfig(raw({ reconciler: "flux" }));
    expect(cfg.reconciler).toBe("flux");
  });
  test("a misspelt key is reported, top level and nested", async () => {
    await expectProblem(raw({ ageKeyfile: "x" }), "ageKeyfile", /unknown key; expected one of: .*ageKeyFile/);
    await expectProblem(raw({ argocd: { chartVersoin: "1.2.3" } }), "argocd.chartVersoin", /unknown key; expected one of: chartVersion/);
  });
  test("credentials stored in plain text", async () => {
    const err = await expectProblem(raw({ repo: { ...repo, credentials: { username: "bot", password: PASSWORD } } }), "repo.credentials", /must be stored as a secret/);
    expect(err.message).not.toContain(PASSWORD);
  });
  test("both kinds of credentials", async () => {
    await expectProblem(raw({ repo: { ...repo, credentials: { username: "bot", password: PASSWORD, sshPrivateKey: "k" } } }, ["ageKey", "repo"]), "repo.credentials", /either sshPrivateKey or username \+ password, not both/);
  });
  test("a password without a username", async () => {
    await expectProblem(raw({ repo: { ...repo, credentials: { password: PASSWORD } } }, ["ageKey", "repo"]), "repo.credentials.username", /is required with password/);
  });
  test("an SSH key with an https URL", async () => {
    const { privateKey } = generateKeyPairSync("ed25519", { privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    await expectProblem(raw({ repo: { ...repo, credentials: { sshPrivateKey: privateKey } } }, ["ageKey", "repo"]), "repo.credentials.sshPrivateKey", /repo\.url is https:\/\//);
  });
  test("an SSH public key where the private key belongs", async () => {
    const url = "ssh://git@git.example.com/org/state.git";
    await expectProblem(raw({ repo: { ...repo, url, credentials: { sshPrivateKey: "ssh-ed25519 AAAAC3Nza user@host" } } }, ["ageKey", "repo"]), "repo.credentials.sshPrivateKey", /holds an SSH public key/);
  });
  test("a passphrase-protected OpenSSH key", async () => {
    const blob = Buffer.concat([Buffer.from("openssh-key-v1\0", "latin1"), Buffer.from([0, 0, 0, 10]), Buffer.from("aes256-ctr"), Buffer.alloc(40)]);
    const key = [pemLine("BEGIN", "OPENSSH PRIVATE KEY"), blob.toString("base64"), pemLine("END", "OPENSSH PRIVATE KEY")].join("\n");
    const url = "ssh://git@git.example.com/org/state.git";
    await expectProblem(raw({ repo: { ...repo, url, credentials: { sshPrivateKey: key } } }, ["ageKey", "repo"]), "repo.credentials.sshPrivateKey", /protected by a passphrase/);
  });
  test("an SSH URL without credentials for a private repo is fine, with https credentials it is not", async () => {
    const url = "ssh://git@git.example.com/org/state.git";
    await expectProblem(raw({ repo: { ...repo, url, credentials: { username: "bot", password: PASSWORD } } }, ["ageKey", "repo"]), "repo.credentials", /SSH URL: give sshPrivateKey/);
  });
  test("bad retry settings", async () => {
    await expectProblem(raw({ rootApp: { syncPolicy: { retry: { limit: "many" } } } }), "rootApp.syncPolicy.retry.limit", /whole number of retries/);
    await expectProblem(raw({ rootApp: { syncPolicy: { retry: { backoff: { duration: "5 seconds" } } } } }), "rootApp.syncPolicy.retry.backoff.duration", /duration such as 5s/);
  });
  test("environment missing or not a DNS label", async () => {
    await expectProblem(raw({ environment: null }), "environment", /is required/);
    await expectProblem(raw({ environment: "Prod EU" }), "environment", /DNS-1123 label/);
  });
  test("verifyRepoSecrets not a boolean", async () => {
    await expectProblem(raw({ verifyRepoSecrets: "yes" }), "verifyRepoSecrets", /expected true or false/);
  });
});

describe("resolveConfig: reporting", () => {
  test("collects every problem at once, each on its own line", async () => {
    const input = raw({ environment: "Bad Env", reconciler: "argo", repo: { url: "http://x.example.com/a.git" }, ageKey: recipient, argocd: { chartVersion: "latest" } });
    const list = await problems(input);
    expect(list.map((p) => p.key)).toEqual(
      expect.arrayContaining([
        "gitops-bootstrap:environment",
        "gitops-bootstrap:reconciler",
        "gitops-bootstrap:repo.url",
        "gitops-bootstrap:repo.path",
        "gitops-bootstrap:ageKey",
        "gitops-bootstrap:argocd.chartVersion",
      ]),
    );
    const err = new ConfigError(list);
    expect(err.message.split("\n")[0]).toBe(`Invalid stack config (${list.length} problems):`);
    expect(err.message.split("\n")).toHaveLength(list.length + 1);
  });

  test("no secret value ever appears in an error", async () => {
    const secrets = [identity, PASSWORD];
    const inputs = [
      raw({ ageKey: identity.slice(0, -2) + "ZZ" }),
      raw({ ageKey: `${identity}\nnot-a-key ${PASSWORD}` }),
      raw({ repo: { ...repo, credentials: { username: "bot", password: PASSWORD, sshPrivateKey: identity } } }),
      raw({ repo: { url: `https://bot:${PASSWORD}@h.example.com/a.git`, path: "x" } }),
      raw({ environment: identity }, []),
    ];
    for (const input of inputs) {
      const list = await problems(input);
      const text = new ConfigError(list).message;
      for (const s of secrets) expect(text).not.toContain(s);
      // Not even a recognisable fragment of the key.
      expect(text).not.toContain(identity.slice(16, 40));
    }
  });

  test("the resolved config prints secrets as [secret]", async () => {
    const cfg = await resolveConfig(raw({ repo: { ...repo, credentials: { username: "bot", password: PASSWORD } } }, ["ageKey", "repo"]));
    const shown = JSON.stringify(cfg) + String(cfg.ageKey.identities) + require("node:util").inspect(cfg, { depth: 10 });
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain(identity);
    expect(shown).toContain("[secret]");
  });
});

describe("checkRepoUrl", () => {
  test.each([
    ["https://github.com/org/repo.git", "https"],
    ["https://github.com/org/repo", "https"],
    ["ssh://git@github.com/org/repo.git", "ssh"],
    ["git@github.com:org/repo.git", "ssh"],
  ])("%s is %s", (url, transport) => {
    expect(checkRepoUrl(url)).toEqual({ transport });
  });
  test.each([
    ["ftp://example.com/repo.git", /unsupported scheme ftp/],
    ["https://github.com", /no repository path/],
    ["ssh://github.com/org/repo.git", /has no user/],
    ["git@github.com:22/org/repo.git", /cannot carry a port/],
    ["github.com/org/repo", /expected https:\/\/host/],
    [" https://github.com/org/repo.git", /white space/],
  ])("%s is refused", (url, message) => {
    const r = checkRepoUrl(url);
    expect("error" in r && r.error).toMatch(message);
  });
});

describe("ageKeyFile with several identities", () => {
  test("names the offending line of the file without quoting it", async () => {
    const files = { "/project/keys.txt": `# comment\n${identity}\nAGE-SECRET-KEY-1NOTVALID\n` };
    const err = await expectProblem(raw({ ageKey: null, ageKeyFile: "keys.txt" }, [], files), "ageKeyFile", /^line 3 of \/project\/keys\.txt is not a valid age identity/);
    expect(err.message).not.toContain("NOTVALID");
  });

  test("ageRecipient picks one identity: only it goes into the cluster", async () => {
    const files = { "/project/keys.txt": `${pqIdentity}\n${identity}\n` };
    const config = await resolveConfig(raw({ ageKey: null, ageKeyFile: "keys.txt", ageRecipient: recipient }, [], files));
    expect(config.ageKey.recipients).toEqual([recipient]);
    expect(config.ageKey.identities.reveal()).toBe(`${identity}\n`);
    expect(config.ageKey.set.size).toBe(1);
    const both = await resolveConfig(raw({ ageKey: null, ageKeyFile: "keys.txt" }, [], files));
    expect(both.ageKey.recipients).toHaveLength(2);
  });

  test("an ageRecipient the file does not hold lists the recipients it does", async () => {
    const other = await age.identityToRecipient(await age.generateX25519Identity());
    const files = { "/project/keys.txt": `${identity}\n` };
    await expectProblem(raw({ ageKey: null, ageKeyFile: "keys.txt", ageRecipient: other }, [], files), "ageRecipient", new RegExp(`^${other} is not the recipient of any identity in /project/keys.txt; it holds ${recipient}$`));
  });

  test("an ageRecipient that is not a recipient", async () => {
    await expectProblem(raw({ ageRecipient: identity }), "ageRecipient", /must be a public age recipient \(age1\.\.\.\)/);
  });
});
