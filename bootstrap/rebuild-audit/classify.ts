/**
 * Would a rebuild from Git bring this object back? Pure: it decides on the listed metadata and a
 * few facts read from the cluster (Argo CD's tracking settings, Flux inventories, HelmReleases),
 * so it is tested on recorded object lists.
 *
 * An object comes back when it is
 * - made by Kubernetes itself ({@link builtinRule});
 * - created by this project's stack (its managed-by label, or its reconciler's Helm release);
 * - applied from Git: tracked by an Argo CD Application (annotation or label, as argocd-cm says),
 *   listed in a Flux Kustomization's inventory, or part of the Helm release of a HelmRelease;
 *   and the Application, Kustomization or HelmRelease comes back itself;
 * - made by a controller from such an object (an ownerReference chain; an Endpoints object
 *   belongs to its Service).
 * Everything else would be lost. PersistentVolumeClaims and PersistentVolumes are reported as
 * data on their own: whatever made them, Git does not hold what is in them; so are the Secrets an
 * ExternalSecret wrote that a rebuild would not write again the same (`refreshPolicy: CreatedOnce`,
 * values from a generator: a new password on every rebuild).
 */
import { MANAGED_BY_LABELS } from "../../components/defaults";
import { builtinContext, builtinRule } from "./builtins";
import type { ObjectMeta } from "../cluster/list";

export type TrackingMethod = "annotation" | "label" | "annotation+label";

export interface ArgoTracking {
  /** Argo CD's namespace: Applications there are named plainly in tracking ids, others `<namespace>_<name>`. */
  readonly namespace: string;
  readonly method: TrackingMethod;
  readonly instanceLabelKey: string;
  /**
   * Destination namespaces Argo CD creates for Applications with the `CreateNamespace=true` sync
   * option (untracked unless `managedNamespaceMetadata` is set): back with their Application.
   */
  readonly createdNamespaces?: readonly { readonly namespace: string; readonly app: { readonly namespace: string; readonly name: string } }[];
}

export interface KustomizationInventory {
  readonly namespace: string;
  readonly name: string;
  /** `status.inventory.entries[].id`: `<namespace>_<name>_<group>_<kind>`. */
  readonly entries: readonly string[];
}

export interface HelmReleaseRef {
  readonly namespace: string;
  readonly name: string;
  /** The Helm release it installs, and where. */
  readonly releaseName: string;
  readonly releaseNamespace: string;
  /** Where Helm keeps the release's storage Secrets. */
  readonly storageNamespace: string;
}

export interface AuditFacts {
  /** Present when Argo CD is installed (argocd-cm read). */
  readonly argocd?: ArgoTracking;
  readonly kustomizations: readonly KustomizationInventory[];
  readonly helmReleases: readonly HelmReleaseRef[];
  /** The stack's own Helm releases (its reconciler's chart, and the Sealed Secrets and External Secrets charts it installs). */
  readonly stackReleases: readonly { readonly name: string; readonly namespace: string }[];
  /** The ExternalSecrets in the cluster whose Secret a rebuild would not give back the same, and why. */
  readonly unreproducedExternalSecrets?: readonly { readonly namespace: string; readonly name: string; readonly why: string }[];
}

export type Origin =
  | { readonly kind: "kubernetes"; readonly rule: string }
  | { readonly kind: "stack"; readonly how: string }
  | { readonly kind: "git"; readonly via: string }
  | { readonly kind: "owner"; readonly owner: string; readonly root: Origin }
  | { readonly kind: "lost" }
  /** Made by a controller from an object that would be lost: it follows that object (reported with it). */
  | { readonly kind: "lost-with"; readonly owner: string; readonly ownerUid: string };

export interface Classified {
  readonly object: ObjectMeta;
  readonly origin: Origin;
  /** A PersistentVolumeClaim or PersistentVolume, or a Secret a rebuild would not write the same: data Git does not hold. */
  readonly data: boolean;
  /** Why it is data, when it is not a volume. */
  readonly dataReason?: string;
}

export const TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id";
const HELM_RELEASE = "meta.helm.sh/release-name";
const HELM_NAMESPACE = "meta.helm.sh/release-namespace";

export const describeObject = (o: Pick<ObjectMeta, "kind" | "namespace" | "name">): string => `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;

/** The Flux inventory id of an object. */
export const inventoryId = (o: ObjectMeta): string => `${o.namespace ?? ""}_${o.name}_${o.group}_${o.kind}`;

export function isData(o: ObjectMeta): boolean {
  return o.group === "" && (o.kind === "PersistentVolumeClaim" || o.kind === "PersistentVolume");
}

/** The app an Argo CD tracking id names, when the id matches the object (a copied annotation does not). */
function trackedApp(o: ObjectMeta, tracking: ArgoTracking): string | undefined {
  const fromLabel = (): string | undefined => o.labels[tracking.instanceLabelKey];
  if (tracking.method === "label") return fromLabel();
  const id = o.annotations[TRACKING_ANNOTATION];
  if (id === undefined) return undefined;
  const m = /^([^:]+):([^/:]*)\/([^:]+):([^/]*)\/(.+)$/.exec(id);
  if (!m) return undefined;
  const [, app, group, kind, namespace, name] = m;
  // Cluster-scoped objects carry the Application's destination namespace there.
  if (group !== o.group || kind !== o.kind || name !== o.name || (o.namespace !== undefined && namespace !== o.namespace)) return undefined;
  return app;
}

/** Classifies every object; the result is in the input's order. */
export function classify(objects: readonly ObjectMeta[], facts: AuditFacts): Classified[] {
  const byUid = new Map<string, ObjectMeta>();
  const byKey = new Map<string, ObjectMeta>();
  const key = (kind: string, namespace: string | undefined, name: string, group = ""): string => `${group}/${kind}/${namespace ?? ""}/${name}`;
  for (const o of objects) {
    byUid.set(o.uid, o);
    byKey.set(key(o.kind, o.namespace, o.name, o.group), o);
  }
  const inventoryOf = new Map<string, KustomizationInventory>();
  for (const k of facts.kustomizations) for (const id of k.entries) if (!inventoryOf.has(id)) inventoryOf.set(id, k);
  const releaseOf = new Map<string, HelmReleaseRef>();
  const storageOf = new Map<string, HelmReleaseRef>();
  for (const h of facts.helmReleases) {
    releaseOf.set(`${h.releaseNamespace}/${h.releaseName}`, h);
    storageOf.set(`${h.storageNamespace}/${h.releaseName}`, h);
  }

  const builtins = builtinContext(objects);
  const origins = new Map<string, Origin>();
  const visiting = new Set<string>();

  /** Where a named object (the Application, Kustomization, HelmRelease, owner) comes from; lost when absent. */
  const originOfKey = (k: string): Origin => {
    const o = byKey.get(k);
    return o ? originOf(o) : { kind: "lost" };
  };
  const via = (what: string, parent: Origin): Origin | undefined => (parent.kind === "lost" ? undefined : { kind: "git", via: what });

  function decide(o: ObjectMeta): Origin {
    const rule = builtinRule(o, builtins);
    if (rule) return { kind: "kubernetes", rule: rule.id };
    if (Object.entries(MANAGED_BY_LABELS).every(([k, v]) => o.labels[k] === v)) return { kind: "stack", how: "created by the stack" };
    const release = o.annotations[HELM_RELEASE];
    const releaseNs = o.annotations[HELM_NAMESPACE];
    const storage = o.group === "" && o.kind === "Secret" && o.labels.owner === "helm" ? o.labels.name : undefined;
    const stack = facts.stackReleases.find((r) => (release === r.name && releaseNs === r.namespace) || (storage === r.name && o.namespace === r.namespace));
    if (stack) return { kind: "stack", how: `the stack's Helm release ${stack.namespace}/${stack.name}` };
    if (facts.argocd) {
      const app = trackedApp(o, facts.argocd);
      if (app !== undefined) {
        const [appNs, appName] = app.includes("_") ? app.split("_", 2) : [facts.argocd.namespace, app];
        const found = via(`Argo CD Application ${appNs}/${appName}`, originOfKey(key("Application", appNs, appName, "argoproj.io")));
        if (found) return found;
      }
    }
    if (facts.argocd && o.group === "" && o.kind === "Namespace") {
      for (const c of facts.argocd.createdNamespaces ?? []) {
        if (c.namespace !== o.name) continue;
        const found = via(`Argo CD Application ${c.app.namespace}/${c.app.name} (CreateNamespace=true)`, originOfKey(key("Application", c.app.namespace, c.app.name, "argoproj.io")));
        if (found) return found;
      }
    }
    const k = inventoryOf.get(inventoryId(o));
    if (k) {
      const found = via(`Flux Kustomization ${k.namespace}/${k.name}`, originOfKey(key("Kustomization", k.namespace, k.name, "kustomize.toolkit.fluxcd.io")));
      if (found) return found;
    }
    const h = release !== undefined && releaseNs !== undefined ? releaseOf.get(`${releaseNs}/${release}`) : storage !== undefined ? storageOf.get(`${o.namespace}/${storage}`) : undefined;
    if (h) {
      const found = via(`Helm release ${h.releaseNamespace}/${h.releaseName} of HelmRelease ${h.namespace}/${h.name}`, originOfKey(key("HelmRelease", h.namespace, h.name, "helm.toolkit.fluxcd.io")));
      if (found) return found;
    }
    // Endpoints carry no ownerReference: they are the Service's.
    const service = o.group === "" && o.kind === "Endpoints" ? byKey.get(key("Service", o.namespace, o.name)) : undefined;
    const owners = [...o.owners.map((ref) => byUid.get(ref.uid)).filter((x): x is ObjectMeta => x !== undefined), ...(service ? [service] : [])];
    let lostOwner: ObjectMeta | undefined;
    for (const owner of owners) {
      const root = originOf(owner);
      if (root.kind === "lost" || root.kind === "lost-with") {
        lostOwner ??= root.kind === "lost-with" ? byUid.get(root.ownerUid) : owner;
        continue;
      }
      return { kind: "owner", owner: describeObject(owner), root: root.kind === "owner" ? root.root : root };
    }
    if (lostOwner && !visiting.has(lostOwner.uid)) return { kind: "lost-with", owner: describeObject(lostOwner), ownerUid: lostOwner.uid };
    return { kind: "lost" };
  }

  function originOf(o: ObjectMeta): Origin {
    const known = origins.get(o.uid);
    if (known) return known;
    if (visiting.has(o.uid)) return { kind: "lost" }; // an ownership cycle proves nothing
    visiting.add(o.uid);
    const origin = decide(o);
    visiting.delete(o.uid);
    origins.set(o.uid, origin);
    return origin;
  }

  const unreproduced = new Map((facts.unreproducedExternalSecrets ?? []).map((e) => [`${e.namespace}/${e.name}`, e.why]));
  /** A Secret an ExternalSecret owns, when a rebuild would not write it again the same. */
  const notReproduced = (o: ObjectMeta): string | undefined => {
    if (o.group !== "" || o.kind !== "Secret") return undefined;
    const owner = o.owners.map((ref) => byUid.get(ref.uid)).find((x) => x?.group === "external-secrets.io" && x.kind === "ExternalSecret");
    const why = owner && unreproduced.get(`${owner.namespace}/${owner.name}`);
    return why ? `written by ExternalSecret ${owner.namespace}/${owner.name}: ${why}` : undefined;
  };
  return objects.map((o) => {
    const reason = notReproduced(o);
    return reason ? { object: o, origin: originOf(o), data: true, dataReason: reason } : { object: o, origin: originOf(o), data: isData(o) };
  });
}
