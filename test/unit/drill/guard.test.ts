import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { FRESH_NAMESPACES, guardProblems, otherStackBindings, recognisedWorkloads } from "../../../bootstrap/drill/guard";
import { FRESH_CLUSTER_WORKLOADS, type WorkloadKind, type WorkloadMeta } from "../../../bootstrap/drill/fresh-cluster";

const workload = (kind: WorkloadKind, namespace: string, name: string, extra: Partial<WorkloadMeta> = {}): WorkloadMeta => ({ kind, namespace, name, ownerKinds: [], annotations: {}, ...extra });
const MIRROR = { "kubernetes.io/config.mirror": "0f1e2d" };

describe("drill guard", () => {
  const base = { namespaces: [...FRESH_NAMESPACES], workloads: [], persistentVolumeClaims: [], server: "https://127.0.0.1:6443", context: "kind-drill", otherStacks: [] };

  it("lets a fresh cluster through (kind's local-path-storage included)", () => {
    expect(guardProblems(base)).toEqual([]);
  });

  it("refuses a cluster with other namespaces, naming them", () => {
    expect(guardProblems({ ...base, namespaces: [...FRESH_NAMESPACES, "argocd", "payments"] })).toEqual(["the cluster is not empty: it has namespaces a fresh cluster does not have (argocd, payments)"]);
  });

  it("refuses the cluster another stack deploys to, by server, or by context name when the server is unknown", () => {
    expect(guardProblems({ ...base, otherStacks: [{ stack: "prod", context: "prod-admin", server: "https://127.0.0.1:6443/" }] })).toEqual(["stack prod deploys to this cluster (context prod-admin, server https://127.0.0.1:6443/)"]);
    expect(guardProblems({ ...base, otherStacks: [{ stack: "dev", context: "kind-drill" }] })).toEqual(["stack dev uses the context kind-drill, the same name as the drill's"]);
    expect(guardProblems({ ...base, otherStacks: [{ stack: "prod", context: "prod-admin", server: "https://prod.example.com" }] })).toEqual([]);
  });
});

describe("drill guard: workloads and data", () => {
  const base = { namespaces: [...FRESH_NAMESPACES], persistentVolumeClaims: [], server: "https://127.0.0.1:6443", context: "kind-drill", otherStacks: [] };

  /** What each distribution runs when it is new, as it names it. */
  const fresh: Record<string, WorkloadMeta[]> = {
    kind: [
      workload("Deployment", "kube-system", "coredns"), workload("ReplicaSet", "kube-system", "coredns-674b8bbfcf", { ownerKinds: ["Deployment"] }),
      workload("Pod", "kube-system", "coredns-674b8bbfcf-x2x8k", { ownerKinds: ["ReplicaSet"] }), workload("DaemonSet", "kube-system", "kindnet"),
      workload("DaemonSet", "kube-system", "kube-proxy"), workload("Pod", "kube-system", "kube-proxy-7wq5d", { ownerKinds: ["DaemonSet"] }),
      workload("Pod", "kube-system", "etcd-kind-control-plane", { ownerKinds: ["Node"], annotations: MIRROR }),
      workload("Pod", "kube-system", "kube-apiserver-kind-control-plane", { ownerKinds: ["Node"], annotations: MIRROR }),
    ],
    k3s: [
      workload("Deployment", "kube-system", "coredns"), workload("Deployment", "kube-system", "local-path-provisioner"), workload("Deployment", "kube-system", "metrics-server"),
      workload("Deployment", "kube-system", "traefik"), workload("DaemonSet", "kube-system", "svclb-traefik-3b3c6f0e"),
      workload("Job", "kube-system", "helm-install-traefik", { ownerKinds: ["HelmChart"] }), workload("Job", "kube-system", "helm-install-traefik-crd", { ownerKinds: ["HelmChart"] }),
      workload("Pod", "kube-system", "helm-install-traefik-crd-9zv2l", { ownerKinds: ["Job"] }),
    ],
    minikube: [workload("Deployment", "kube-system", "coredns"), workload("DaemonSet", "kube-system", "kube-proxy"), workload("Pod", "kube-system", "storage-provisioner")],
    EKS: [workload("DaemonSet", "kube-system", "aws-node"), workload("DaemonSet", "kube-system", "kube-proxy"), workload("Deployment", "kube-system", "coredns"), workload("Deployment", "kube-system", "ebs-csi-controller"), workload("DaemonSet", "kube-system", "eks-pod-identity-agent")],
    GKE: [workload("Deployment", "kube-system", "kube-dns"), workload("Deployment", "kube-system", "konnectivity-agent"), workload("Deployment", "kube-system", "metrics-server-v1.31.0"), workload("DaemonSet", "kube-system", "fluentbit-gke"), workload("DaemonSet", "kube-system", "pdcsi-node"), workload("Pod", "kube-system", "kube-proxy-gke-pool-1-abc", { ownerKinds: ["Node"], annotations: MIRROR })],
    AKS: [workload("Deployment", "kube-system", "coredns"), workload("Deployment", "kube-system", "coredns-autoscaler"), workload("DaemonSet", "kube-system", "azure-ip-masq-agent"), workload("DaemonSet", "kube-system", "csi-azuredisk-node"), workload("Deployment", "kube-system", "metrics-server")],
  };

  it.each(Object.keys(fresh))("lets a fresh %s cluster through", (distribution) => {
    expect(guardProblems({ ...base, workloads: fresh[distribution] })).toEqual([]);
  });

  it("names every entry of the list with why and which distributions run it", () => {
    for (const r of FRESH_CLUSTER_WORKLOADS) {
      expect(r.why.length).toBeGreaterThan(10);
      expect(r.distributions.length).toBeGreaterThan(2);
    }
    expect(new Set(FRESH_CLUSTER_WORKLOADS.map((r) => r.id)).size).toBe(FRESH_CLUSTER_WORKLOADS.length);
    expect(recognisedWorkloads(fresh.k3s)).toEqual(["coredns", "k3s-helm-install", "k3s-local-path-provisioner", "k3s-servicelb", "k3s-traefik", "metrics-server"]);
  });

  it("refuses workloads a fresh cluster does not run in default or kube-system, naming each, judged by their top owner", () => {
    const workloads = [
      ...fresh.k3s,
      workload("Deployment", "default", "payments-api"), workload("ReplicaSet", "default", "payments-api-5d9c", { ownerKinds: ["Deployment"] }),
      workload("StatefulSet", "kube-system", "vault"), workload("CronJob", "default", "nightly-report"), workload("Job", "default", "nightly-report-2901", { ownerKinds: ["CronJob"] }),
      workload("Pod", "default", "debug-shell"), workload("ReplicaSet", "default", "orphan-rs"),
      // Known names in the wrong place or of the wrong kind are not the distribution's.
      workload("Deployment", "default", "traefik"), workload("DaemonSet", "kube-system", "coredns"),
      workload("Pod", "kube-system", "kube-apiserver-handmade"),
    ];
    expect(guardProblems({ ...base, workloads })).toEqual([
      "the cluster runs workloads no fresh cluster of a known distribution (kind, k3s, minikube, EKS, GKE, AKS) runs: Deployment default/payments-api, StatefulSet kube-system/vault, CronJob default/nightly-report, Pod default/debug-shell, ReplicaSet default/orphan-rs, Deployment default/traefik, DaemonSet kube-system/coredns, Pod kube-system/kube-apiserver-handmade",
    ]);
  });

  it("refuses any PersistentVolumeClaim, wherever it is", () => {
    expect(guardProblems({ ...base, workloads: [], persistentVolumeClaims: ["local-path-storage/data", "default/pg-0"] })).toEqual(["the cluster holds data: PersistentVolumeClaims local-path-storage/data, default/pg-0"]);
  });
});

describe("otherStackBindings", () => {
  const kubeconfig = (server: string, context: string) => [
    "apiVersion: v1", "kind: Config",
    `clusters: [{name: c, cluster: {server: "${server}"}}]`,
    "users: [{name: u, user: {token: not-a-secret}}]",
    `contexts: [{name: ${context}, context: {cluster: c, user: u}}]`,
    `current-context: ${context}`,
  ].join("\n");

  it("resolves the server of stacks bound by a kubeconfig path or inline kubeconfig and context; skips unbound ones and the drill stack", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "guard-"));
    try {
      fs.mkdirSync(path.join(dir, "stacks"));
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: p\nruntime: nodejs\nstackConfigDir: stacks\n");
      fs.writeFileSync(path.join(dir, "prod.kubeconfig"), kubeconfig("https://prod.example.com:6443", "prod-admin"));
      const stack = (name: string, config: Record<string, unknown>) => fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), YAML.stringify({ config }));
      stack("prod", { "kubernetes:kubeconfig": "prod.kubeconfig", "kubernetes:context": "prod-admin" });
      stack("staging", { "kubernetes:kubeconfig": kubeconfig("https://staging.example.com", "stg") });
      stack("lab", { "kubernetes:kubeconfig": "prod.kubeconfig", "kubernetes:context": "no-such-context" });
      stack("dev", { "gitops-bootstrap:environment": "dev" });
      stack("drill", { "kubernetes:context": "kind-drill" });
      expect(otherStackBindings(dir, "drill")).toEqual([
        { stack: "lab", context: "no-such-context", kubeconfig: "prod.kubeconfig", server: undefined },
        { stack: "prod", context: "prod-admin", kubeconfig: "prod.kubeconfig", server: "https://prod.example.com:6443" },
        { stack: "staging", context: undefined, kubeconfig: undefined, server: "https://staging.example.com" },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
