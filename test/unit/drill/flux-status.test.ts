import { type KubeObject } from "../../../bootstrap/cluster/watch";
import { ConvergenceTracker, objectKey } from "../../../bootstrap/drill/convergence";
import { helmReleaseStatusReader, kustomizationStatusReader } from "../../../bootstrap/drill/status";

const ks = (name: string, status: Record<string, unknown>, generation = 1): KubeObject => ({ metadata: { name, namespace: "flux-system", generation } as never, status: { observedGeneration: 1, ...status } });
const ready = (s: string, reason: string, message = "") => ({ type: "Ready", status: s, reason, message });

describe("Flux status readers", () => {
  it("a Kustomization is converged when Ready=True and the attempted revision is the applied one", () => {
    const r = kustomizationStatusReader.read(ks("root", { conditions: [ready("True", "ReconciliationSucceeded")], lastAppliedRevision: "main@sha1:abc", lastAttemptedRevision: "main@sha1:abc" }));
    expect(r).toMatchObject({ synced: true, healthy: true, problem: undefined, summary: "Ready=True (ReconciliationSucceeded), applied main@sha1:abc" });
  });

  it("a newer revision attempted but not applied is not synced; an old generation is not ready", () => {
    expect(kustomizationStatusReader.read(ks("root", { conditions: [ready("True", "ReconciliationSucceeded")], lastAppliedRevision: "main@sha1:abc", lastAttemptedRevision: "main@sha1:def" })).synced).toBe(false);
    expect(kustomizationStatusReader.read(ks("root", { conditions: [ready("True", "ReconciliationSucceeded")], lastAppliedRevision: "a", lastAttemptedRevision: "a" }, 2)).healthy).toBe(false);
  });

  it("Stalled or a failure reason is a problem; Progressing and DependencyNotReady are waiting", () => {
    const stalled = kustomizationStatusReader.read(ks("apps", { conditions: [ready("False", "BuildFailed", "kustomize build failed: accumulating resources"), { type: "Stalled", status: "True", reason: "BuildFailed", message: "kustomize build failed" }] }));
    expect(stalled.problem).toBe("Stalled (BuildFailed), BuildFailed");
    expect(stalled.details).toEqual(["Stalled: kustomize build failed", "Ready=False BuildFailed: kustomize build failed: accumulating resources"]);
    expect(kustomizationStatusReader.read(ks("apps", { conditions: [ready("Unknown", "Progressing")] })).problem).toBeUndefined();
    expect(kustomizationStatusReader.read(ks("apps", { conditions: [ready("False", "DependencyNotReady")] })).problem).toBeUndefined();
    expect(helmReleaseStatusReader.read(ks("podinfo", { conditions: [ready("False", "InstallFailed", "timed out")] })).problem).toBe("InstallFailed");
  });

  it("a decryption failure that persists fails the root Kustomization in the tracker", () => {
    const t = new ConvergenceTracker(kustomizationStatusReader, { failureGraceMs: 500, required: [objectKey("Kustomization", "flux-system", "root")] });
    t.apply("ADDED", ks("root", { conditions: [ready("False", "DecryptionFailed", "failed to decrypt: no age identity matched")] }), 0);
    expect(t.evaluate(499).outcome).toBeUndefined();
    expect(t.evaluate(500).failed[0]).toMatchObject({ name: "root", failure: "DecryptionFailed" });
  });
});
