/**
 * The schema other Pulumi languages get (PulumiPlugin.yaml: a source-based plugin package),
 * inferred by the SDK's own component provider from the TypeScript types, as the plugin host
 * does for `pulumi package get-schema` and `pulumi package add`. A type the schema cannot express
 * (a union, a callback, an anonymous object type) makes the inference throw, and this test fail.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as age from "age-encryption";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import * as library from "../../index";

const root = path.resolve(__dirname, "../..");
const COMPONENTS = ["AgeKeySecret", "ArgoCd", "ExternalSecrets", "Flux", "GitOpsCluster", "RootApplication", "SealedSecrets"];

let schema: any;
let provider: ComponentProvider;
beforeAll(async () => {
  provider = new ComponentProvider({ components: getPulumiComponents(library), dirname: root, name: "gitops-bootstrap" });
  schema = JSON.parse(await provider.getSchema());
}, 120_000);

const token = (name: string) => `gitops-bootstrap:index:${name}`;
const ref = (name: string) => `#/types/${token(name)}`;

test("the seven components, each a component resource named by its class", () => {
  expect(schema.name).toBe("gitops-bootstrap");
  expect(Object.keys(schema.resources).sort()).toEqual(COMPONENTS.map(token));
  for (const name of COMPONENTS) expect(schema.resources[token(name)].isComponent).toBe(true);
});

test("GitOpsCluster: the reconciler a plain enum, the age key an input, blocks as types, Helm values a map of Any", () => {
  const cluster = schema.resources[token("GitOpsCluster")];
  expect(cluster.requiredInputs.sort()).toEqual(["ageKey", "repo"]);
  expect(cluster.inputProperties.reconciler).toMatchObject({ $ref: ref("Reconciler"), plain: true });
  expect(schema.types[token("Reconciler")].enum.map((e: any) => e.value).sort()).toEqual(["argocd", "flux"]);
  expect(cluster.inputProperties.ageKey).toMatchObject({ type: "string" });
  expect(cluster.inputProperties.ageKey.plain).toBeUndefined();
  expect(cluster.inputProperties.podSecurity).toMatchObject({ $ref: ref("PodSecurity") });
  expect(schema.types[token("ArgoCdOptions")].properties.values).toMatchObject({ type: "object", additionalProperties: { $ref: "pulumi.json#/Any" } });
  expect(schema.types[token("RepositoryArgs")].properties.credentials).toMatchObject({ $ref: ref("RepositoryCredentialsArgs") });
  expect(schema.types[token("SealedSecretsOptions")].properties.keys).toMatchObject({ type: "array", items: { $ref: ref("SealingKeyArgs") } });
  // The key's name names a resource: plain; its private key an input.
  expect(schema.types[token("SealingKeyArgs")].properties.name.plain).toBe(true);
  expect(schema.types[token("SealingKeyArgs")].properties.privateKey.plain).toBeUndefined();
  // The store credentials: a plain name, values a map of string inputs.
  expect(cluster.inputProperties.externalSecrets).toMatchObject({ $ref: ref("ExternalSecretsOptions") });
  expect(schema.types[token("ExternalSecretsOptions")].properties.credentials).toMatchObject({ type: "array", items: { $ref: ref("StoreCredentialArgs") } });
  expect(schema.types[token("StoreCredentialArgs")].properties.name.plain).toBe(true);
  expect(schema.types[token("StoreCredentialArgs")].properties.stringData).toMatchObject({ type: "object", additionalProperties: { type: "string" } });
  expect(schema.types[token("StoreCredentialArgs")].required).toEqual(expect.arrayContaining(["name", "stringData"]));
});

test("outputs: what a program reads back, never a secret input", () => {
  const outputs = schema.resources[token("GitOpsCluster")].properties;
  expect(Object.keys(outputs).sort()).toEqual(["chartVersion", "gitRepositoryName", "kustomizationName", "reconcilerNamespace", "releaseStatus", "rootApplicationName"]);
  expect(schema.resources[token("GitOpsCluster")].required.sort()).toEqual(["chartVersion", "reconcilerNamespace", "releaseStatus"]);
  expect(Object.keys(schema.resources[token("Flux")].properties).sort()).toEqual(["chartVersion", "gitRepositoryName", "kustomizationName", "namespace", "releaseStatus"]);
});

test("the check refuses what a schema cannot express: a string-literal union in a component's args", async () => {
  const fixture = path.join(root, "test/fixtures/plugin-union");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const components = getPulumiComponents(require(fixture));
  const provider = new ComponentProvider({ components, dirname: fixture, name: "plugin-union" });
  await expect(provider.getSchema()).rejects.toThrow(/Union types are not supported for .*reconciler/);
}, 120_000);

test("what another language's program sends (the enum as its string, blocks as plain objects, a secret) builds the Flux path and returns the schema's outputs", async () => {
  const identity = await age.generateX25519Identity();
  const registered: { type: string; name: string; inputs: any }[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => (registered.push(args), { id: `${args.name}-id`, state: { ...args.inputs, status: { status: "deployed", version: "2.18.3" } } }),
      call: (args) => args.inputs,
    },
    "consumer",
    "dev",
    false,
  );
  const inputs = {
    reconciler: "flux",
    repo: { url: "https://git.example.com/org/state.git", revision: "main", path: "apps" },
    ageKey: pulumi.secret(identity),
    rootApp: { name: "platform" },
  };
  const result = await provider.construct("gitops", token("GitOpsCluster"), inputs, {});
  const state = await (pulumi.output(result.state) as any).promise();
  await pulumi.runtime.disconnect();
  expect(Object.keys(state).sort()).toEqual(["chartVersion", "gitRepositoryName", "kustomizationName", "reconcilerNamespace", "releaseStatus", "rootApplicationName"]);
  expect(state).toMatchObject({ reconcilerNamespace: "flux-system", kustomizationName: "platform", gitRepositoryName: "platform", releaseStatus: "deployed" });
  expect(registered.map((r) => r.type)).toContain("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization");
  expect(registered.map((r) => r.type)).not.toContain("kubernetes:argoproj.io/v1alpha1:Application");
});
