/**
 * `backup-keys` never loses a key: the merge of the backup with the cluster's keys (old keys kept,
 * new ones added, `--prune` drops and names what it drops), the names a backup may hold (refused
 * at validation, naming the item, and by the component), and the existing files backup-keys
 * refuses to replace before it reads the cluster.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as age from "age-encryption";
import { resolveConfig } from "../../bootstrap/config/stack-config";
import { type SealingKey, backupDocument, isSealingKeyName, mergeSealingKeys, parseBackup } from "../../components/settings/sealing-keys";
import { SealedSecrets } from "../../components/sealed-secrets";
import { cli } from "./cli-harness";
import { configProblems, rawStackConfig } from "./config-harness";
import { backupText, makeSealingKey } from "./sealed-secrets-harness";

let a: SealingKey;
let b: SealingKey;
let c: SealingKey;
let identity: string;
let recipient: string;

beforeAll(async () => {
  [a, b, c] = ["sealed-secrets-keyaaaaa", "sealed-secrets-keybbbbb", "sealed-secrets-keyccccc"].map(makeSealingKey);
  identity = await age.generateX25519Identity();
  recipient = await age.identityToRecipient(identity);
  // Three RSA keys from openssl: seconds on a loaded machine.
}, 60_000);

const names = (keys: readonly SealingKey[]): string[] => keys.map((k) => k.name);

describe("mergeSealingKeys", () => {
  test("a cluster with fewer keys (rebuilt, not yet restored): every key of the backup is kept, the new one added", () => {
    const merged = mergeSealingKeys([a, b], [c], false);
    expect(names(merged.keys)).toEqual(["sealed-secrets-keyaaaaa", "sealed-secrets-keybbbbb", "sealed-secrets-keyccccc"]);
    expect(merged).toMatchObject({ added: ["sealed-secrets-keyccccc"], notInCluster: ["sealed-secrets-keyaaaaa", "sealed-secrets-keybbbbb"], dropped: [], differing: [] });
    expect(merged.keys[0].privateKey.reveal()).toBe(a.privateKey.reveal());
  });

  test("--prune: exactly the cluster's keys, and the dropped ones named", () => {
    const merged = mergeSealingKeys([a, b], [b, c], true);
    expect(names(merged.keys)).toEqual(["sealed-secrets-keybbbbb", "sealed-secrets-keyccccc"]);
    expect(merged.dropped).toEqual(["sealed-secrets-keyaaaaa"]);
  });

  test("the cluster's state label wins for a key in both (a key retired as compromised stays in the backup as such)", () => {
    const merged = mergeSealingKeys([a], [{ ...a, state: "compromised" }], false);
    expect(merged.keys).toHaveLength(1);
    expect(merged.keys[0].state).toBe("compromised");
    expect(merged.added).toEqual([]);
  });

  test("the same name with other key material: the backup's is kept and reported; --prune takes the cluster's and names the dropped one", () => {
    const impostor = { ...c, name: a.name };
    const kept = mergeSealingKeys([a], [impostor], false);
    expect(kept.differing).toEqual([a.name]);
    expect(kept.keys).toHaveLength(1);
    expect(kept.keys[0].certificate).toBe(a.certificate);
    const pruned = mergeSealingKeys([a], [impostor], true);
    expect(pruned.keys[0].certificate).toBe(c.certificate);
    expect(pruned.dropped).toEqual([a.name]);
  });
});

describe("only the controller's key names", () => {
  test.each([
    ["sealed-secrets-key", true],
    ["sealed-secrets-keyx7k2p", true],
    ["sealed-secrets-key-2024", true],
    ["argocd-server-tls", false],
    ["sealed-secrets-tls", false],
    ["sealed-secrets-keyX", false],
    ["sealed-secrets-key-", false],
    ["sealed-secrets-key/../x", false],
  ])("%s: %s", (name, ok) => expect(isSealingKeyName(name)).toBe(ok));

  test("a backup item named after another TLS Secret is refused at validation, naming the item and the config key", async () => {
    const doc = backupDocument([a, { ...b, name: "argocd-server-tls" }], "kube-system");
    expect(() => parseBackup(doc)).toThrow("item 1 (argocd-server-tls): not a sealing key's name (sealed-secrets-key followed by the suffix the API server appends");
    expect(() => parseBackup(backupDocument([a, a], "kube-system"))).toThrow(/item 2 \(sealed-secrets-keyaaaaa\): a second key with the same name/);
    const raw = rawStackConfig(
      { environment: "dev", repo: { url: "https://git.example.com/org/state.git", path: "apps" }, ageKey: identity, sealedSecrets: { keysFile: "keys.sops.yaml" } },
      ["ageKey"],
      { "/project/keys.sops.yaml": await backupText([a, { ...b, name: "argocd-server-tls" }], [recipient]) },
    );
    const problems = await configProblems(raw);
    expect(problems).toContainEqual({ key: "gitops-bootstrap:sealedSecrets.keysFile", message: expect.stringContaining("/project/keys.sops.yaml item 1 (argocd-server-tls): not a sealing key's name") });
    expect(JSON.stringify(problems)).not.toContain("PRIVATE KEY");
    await expect(resolveConfig(raw)).rejects.toThrow(/argocd-server-tls/);
  });

  test("the component refuses such a key too, before creating any Secret", async () => {
    const created: string[] = [];
    await pulumi.runtime.setMocks({ newResource: (r) => (created.push(r.type), { id: `${r.name}-id`, state: r.inputs }), call: (r) => r.inputs }, "project", "stack", false);
    const keys = [a, { ...b, name: "argocd-server-tls" }].map((k) => ({ name: k.name, certificate: k.certificate, privateKey: k.privateKey.reveal() }));
    let error: unknown;
    try {
      new SealedSecrets("sealed", { keys });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(pulumi.InputPropertiesError);
    expect(error).toMatchObject({ errors: [{ propertyPath: "keys", reason: expect.stringMatching(/^argocd-server-tls: not a sealing key's name/) }] });
    await pulumi.runtime.disconnect();
    expect(created.filter((t) => t === "kubernetes:core/v1:Secret")).toEqual([]);
  });
});

describe("backup-keys refuses, before reading the cluster, a file whose keys it could not keep", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-keys-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  // No cluster at this address: reaching it would be a different error.
  const run = (out: string, ...extra: string[]) => cli(["backup-keys", "--stack", "demo", "--kubeconfig", path.join(dir, "no-kubeconfig"), "--out", out, ...extra]);

  test("a file that is not a SOPS backup the stack's key opens: exit 2, the file unchanged", async () => {
    const out = path.join(dir, "keys.sops.yaml");
    fs.writeFileSync(out, "my: notes\n");
    const r = await run(out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`✗ --out ${out} does not open with the stack's age key (`);
    expect(r.stderr).toContain("backup-keys keeps every key of an existing backup, so it never replaces a file it cannot read");
    expect(fs.readFileSync(out, "utf8")).toBe("my: notes\n");
  });

  test("a backup encrypted to another key: exit 2, unchanged (its keys could not be kept)", async () => {
    const out = path.join(dir, "keys.sops.yaml");
    const text = await backupText([a], [recipient]);
    fs.writeFileSync(out, text);
    const r = await run(out, "--prune");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not open with the stack's age key \(wrong key/);
    expect(fs.readFileSync(out, "utf8")).toBe(text);
  });

  test("a symbolic link at --out: exit 2, the link and its target unchanged", async () => {
    const target = path.join(dir, "target.yaml");
    fs.writeFileSync(target, "kept\n");
    const out = path.join(dir, "link.yaml");
    fs.symlinkSync(target, out);
    const r = await run(out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out ${out} is a symbolic link`);
    expect(fs.readlinkSync(out)).toBe(target);
    expect(fs.readFileSync(target, "utf8")).toBe("kept\n");
  });
});
