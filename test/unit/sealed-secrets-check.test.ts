/**
 * `check` and SealedSecrets: with the stack's key backup, every SealedSecret in the repository is
 * opened as the controller would (per scope), reported per file; without a backup, a warning
 * names them. Values never appear.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import * as YAML from "yaml";
import { encryptionLabel, scopeOf, sealValue } from "../../bootstrap/sealed-secrets/crypto";
import type { SealingKey } from "../../components/settings/sealing-keys";
import { cli } from "./cli-harness";
import { backupText, makeSealingKey, publicKeyOf } from "./sealed-secrets-harness";

const VALUE = "sealed-plaintext-never-printed";
let dir: string;
let backedUp: SealingKey;
let lost: SealingKey;

function sealedSecret(name: string, namespace: string | undefined, key: SealingKey, annotations: Record<string, string> = {}) {
  const label = encryptionLabel(scopeOf(annotations), namespace ?? "", name);
  return {
    apiVersion: "bitnami.com/v1alpha1",
    kind: "SealedSecret",
    metadata: { name, ...(namespace ? { namespace } : {}), annotations },
    spec: { encryptedData: { password: sealValue(Buffer.from(VALUE), publicKeyOf(key), label).toString("base64") }, template: { metadata: { name } } },
  };
}

beforeAll(async () => {
  [backedUp, lost] = ["sealed-secrets-keyaaaaa", "sealed-secrets-keylost1"].map(makeSealingKey);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sealed-check-"));
  const identity = await age.generateX25519Identity();
  const repo = path.join(dir, "repo");
  fs.mkdirSync(path.join(repo, "apps"), { recursive: true });
  const write = (file: string, docs: unknown[]) => fs.writeFileSync(path.join(repo, file), docs.map((d) => YAML.stringify(d)).join("---\n"));
  write("apps/strict.yaml", [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }, sealedSecret("db", "apps", backedUp)]);
  write("apps/wide.yaml", [sealedSecret("token", "apps", backedUp, { "sealedsecrets.bitnami.com/namespace-wide": "true" }), sealedSecret("shared", undefined, backedUp, { "sealedsecrets.bitnami.com/cluster-wide": "true" })]);
  write("apps/old.yaml", [sealedSecret("legacy", "apps", lost)]);
  const moved = sealedSecret("moved", "apps", backedUp);
  moved.metadata.namespace = "other"; // copied to another namespace: strict scope no longer opens
  write("apps/moved.yaml", [moved]);
  write("apps/no-namespace.yaml", [sealedSecret("floating", undefined, backedUp)]);
  // The project: a stack whose backup holds only `backedUp`.
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
  fs.mkdirSync(path.join(dir, "stacks"));
  fs.writeFileSync(path.join(dir, "keys.txt"), `${identity}\n`);
  fs.writeFileSync(path.join(dir, "sealing-keys.sops.yaml"), await backupText([backedUp], [await age.identityToRecipient(identity)]));
  const stack = (extra: string) => `config:\n  gitops-bootstrap:environment: dev\n  gitops-bootstrap:repo:\n    url: https://git.example.com/org/state.git\n    path: apps\n  gitops-bootstrap:ageKeyFile: keys.txt\n${extra}`;
  fs.writeFileSync(path.join(dir, "stacks/Pulumi.dev.yaml"), stack("  gitops-bootstrap:sealedSecrets:\n    keysFile: sealing-keys.sops.yaml\n"));
  fs.writeFileSync(path.join(dir, "stacks/Pulumi.nobackup.yaml"), stack(""));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("with the backup: every SealedSecret opened per its scope, one line each; a lost key and a moved one fail", async () => {
  const r = await cli(["check", "--stack", "dev", "--repo", path.join(dir, "repo")], dir);
  const lines = r.stdout.split("\n");
  expect(lines).toEqual(
    expect.arrayContaining([
      "✔ apps/strict.yaml  SealedSecret apps/db: ok (1 value (strict))",
      "✔ apps/wide.yaml  SealedSecret apps/token: ok (1 value (namespace-wide))",
      "✔ apps/wide.yaml  SealedSecret shared: ok (1 value (cluster-wide))",
      "✗ apps/old.yaml  SealedSecret apps/legacy: no key opens it: no backed-up key opens encryptedData.password (strict scope)",
      "✗ apps/moved.yaml  SealedSecret other/moved: no key opens it: no backed-up key opens encryptedData.password (strict scope)",
    ]),
  );
  expect(r.stdout).toContain("⚠ apps/no-namespace.yaml: SealedSecret floating not checked: no metadata.namespace, and its strict scope binds the value to the namespace it is applied in");
  expect(r.stdout).toMatch(/the key backup opens 3 of 6 SealedSecrets$/m);
  expect(r.code).toBe(1);
  expect(r.stdout + r.stderr).not.toContain(VALUE);

  const json = JSON.parse((await cli(["check", "--stack", "dev", "--repo", path.join(dir, "repo"), "--json"], dir)).stdout);
  expect(json.sealedSecrets.map((s: { secret: string; kind: string }) => `${s.secret}:${s.kind}`).sort()).toEqual(["apps/db:ok", "apps/legacy:no-key", "apps/token:ok", "floating:unchecked", "other/moved:no-key", "shared:ok"]);
});

test("without a backup: a warning that names them, and SOPS files decide the exit status", async () => {
  const r = await cli(["check", "--stack", "nobackup", "--repo", path.join(dir, "repo")], dir);
  expect(r.stdout).toMatch(/⚠ 6 SealedSecrets \(apps\/moved\.yaml: other\/moved, .*apps\/wide\.yaml: shared\) and no key backup to prove: a rebuilt cluster's new controller cannot open them; configure sealedSecrets\.keysFile/);
  expect(r.code).toBe(0);
});
