/**
 * Pod Security Standards: the container this program adds to the argo-cd chart (the KSOPS init
 * container) meets `restricted`, and `podSecurity` in the stack config labels the namespaces the
 * program creates so the API server enforces a level. These tests check what the program emits;
 * the e2e (test/e2e/pod-security.test.ts) has the real API server admit the real charts' pods.
 */
import * as age from "age-encryption";
import { resolveConfig } from "../../bootstrap/config/stack-config";
import { ARGOCD, FLUX, KSOPS } from "../../components/defaults";
import { argoCdValues, deepMerge, sealedSecretsValues } from "../../components/builders/helm-values";
import { configProblems, rawStackConfig } from "./config-harness";
import { runProgramUnderMocks } from "./program-harness";

type Obj = Record<string, any>;

/**
 * What `restricted` (Kubernetes Pod Security Standards, v1.35) asks of one container, given the
 * pod's own securityContext: the rules of the admission plugin, written out for the test.
 */
function restrictedViolations(container: Obj, pod: Obj = {}): string[] {
  const sc = container.securityContext ?? {};
  const problems: string[] = [];
  if (sc.allowPrivilegeEscalation !== false) problems.push("allowPrivilegeEscalation != false");
  const drops: string[] = sc.capabilities?.drop ?? [];
  if (!drops.includes("ALL")) problems.push("capabilities.drop does not include ALL");
  const adds: string[] = sc.capabilities?.add ?? [];
  if (adds.some((c) => c !== "NET_BIND_SERVICE")) problems.push(`capabilities.add ${adds.join(",")}`);
  if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push("runAsNonRoot != true");
  if ((sc.runAsUser ?? pod.runAsUser) === 0) problems.push("runAsUser = 0");
  const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
  if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") problems.push("seccompProfile.type not RuntimeDefault/Localhost");
  if (sc.privileged === true) problems.push("privileged");
  return problems;
}

describe("the sealed-secrets controller", () => {
  // The sealed-secrets chart 2.18.5's own securityContext values (its values.yaml), as the chart
  // renders them: `enabled` dropped, the rest passed through.
  const chartPod = { fsGroup: 65534 };
  const chartContainer = { readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1001, capabilities: { drop: ["ALL"] } };
  const rendered = (values: Obj) => ({
    pod: deepMerge(chartPod, values.podSecurityContext ?? {}),
    container: { name: "controller", securityContext: deepMerge(chartContainer, values.containerSecurityContext ?? {}) },
  });

  test("the chart's defaults alone miss restricted; with the program's values the pod meets it", () => {
    const bare = rendered({});
    expect(restrictedViolations(bare.container, bare.pod)).toEqual(["allowPrivilegeEscalation != false", "seccompProfile.type not RuntimeDefault/Localhost"]);
    const ours = rendered(sealedSecretsValues({ controllerName: "sealed-secrets-controller" }));
    expect(restrictedViolations(ours.container, ours.pod)).toEqual([]);
  });

  test("the user's values merge over the program's; the controller's name is always controllerName", () => {
    const values = sealedSecretsValues({ controllerName: "sealer", userValues: { containerSecurityContext: { runAsUser: 2000 }, resources: { limits: { memory: "64Mi" } } } });
    expect(values).toEqual({
      podSecurityContext: { seccompProfile: { type: "RuntimeDefault" } },
      containerSecurityContext: { allowPrivilegeEscalation: false, runAsUser: 2000 },
      resources: { limits: { memory: "64Mi" } },
      fullnameOverride: "sealer",
    });
  });
});

describe("the KSOPS init container", () => {
  const init = (values: Obj): Obj => values.repoServer.initContainers.find((c: Obj) => c.name === KSOPS.initContainerName);

  test("meets Pod Security restricted, with a numeric non-root user (the image's user is a name)", () => {
    const container = init(argoCdValues({ ksopsImage: KSOPS.image }));
    expect(restrictedViolations(container)).toEqual([]);
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, readOnlyRootFilesystem: true });
  });

  test("the test's own rules catch a container without it", () => {
    const container = { ...init(argoCdValues({ ksopsImage: KSOPS.image })), securityContext: undefined };
    expect(restrictedViolations(container)).toEqual([
      "allowPrivilegeEscalation != false",
      "capabilities.drop does not include ALL",
      "runAsNonRoot != true",
      "seccompProfile.type not RuntimeDefault/Localhost",
    ]);
  });

  test("a user's values can change the init container's user; what they do not set stays", () => {
    const values = argoCdValues({ ksopsImage: KSOPS.image, userValues: { repoServer: { initContainers: [{ name: KSOPS.initContainerName, securityContext: { runAsUser: 1000 } }] } } });
    expect(init(values).securityContext).toMatchObject({ runAsUser: 1000, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
    expect(KSOPS.securityContext.runAsUser).toBe(65532);
  });
});

describe("podSecurity in the stack config", () => {
  let identity: string;
  beforeAll(async () => {
    identity = await age.generateX25519Identity();
  });
  const repo = { url: "https://git.example.com/org/state.git", path: "clusters/dev" };

  test("an unknown level names the key and the levels", async () => {
    const problems = await configProblems(rawStackConfig({ environment: "dev", repo, ageKey: identity, podSecurity: "strict" }, ["ageKey"]));
    expect(problems).toEqual([{ key: "gitops-bootstrap:podSecurity", message: 'expected one of privileged, baseline, restricted (the Pod Security Standards level to enforce on the namespaces gitops-bootstrap creates), got "strict"' }]);
  });

  test("unset: no level, and the namespaces get no Pod Security labels", async () => {
    const config = await resolveConfig(rawStackConfig({ environment: "dev", repo, ageKey: identity }, ["ageKey"]));
    expect(config.podSecurity).toBeUndefined();
    const run = await runProgramUnderMocks(rawStackConfig({ environment: "dev", repo, ageKey: identity }, ["ageKey"]), ARGOCD.chartVersion);
    const ns = run.registered.find((r) => r.type === "kubernetes:core/v1:Namespace")!;
    expect(Object.keys(ns.inputs.metadata.labels).filter((k) => k.startsWith("pod-security."))).toEqual([]);
  });

  test.each([
    ["argocd", ARGOCD.chartVersion, "argocd"],
    ["flux", FLUX.chartVersion, "flux-system"],
  ])("restricted: the %s namespace enforces, warns and audits at that level", async (reconciler, chartVersion, namespace) => {
    const run = await runProgramUnderMocks(rawStackConfig({ environment: "dev", reconciler, repo: { ...repo, revision: "main" }, ageKey: identity, podSecurity: "restricted" }, ["ageKey"]), chartVersion);
    if (reconciler === "argocd") {
      // As the engine receives it: the lists must still be lists after Pulumi serialized the values.
      const release = run.registered.find((r) => r.type === "kubernetes:helm.sh/v3:Release")!;
      const ksops = release.inputs.values.repoServer.initContainers.find((c: Obj) => c.name === KSOPS.initContainerName);
      expect(ksops.securityContext.capabilities).toEqual({ drop: ["ALL"] });
      expect(restrictedViolations(ksops)).toEqual([]);
    }
    const ns = run.registered.find((r) => r.type === "kubernetes:core/v1:Namespace")!;
    expect(ns.inputs.metadata.name).toBe(namespace);
    expect(ns.inputs.metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/warn": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
    });
  });
});
