/**
 * How the drill reads a reconciler object's status. Argo CD (DESIGN.md): converged means
 * `status.sync.status == Synced` and `status.health.status == Healthy`; a Failed/Error sync
 * operation, a sync being retried after a failure, Degraded health or an `...Error` condition is
 * a problem, a failure if it persists.
 */
import type { KubeObject } from "../cluster/watch";
import type { ObjectStatus, StatusReader } from "./convergence";

interface ApplicationStatus {
  readonly sync?: { readonly status?: string; readonly revision?: string };
  readonly health?: { readonly status?: string; readonly message?: string };
  readonly operationState?: { readonly phase?: string; readonly message?: string; readonly retryCount?: number };
  readonly conditions?: readonly { readonly type?: string; readonly message?: string }[];
  readonly resources?: readonly { readonly kind?: string; readonly namespace?: string; readonly name?: string; readonly health?: { readonly status?: string; readonly message?: string } }[];
}

/** Keeps status text to one readable line of bounded length. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export const applicationStatusReader: StatusReader = {
  kind: "Application",
  read(object: KubeObject): ObjectStatus {
    const status = (object.status ?? {}) as ApplicationStatus;
    const sync = status.sync?.status ?? "Unknown";
    const health = status.health?.status ?? "Unknown";
    const phase = status.operationState?.phase;
    const details: string[] = [];
    const problems: string[] = [];
    if (phase === "Failed" || phase === "Error") {
      problems.push(`sync ${phase.toLowerCase()}`);
      if (status.operationState?.message) details.push(`operation ${phase}: ${oneLine(status.operationState.message)}`);
    }
    // With a retry policy (the root app has one), Argo CD keeps a failed sync in phase Running
    // with retryCount > 0 and the error in the message ("… Retrying attempt #N at …") until it
    // succeeds or runs out of retries: seen with Argo CD 3.6, whose status is Failed only at the end.
    const retries = status.operationState?.retryCount ?? 0;
    if (phase === "Running" && retries > 0) {
      problems.push("sync failing (retrying)");
      if (status.operationState?.message) details.push(`operation Running, retry ${retries}: ${oneLine(status.operationState.message)}`);
    }
    if (health === "Degraded") {
      problems.push("health Degraded");
      if (status.health?.message) details.push(`health: ${oneLine(status.health.message)}`);
      for (const r of status.resources ?? []) {
        if (r.health?.status === "Degraded") details.push(`${r.kind}/${r.namespace ? `${r.namespace}/` : ""}${r.name} Degraded${r.health.message ? `: ${oneLine(r.health.message)}` : ""}`);
      }
    }
    for (const c of status.conditions ?? []) {
      if (!c.type?.endsWith("Error")) continue;
      problems.push(c.type);
      details.push(`${c.type}: ${oneLine(c.message ?? "")}`);
    }
    return {
      synced: sync === "Synced",
      healthy: health === "Healthy",
      summary: `${sync}/${health}${phase && phase !== "Succeeded" ? ` (sync ${phase})` : ""}`,
      problem: problems.length > 0 ? problems.join(", ") : undefined,
      details,
    };
  },
};

interface ApplicationSetCondition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
}

/**
 * Argo CD ApplicationSet (conditions as the applicationset-controller of Argo CD 3.6 writes them,
 * pkg/apis/application/v1alpha1/applicationset_types.go): its Applications are generated and
 * written when `ResourcesUpToDate=True`; `ErrorOccurred=True` (a generator or template that fails,
 * an invalid generated Application; `ResourcesUpToDate` is then False with the same message) and
 * `InvalidRolloutConfig=True` are problems. Without conditions the controller has not seen it yet.
 * The Applications it generates are watched as every other Application.
 */
export const applicationSetStatusReader: StatusReader = {
  kind: "ApplicationSet",
  read(object: KubeObject): ObjectStatus {
    const conditions = ((object.status ?? {}) as { readonly conditions?: readonly ApplicationSetCondition[] }).conditions ?? [];
    const isTrue = (type: string): ApplicationSetCondition | undefined => conditions.find((c) => c.type === type && c.status === "True");
    const error = isTrue("ErrorOccurred");
    const invalidRollout = isTrue("InvalidRolloutConfig");
    const upToDate = isTrue("ResourcesUpToDate") !== undefined && !error;
    const progressing = isTrue("RolloutProgressing") !== undefined;
    const problems: string[] = [];
    const details: string[] = [];
    for (const [type, c] of [["ErrorOccurred", error], ["InvalidRolloutConfig", invalidRollout]] as const) {
      if (!c) continue;
      problems.push(`${type}${c.reason && c.reason !== type ? ` (${c.reason})` : ""}`);
      details.push(`${type}: ${oneLine(c.message ?? "")}`);
    }
    const state = conditions.length === 0 ? "not reconciled yet" : error ? "ErrorOccurred" : upToDate ? "ResourcesUpToDate" : "generating";
    return {
      synced: upToDate,
      healthy: upToDate && !progressing && !invalidRollout,
      summary: `${state}${progressing ? " (rollout progressing)" : ""}`,
      problem: problems.length > 0 ? problems.join(", ") : undefined,
      details,
    };
  },
};

/** Readiness of the reconciler's own workloads (Deployments, StatefulSets) in its namespace. */
export function workloadReady(kind: string, object: KubeObject): boolean {
  const spec = (object as { spec?: { replicas?: number } }).spec;
  const status = (object.status ?? {}) as { readyReplicas?: number; availableReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
  const generation = (object.metadata as { generation?: number } | undefined)?.generation;
  const wanted = spec?.replicas ?? 1;
  if (generation !== undefined && (status.observedGeneration ?? 0) < generation) return false;
  const ready = kind === "Deployment" ? (status.availableReplicas ?? 0) : (status.readyReplicas ?? 0);
  return ready >= wanted;
}

interface Condition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly observedGeneration?: number;
}

interface FluxStatus {
  readonly conditions?: readonly Condition[];
  readonly observedGeneration?: number;
  readonly lastAppliedRevision?: string;
  readonly lastAttemptedRevision?: string;
}

/** Ready=False reasons that mean a failure (if it persists), not waiting (Progressing, DependencyNotReady...). */
export const FLUX_FAILURE_REASONS: ReadonlySet<string> = new Set([
  "BuildFailed", "HealthCheckFailed", "ReconciliationFailed", "ArtifactFailed", "PruneFailed", "DecryptionFailed",
  "InstallFailed", "UpgradeFailed", "TestFailed", "RollbackFailed", "UninstallFailed", "ChartLoadFailed", "ValuesError",
  "GitOperationFailed", "AuthenticationFailed", "StorageOperationFailed",
]);

/**
 * Flux (DESIGN.md): ready means condition `Ready=True` for the current generation, and for a
 * Kustomization `lastAppliedRevision` equal to the revision last attempted (the Git revision it
 * fetched). `Stalled=True` or a Ready=False failure reason is a problem.
 */
function fluxReader(kind: "Kustomization" | "HelmRelease"): StatusReader {
  return {
    kind,
    read(object: KubeObject): ObjectStatus {
      const status = (object.status ?? {}) as FluxStatus;
      const generation = (object.metadata as { generation?: number } | undefined)?.generation;
      const ready = status.conditions?.find((c) => c.type === "Ready");
      const stalled = status.conditions?.find((c) => c.type === "Stalled" && c.status === "True");
      const current = generation === undefined || (status.observedGeneration ?? ready?.observedGeneration ?? 0) >= generation;
      const isReady = ready?.status === "True" && current;
      const applied = kind === "HelmRelease" ? isReady : status.lastAppliedRevision !== undefined && status.lastAppliedRevision !== "" && (status.lastAttemptedRevision === undefined || status.lastAttemptedRevision === status.lastAppliedRevision);
      const details: string[] = [];
      const problems: string[] = [];
      if (stalled) {
        problems.push(`Stalled (${stalled.reason ?? "no reason"})`);
        details.push(`Stalled: ${oneLine(stalled.message ?? "")}`);
      }
      if (ready?.status === "False" && ready.reason && FLUX_FAILURE_REASONS.has(ready.reason)) {
        problems.push(ready.reason);
        details.push(`Ready=False ${ready.reason}: ${oneLine(ready.message ?? "")}`);
      }
      const readyText = ready ? `Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ""}` : "Ready=Unknown";
      return {
        synced: applied,
        healthy: isReady,
        summary: kind === "Kustomization" ? `${readyText}, applied ${status.lastAppliedRevision ?? "nothing yet"}` : readyText,
        problem: problems.length > 0 ? problems.join(", ") : undefined,
        details,
      };
    },
  };
}

export const kustomizationStatusReader = fluxReader("Kustomization");
export const helmReleaseStatusReader = fluxReader("HelmRelease");
