/**
 * Sealed Secrets that survive the cluster, on real parts: the Sealed Secrets controller and
 * kubeseal v0.40.0 (built from their module; the controller runs as a local process,
 * sealed-secrets-controller.ts), the real Pulumi engine and provider, Helm (the stand-in chart,
 * test/e2e/charts/sealed-secrets) and the real sops.
 *
 * Cluster A: the controller makes its key, kubeseal seals a Secret with it, `backup-keys` writes
 * the backup (which the real `sops decrypt` opens; a second run leaves it unchanged) and `check`
 * proves it opens the SealedSecret. Then the cluster is wiped: `up` with the backup restores the
 * key before the controller's release, the controller starts with it and unseals the old
 * SealedSecret to the original value. Wiped again without the backup: the new controller makes a
 * new key and cannot unseal it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { cliEnv, openCluster, openStack, requireToolchain, type StackHandle, type TestCluster, tempDir } from "./harness";
import { type SealedSecretsController, sealedSecretsToolchain, startSealedSecretsController } from "./sealed-secrets-controller";
import { toolchainEnv } from "./toolchain";

jest.setTimeout(10 * 60 * 1000);

const VALUE = "sealed-before-the-disaster";
const KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key";

let dir: string;
let cluster: TestCluster;
let handle: StackHandle;
let controller: SealedSecretsController | undefined;
let sealed: Record<string, unknown>;
let backup: string;

const cli = (args: string[]) => spawnSync(process.execPath, [path.join(handle.workDir, "bootstrap/gitops-bootstrap.js"), ...args], { cwd: handle.workDir, env: { ...cliEnv(dir), CI: "true" }, encoding: "utf8" });

/** The stack's sealedSecrets block, with the stand-in chart and (optionally) the backup. */
function setSealedSecrets(keysFile: string | undefined): void {
  const file = path.join(handle.workDir, "stacks/Pulumi.sandbox.yaml");
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  doc.config["gitops-bootstrap:sealedSecrets"] = { chartRepo: "test/e2e/charts/sealed-secrets.tgz", ...(keysFile ? { keysFile } : {}) };
  fs.writeFileSync(file, YAML.stringify(doc));
}

const keySecrets = (): { name: string; crt: string }[] =>
  (JSON.parse(cluster.kubectl(["get", "secrets", "-n", "kube-system", "-l", KEY_LABEL, "-o", "json"])) as { items: { metadata: { name: string }; data: Record<string, string> }[] }).items.map((s) => ({ name: s.metadata.name, crt: s.data["tls.crt"] }));

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${controller?.logTail() ?? ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const secretValue = (): string | undefined => {
  try {
    const s = JSON.parse(cluster.kubectl(["get", "secret", "db", "-n", "apps", "-o", "json"])) as { data: Record<string, string> };
    return Buffer.from(s.data.password, "base64").toString("utf8");
  } catch {
    return undefined;
  }
};

const applySealed = (): void => {
  cluster.kubectl(["create", "namespace", "apps"]);
  cluster.kubectl(["apply", "-f", "-"], JSON.stringify(sealed));
};

async function startController(): Promise<void> {
  controller = await startSealedSecretsController({ dir: path.join(dir, `controller-${Date.now()}`), kubeconfig: cluster.kubeconfig, kubectl: (a) => cluster.kubectl(a) });
}

beforeAll(async () => {
  requireToolchain("kubectl", "kube-apiserver", "etcd", "kwok", "pulumi", "pulumi-resource-kubernetes", "helm", "sops");
  sealedSecretsToolchain();
  dir = tempDir("sealed-secrets");
  cluster = await openCluster(dir);
  handle = await openStack(dir, "sandbox", cluster.kubeconfig);
  backup = path.join(handle.workDir, "sealing-keys.sops.yaml");
});

afterAll(async () => {
  await controller?.stop();
  await cluster?.close();
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

test("cluster A: up installs the controller's release, the controller makes its key, kubeseal seals a Secret and the controller unseals it", async () => {
  // Before anything is installed: a clear error, exit 1.
  const none = cli(["backup-keys", "--stack", "sandbox", "--kubeconfig", cluster.kubeconfig, "--out", backup]);
  expect(none.stderr).toContain("✗ no Sealed Secrets controller kube-system/sealed-secrets-controller in https://127.0.0.1:");
  expect(none.status).toBe(1);
  expect(fs.existsSync(backup)).toBe(false);
  cluster.kubectl(["apply", "--server-side", "-f", sealedSecretsToolchain().crds]);
  setSealedSecrets(undefined);
  await handle.stack.up({ onOutput: (s) => handle.log.push(s) });
  // The release is there, the controller has not run yet: no key.
  const noKey = cli(["backup-keys", "--stack", "sandbox", "--kubeconfig", cluster.kubeconfig, "--out", backup]);
  expect(noKey.stderr).toContain("✗ the controller kube-system/sealed-secrets-controller has no sealing key");
  expect(noKey.status).toBe(1);
  await startController();
  expect(keySecrets()).toHaveLength(1);
  const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "apps" }, stringData: { password: VALUE } };
  const { kubeseal } = sealedSecretsToolchain();
  const out = execFileSync(kubeseal, ["--cert", controller!.certUrl, "--format", "yaml"], { input: YAML.stringify(secret), encoding: "utf8" });
  sealed = YAML.parse(out);
  expect(sealed).toMatchObject({ kind: "SealedSecret", metadata: { name: "db", namespace: "apps" } });
  expect(out).not.toContain(VALUE);
  applySealed();
  expect(await waitFor("the Secret unsealed on cluster A", secretValue)).toBe(VALUE);
});

test("backup-keys writes every key SOPS-encrypted to the stack's recipient; sops decrypts it; unchanged keys leave the file unchanged", () => {
  const first = cli(["backup-keys", "--stack", "sandbox", "--kubeconfig", cluster.kubeconfig, "--out", backup]);
  expect(first.stderr).toMatch(/✔ 1 sealing key: sealed-secrets-key\w+/);
  expect(first.status).toBe(0);
  expect(first.stdout + first.stderr).not.toMatch(/PRIVATE KEY/);
  const text = fs.readFileSync(backup, "utf8");
  expect(YAML.parse(text).items[0].metadata).toMatchObject({ namespace: "kube-system", labels: { [KEY_LABEL]: "active" } });
  const decrypted = execFileSync("sops", ["decrypt", backup], { env: toolchainEnv({ SOPS_AGE_KEY_FILE: path.join(handle.workDir, "examples/gitops-repo/demo-age-key.txt") }), encoding: "utf8" });
  expect(YAML.parse(decrypted).items.map((i: { metadata: { name: string }; data: Record<string, string> }) => [i.metadata.name, i.data["tls.crt"]])).toEqual(keySecrets().map((k) => [k.name, k.crt]));
  const again = cli(["backup-keys", "--stack", "sandbox", "--kubeconfig", cluster.kubeconfig, "--out", backup]);
  expect(again.stdout).toContain("unchanged");
  expect(fs.readFileSync(backup, "utf8")).toBe(text);
});

test("check --stack proves the backup opens the SealedSecret sealed by kubeseal", () => {
  setSealedSecrets("sealing-keys.sops.yaml");
  const repo = path.join(dir, "repo");
  fs.mkdirSync(path.join(repo, "apps"), { recursive: true });
  fs.writeFileSync(path.join(repo, "apps/db-sealed.yaml"), YAML.stringify(sealed));
  const r = cli(["check", "--stack", "sandbox", "--repo", repo]);
  expect(r.stdout).toContain("✔ apps/db-sealed.yaml  SealedSecret apps/db: ok (1 value (strict))");
  expect(r.status).toBe(0);
});

test("wiped: up with the backup restores the key before the controller starts; the controller unseals the old SealedSecret to the original value", async () => {
  const before = keySecrets();
  await controller!.stop();
  controller = undefined;
  await cluster.wipe();
  cluster.kubectl(["apply", "--server-side", "-f", sealedSecretsToolchain().crds]);
  await handle.stack.up({ onOutput: (s) => handle.log.push(s), refresh: true });
  // Restored by up, before any controller ran.
  expect(keySecrets()).toEqual(before);
  await startController();
  applySealed();
  expect(await waitFor("the old SealedSecret unsealed on the rebuilt cluster", secretValue)).toBe(VALUE);
  // The controller used the restored key and made no new one.
  expect(keySecrets()).toEqual(before);
});

test("wiped without the backup: the new controller makes a new key and the old SealedSecret stays sealed", async () => {
  await controller!.stop();
  controller = undefined;
  await cluster.wipe();
  cluster.kubectl(["apply", "--server-side", "-f", sealedSecretsToolchain().crds]);
  setSealedSecrets(undefined);
  await handle.stack.up({ onOutput: (s) => handle.log.push(s), refresh: true });
  expect(keySecrets()).toEqual([]);
  await startController();
  applySealed();
  const condition = await waitFor("the SealedSecret's Synced=False condition", () => {
    const s = JSON.parse(cluster.kubectl(["get", "sealedsecret", "db", "-n", "apps", "-o", "json"])) as { status?: { conditions?: { type: string; status: string; message?: string }[] } };
    return s.status?.conditions?.find((c) => c.type === "Synced" && c.status === "False");
  });
  expect(condition.message).toMatch(/no key could decrypt secret/);
  expect(secretValue()).toBeUndefined();
});

test("backup-keys against that rebuilt cluster keeps the old key and adds the new one, and says the cluster lacks a key; --prune drops it and says so", () => {
  const itemNames = (file: string): string[] => (YAML.parse(fs.readFileSync(file, "utf8")) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name);
  const decryptedCertificates = (file: string): Record<string, string> => {
    const text = execFileSync("sops", ["decrypt", file], { env: toolchainEnv({ SOPS_AGE_KEY_FILE: path.join(handle.workDir, "examples/gitops-repo/demo-age-key.txt") }), encoding: "utf8" });
    return Object.fromEntries((YAML.parse(text) as { items: { metadata: { name: string }; data: Record<string, string> }[] }).items.map((i) => [i.metadata.name, i.data["tls.crt"]]));
  };
  const [old] = itemNames(backup);
  const oldCertificate = decryptedCertificates(backup)[old];
  const [fresh] = keySecrets();
  expect(fresh.name).not.toBe(old);

  const merged = cli(["backup-keys", "--stack", "sandbox", "--kubeconfig", cluster.kubeconfig, "--out", backup]);
  expect(merged.status).toBe(0);
  expect(merged.stderr).toContain("! the cluster holds 0 of the 1 sealing key in the backup: is it a rebuilt cluster not yet restored, or another cluster?");
  expect(merged.stderr).toContain(`the backup keeps ${old} (--prune would drop it)`);
  expect(merged.stdout).toContain(`2 keys, 1 new (${fresh.name})`);
  expect(itemNames(backup)).toEqual([old, fresh.name].sort());
  expect(decryptedCertificates(backup)).toEqual({ [old]: oldCertificate, [fresh.name]: fresh.crt });
  expect(fs.statSync(backup).mode & 0o777).toBe(0o600);
  expect(merged.stdout + merged.stderr).not.toMatch(/PRIVATE KEY/);

  const pruned = path.join(dir, "pruned.sops.yaml");
  fs.copyFileSync(backup, pruned);
  const p = cli(["backup-keys", "--stack", "sandbox", "--kubeconfig", cluster.kubeconfig, "--out", pruned, "--prune"]);
  expect(p.status).toBe(0);
  expect(p.stderr).toContain(`! --prune: dropping 1 key from the backup: ${old}`);
  expect(itemNames(pruned)).toEqual([fresh.name]);
  // The merged backup is untouched by the pruned copy.
  expect(itemNames(backup)).toEqual([old, fresh.name].sort());
});
