/**
 * The `externalSecrets` block: the store credentials file (SOPS-encrypted with the stack's age key,
 * written by our SOPS writer) and its rules; the program's order under Pulumi mocks for both
 * reconcilers (namespace, credentials, operator release, then the reconciler's root); `render`
 * redacting the credentials.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import { resolveConfig } from "../../bootstrap/config/stack-config";
import { EXTERNAL_SECRETS } from "../../components/defaults";
import { type Plain, writeSopsYaml } from "../../bootstrap/sops/writer";
import { cli, docs } from "./cli-harness";
import { configProblems, rawStackConfig } from "./config-harness";
import { isSecretEnvelope, runProgramUnderMocks, unwrap } from "./program-harness";

const TOKEN = "store-token-must-stay-secret";
const REPO = { url: "https://git.example.com/org/state.git", revision: "main", path: "apps" };

let identity: string;
let recipient: string;

beforeAll(async () => {
  identity = await age.generateX25519Identity();
  recipient = await age.identityToRecipient(identity);
});

/** A credential Secret; an `extra` field set to undefined is left out. */
const secret = (name: string, extra: Record<string, unknown> = {}): Plain =>
  Object.fromEntries(Object.entries({ apiVersion: "v1", kind: "Secret", metadata: { name }, stringData: { token: TOKEN }, ...extra }).filter(([, v]) => v !== undefined)) as Plain;
const encrypt = (documents: Plain[], to = recipient) => writeSopsYaml(documents, { recipients: [to], encryptedRegex: "^(data|stringData)$" });

async function stack(externalSecrets: Record<string, unknown>, file?: string, reconciler: "argocd" | "flux" = "argocd") {
  return rawStackConfig({ environment: "dev", reconciler, repo: REPO, ageKey: identity, externalSecrets }, ["ageKey"], file === undefined ? {} : { "/project/creds.sops.yaml": file });
}

describe("the credentials file", () => {
  test("each document a Secret in the operator's namespace, read with the rest of the config; values held as secrets", async () => {
    const file = await encrypt([secret("vault-token"), secret("aws-keys", { metadata: { name: "aws-keys", namespace: "external-secrets" }, stringData: undefined, data: { id: Buffer.from("AKIA").toString("base64") } })]);
    const config = await resolveConfig(await stack({ credentialsFile: "creds.sops.yaml" }, file));
    const eso = config.externalSecrets!;
    expect(eso).toMatchObject({ chartVersion: EXTERNAL_SECRETS.chartVersion, namespace: "external-secrets", credentialsFile: "/project/creds.sops.yaml" });
    expect(eso.credentials.map((c) => [c.name, c.type, Object.keys(c.stringData)])).toEqual([
      ["vault-token", "Opaque", ["token"]],
      ["aws-keys", "Opaque", ["id"]],
    ]);
    expect(eso.credentials[0].stringData.token.reveal()).toBe(TOKEN);
    expect(eso.credentials[1].stringData.id.reveal()).toBe("AKIA");
    expect(JSON.stringify(config)).not.toContain(TOKEN);
  });

  test("a file the stack's key does not open is refused, naming the key and the file", async () => {
    const other = await age.identityToRecipient(await age.generateX25519Identity());
    const problems = await configProblems(await stack({ credentialsFile: "creds.sops.yaml" }, await encrypt([secret("vault-token")], other)));
    expect(problems).toEqual([{ key: "gitops-bootstrap:externalSecrets.credentialsFile", message: expect.stringMatching(/^\/project\/creds\.sops\.yaml does not open with the stack's age key/) }]);
  });

  test("anything but a plain credential in the operator's namespace is refused, every problem at once, no value shown", async () => {
    const file = await encrypt([
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: { a: "b" } } as Plain,
      secret("elsewhere", { metadata: { name: "elsewhere", namespace: "argocd" } }),
      secret("minted", { type: "kubernetes.io/service-account-token" }),
      secret("labelled", { metadata: { name: "labelled", labels: { "sealedsecrets.bitnami.com/sealed-secrets-key": "active" } } }),
      secret("twice"),
      secret("twice"),
      secret("binary", { stringData: undefined, data: { k: Buffer.from([0xff, 0xfe]).toString("base64") } }),
      secret("empty", { stringData: {} }),
    ]);
    const problems = await configProblems(await stack({ credentialsFile: "creds.sops.yaml" }, file));
    const messages = problems.map((p) => p.message);
    expect(problems.every((p) => p.key === "gitops-bootstrap:externalSecrets.credentialsFile")).toBe(true);
    expect(messages).toEqual([
      expect.stringContaining("document 1: must be a v1 Secret, got \"v1\" \"ConfigMap\""),
      expect.stringContaining("document 2 (elsewhere): metadata.namespace \"argocd\" is not the operator's namespace external-secrets"),
      expect.stringContaining("document 3 (minted): type must be one of Opaque, kubernetes.io/basic-auth"),
      expect.stringContaining("document 4 (labelled): labels and annotations are not accepted"),
      expect.stringContaining("document 6 (twice): a second Secret with the same name"),
      expect.stringContaining("document 7 (binary): data.k must be base64 of UTF-8 text"),
      expect.stringContaining("document 8 (empty): has no data"),
    ]);
    expect(messages.join("\n")).not.toContain(TOKEN);
  });

  test("the operator's namespace is its own, the chart's CRDs stay installed, unknown keys are named", async () => {
    const problems = await configProblems(await stack({ namespace: "argocd", values: { installCRDs: false }, credentials: "x" }));
    expect(problems.map((p) => p.key)).toEqual([
      "gitops-bootstrap:externalSecrets.credentials",
      "gitops-bootstrap:externalSecrets.values.installCRDs",
      "gitops-bootstrap:externalSecrets.namespace",
    ]);
    expect(problems[2].message).toContain("argocd is the reconciler's namespace");
    expect((await configProblems(await stack({ namespace: "kube-system" }))).map((p) => p.message)).toEqual([expect.stringContaining("kube-system is a system namespace")]);
  });

  test("without a credentials file (workload identity) the operator is installed with no credential", async () => {
    const config = await resolveConfig(await stack({ values: { serviceAccount: { annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/eso" } } } }));
    expect(config.externalSecrets).toMatchObject({ credentials: [], values: { serviceAccount: { annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/eso" } } } });
    expect(config.externalSecrets?.credentialsFile).toBeUndefined();
  });
});

describe.each(["argocd", "flux"] as const)("%s: the program's order", (reconciler) => {
  test("namespace, then the credentials (Pulumi secrets), then the operator's release; the root waits for the release", async () => {
    const file = await encrypt([secret("vault-token")]);
    const run = await runProgramUnderMocks(await stack({ credentialsFile: "creds.sops.yaml", values: { resources: {} } }, file, reconciler), EXTERNAL_SECRETS.chartVersion);
    const ns = run.registered.find((r) => r.type === "kubernetes:core/v1:Namespace" && r.inputs.metadata.name === "external-secrets")!;
    const credential = run.registered.find((r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.metadata.name === "vault-token")!;
    expect(credential.inputs.metadata.namespace).toBe("external-secrets");
    expect(credential.inputs.type).toBe("Opaque");
    expect(isSecretEnvelope(credential.inputs.stringData)).toBe(true);
    expect(unwrap(credential.inputs.stringData)).toEqual({ token: TOKEN });
    const release = run.registered.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name === EXTERNAL_SECRETS.releaseName)!;
    expect(release.inputs).toMatchObject({ chart: "external-secrets", version: EXTERNAL_SECRETS.chartVersion, namespace: "external-secrets", repositoryOpts: { repo: EXTERNAL_SECRETS.chartRepo } });
    expect(release.inputs.values).toEqual({ installCRDs: true, crds: { annotations: { "helm.sh/resource-policy": "keep" } }, resources: {} });
    expect(run.dependencies.get(release.name)).toEqual([ns.name, credential.name]);
    const root = run.registered.find((r) => (reconciler === "flux" ? r.inputs?.kind === "Kustomization" : r.inputs?.kind === "Application"))!;
    expect(run.dependencies.get(root.name)).toContain(release.name);
    // The reconciler's own release does not wait for the operator: they install side by side.
    const reconcilerRelease = run.registered.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.name !== release.name)!;
    expect(run.dependencies.get(reconcilerRelease.name) ?? []).not.toContain(release.name);
  });
});

test("render shows the operator's release and the credentials with their values redacted", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "render-eso-"));
  try {
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.writeFileSync(path.join(dir, "keys.txt"), `${identity}\n`);
    fs.writeFileSync(path.join(dir, "creds.sops.yaml"), await encrypt([secret("vault-token")]));
    fs.writeFileSync(
      path.join(dir, "stacks/Pulumi.dev.yaml"),
      "config:\n  gitops-bootstrap:environment: dev\n  gitops-bootstrap:repo:\n    url: https://git.example.com/org/state.git\n    path: apps\n  gitops-bootstrap:ageKeyFile: keys.txt\n  gitops-bootstrap:externalSecrets:\n    credentialsFile: creds.sops.yaml\n",
    );
    const { code, stdout, stderr } = await cli(["render", "--stack", "dev"], dir);
    expect(stderr + stdout).not.toContain(TOKEN);
    expect(code).toBe(0);
    const credential = docs(stdout).find((d) => d.kind === "Secret" && d.metadata?.name === "vault-token");
    expect(credential).toMatchObject({ metadata: { namespace: "external-secrets" }, stringData: { token: "<redacted>" } });
    expect(docs(stdout).find((d) => d.helmRelease === "external-secrets")).toMatchObject({ chart: "external-secrets", namespace: "external-secrets" });
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});
