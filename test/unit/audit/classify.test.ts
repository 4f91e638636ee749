/**
 * The audit's classification on recorded object lists: each rule (Kubernetes' own objects, the
 * stack's, Argo CD tracking by annotation and by label, Flux inventories, HelmReleases' Helm
 * releases, owner chains, Endpoints), and what is left: would be lost, or data.
 */
import { type AuditFacts, type Classified, classify } from "../../../bootstrap/rebuild-audit/classify";
import type { ObjectMeta } from "../../../bootstrap/cluster/list";

let uid = 0;
function obj(kind: string, name: string, extra: Partial<ObjectMeta> & { ns?: string } = {}): ObjectMeta {
  const groups: Record<string, string> = { Deployment: "apps", ReplicaSet: "apps", Application: "argoproj.io", Kustomization: "kustomize.toolkit.fluxcd.io", HelmRelease: "helm.toolkit.fluxcd.io", Lease: "coordination.k8s.io", EndpointSlice: "discovery.k8s.io", SealedSecret: "bitnami.com", CustomResourceDefinition: "apiextensions.k8s.io", ClusterRole: "rbac.authorization.k8s.io" };
  const { ns, ...rest } = extra;
  return { group: groups[kind] ?? "", version: "v1", kind, resource: `${kind.toLowerCase()}s`, namespace: ns, name, uid: `uid-${++uid}`, labels: {}, annotations: {}, owners: [], ...rest };
}
const owned = (o: ObjectMeta) => ({ owners: [{ uid: o.uid, kind: o.kind, name: o.name }] });
const tracking = (app: string, o: { group: string; kind: string; ns?: string; name: string }, appDestination = "default") => ({ "argocd.argoproj.io/tracking-id": `${app}:${o.group}/${o.kind}:${o.ns ?? appDestination}/${o.name}` });
const STACK = { "app.kubernetes.io/managed-by": "gitops-bootstrap" };

const argoFacts: AuditFacts = { argocd: { namespace: "argocd", method: "annotation", instanceLabelKey: "app.kubernetes.io/instance" }, kustomizations: [], helmReleases: [], stackReleases: [{ name: "argocd", namespace: "argocd" }] };
const fluxFacts = (kustomizations: AuditFacts["kustomizations"], helmReleases: AuditFacts["helmReleases"] = []): AuditFacts => ({ kustomizations, helmReleases, stackReleases: [{ name: "flux", namespace: "flux-system" }] });

const origin = (all: Classified[], o: ObjectMeta) => all.find((c) => c.object.uid === o.uid)!.origin;
const lostNames = (all: Classified[]) => all.filter((c) => c.origin.kind === "lost").map((c) => `${c.object.kind}/${c.object.name}`).sort();

describe("Kubernetes' own objects and the stack's", () => {
  test("built-ins are matched by their rule; a look-alike is not", () => {
    const objects = [
      obj("Namespace", "kube-system"),
      obj("ConfigMap", "kube-root-ca.crt", { ns: "team" }),
      obj("ServiceAccount", "default", { ns: "team" }),
      obj("ServiceAccount", "deployer", { ns: "team" }),
      obj("Lease", "kube-scheduler", { ns: "kube-system" }),
      obj("ClusterRole", "admin", { labels: { "kubernetes.io/bootstrapping": "rbac-defaults" } }),
      obj("ClusterRole", "team-admin"),
      obj("Service", "kubernetes", { ns: "default" }),
      obj("Service", "kubernetes", { ns: "team" }),
    ];
    const all = classify(objects, argoFacts);
    expect(all.map((c) => (c.origin.kind === "kubernetes" ? c.origin.rule : c.origin.kind))).toEqual([
      "system-namespace", "root-ca-configmap", "default-serviceaccount", "lost", "lease", "rbac-defaults", "lost", "kubernetes-service", "lost",
    ]);
  });

  test("the stack's objects: its label, its reconciler's Helm release and that release's storage Secret", () => {
    const root = obj("Application", "root", { ns: "argocd", labels: STACK });
    const chartCm = obj("ConfigMap", "argocd-cm", { ns: "argocd", annotations: { "meta.helm.sh/release-name": "argocd", "meta.helm.sh/release-namespace": "argocd" } });
    const storage = obj("Secret", "sh.helm.release.v1.argocd.v1", { ns: "argocd", labels: { owner: "helm", name: "argocd" } });
    const otherRelease = obj("ConfigMap", "grafana", { ns: "argocd", annotations: { "meta.helm.sh/release-name": "grafana", "meta.helm.sh/release-namespace": "argocd" } });
    const all = classify([root, chartCm, storage, otherRelease], argoFacts);
    expect(origin(all, root)).toEqual({ kind: "stack", how: "created by the stack" });
    expect(origin(all, chartCm)).toEqual({ kind: "stack", how: "the stack's Helm release argocd/argocd" });
    expect(origin(all, storage).kind).toBe("stack");
    expect(origin(all, otherRelease)).toEqual({ kind: "lost" });
  });
});

describe("Argo CD tracking", () => {
  const root = obj("Application", "root", { ns: "argocd", labels: STACK });
  const child = obj("Application", "hello", { ns: "argocd", annotations: tracking("root", { group: "argoproj.io", kind: "Application", ns: "argocd", name: "hello" }) });

  test("by annotation: through the chain of Applications up to the stack's root; a copied annotation does not count", () => {
    const deploy = obj("Deployment", "hello", { ns: "hello", annotations: tracking("hello", { group: "apps", kind: "Deployment", ns: "hello", name: "hello" }) });
    const ns = obj("Namespace", "hello", { annotations: tracking("hello", { group: "", kind: "Namespace", name: "hello" }, "hello") });
    const copied = obj("Deployment", "hello-copy", { ns: "hello", annotations: deploy.annotations });
    const orphanApp = obj("Application", "by-hand", { ns: "argocd" });
    const fromOrphan = obj("ConfigMap", "cfg", { ns: "hello", annotations: tracking("by-hand", { group: "", kind: "ConfigMap", ns: "hello", name: "cfg" }) });
    const all = classify([root, child, deploy, ns, copied, orphanApp, fromOrphan], argoFacts);
    expect(origin(all, child)).toEqual({ kind: "git", via: "Argo CD Application argocd/root" });
    expect(origin(all, deploy)).toEqual({ kind: "git", via: "Argo CD Application argocd/hello" });
    expect(origin(all, ns).kind).toBe("git");
    // The copy's tracking id names another object; the hand-made Application takes its resources with it.
    expect(lostNames(all)).toEqual(["Application/by-hand", "ConfigMap/cfg", "Deployment/hello-copy"]);
  });

  test("by label when argocd-cm says so (and then the annotation alone does not count)", () => {
    const byLabel = obj("ConfigMap", "a", { ns: "hello", labels: { "argocd.argoproj.io/instance": "hello" } });
    const byAnnotation = obj("ConfigMap", "b", { ns: "hello", annotations: tracking("hello", { group: "", kind: "ConfigMap", ns: "hello", name: "b" }) });
    const childByLabel = obj("Application", "hello", { ns: "argocd", labels: { "argocd.argoproj.io/instance": "root" } });
    const facts: AuditFacts = { ...argoFacts, argocd: { namespace: "argocd", method: "label", instanceLabelKey: "argocd.argoproj.io/instance" } };
    const all = classify([root, childByLabel, byLabel, byAnnotation], facts);
    expect(origin(all, byLabel)).toEqual({ kind: "git", via: "Argo CD Application argocd/hello" });
    expect(lostNames(all)).toEqual(["ConfigMap/b"]);
  });

  test("a namespace Argo CD creates for an Application (CreateNamespace=true) comes back with it", () => {
    const created = obj("Namespace", "hello");
    const byHand = obj("Namespace", "scratch");
    const facts: AuditFacts = { ...argoFacts, argocd: { ...argoFacts.argocd!, createdNamespaces: [{ namespace: "hello", app: { namespace: "argocd", name: "hello" } }, { namespace: "scratch", app: { namespace: "argocd", name: "gone" } }] } };
    const all = classify([root, child, created, byHand], facts);
    expect(origin(all, created)).toEqual({ kind: "git", via: "Argo CD Application argocd/hello (CreateNamespace=true)" });
    expect(lostNames(all)).toEqual(["Namespace/scratch"]);
  });

  test("an Application in another namespace is named <namespace>_<name> in tracking ids", () => {
    const teamApp = obj("Application", "web", { ns: "team", annotations: tracking("root", { group: "argoproj.io", kind: "Application", ns: "team", name: "web" }) });
    const svc = obj("Service", "web", { ns: "web", annotations: tracking("team_web", { group: "", kind: "Service", ns: "web", name: "web" }) });
    const all = classify([root, teamApp, svc], argoFacts);
    expect(origin(all, svc)).toEqual({ kind: "git", via: "Argo CD Application team/web" });
  });
});

describe("Flux", () => {
  const rootKs = obj("Kustomization", "root", { ns: "flux-system", labels: STACK });
  const appsKs = obj("Kustomization", "apps", { ns: "flux-system" });

  test("inventory entries, through the tree of Kustomizations; the core group is empty in ids", () => {
    const deploy = obj("Deployment", "hello", { ns: "hello" });
    const ns = obj("Namespace", "hello");
    const handMade = obj("Deployment", "debug", { ns: "hello" });
    const kustomizations = [
      { namespace: "flux-system", name: "root", entries: ["flux-system_apps_kustomize.toolkit.fluxcd.io_Kustomization"] },
      { namespace: "flux-system", name: "apps", entries: ["hello_hello_apps_Deployment", "_hello__Namespace"] },
    ];
    const all = classify([rootKs, appsKs, deploy, ns, handMade], fluxFacts(kustomizations));
    expect(origin(all, appsKs)).toEqual({ kind: "git", via: "Flux Kustomization flux-system/root" });
    expect(origin(all, deploy)).toEqual({ kind: "git", via: "Flux Kustomization flux-system/apps" });
    expect(origin(all, ns).kind).toBe("git");
    expect(lostNames(all)).toEqual(["Deployment/debug"]);
  });

  test("a HelmRelease from Git brings back its Helm release's objects and storage; one made by hand does not", () => {
    const fromGit = obj("HelmRelease", "podinfo", { ns: "apps" });
    const byHand = obj("HelmRelease", "scratch", { ns: "apps" });
    const kustomizations = [{ namespace: "flux-system", name: "root", entries: ["apps_podinfo_helm.toolkit.fluxcd.io_HelmRelease"] }];
    const helmReleases = [
      { namespace: "apps", name: "podinfo", releaseName: "web-podinfo", releaseNamespace: "web", storageNamespace: "apps" },
      { namespace: "apps", name: "scratch", releaseName: "scratch", releaseNamespace: "apps", storageNamespace: "apps" },
    ];
    const svc = obj("Service", "podinfo", { ns: "web", annotations: { "meta.helm.sh/release-name": "web-podinfo", "meta.helm.sh/release-namespace": "web" } });
    const storage = obj("Secret", "sh.helm.release.v1.web-podinfo.v3", { ns: "apps", labels: { owner: "helm", name: "web-podinfo" } });
    const scratchCm = obj("ConfigMap", "scratch", { ns: "apps", annotations: { "meta.helm.sh/release-name": "scratch", "meta.helm.sh/release-namespace": "apps" } });
    const all = classify([rootKs, fromGit, byHand, svc, storage, scratchCm], fluxFacts(kustomizations, helmReleases));
    expect(origin(all, svc)).toEqual({ kind: "git", via: "Helm release web/web-podinfo of HelmRelease apps/podinfo" });
    expect(origin(all, storage).kind).toBe("git");
    expect(lostNames(all)).toEqual(["ConfigMap/scratch", "HelmRelease/scratch"]);
  });
});

describe("owner chains and what is left", () => {
  test("ReplicaSets and Pods follow their Deployment; a Secret unsealed from a SealedSecret follows it; Endpoints follow their Service", () => {
    const deploy = obj("Deployment", "web", { ns: "web", labels: STACK });
    const rs = obj("ReplicaSet", "web-5d8f", { ns: "web", ...owned(deploy) });
    const pod = obj("Pod", "web-5d8f-x2", { ns: "web", ...owned(rs) });
    const handDeploy = obj("Deployment", "debug", { ns: "web" });
    const handRs = obj("ReplicaSet", "debug-1", { ns: "web", ...owned(handDeploy) });
    const handPod = obj("Pod", "debug-1-x", { ns: "web", ...owned(handRs) });
    const sealed = obj("SealedSecret", "db", { ns: "web", labels: STACK });
    const unsealed = obj("Secret", "db", { ns: "web", ...owned(sealed) });
    const svc = obj("Service", "web", { ns: "web", labels: STACK });
    const endpoints = obj("Endpoints", "web", { ns: "web" });
    const slice = obj("EndpointSlice", "web-abc", { ns: "web", ...owned(svc) });
    const all = classify([deploy, rs, pod, handDeploy, handRs, handPod, sealed, unsealed, svc, endpoints, slice], argoFacts);
    expect(origin(all, pod)).toEqual({ kind: "owner", owner: "ReplicaSet web/web-5d8f", root: { kind: "stack", how: "created by the stack" } });
    expect(origin(all, unsealed)).toMatchObject({ kind: "owner", owner: "SealedSecret web/db" });
    expect(origin(all, endpoints)).toMatchObject({ kind: "owner", owner: "Service web/web" });
    expect(origin(all, slice).kind).toBe("owner");
    // The hand-made Deployment is lost; its ReplicaSet and Pod go with it (reported with it).
    expect(lostNames(all)).toEqual(["Deployment/debug"]);
    expect(origin(all, handPod)).toEqual({ kind: "lost-with", owner: "Deployment web/debug", ownerUid: handDeploy.uid });
    expect(origin(all, handRs)).toMatchObject({ kind: "lost-with", ownerUid: handDeploy.uid });
  });

  test("an ownership cycle proves nothing: one of the two is reported, the other with it", () => {
    const a = obj("ConfigMap", "a", { ns: "x" });
    const b = obj("ConfigMap", "b", { ns: "x", ...owned(a) });
    (a as { owners: unknown }).owners = owned(b).owners;
    const all = classify([a, b], argoFacts);
    expect(lostNames(all)).toEqual(["ConfigMap/b"]);
    expect(origin(all, a)).toMatchObject({ kind: "lost-with", ownerUid: b.uid });
  });

  test("the controller-manager's ServiceAccounts are its own, through their default bindings", () => {
    const binding = obj("ClusterRoleBinding", "system:controller:replicaset-controller", { labels: { "kubernetes.io/bootstrapping": "rbac-defaults" } });
    const sa = obj("ServiceAccount", "replicaset-controller", { ns: "kube-system" });
    const other = obj("ServiceAccount", "replicaset-controller", { ns: "team" });
    const all = classify([{ ...binding, group: "rbac.authorization.k8s.io" }, sa, other], argoFacts);
    expect(origin(all, sa)).toEqual({ kind: "kubernetes", rule: "controller-serviceaccount" });
    expect(origin(all, other)).toEqual({ kind: "lost" });
  });

  test("PersistentVolumeClaims and PersistentVolumes are data, whatever made them", () => {
    const fromGit = obj("PersistentVolumeClaim", "db", { ns: "web", labels: STACK });
    const byHand = obj("PersistentVolumeClaim", "scratch", { ns: "web" });
    const pv = obj("PersistentVolume", "pv-1");
    const all = classify([fromGit, byHand, pv], argoFacts);
    expect(all.map((c) => [c.object.name, c.data, c.origin.kind])).toEqual([["db", true, "stack"], ["scratch", true, "lost"], ["pv-1", true, "lost"]]);
  });
});

describe("External Secrets", () => {
  const es = (name: string) => ({ ...obj("ExternalSecret", name, { ns: "apps", annotations: tracking("apps", { group: "external-secrets.io", kind: "ExternalSecret", ns: "apps", name }) }), group: "external-secrets.io" });

  test("a Secret ESO wrote comes back with its ExternalSecret from Git; one a rebuild would not write the same is data, with why", () => {
    const app = obj("Application", "apps", { ns: "argocd", labels: STACK });
    const synced = es("db");
    const once = es("first-password");
    const objects = [app, synced, once, obj("Secret", "db", { ns: "apps", ...owned(synced) }), obj("Secret", "first-password", { ns: "apps", ...owned(once) })];
    const facts: AuditFacts = { ...argoFacts, unreproducedExternalSecrets: [{ namespace: "apps", name: "first-password", why: "its values come from a generator: a rebuild generates new ones" }] };
    const all = classify(objects, facts);
    const secret = (name: string) => all.find((c) => c.object.kind === "Secret" && c.object.name === name)!;
    expect(secret("db")).toMatchObject({ data: false, origin: { kind: "owner", owner: "ExternalSecret apps/db" } });
    expect(secret("first-password")).toMatchObject({ data: true, dataReason: "written by ExternalSecret apps/first-password: its values come from a generator: a rebuild generates new ones" });
  });

  test("the stack's other Helm releases (the operator's) count as the stack's", () => {
    const deployment = obj("Deployment", "external-secrets", { ns: "external-secrets", annotations: { "meta.helm.sh/release-name": "external-secrets", "meta.helm.sh/release-namespace": "external-secrets" } });
    const facts: AuditFacts = { ...argoFacts, stackReleases: [...argoFacts.stackReleases, { name: "external-secrets", namespace: "external-secrets" }] };
    expect(classify([deployment], facts)[0].origin).toEqual({ kind: "stack", how: "the stack's Helm release external-secrets/external-secrets" });
    expect(classify([deployment], argoFacts)[0].origin.kind).toBe("lost");
  });
});
