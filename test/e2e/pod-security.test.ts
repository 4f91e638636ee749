/**
 * Pod Security `restricted`, enforced by the real API server's PodSecurity admission: with the
 * stack option `podSecurity: restricted`, the namespaces the product creates enforce it, and every
 * pod of the real upstream charts (argo-cd with the product's KSOPS init container, flux2,
 * sealed-secrets with the product's values) is admitted: each workload has all its pods, kwok
 * playing their kubelet. The same pod without what the product adds (the KSOPS init container's
 * securityContext; the sealed-secrets controller's seccomp and privilege-escalation settings) is
 * refused by the same API server: the tests could fail.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ARGOCD, FLUX, KSOPS } from "../../components/defaults";
import { type StackHandle, type TestCluster, openCluster, openStack, requireToolchain, tempDir } from "./harness";

jest.setTimeout(15 * 60 * 1000);

type Obj = Record<string, any>;

const SEALED_NAMESPACE = "sealed-secrets";

describe.each([
  ["argocd", "sandbox", ARGOCD.namespace],
  ["flux", "flux-sandbox", FLUX.namespace],
] as const)("%s with podSecurity: restricted", (reconciler, stackName, namespace) => {
  let dir: string;
  let cluster: TestCluster;
  let handle: StackHandle;
  const getJson = (args: string[]): Obj => JSON.parse(cluster.kubectl(["get", ...args, "-o", "json"]));

  beforeAll(async () => {
    requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm");
    dir = tempDir(`pod-security-${reconciler}`);
    cluster = await openCluster(dir);
    handle = await openStack(dir, stackName, cluster.kubeconfig);
    await handle.stack.setConfig("gitops-bootstrap:podSecurity", { value: "restricted" });
    if (reconciler === "argocd") {
      // Sealed Secrets in a namespace of its own, which the product creates (and so labels).
      await handle.stack.setConfig("gitops-bootstrap:sealedSecrets", { value: JSON.stringify({ chartRepo: "test/e2e/charts/sealed-secrets.tgz", namespace: SEALED_NAMESPACE }) });
    }
    const out: string[] = [];
    try {
      const result = await handle.stack.up({ onOutput: (s) => out.push(s) });
      expect(result.summary.result).toBe("succeeded");
    } catch (e) {
      throw new Error(`up failed:\n${out.join("")}\n${refusals().join("\n")}\n${(e as Error).message}`);
    }
  }, 15 * 60 * 1000);

  afterAll(async () => {
    await cluster?.close();
    if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What PodSecurity admission refused (the ReplicaSet/StatefulSet/Job controllers' FailedCreate events). */
  function refusals(): string[] {
    const events = getJson(["events", "-A", "--field-selector", "reason=FailedCreate"]).items as Obj[];
    return events.map((e) => `${e.involvedObject.kind} ${e.involvedObject.namespace}/${e.involvedObject.name}: ${e.message}`);
  }

  const namespaces = reconciler === "argocd" ? [namespace, SEALED_NAMESPACE] : [namespace];

  test("the namespaces the product creates enforce restricted", () => {
    for (const ns of namespaces) {
      expect(getJson(["namespace", ns]).metadata.labels).toMatchObject({
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
      });
    }
  });

  test("every pod of the real charts is admitted: each workload has all its pods, none refused", () => {
    expect(refusals()).toEqual([]);
    const expectedWorkloads = reconciler === "argocd" ? 8 : 6; // argo-cd 10.1.1: 6 Deployments + 1 StatefulSet (+ sealed-secrets); flux2 2.18.3: 6 Deployments
    const workloads: string[] = [];
    for (const ns of namespaces) {
      for (const w of [...getJson(["deployments", "-n", ns]).items, ...getJson(["statefulsets", "-n", ns]).items] as Obj[]) {
        workloads.push(`${w.kind ?? "workload"} ${ns}/${w.metadata.name}`);
        expect({ name: w.metadata.name, ready: w.status.readyReplicas ?? 0 }).toEqual({ name: w.metadata.name, ready: w.spec.replicas });
      }
      // The pods exist, and the namespace's enforcement applied to each of them.
      for (const pod of getJson(["pods", "-n", ns]).items as Obj[]) expect([pod.metadata.name, pod.status.phase]).toEqual([pod.metadata.name, expect.stringMatching(/^(Running|Succeeded)$/)]);
    }
    expect(workloads).toHaveLength(expectedWorkloads);
  });

  /** A pod made from a workload's template, changed by `edit`, created with a server-side dry run in `ns`. */
  function dryRunPod(ns: string, kind: string, name: string, edit: (spec: Obj) => void): string {
    const template = getJson([kind, name, "-n", ns]).spec.template;
    const spec = structuredClone(template.spec);
    edit(spec);
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: `${name}-dry-run`, namespace: ns, labels: template.metadata.labels }, spec };
    const file = path.join(dir, `${name}-pod.json`);
    fs.writeFileSync(file, JSON.stringify(pod));
    try {
      cluster.kubectl(["create", "--dry-run=server", "-f", file]);
      return "admitted";
    } catch (e) {
      return String((e as { stderr?: string }).stderr ?? e);
    }
  }

  if (reconciler === "argocd") {
    test("the repo-server pod as the chart renders it is admitted; without the KSOPS init container's securityContext it is refused", () => {
      expect(dryRunPod(namespace, "deployment", "argocd-repo-server", () => undefined)).toBe("admitted");
      const refused = dryRunPod(namespace, "deployment", "argocd-repo-server", (spec) => {
        delete spec.initContainers.find((c: Obj) => c.name === KSOPS.initContainerName).securityContext;
      });
      expect(refused).toMatch(/violates PodSecurity "restricted:latest"/);
      expect(refused).toContain(`"${KSOPS.initContainerName}"`);
    });

    test("the sealed-secrets controller is admitted; without the product's values (the chart's defaults) it is refused", () => {
      expect(dryRunPod(SEALED_NAMESPACE, "deployment", "sealed-secrets-controller", () => undefined)).toBe("admitted");
      const refused = dryRunPod(SEALED_NAMESPACE, "deployment", "sealed-secrets-controller", (spec) => {
        delete spec.securityContext.seccompProfile;
        for (const c of spec.containers) delete c.securityContext.allowPrivilegeEscalation;
      });
      expect(refused).toMatch(/violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false.*seccompProfile/s);
    });
  }
});
