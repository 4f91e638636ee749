/**
 * Sealed Secrets: opening sealed values as the controller does (the three scopes, a wrong key, a
 * tampered value), the key backup format, and the `sealedSecrets` config block.
 */
import * as age from "age-encryption";
import { encryptionLabel, openSealedValue, scopeOf, sealValue } from "../../bootstrap/sealed-secrets/crypto";
import { backupDocument, parseBackup, privateKeyObjects } from "../../components/settings/sealing-keys";
import { resolveConfig } from "../../bootstrap/config/stack-config";
import type { SealingKey } from "../../components/settings/sealing-keys";
import { configProblems, rawStackConfig } from "./config-harness";
import { backupText, makeSealingKey, publicKeyOf } from "./sealed-secrets-harness";

let current: SealingKey;
let old: SealingKey;
let other: SealingKey;
let identity: string;
let recipient: string;

beforeAll(async () => {
  [current, old, other] = ["sealed-secrets-keyaaaaa", "sealed-secrets-keybbbbb", "sealed-secrets-keyccccc"].map(makeSealingKey);
  identity = await age.generateX25519Identity();
  recipient = await age.identityToRecipient(identity);
});

describe("opening sealed values", () => {
  test.each([
    ["strict", {}, "apps/db"],
    ["namespace-wide", { "sealedsecrets.bitnami.com/namespace-wide": "true" }, "apps"],
    ["cluster-wide", { "sealedsecrets.bitnami.com/cluster-wide": "true" }, ""],
  ] as const)("%s: the scope's label opens it, with any of the keys; another namespace or name does not", (scope, annotations, label) => {
    expect(scopeOf(annotations)).toBe(scope);
    expect(encryptionLabel(scope, "apps", "db").toString()).toBe(label);
    const sealed = sealValue(Buffer.from("s3cret-value"), publicKeyOf(old), encryptionLabel(scope, "apps", "db"));
    const keys = privateKeyObjects([current, old]);
    expect(openSealedValue(sealed, keys, encryptionLabel(scope, "apps", "db"))).toBe("ok");
    expect(openSealedValue(sealed, privateKeyObjects([current]), encryptionLabel(scope, "apps", "db"))).toBe("no-key");
    const elsewhere = openSealedValue(sealed, keys, encryptionLabel(scope, "other", "db2"));
    expect(elsewhere).toBe(scope === "cluster-wide" ? "ok" : "no-key");
  });

  test("a changed byte in the value fails authentication; garbage is malformed", () => {
    const label = encryptionLabel("strict", "apps", "db");
    const sealed = sealValue(Buffer.from("s3cret-value"), publicKeyOf(current), label);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 20] ^= 1;
    expect(openSealedValue(tampered, privateKeyObjects([current]), label)).toBe("malformed");
    expect(openSealedValue(Buffer.from([0, 1, 2]), privateKeyObjects([current]), label)).toBe("malformed");
  });
});

describe("the key backup", () => {
  test("round-trips through the document; a key whose certificate is another's is refused by name", () => {
    const doc = backupDocument([current, old], "kube-system");
    expect(JSON.stringify(doc)).toContain('"sealedsecrets.bitnami.com/sealed-secrets-key":"active"');
    const keys = parseBackup(doc);
    expect(keys.map((k) => k.name)).toEqual(["sealed-secrets-keyaaaaa", "sealed-secrets-keybbbbb"]);
    expect(keys[1].privateKey.reveal()).toBe(old.privateKey.reveal());
    const mixed = backupDocument([{ ...current, certificate: other.certificate }], "kube-system");
    expect(() => parseBackup(mixed)).toThrow("item 1 (sealed-secrets-keyaaaaa): tls.crt does not belong to tls.key");
    expect(() => parseBackup({ kind: "List", items: [] })).toThrow("holds no key");
    // A key the team marked compromised stays so through a backup and a restore.
    expect(parseBackup(backupDocument([{ ...old, state: "compromised" }], "kube-system"))[0].state).toBe("compromised");
    expect(keys[0].state).toBe("active");
    expect(() => parseBackup({ kind: "Secret" })).toThrow(/is not a v1 List of Secrets/);
  });
});

describe("sealedSecrets in the stack config", () => {
  const base = (sealedSecrets: unknown, files: Record<string, string> = {}) =>
    rawStackConfig({ environment: "dev", repo: { url: "https://git.example.com/org/state.git", path: "apps" }, ageKey: identity, sealedSecrets }, ["ageKey"], files);

  test("defaults, and the backup decrypted with the stack's own age key", async () => {
    const config = await resolveConfig(base({ keysFile: "keys.sops.yaml" }, { "/project/keys.sops.yaml": await backupText([current, old], [recipient]) }));
    expect(config.sealedSecrets).toMatchObject({ namespace: "kube-system", controllerName: "sealed-secrets-controller", chartRepo: "https://bitnami-labs.github.io/sealed-secrets", keysFile: "/project/keys.sops.yaml" });
    expect(config.sealedSecrets!.keys.map((k) => k.name)).toEqual(["sealed-secrets-keyaaaaa", "sealed-secrets-keybbbbb"]);
    expect((await resolveConfig(base({ enabled: false }))).sealedSecrets).toBeUndefined();
    expect((await resolveConfig(base(undefined))).sealedSecrets).toBeUndefined();
  });

  test("every problem at once, each naming its key, never key material", async () => {
    const someoneElse = await age.identityToRecipient(await age.generateX25519Identity());
    const problems = await configProblems(
      base(
        { chartVersion: "^2.17.0", namespace: "Sealed", controllerName: "x_y", values: { fullnameOverride: "other" }, keysFile: "keys.sops.yaml", colour: "red" },
        { "/project/keys.sops.yaml": await backupText([current], [someoneElse]) },
      ),
    );
    expect(problems.map((p) => p.key).sort()).toEqual(
      ["sealedSecrets.chartVersion", "sealedSecrets.colour", "sealedSecrets.controllerName", "sealedSecrets.keysFile", "sealedSecrets.namespace", "sealedSecrets.values.fullnameOverride"].map((k) => `gitops-bootstrap:${k}`),
    );
    const keysFile = problems.find((p) => p.key === "gitops-bootstrap:sealedSecrets.keysFile")!.message;
    expect(keysFile).toMatch(/^\/project\/keys\.sops\.yaml does not open with the stack's age key \(wrong key: .*\); re-run backup-keys/);
    expect(JSON.stringify(problems)).not.toContain("PRIVATE KEY");
  });

  test("a missing backup file names the resolved path and what is expected", async () => {
    const problems = await configProblems(base({ keysFile: "missing.yaml" }, {}));
    expect(problems).toContainEqual({ key: "gitops-bootstrap:sealedSecrets.keysFile", message: "/project/missing.yaml does not exist; expected the SOPS-encrypted key backup that gitops-bootstrap backup-keys writes" });
  });
});
