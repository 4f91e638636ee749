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

/** An entry for `kube-system`, where every distribution puts its own workloads. */
const system = (id: string, distributions: string, why: string, kinds: readonly WorkloadKind[], name: RegExp, mirror?: boolean): FreshWorkloadRule => ({
  id,
  distributions,
  why,
  namespace: "kube-system",
  kinds,
  name,
  ...(mirror ? { mirror } : {}),
});

export const FRESH_CLUSTER_WORKLOADS: readonly FreshWorkloadRule[] = [
  // Kubernetes' own (kubeadm, and what is built on it: kind, minikube).
  system("control-plane-static-pods", "kubeadm, kind, minikube, GKE",
    "the control plane (and GKE's kube-proxy) as static pods the kubelet runs from its manifests",
    ["Pod"], /^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy)-/, true),
  system("coredns", "kubeadm, kind, minikube, k3s, EKS, AKS", "CoreDNS, the cluster DNS", ["Deployment"], /^coredns$/),
  system("kube-proxy", "kubeadm, kind, minikube, EKS, AKS", "kube-proxy, the Service proxy on every node", ["DaemonSet"], /^kube-proxy$/),
  system("kindnet", "kind, minikube", "kindnet, kind's pod network", ["DaemonSet"], /^kindnet$/),
  system("minikube-storage-provisioner", "minikube", "minikube's storage-provisioner add-on, a bare Pod", ["Pod"], /^storage-provisioner$/),
  // k3s and k3d (k3s in containers): its packaged components.
  system("k3s-local-path-provisioner", "k3s, k3d", "k3s's local-path storage provisioner", ["Deployment"], /^local-path-provisioner$/),
  system("metrics-server", "k3s, k3d, minikube (add-on), EKS and AKS (add-on)", "metrics-server, the resource metrics API",
    ["Deployment"], /^metrics-server$/),
  system("k3s-traefik", "k3s, k3d", "Traefik, k3s's packaged ingress controller", ["Deployment"], /^traefik$/),
  system("k3s-servicelb", "k3s, k3d", "svclb-<service>-<hash>, k3s's ServiceLB for LoadBalancer Services (Traefik's)",
    ["DaemonSet"], /^svclb-traefik-[0-9a-f]+$/),
  system("k3s-helm-install", "k3s, k3d", "the Jobs k3s's helm-controller runs to install its packaged charts",
    ["Job"], /^helm-install-traefik(-crd)?$/),
  // EKS add-ons.
  system("eks-vpc-cni", "EKS", "aws-node, the Amazon VPC CNI", ["DaemonSet"], /^aws-node$/),
  system("eks-ebs-csi", "EKS (add-on)", "the Amazon EBS CSI driver", ["Deployment", "DaemonSet"], /^ebs-csi-(controller|node|node-windows)$/),
  system("eks-efs-csi", "EKS (add-on)", "the Amazon EFS CSI driver", ["Deployment", "DaemonSet"], /^efs-csi-(controller|node)$/),
  system("eks-pod-identity-agent", "EKS (add-on)", "the EKS Pod Identity agent", ["DaemonSet"], /^eks-pod-identity-agent$/),
  system("eks-snapshot-controller", "EKS (add-on)", "the CSI snapshot controller", ["Deployment"], /^snapshot-controller$/),
  // GKE's kube-system.
  system("gke-kube-dns", "GKE", "kube-dns and its autoscaler, GKE's cluster DNS", ["Deployment"], /^kube-dns(-autoscaler)?$/),
  system("konnectivity-agent", "GKE, AKS", "the konnectivity agent (control plane to node tunnel) and its autoscaler",
    ["Deployment"], /^konnectivity-agent(-autoscaler)?$/),
  system("gke-metrics-server", "GKE", "metrics-server, named by version on GKE", ["Deployment"], /^metrics-server-v[0-9.]+$/),
  system("gke-default-backend", "GKE", "the default HTTP backend of GKE's ingress", ["Deployment"], /^l7-default-backend$/),
  system("gke-event-exporter", "GKE", "GKE's event exporter to Cloud Logging", ["Deployment"], /^event-exporter-gke$/),
  system("gke-node-agents", "GKE",
    "GKE's node agents: logging, metrics, networking (netd, Dataplane V2, IP masquerade), persistent disk and Filestore CSI, " +
      "Workload Identity, GPU plugin",
    ["DaemonSet"],
    /^(fluentbit-gke|gke-metrics-agent|netd|anetd|ip-masq-agent|pdcsi-node|filestore-node|gke-metadata-server|nvidia-gpu-device-plugin.*|image-package-extractor)$/),
  system("gke-calico", "GKE (network policy)", "Calico, GKE's network policy enforcement", ["Deployment", "DaemonSet"],
    /^calico-(node|node-vertical-autoscaler|typha|typha-horizontal-autoscaler|typha-vertical-autoscaler)$/),
  // AKS's kube-system.
  system("aks-coredns-autoscaler", "AKS", "the CoreDNS autoscaler", ["Deployment"], /^coredns-autoscaler$/),
  system("aks-node-agents", "AKS",
    "AKS's node agents: IP masquerade, cloud node manager, Azure Disk and Azure Files CSI, Azure CNI and network policy",
    ["DaemonSet"],
    /^(azure-ip-masq-agent|cloud-node-manager(-windows)?|csi-azuredisk-node(-win)?|csi-azurefile-node(-win)?|azure-cns(-win)?|azure-npm|retina-agent)$/),
  system("aks-monitoring", "AKS (monitoring add-ons)", "Azure Monitor agents (Container insights, managed Prometheus)",
    ["Deployment", "DaemonSet"], /^ama-(logs|logs-rs|metrics|metrics-node|metrics-ksm|metrics-operator-targets)$/),
  system("aks-azure-policy", "AKS (Azure Policy add-on)", "the Azure Policy add-on", ["Deployment"], /^azure-policy(-webhook)?$/),
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
