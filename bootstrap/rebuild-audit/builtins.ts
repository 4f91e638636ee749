/**
 * What Kubernetes (and the reconciler's chart) makes on every cluster by itself: a rebuild gets
 * these back without Git. One list, each rule with why; `audit` counts what they match as
 * "made by Kubernetes" and never reports it. Events are not even listed (list.ts).
 */
import type { ObjectMeta } from "../cluster/list";

/** What some rules need to know about the rest of the cluster. */
export interface BuiltinContext {
  /** Names `x` of the default ClusterRoleBindings `system:controller:x` (the controller-manager's accounts). */
  readonly controllerAccounts: ReadonlySet<string>;
}

export interface BuiltinRule {
  readonly id: string;
  readonly why: string;
  readonly matches: (o: ObjectMeta, ctx: BuiltinContext) => boolean;
}

/** The context from the listed objects. */
export function builtinContext(objects: readonly ObjectMeta[]): BuiltinContext {
  const controllerAccounts = new Set<string>();
  for (const o of objects) {
    if (o.group === "rbac.authorization.k8s.io" && o.kind === "ClusterRoleBinding" && o.labels["kubernetes.io/bootstrapping"] === "rbac-defaults" && o.name.startsWith("system:controller:")) {
      controllerAccounts.add(o.name.slice("system:controller:".length));
    }
  }
  return { controllerAccounts };
}

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];
const is = (o: ObjectMeta, group: string, kind: string): boolean => o.group === group && o.kind === kind;

export const BUILTIN_RULES: readonly BuiltinRule[] = [
  { id: "system-namespace", why: "the namespaces every cluster starts with", matches: (o) => is(o, "", "Namespace") && SYSTEM_NAMESPACES.includes(o.name) },
  { id: "root-ca-configmap", why: "kube-root-ca.crt, published into every namespace by the controller-manager", matches: (o) => is(o, "", "ConfigMap") && o.name === "kube-root-ca.crt" },
  { id: "default-serviceaccount", why: "the default ServiceAccount of every namespace", matches: (o) => is(o, "", "ServiceAccount") && o.name === "default" },
  {
    id: "controller-serviceaccount",
    why: "the controller-manager's own ServiceAccounts in kube-system, each bound by a default system:controller:<name> binding",
    matches: (o, ctx) => is(o, "", "ServiceAccount") && o.namespace === "kube-system" && ctx.controllerAccounts.has(o.name),
  },
  { id: "lease", why: "Leases: leader election and node heartbeats, taken again by their holders", matches: (o) => is(o, "coordination.k8s.io", "Lease") },
  { id: "node", why: "the cluster's machines (Nodes, CSINodes) come with the cluster, not from Git", matches: (o) => is(o, "", "Node") || is(o, "storage.k8s.io", "CSINode") },
  {
    id: "kubernetes-service",
    why: "the API server's own Service, Endpoints and EndpointSlice in default",
    matches: (o) => o.namespace === "default" && ((is(o, "", "Service") || is(o, "", "Endpoints")) && o.name === "kubernetes" || (is(o, "discovery.k8s.io", "EndpointSlice") && o.labels["kubernetes.io/service-name"] === "kubernetes")),
  },
  { id: "service-cidr", why: "the default ServiceCIDR the API server creates", matches: (o) => is(o, "networking.k8s.io", "ServiceCIDR") && o.name === "kubernetes" },
  { id: "ip-address", why: "ClusterIP allocations, made again with their Services", matches: (o) => is(o, "networking.k8s.io", "IPAddress") && o.labels["ipaddress.kubernetes.io/managed-by"] === "ipallocator.k8s.io" },
  { id: "apiservice", why: "APIServices the aggregator registers for the built-in groups", matches: (o) => is(o, "apiregistration.k8s.io", "APIService") && o.labels["kube-aggregator.kubernetes.io/automanaged"] !== undefined },
  { id: "rbac-defaults", why: "the default roles and bindings the API server bootstraps", matches: (o) => o.group === "rbac.authorization.k8s.io" && o.labels["kubernetes.io/bootstrapping"] === "rbac-defaults" },
  { id: "system-priorityclass", why: "the system PriorityClasses", matches: (o) => is(o, "scheduling.k8s.io", "PriorityClass") && (o.name === "system-node-critical" || o.name === "system-cluster-critical") },
  { id: "apf-defaults", why: "the API server's default flow control (FlowSchemas, PriorityLevelConfigurations)", matches: (o) => o.group === "flowcontrol.apiserver.k8s.io" && o.annotations["apf.kubernetes.io/autoupdate-spec"] !== undefined },
  {
    id: "apiserver-configmaps",
    why: "ConfigMaps the API server keeps in kube-system",
    matches: (o) => is(o, "", "ConfigMap") && o.namespace === "kube-system" && ["extension-apiserver-authentication", "kube-apiserver-legacy-service-account-token-tracking"].includes(o.name),
  },
  { id: "argocd-default-project", why: "Argo CD's default AppProject, which Argo CD creates when it is missing", matches: (o) => is(o, "argoproj.io", "AppProject") && o.name === "default" },
  { id: "csr", why: "CertificateSigningRequests: node credentials, asked for again by new nodes", matches: (o) => is(o, "certificates.k8s.io", "CertificateSigningRequest") },
];

/** The built-in rule an object matches, if any. */
export function builtinRule(o: ObjectMeta, ctx: BuiltinContext): BuiltinRule | undefined {
  return BUILTIN_RULES.find((r) => r.matches(o, ctx));
}
