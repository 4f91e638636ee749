/**
 * The program's structure under Pulumi mocks: which resources it registers, with which inputs,
 * secrecy and dependencies. (The end-to-end suite runs the same program on a real engine.)
 */
import * as age from "age-encryption";
import { ARGOCD, KSOPS, REPO_SECRET_NAME } from "../../components/defaults";
import { type ProgramRun, type Registered, isSecretEnvelope, runProgramUnderMocks } from "./program-harness";

const PASSWORD = "token-must-stay-secret";

let registered: Registered[];
let dependencies: Map<string, string[]>;
let byName: ProgramRun["byName"];

let identity: string;
let recipient: string;
let outputs: Record<string, unknown>;

beforeAll(async () => {
  identity = await age.generateX25519Identity();
  recipient = await age.identityToRecipient(identity);

  const repo = { url: "https://git.example.com/org/state.git", revision: "v1.2.3", path: "clusters/prod", credentials: { username: "bot", password: PASSWORD } };
  ({ registered, dependencies, outputs, byName } = await runProgramUnderMocks(
    {
      values: { environment: "prod", repo: JSON.stringify(repo), ageKey: identity, argocd: JSON.stringify({ values: { server: { replicas: 2 } } }) },
      secretKeys: new Set(["ageKey", "repo"]),
      baseDir: "/project",
    },
    ARGOCD.chartVersion,
  ));
});

test("registers exactly the namespace, two Secrets, the release, the Application and one provider", () => {
  const custom = registered.filter((r) => !r.type.startsWith("gitops-bootstrap:") && r.type !== "pulumi:pulumi:Stack");
  expect(custom.map((r) => r.type).sort()).toEqual(
    [
      "argoproj.io/v1alpha1:Application",
      "core/v1:Namespace",
      "core/v1:Secret",
      "core/v1:Secret",
      "helm.sh/v3:Release",
      "pulumi:providers:kubernetes",
    ]
      .map((t) => (t.startsWith("pulumi:") ? t : `kubernetes:${t}`))
      .sort(),
  );
});

test("the provider keeps its identity when the kubeconfig changes", () => {
  const provider = registered.find((r) => r.type === "pulumi:providers:kubernetes")!;
  expect(provider.inputs.clusterIdentifier).toBe("gitops-bootstrap-prod");
});

test("the Helm release: pinned chart, upstream repository, our KSOPS wiring merged with user values", () => {
  const release = byName("gitops-argocd-release").inputs;
  expect(release.chart).toBe("argo-cd");
  expect(release.version).toBe(ARGOCD.chartVersion);
  expect(release.repositoryOpts).toEqual({ repo: "https://argoproj.github.io/argo-helm" });
  expect(release.namespace).toBe("argocd");
  expect(release.name).toBe("argocd");
  expect(release.createNamespace).toBe(false);
  const v = release.values;
  expect(v.configs.cm["kustomize.buildOptions"]).toBe("--enable-alpha-plugins --enable-exec");
  expect(v.repoServer.initContainers[0]).toMatchObject({ image: KSOPS.image, command: ["/usr/local/bin/ksops", "install", "/custom-tools"] });
  expect(v.repoServer.volumes).toContainEqual({ name: "sops-age", secret: { secretName: "sops-age" } });
  expect(v.repoServer.volumeMounts).toContainEqual({ name: "sops-age", mountPath: "/sops-age", readOnly: true });
  expect(v.repoServer.env).toContainEqual({ name: "SOPS_AGE_KEY_FILE", value: "/sops-age/age.agekey" });
  expect(v.server).toEqual({ replicas: 2 });
});

test("the age key Secret holds the identity under age.agekey, as a Pulumi secret", () => {
  const secret = byName("gitops-argocd-age-key-secret").inputs;
  expect(secret.metadata).toMatchObject({ name: "sops-age", namespace: "argocd" });
  expect(isSecretEnvelope(secret.stringData)).toBe(true);
  const data = secret.stringData.value;
  expect(Object.keys(data)).toEqual(["age.agekey"]);
  const value = isSecretEnvelope(data["age.agekey"]) ? data["age.agekey"].value : data["age.agekey"];
  expect(value).toBe(`${identity}\n`);
});

test("the repository Secret carries the label and keys Argo CD reads, as a Pulumi secret", () => {
  const secret = byName("gitops-argocd-repository").inputs;
  expect(secret.metadata).toMatchObject({ name: REPO_SECRET_NAME, namespace: "argocd", labels: { "argocd.argoproj.io/secret-type": "repository" } });
  expect(isSecretEnvelope(secret.stringData)).toBe(true);
  expect(secret.stringData.value).toEqual({ type: "git", url: "https://git.example.com/org/state.git", username: "bot", password: PASSWORD });
});

test("the root Application: explicit namespace, finalizer, automated prune + selfHeal, retry", () => {
  const app = byName("gitops-root-application").inputs;
  expect(app.apiVersion).toBe("argoproj.io/v1alpha1");
  expect(app.kind).toBe("Application");
  expect(app.metadata).toMatchObject({ name: "root", namespace: "argocd", finalizers: ["resources-finalizer.argocd.argoproj.io"] });
  expect(app.spec.source).toEqual({ repoURL: "https://git.example.com/org/state.git", targetRevision: "v1.2.3", path: "clusters/prod" });
  expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  expect(app.spec.syncPolicy.retry.limit).toBe(5);
});

test("ordering: the Application waits for the release; the release waits for the age key; the Secrets wait for nothing but the namespace", () => {
  expect(dependencies.get("gitops-root-application")).toEqual(["gitops-argocd-release"]);
  expect(dependencies.get("gitops-argocd-release")).toEqual(["gitops-argocd-age-key"]);
  expect(dependencies.get("gitops-argocd-age-key-secret")).toEqual([]);
  expect(dependencies.get("gitops-argocd-repository")).toEqual([]);
});

test("stack outputs: the public recipient and where things are, never a secret", () => {
  expect(outputs).toMatchObject({
    environment: "prod",
    reconciler: "argocd",
    ageRecipients: [recipient],
    argocdNamespace: "argocd",
    reconcilerNamespace: "argocd",
    rootApplication: "root",
    revision: "v1.2.3",
  });
  const text = JSON.stringify(outputs);
  expect(text).not.toContain(identity);
  expect(text).not.toContain(PASSWORD);
});

test("every object applied with Server-Side Apply takes its fields back from other field managers (patchForce)", () => {
  const applied = registered.filter((r) => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:helm.sh/v3:Release");
  expect(applied.length).toBe(4);
  for (const r of applied) expect([r.type, r.inputs.metadata.annotations?.["pulumi.com/patchForce"]]).toEqual([r.type, "true"]);
});
