/**
 * The components as a library user calls them (through the package's entry, index.ts), under
 * Pulumi mocks: Args given as plain values, as Outputs known at deploy time, and as Outputs
 * unknown at preview; the checks' messages for values known at construction and for values that
 * resolve later; and what reaches the engine as a secret.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as age from "age-encryption";
import { ComponentArgsError, GitOpsCluster, type GitOpsClusterArgs, PodSecurity, Reconciler, RootApplication } from "../../index";
import { isSecretEnvelope, unwrap } from "./program-harness";

const PASSWORD = "token-must-stay-secret";

interface Registered {
  type: string;
  name: string;
  inputs: any;
}

let identity: string;
beforeAll(async () => {
  identity = await age.generateX25519Identity();
});

/** Runs `build` under mocks (a preview when `preview`); records every resource registered and the registrations that failed. */
async function underMocks(preview: boolean, build: () => void): Promise<{ registered: Registered[]; rejections: unknown[] }> {
  const registered: Registered[] = [];
  const rejections: unknown[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: preview ? undefined : `${args.name}-id`, state: { ...args.inputs, status: { status: "deployed", version: "1.0.0" } } };
      },
      call: (args) => args.inputs,
    },
    "project",
    "stack",
    preview,
  );
  build();
  // Registrations are asynchronous: wait until every outstanding one has reached the mocks.
  await pulumi.runtime.disconnect().catch((e: unknown) => rejections.push(...(e instanceof AggregateError ? e.errors : [e])));
  return { registered, rejections };
}

const valueOf = <T>(o: pulumi.Output<T>): Promise<T> => (o as any).promise();

const fluxArgs = (overrides: Partial<GitOpsClusterArgs> = {}): GitOpsClusterArgs => ({
  reconciler: Reconciler.Flux,
  repo: { url: "https://git.example.com/org/state.git", revision: "main", path: "clusters/prod", credentials: { username: "bot", password: PASSWORD } },
  ageKey: identity,
  ...overrides,
});

test("Outputs known at deploy time reach the resources: namespace, chart version, values, the age key", async () => {
  let cluster!: GitOpsCluster;
  const { registered, rejections } = await underMocks(false, () => {
    cluster = new GitOpsCluster("c", {
      ...fluxArgs({ ageKey: pulumi.output(identity) }),
      flux: { namespace: pulumi.output("gitops"), chartVersion: pulumi.output("2.18.3"), values: pulumi.output({ logLevel: "debug" }) },
      podSecurity: pulumi.output(PodSecurity.Restricted),
    });
  });
  expect(rejections).toEqual([]);
  const ns = registered.find((r) => r.type === "kubernetes:core/v1:Namespace")!;
  expect(ns.inputs.metadata.name).toBe("gitops");
  expect(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  const release = registered.find((r) => r.type === "kubernetes:helm.sh/v3:Release")!;
  expect(release.inputs).toMatchObject({ namespace: "gitops", version: "2.18.3", values: { installCRDs: true, logLevel: "debug" } });
  const ageSecret = registered.find((r) => r.name === "c-flux-age-key-secret")!;
  expect(unwrap(unwrap(ageSecret.inputs.stringData)["age.agekey"])).toBe(identity);
  expect(await valueOf(cluster.reconcilerNamespace)).toBe("gitops");
  expect(await valueOf(cluster.kustomizationName)).toBe("root");
});

test("Outputs unknown at preview: no check fails, the resources are still registered, with unknown values", async () => {
  const unknown = pulumi.output(pulumi.unknown as unknown as string);
  let cluster!: GitOpsCluster;
  const { registered, rejections } = await underMocks(true, () => {
    cluster = new GitOpsCluster("c", { ...fluxArgs({ ageKey: unknown }), flux: { namespace: unknown } });
  });
  expect(rejections).toEqual([]);
  expect(registered.filter((r) => r.type.startsWith("kubernetes:")).map((r) => r.name).sort()).toEqual(
    ["c-flux-age-key-secret", "c-flux-git-credentials", "c-flux-git-repository", "c-flux-kustomization", "c-flux-namespace", "c-flux-release"].sort(),
  );
  expect(await (cluster.reconcilerNamespace as any).isKnown).toBe(false);
});

test("plain values are checked at construction, every problem at once, with the stack config's messages; nothing is registered", async () => {
  let error: unknown;
  const { registered } = await underMocks(false, () => {
    try {
      new GitOpsCluster("c", {
        reconciler: Reconciler.Flux,
        repo: { url: "http://git.example.com/org/state.git", path: "/abs" },
        ageKey: identity,
        flux: { chartVersion: "^2.0.0", interval: "10 minutes" },
        argocd: {},
      });
    } catch (e) {
      error = e;
    }
  });
  expect(error).toBeInstanceOf(ComponentArgsError);
  const problems = (error as ComponentArgsError).errors;
  expect(problems).toEqual(
    expect.arrayContaining([
      { propertyPath: "argocd", reason: expect.stringMatching(/^holds Argo-only options under reconciler flux/) },
      { propertyPath: "repo.url", reason: "uses plain http, which sends repository credentials unencrypted; use https://" },
      { propertyPath: "repo.path", reason: 'must be relative to the repository root, got "/abs"' },
      { propertyPath: "repo.revision", reason: expect.stringMatching(/^is HEAD \(the default\), which Flux cannot follow/) },
      { propertyPath: "flux.chartVersion", reason: expect.stringMatching(/^must pin an exact chart version/) },
      { propertyPath: "flux.interval", reason: expect.stringMatching(/^expected a Flux duration of at least 1s/) },
    ]),
  );
  expect((error as Error).message).toMatch(/^Invalid GitOpsCluster c args \(\d+ problems\):\n {2}✗ /);
  expect(registered.filter((r) => !r.type.startsWith("gitops-bootstrap:"))).toEqual([]);
});

test("externalSecrets args: credentials and namespace checked at construction with the credentials file's rules; values only as secrets", async () => {
  let error: unknown;
  await underMocks(false, () => {
    try {
      new GitOpsCluster("c", {
        repo: { url: "https://git.example.com/org/state.git", path: "apps" },
        ageKey: identity,
        externalSecrets: { namespace: "argocd", credentials: [{ name: "t", type: "kubernetes.io/service-account-token", stringData: { token: PASSWORD } }, { name: "t", stringData: {} }] },
      });
    } catch (e) {
      error = e;
    }
  });
  expect(error).toBeInstanceOf(ComponentArgsError);
  expect((error as ComponentArgsError).errors).toEqual([
    { propertyPath: "externalSecrets.credentials", reason: "t: a second credential with the same name" },
    { propertyPath: "externalSecrets.credentials[0] (t)", reason: expect.stringMatching(/^type must be one of Opaque/) },
    { propertyPath: "externalSecrets.credentials[1] (t)", reason: "has no data: a credential needs at least one key" },
    { propertyPath: "externalSecrets.namespace", reason: expect.stringMatching(/^argocd is the reconciler's namespace/) },
  ]);
  expect((error as Error).message).not.toContain(PASSWORD);

  const { registered } = await underMocks(false, () => {
    new GitOpsCluster("c", {
      repo: { url: "https://git.example.com/org/state.git", path: "apps" },
      ageKey: identity,
      externalSecrets: { credentials: [{ name: "vault-token", stringData: pulumi.output({ token: PASSWORD }) }] },
    });
  });
  const credential = registered.find((r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.metadata.name === "vault-token")!;
  expect(credential.inputs.type).toBe("Opaque");
  expect(isSecretEnvelope(credential.inputs.stringData)).toBe(true);
  expect(unwrap(credential.inputs.stringData)).toEqual({ token: PASSWORD });
});

/** component-deploy-failure.ts in a child process: its unawaited rejections are what the update reports. */
function deployWithBad(field: string): { reported: { message: string; runError: boolean; errors: unknown }[]; registered: string[] } {
  const run = spawnSync(process.execPath, ["-r", "ts-node/register", path.join(__dirname, "component-deploy-failure.ts"), field], {
    cwd: path.resolve(__dirname, "../.."),
    env: { ...process.env, TS_NODE_PROJECT: "tsconfig.jest.json", TS_NODE_TRANSPILE_ONLY: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`component-deploy-failure.ts ${field}: exit ${run.status}\n${run.stderr}`);
  return JSON.parse(run.stdout);
}

test("a value that resolves to something bad fails the update with one clean error naming the field; what needs it is not registered", () => {
  const { reported, registered } = deployWithBad("chartVersion");
  expect(reported).toEqual([
    {
      message: 'Invalid GitOpsCluster c args (1 problem):\n  ✗ flux.chartVersion: must pin an exact chart version such as 2.18.3, got "latest": a range would install a different release on every rebuild',
      runError: true,
      errors: [{ propertyPath: "flux.chartVersion", reason: expect.stringMatching(/^must pin an exact chart version/) }],
    },
  ]);
  expect(registered).not.toContain("c-flux-release");
}, 60_000);

test("an age key that resolves to no identity fails with the stack config's message, never the value; no Secret is made of it", () => {
  const { reported, registered } = deployWithBad("ageKey");
  expect(reported).toEqual([
    {
      message: expect.stringContaining("✗ ageKey: line 1 of the ageKey value is not a valid age identity (bad checksum or length)"),
      runError: true,
      errors: [{ propertyPath: "ageKey", reason: expect.any(String) }],
    },
  ]);
  expect(JSON.stringify(reported)).not.toContain("NOTAVALIDKEY");
  expect(registered).not.toContain("c-flux-age-key-secret");
  expect(registered).not.toContain("c-flux-kustomization");
}, 60_000);

test("the age key and the credentials reach the engine only as secrets, however they were passed", async () => {
  const { registered } = await underMocks(false, () => {
    new GitOpsCluster("c", {
      repo: { url: "https://git.example.com/org/state.git", path: "apps", credentials: { username: "bot", password: PASSWORD } },
      ageKey: identity,
    });
  });
  const components = registered.filter((r) => r.type.startsWith("gitops-bootstrap:"));
  expect(components.map((c) => c.type).sort()).toEqual(["gitops-bootstrap:index:AgeKeySecret", "gitops-bootstrap:index:ArgoCd", "gitops-bootstrap:index:GitOpsCluster", "gitops-bootstrap:index:RootApplication"]);
  // The components' own inputs are not stored: the age key is in no component's state.
  expect(JSON.stringify(components)).not.toContain("AGE-SECRET-KEY");
  for (const r of registered.filter((x) => x.type === "kubernetes:core/v1:Secret")) {
    expect([r.name, isSecretEnvelope(r.inputs.stringData)]).toEqual([r.name, true]);
  }
  const withoutSecrets = JSON.stringify(registered.map((r) => ({ ...r, inputs: { ...r.inputs, stringData: undefined } })));
  expect(withoutSecrets).not.toContain(PASSWORD);
  expect(withoutSecrets).not.toContain("AGE-SECRET-KEY");
  const repoSecret = registered.find((r) => r.name === "c-argocd-repository")!;
  expect(unwrap(repoSecret.inputs.stringData)).toMatchObject({ username: "bot", password: PASSWORD, url: "https://git.example.com/org/state.git" });
});

test("RootApplication alone: the Application in the namespace given as an Output, from the repository's URL, revision and path", async () => {
  const { registered } = await underMocks(false, () => {
    new RootApplication("root", { namespace: pulumi.output("argo"), repo: { url: "https://git.example.com/org/state.git", revision: "v1.2.3", path: "apps" } });
  });
  const app = registered.find((r) => r.type === "kubernetes:argoproj.io/v1alpha1:Application")!;
  expect(app.inputs.metadata).toMatchObject({ name: "root", namespace: "argo" });
  expect(app.inputs.spec).toMatchObject({ source: { repoURL: "https://git.example.com/org/state.git", targetRevision: "v1.2.3", path: "apps" }, destination: { namespace: "argo" } });
});
