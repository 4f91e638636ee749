/**
 * Config set with `pulumi config set --secret` stays a Pulumi secret on its way into resources:
 * the chart values of a secret `argocd`, `flux` or `sealedSecrets` block reach the Helm release as
 * a secret (so the state holds them encrypted), a plain block stays plain, and `render` redacts
 * them. The config comes in as Pulumi hands it to the program (`setAllConfig` with secret keys).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import * as pulumi from "@pulumi/pulumi";
import { ARGOCD, FLUX } from "../../components/defaults";
import { rawConfigFromPulumi } from "../../bootstrap/program";
import { runRender } from "../../bootstrap/render/command";
import { isSecretEnvelope, runProgramUnderMocks, unwrap } from "./program-harness";

const ADMIN_PASSWORD = "$2a$10$admin-password-hash-must-stay-secret";
const FLUX_TOKEN = "flux-token-must-stay-secret";
const REPO = { url: "https://git.example.com/org/state.git", revision: "main", path: "clusters/prod" };

let identity: string;

beforeAll(async () => {
  identity = await age.generateX25519Identity();
});

/** The stack's config as the Pulumi runtime holds it, then read the way the program reads it. */
function configFromRuntime(values: Record<string, unknown>, secret: readonly string[]) {
  const full = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [`gitops-bootstrap:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  pulumi.runtime.setAllConfig(full, secret.map((k) => `gitops-bootstrap:${k}`));
  return rawConfigFromPulumi("/project");
}

const releaseValues = (run: Awaited<ReturnType<typeof runProgramUnderMocks>>, name: string) => run.byName(name).inputs.values;

test("an argocd block set as a secret reaches the Helm release's values as a secret, ours and the user's", async () => {
  const argocd = { values: { configs: { secret: { argocdServerAdminPassword: ADMIN_PASSWORD } } } };
  const raw = configFromRuntime({ environment: "prod", repo: REPO, ageKey: identity, argocd }, ["ageKey", "argocd"]);
  expect([...raw.secretKeys].sort()).toEqual(["ageKey", "argocd"]);
  const run = await runProgramUnderMocks(raw, ARGOCD.chartVersion);
  const values = releaseValues(run, "gitops-argocd-release");
  expect(isSecretEnvelope(values)).toBe(true);
  expect(unwrap(values).configs.secret.argocdServerAdminPassword).toBe(ADMIN_PASSWORD);
  expect(unwrap(values).configs.cm["kustomize.buildOptions"]).toBe(ARGOCD.kustomizeBuildOptions);
  // The rest of the block is validated structure (names, versions): public, as before.
  expect(isSecretEnvelope(run.byName("gitops-argocd-namespace").inputs.metadata)).toBe(false);
});

test("a plain argocd block stays plain: nothing becomes secret needlessly", async () => {
  const raw = configFromRuntime({ environment: "prod", repo: REPO, ageKey: identity, argocd: { values: { server: { replicas: 2 } } } }, ["ageKey"]);
  const run = await runProgramUnderMocks(raw, ARGOCD.chartVersion);
  const values = releaseValues(run, "gitops-argocd-release");
  expect(isSecretEnvelope(values)).toBe(false);
  expect(values.server.replicas).toBe(2);
});

test("a secret flux block and a secret sealedSecrets block: both releases' values are secrets", async () => {
  const flux = { values: { sourceController: { extraEnv: [{ name: "TOKEN", value: FLUX_TOKEN }] } } };
  const sealedSecrets = { namespace: "flux-system", values: { image: { pullSecrets: ["registry-token"] } } };
  const raw = configFromRuntime({ environment: "prod", reconciler: "flux", repo: REPO, ageKey: identity, flux, sealedSecrets }, ["ageKey", "flux", "sealedSecrets"]);
  const run = await runProgramUnderMocks(raw, FLUX.chartVersion);
  const fluxValues = releaseValues(run, "gitops-flux-release");
  expect(isSecretEnvelope(fluxValues)).toBe(true);
  expect(unwrap(fluxValues).sourceController.extraEnv).toEqual([{ name: "TOKEN", value: FLUX_TOKEN }]);
  const sealedValues = releaseValues(run, "gitops-sealed-secrets-release");
  expect(isSecretEnvelope(sealedValues)).toBe(true);
  expect(unwrap(sealedValues).fullnameOverride).toBe("sealed-secrets-controller");
});

test("a plain sealedSecrets block beside a secret flux block stays plain", async () => {
  const raw = configFromRuntime(
    { environment: "prod", reconciler: "flux", repo: REPO, ageKey: identity, flux: { values: { logLevel: "debug" } }, sealedSecrets: { values: { replicas: 1 } } },
    ["ageKey", "flux"],
  );
  const run = await runProgramUnderMocks(raw, FLUX.chartVersion);
  expect(isSecretEnvelope(releaseValues(run, "gitops-flux-release"))).toBe(true);
  expect(isSecretEnvelope(releaseValues(run, "gitops-sealed-secrets-release"))).toBe(false);
});

test("render redacts the values of a block that holds a secure leaf in the stack file, and shows a plain block's", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "render-secret-values-"));
  try {
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
    fs.writeFileSync(path.join(dir, "key.txt"), `${identity}\n`);
    const stack = (argocd: string) =>
      [
        "config:",
        "  gitops-bootstrap:environment: prod",
        "  gitops-bootstrap:ageKeyFile: key.txt",
        "  gitops-bootstrap:repo:",
        `    url: ${REPO.url}`,
        "    path: clusters/prod",
        "  gitops-bootstrap:argocd:",
        argocd,
        "",
      ].join("\n");
    fs.writeFileSync(
      path.join(dir, "stacks", "Pulumi.secret.yaml"),
      stack("    values:\n      configs:\n        secret:\n          argocdServerAdminPassword:\n            secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBB"),
    );
    fs.writeFileSync(path.join(dir, "stacks", "Pulumi.plain.yaml"), stack("    values:\n      server:\n        replicas: 3"));
    const render = async (name: string) => {
      let out = "";
      const code = await runRender({ stack: name, showSecrets: false }, { stdout: (s) => void (out += s), stderr: () => undefined, env: {}, projectDir: dir });
      expect(code).toBe(0);
      return out;
    };
    const secret = await render("secret");
    expect(secret).toMatch(/helmRelease: argocd\n(?:.*\n)*?values: <redacted>\n/);
    expect(secret).not.toContain("argocdServerAdminPassword");
    const plain = await render("plain");
    expect(plain).toContain("replicas: 3");
    expect(plain).toContain("kustomize.buildOptions");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
