/**
 * What a new cluster of a known distribution runs before anyone deploys to it: its namespaces,
 * and the workloads in `kube-system` / `default` that the distribution (or a managed cluster's
 * default add-ons) installs. One list, each entry with why; the drill's guard refuses a cluster
 * running anything else there. Names are as the distributions create them; a workload a user
 * added under one of these names in another namespace, or of another kind, does not match.
 */

/** Namespaces a new cluster has: Kubernetes' own, and kind's local-path provisioner. */
export const FRESH_NAMESPACES: readonly string[] = ["default", "kube-node-lease", "kube-public", "kube-system", "local-path-storage"];

/** The namespaces whose workloads the guard inspects (any other namespace already makes a cluster not fresh). */
export const WORKLOAD_NAMESPACES: readonly string[] = ["default", "kube-system"];

export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "CronJob" | "Pod";

/** The workload kinds the guard lists, each with its API path segment. */
export const WORKLOAD_TYPES: readonly { readonly kind: WorkloadKind; readonly apiVersion: string; readonly plural: string }[] = [
  { kind: "Deployment", apiVersion: "apps/v1", plural: "deployments" },
  { kind: "StatefulSet", apiVersion: "apps/v1", plural: "statefulsets" },
  { kind: "DaemonSet", apiVersion: "apps/v1", plural: "daemonsets" },
  { kind: "ReplicaSet", apiVersion: "apps/v1", plural: "replicasets" },
  { kind: "Job", apiVersion: "batch/v1", plural: "jobs" },
  { kind: "CronJob", apiVersion: "batch/v1", plural: "cronjobs" },
  { kind: "Pod", apiVersion: "v1", plural: "pods" },
];

/** What the guard knows of one workload (metadata only). */
export interface WorkloadMeta {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  /** Kinds of its owners (`ReplicaSet`, `Node`, `HelmChart`, ...). */
  readonly ownerKinds: readonly string[];
  readonly annotations: Readonly<Record<string, string>>;
}

export interface FreshWorkloadRule {
  readonly id: string;
  /** Which distributions run it from the start. */
  readonly distributions: string;
  readonly why: string;
  readonly namespace: string;
  readonly kinds: readonly WorkloadKind[];
  readonly name: RegExp;
  /** Only a static (mirror) pod, which the kubelet runs from its manifest folder. */
  readonly mirror?: boolean;
}

const SYSTEM = "kube-system";
const rule = (r: FreshWorkloadRule): FreshWorkloadRule => r;

export const FRESH_CLUSTER_WORKLOADS: readonly FreshWorkloadRule[] = [
  // Kubernetes' own (kubeadm, and what is built on it: kind, minikube).
  rule({ id: "control-plane-static-pods", distributions: "kubeadm, kind, minikube, GKE", why: "the control plane (and GKE's kube-proxy) as static pods the kubelet runs from its manifests", namespace: SYSTEM, kinds: ["Pod"], name: /^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy)-/, mirror: true }),
  rule({ id: "coredns", distributions: "kubeadm, kind, minikube, k3s, EKS, AKS", why: "CoreDNS, the cluster DNS", namespace: SYSTEM, kinds: ["Deployment"], name: /^coredns$/ }),
  rule({ id: "kube-proxy", distributions: "kubeadm, kind, minikube, EKS, AKS", why: "kube-proxy, the Service proxy on every node", namespace: SYSTEM, kinds: ["DaemonSet"], name: /^kube-proxy$/ }),
  rule({ id: "kindnet", distributions: "kind, minikube", why: "kindnet, kind's pod network", namespace: SYSTEM, kinds: ["DaemonSet"], name: /^kindnet$/ }),
  rule({ id: "minikube-storage-provisioner", distributions: "minikube", why: "minikube's storage-provisioner add-on, a bare Pod", namespace: SYSTEM, kinds: ["Pod"], name: /^storage-provisioner$/ }),
  // k3s and k3d (k3s in containers): its packaged components.
  rule({ id: "k3s-local-path-provisioner", distributions: "k3s, k3d", why: "k3s's local-path storage provisioner", namespace: SYSTEM, kinds: ["Deployment"], name: /^local-path-provisioner$/ }),
  rule({ id: "metrics-server", distributions: "k3s, k3d, minikube (add-on), EKS and AKS (add-on)", why: "metrics-server, the resource metrics API", namespace: SYSTEM, kinds: ["Deployment"], name: /^metrics-server$/ }),
  rule({ id: "k3s-traefik", distributions: "k3s, k3d", why: "Traefik, k3s's packaged ingress controller", namespace: SYSTEM, kinds: ["Deployment"], name: /^traefik$/ }),
  rule({ id: "k3s-servicelb", distributions: "k3s, k3d", why: "svclb-<service>-<hash>, k3s's ServiceLB for LoadBalancer Services (Traefik's)", namespace: SYSTEM, kinds: ["DaemonSet"], name: /^svclb-traefik-[0-9a-f]+$/ }),
  rule({ id: "k3s-helm-install", distributions: "k3s, k3d", why: "the Jobs k3s's helm-controller runs to install its packaged charts", namespace: SYSTEM, kinds: ["Job"], name: /^helm-install-traefik(-crd)?$/ }),
  // EKS add-ons.
  rule({ id: "eks-vpc-cni", distributions: "EKS", why: "aws-node, the Amazon VPC CNI", namespace: SYSTEM, kinds: ["DaemonSet"], name: /^aws-node$/ }),
  rule({ id: "eks-ebs-csi", distributions: "EKS (add-on)", why: "the Amazon EBS CSI driver", namespace: SYSTEM, kinds: ["Deployment", "DaemonSet"], name: /^ebs-csi-(controller|node|node-windows)$/ }),
  rule({ id: "eks-efs-csi", distributions: "EKS (add-on)", why: "the Amazon EFS CSI driver", namespace: SYSTEM, kinds: ["Deployment", "DaemonSet"], name: /^efs-csi-(controller|node)$/ }),
  rule({ id: "eks-pod-identity-agent", distributions: "EKS (add-on)", why: "the EKS Pod Identity agent", namespace: SYSTEM, kinds: ["DaemonSet"], name: /^eks-pod-identity-agent$/ }),
  rule({ id: "eks-snapshot-controller", distributions: "EKS (add-on)", why: "the CSI snapshot controller", namespace: SYSTEM, kinds: ["Deployment"], name: /^snapshot-controller$/ }),
  // GKE's kube-system.
  rule({ id: "gke-kube-dns", distributions: "GKE", why: "kube-dns and its autoscaler, GKE's cluster DNS", namespace: SYSTEM, kinds: ["Deployment"], name: /^kube-dns(-autoscaler)?$/ }),
  rule({ id: "konnectivity-agent", distributions: "GKE, AKS", why: "the konnectivity agent (control plane to node tunnel) and its autoscaler", namespace: SYSTEM, kinds: ["Deployment"], name: /^konnectivity-agent(-autoscaler)?$/ }),
  rule({ id: "gke-metrics-server", distributions: "GKE", why: "metrics-server, named by version on GKE", namespace: SYSTEM, kinds: ["Deployment"], name: /^metrics-server-v[0-9.]+$/ }),
  rule({ id: "gke-default-backend", distributions: "GKE", why: "the default HTTP backend of GKE's ingress", namespace: SYSTEM, kinds: ["Deployment"], name: /^l7-default-backend$/ }),
  rule({ id: "gke-event-exporter", distributions: "GKE", why: "GKE's event exporter to Cloud Logging", namespace: SYSTEM, kinds: ["Deployment"], name: /^event-exporter-gke$/ }),
  rule({
    id: "gke-node-agents",
    distributions: "GKE",
    why: "GKE's node agents: logging, metrics, networking (netd, Dataplane V2, IP masquerade), persistent disk and Filestore CSI, Workload Identity, GPU plugin",
    namespace: SYSTEM,
    kinds: ["DaemonSet"],
    name: /^(fluentbit-gke|gke-metrics-agent|netd|anetd|ip-masq-agent|pdcsi-node|filestore-node|gke-metadata-server|nvidia-gpu-device-plugin.*|image-package-extractor)$/,
  }),
  rule({ id: "gke-calico", distributions: "GKE (network policy)", why: "Calico, GKE's network policy enforcement", namespace: SYSTEM, kinds: ["Deployment", "DaemonSet"], name: /^(calico-node|calico-node-vertical-autoscaler|calico-typha|calico-typha-horizontal-autoscaler|calico-typha-vertical-autoscaler)$/ }),
  // AKS's kube-system.
  rule({ id: "aks-coredns-autoscaler", distributions: "AKS", why: "the CoreDNS autoscaler", namespace: SYSTEM, kinds: ["Deployment"], name: /^coredns-autoscaler$/ }),
  rule({
    id: "aks-node-agents",
    distributions: "AKS",
    why: "AKS's node agents: IP masquerade, cloud node manager, Azure Disk and Azure Files CSI, Azure CNI and network policy",
    namespace: SYSTEM,
    kinds: ["DaemonSet"],
    name: /^(azure-ip-masq-agent|cloud-node-manager|cloud-node-manager-windows|csi-azuredisk-node|csi-azuredisk-node-win|csi-azurefile-node|csi-azurefile-node-win|azure-cns|azure-cns-win|azure-npm|retina-agent)$/,
  }),
  rule({ id: "aks-monitoring", distributions: "AKS (monitoring add-ons)", why: "Azure Monitor agents (Container insights, managed Prometheus)", namespace: SYSTEM, kinds: ["Deployment", "DaemonSet"], name: /^(ama-logs|ama-logs-rs|ama-metrics|ama-metrics-node|ama-metrics-ksm|ama-metrics-operator-targets)$/ }),
  rule({ id: "aks-azure-policy", distributions: "AKS (Azure Policy add-on)", why: "the Azure Policy add-on", namespace: SYSTEM, kinds: ["Deployment"], name: /^azure-policy(-webhook)?$/ }),
];

/** The entry of the list a workload is, if any. */
export function freshWorkloadRule(w: WorkloadMeta): FreshWorkloadRule | undefined {
  const mirror = w.annotations["kubernetes.io/config.mirror"] !== undefined;
  return FRESH_CLUSTER_WORKLOADS.find((r) => r.namespace === w.namespace && r.kinds.includes(w.kind) && r.name.test(w.name) && (!r.mirror || mirror));
}

/** Kinds whose objects the guard lists itself: something they own is judged through its owner. */
const LISTED_KINDS = new Set<string>(WORKLOAD_TYPES.map((t) => t.kind));

/**
 * The workloads to judge: those not made by another listed workload (a Deployment's ReplicaSets
 * and pods, a CronJob's Jobs are judged as the Deployment or CronJob).
 */
export function topLevelWorkloads(workloads: readonly WorkloadMeta[]): WorkloadMeta[] {
  return workloads.filter((w) => !w.ownerKinds.some((k) => LISTED_KINDS.has(k)));
}
