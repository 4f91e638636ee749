/**
 * The program with `sealedSecrets`, under Pulumi mocks, for both reconcilers: the backed-up keys
 * become labelled `kubernetes.io/tls` Secrets (Pulumi secrets) that the controller's Helm release
 * waits for; `render` shows them with the private keys redacted.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import { SEALED_SECRETS } from "../../components/defaults";
import type { SealingKey } from "../../components/settings/sealing-keys";
import { cli, docs } from "./cli-harness";
import { isSecretEnvelope, runProgramUnderMocks, unwrap } from "./program-harness";
import { backupText, makeSealingKey } from "./sealed-secrets-harness";

let keys: SealingKey[];
let identity: string;
let backup: string;

beforeAll(async () => {
  keys = ["sealed-secrets-keyaaaaa", "sealed-secrets-keybbbbb"].map(makeSealingKey);
  identity = await age.generateX25519Identity();
  backup = await backupText(keys, [await age.identityToRecipient(identity)]);
});

const raw = (reconciler: "argocd" | "flux", sealedSecrets: Record<string, unknown>) => ({
  values: { environment: "dev", reconciler, repo: JSON.stringify({ url: "https://git.example.com/org/state.git", revision: "main", path: "apps" }), ageKey: identity, sealedSecrets: JSON.stringify(sealedSecrets) },
  secretKeys: new Set(["ageKey"]),
  baseDir: "/project",
  readFile: (f: string) => {
    if (f === "/project/keys.sops.yaml") return backup;
    throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
  },
});

test.each(["argocd", "flux"] as const)("%s: the keys are restored as Secrets before the controller's release, which waits for them", async (reconciler) => {
  const run = await runProgramUnderMocks(raw(reconciler, { keysFile: "keys.sops.yaml", values: { resources: { requests: { cpu: "10m" } } } }), SEALED_SECRETS.chartVersion);
  const keySecrets = run.registered.filter((r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.type === "kubernetes.io/tls");
  expect(keySecrets.map((s) => [s.inputs.metadata.name, s.inputs.metadata.namespace, s.inputs.metadata.labels["sealedsecrets.bitnami.com/sealed-secrets-key"]])).toEqual([
    ["sealed-secrets-keyaaaaa", "kube-system", "active"],
    ["sealed-secrets-keybbbbb", "kube-system", "active"],
  ]);
  for (const s of keySecrets) {
    expect(isSecretEnvelope(s.inputs.stringData)).toBe(true);
    expect(unwrap(s.inputs.stringData)["tls.key"]).toBe(keys.find((k) => k.name === s.inputs.metadata.name)!.privateKey.reveal());
  }
  const release = run.registered.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name === SEALED_SECRETS.releaseName)!;
  expect(release.inputs).toMatchObject({ chart: "sealed-secrets", version: SEALED_SECRETS.chartVersion, namespace: "kube-system", repositoryOpts: { repo: SEALED_SECRETS.chartRepo } });
  expect(release.inputs.values).toEqual({
    podSecurityContext: { seccompProfile: { type: "RuntimeDefault" } },
    containerSecurityContext: { allowPrivilegeEscalation: false },
    resources: { requests: { cpu: "10m" } },
    fullnameOverride: "sealed-secrets-controller",
  });
  expect(run.dependencies.get(release.name)).toEqual(expect.arrayContaining(keySecrets.map((s) => s.name)));
  // kube-system exists everywhere: no Namespace for it.
  expect(run.registered.filter((r) => r.type === "kubernetes:core/v1:Namespace" && r.inputs.metadata.name === "kube-system")).toEqual([]);
});

test("a namespace of its own is created first; without a backup the controller starts with new keys", async () => {
  const run = await runProgramUnderMocks(raw("argocd", { namespace: "sealed-secrets" }), SEALED_SECRETS.chartVersion);
  const ns = run.registered.find((r) => r.type === "kubernetes:core/v1:Namespace" && r.inputs.metadata.name === "sealed-secrets")!;
  const release = run.registered.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name === SEALED_SECRETS.releaseName)!;
  expect(run.dependencies.get(release.name)).toEqual([ns.name]);
  expect(run.registered.filter((r) => r.inputs?.type === "kubernetes.io/tls")).toEqual([]);
});

test("render shows the restored keys' certificates and redacts their private keys", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "render-sealed-"));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
  fs.mkdirSync(path.join(dir, "stacks"));
  fs.writeFileSync(path.join(dir, "keys.txt"), `${identity}\n`);
  fs.writeFileSync(path.join(dir, "keys.sops.yaml"), backup);
  fs.writeFileSync(
    path.join(dir, "stacks/Pulumi.dev.yaml"),
    "config:\n  gitops-bootstrap:environment: dev\n  gitops-bootstrap:repo:\n    url: https://git.example.com/org/state.git\n    path: apps\n  gitops-bootstrap:ageKeyFile: keys.txt\n  gitops-bootstrap:sealedSecrets:\n    keysFile: keys.sops.yaml\n",
  );
  const { code, stdout, stderr } = await cli(["render", "--stack", "dev"], dir);
  expect(stderr).toContain("✔ stack dev: 8 resources, secrets redacted");
  expect(code).toBe(0);
  const tls = docs(stdout).filter((d) => d.type === "kubernetes.io/tls");
  expect(tls.map((d) => d.stringData["tls.key"])).toEqual(["<redacted>", "<redacted>"]);
  expect(tls[0].stringData["tls.crt"]).toBe(keys[0].certificate);
  expect(stdout + stderr).not.toContain("PRIVATE KEY");
  expect(docs(stdout).find((d) => d.helmRelease === "sealed-secrets")).toMatchObject({ chart: "sealed-secrets", namespace: "kube-system" });
  fs.rmSync(dir, { recursive: true });
});
