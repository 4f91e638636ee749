/**
 * The program's structure with `reconciler: flux`, under Pulumi mocks: the resources, their
 * inputs, secrecy and dependencies. (program.test.ts does the same for Argo CD.)
 */
import * as age from "age-encryption";
import { generateKeyPairSync } from "node:crypto";
import { FLUX, REPO_SECRET_NAME } from "../../components/defaults";
import { type ProgramRun, type Registered, isSecretEnvelope, runProgramUnderMocks, unwrap } from "./program-harness";

const KNOWN_HOSTS = "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

let registered: Registered[];
let dependencies: Map<string, string[]>;
let byName: ProgramRun["byName"];

let identity: string;
let sshKey: string;
let outputs: Record<string, unknown>;

beforeAll(async () => {
  identity = await age.generateX25519Identity();
  sshKey = generateKeyPairSync("ed25519", { privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
  const repo = {
    url: "git@git.example.com:org/state.git",
    revision: "v1.2.3",
    path: "clusters/prod",
    sshKnownHosts: KNOWN_HOSTS,
    credentials: { sshPrivateKey: sshKey },
  };
  ({ registered, dependencies, outputs, byName } = await runProgramUnderMocks(
    {
      values: {
        environment: "prod",
        reconciler: "flux",
        repo: JSON.stringify(repo),
        ageKey: identity,
        flux: JSON.stringify({ interval: "2m", values: { logLevel: "debug" } }),
        rootApp: JSON.stringify({ name: "cluster" }),
      },
      secretKeys: new Set(["ageKey", "repo"]),
      baseDir: "/project",
    },
    FLUX.chartVersion,
  ));
});

test("registers the namespace, two Secrets, the release, the GitRepository, the Kustomization and one provider; nothing of Argo CD", () => {
  const custom = registered.filter((r) => !r.type.startsWith("gitops-bootstrap:") && r.type !== "pulumi:pulumi:Stack");
  expect(custom.map((r) => r.type).sort()).toEqual(
    [
      "kubernetes:core/v1:Namespace",
      "kubernetes:core/v1:Secret",
      "kubernetes:core/v1:Secret",
      "kubernetes:helm.sh/v3:Release",
      "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization",
      "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository",
      "pulumi:providers:kubernetes",
    ].sort(),
  );
  expect(registered.map((r) => r.type)).toContain("gitops-bootstrap:index:Flux");
  expect(registered.map((r) => r.type)).not.toContain("gitops-bootstrap:index:ArgoCd");
});

test("the Helm release: pinned flux2 chart from fluxcd-community, CRDs installed, user values merged", () => {
  const release = byName("gitops-flux-release").inputs;
  expect(release).toMatchObject({
    chart: "flux2",
    version: FLUX.chartVersion,
    repositoryOpts: { repo: "https://fluxcd-community.github.io/helm-charts" },
    namespace: "flux-system",
    name: "flux",
    createNamespace: false,
  });
  expect(release.values).toEqual({ installCRDs: true, crds: { annotations: { "helm.sh/resource-policy": "keep" } }, logLevel: "debug" });
});

test("the age key Secret in flux-system: the identity under a key ending .agekey, as a Pulumi secret", () => {
  const secret = byName("gitops-flux-age-key-secret").inputs;
  expect(secret.metadata).toMatchObject({ name: "sops-age", namespace: "flux-system" });
  expect(isSecretEnvelope(secret.stringData)).toBe(true);
  const data = secret.stringData.value;
  expect(Object.keys(data)).toEqual(["age.agekey"]);
  expect(Object.keys(data)[0].endsWith(".agekey")).toBe(true);
  expect(unwrap(data["age.agekey"])).toBe(`${identity}\n`);
});

test("the Git Secret holds identity and known_hosts, as a Pulumi secret", () => {
  const secret = byName("gitops-flux-git-credentials").inputs;
  expect(secret.metadata).toMatchObject({ name: REPO_SECRET_NAME, namespace: "flux-system" });
  expect(isSecretEnvelope(secret.stringData)).toBe(true);
  expect(secret.stringData.value).toEqual({ identity: `${sshKey.trim()}\n`, known_hosts: `${KNOWN_HOSTS}\n` });
});

test("the GitRepository: the scp-style URL in ssh:// form (annotated with the original), the tag, the credentials", () => {
  const repo = byName("gitops-flux-git-repository").inputs;
  expect(repo.apiVersion).toBe("source.toolkit.fluxcd.io/v1");
  expect(repo.kind).toBe("GitRepository");
  expect(repo.metadata).toMatchObject({ name: "cluster", namespace: "flux-system", annotations: { [FLUX.originalUrlAnnotation]: "git@git.example.com:org/state.git" } });
  expect(repo.spec).toEqual({ url: "ssh://git@git.example.com/org/state.git", interval: "2m", ref: { tag: "v1.2.3" }, secretRef: { name: REPO_SECRET_NAME } });
});

test("the root Kustomization: prune, wait, the GitRepository as source, repo.path, SOPS decryption with sops-age", () => {
  const ks = byName("gitops-flux-kustomization").inputs;
  expect(ks.apiVersion).toBe("kustomize.toolkit.fluxcd.io/v1");
  expect(ks.kind).toBe("Kustomization");
  expect(ks.metadata).toMatchObject({ name: "cluster", namespace: "flux-system" });
  expect(ks.spec).toMatchObject({
    interval: "2m",
    prune: true,
    wait: true,
    sourceRef: { kind: "GitRepository", name: "cluster" },
    path: "./clusters/prod",
    decryption: { provider: "sops", secretRef: { name: "sops-age" } },
  });
});

test("ordering: the custom resources wait for the release (CRDs); the Kustomization also for its source and the age key", () => {
  expect(dependencies.get("gitops-flux-kustomization")).toEqual(["gitops-flux-release", "gitops-flux-git-repository", "gitops-flux-age-key"]);
  expect(dependencies.get("gitops-flux-git-repository")).toEqual(["gitops-flux-release", "gitops-flux-git-credentials"]);
  expect(dependencies.get("gitops-flux-release")).toEqual([]);
  expect(dependencies.get("gitops-flux-age-key-secret")).toEqual([]);
});

test("stack outputs: the reconciler namespace and the Flux names, never a secret", () => {
  expect(outputs).toMatchObject({
    environment: "prod",
    reconciler: "flux",
    reconcilerNamespace: "flux-system",
    fluxNamespace: "flux-system",
    fluxReleaseStatus: "deployed",
    gitRepository: "cluster",
    rootKustomization: "cluster",
    repoUrl: "git@git.example.com:org/state.git",
  });
  expect(outputs).not.toHaveProperty("argocdNamespace");
  expect(outputs).not.toHaveProperty("rootApplication");
  const text = JSON.stringify(outputs);
  expect(text).not.toContain(identity);
  expect(text).not.toContain(sshKey.split("\n")[1]);
});

test("every object applied with Server-Side Apply takes its fields back from other field managers (patchForce)", () => {
  const applied = registered.filter((r) => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:helm.sh/v3:Release");
  expect(applied.length).toBe(5);
  for (const r of applied) expect([r.type, r.inputs.metadata.annotations?.["pulumi.com/patchForce"]]).toEqual([r.type, "true"]);
  // The scp-style URL note stays beside it.
  expect(byName("gitops-flux-git-repository").inputs.metadata.annotations[FLUX.originalUrlAnnotation]).toBe("git@git.example.com:org/state.git");
});
