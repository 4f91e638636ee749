/**
 * Flux's controllers' part, played openly by the drill e2e tests (no controller images run in
 * the sandbox): source-controller marks the GitRepository Ready at a revision; kustomize-
 * controller applies the root Kustomization's folder (the child Kustomizations of the example
 * repository's apps/), then reconciles each child: it creates the Secret the child's SOPS file
 * defines (placeholder value, standing in for the SOPS decryption), and writes Ready=True with
 * lastAppliedRevision. The root becomes Ready once its children are (it has `wait: true`).
 * A scenario makes one child fail its health check.
 */
import * as path from "node:path";
import { PROJECT_DIR, type TestCluster } from "./harness";
import { StandInController } from "./stand-in-controller";

export interface FluxStandInOptions {
  readonly namespace?: string;
  /** This child fails: Ready=False HealthCheckFailed. */
  readonly fail?: string;
}

/** The revision the stand-in source-controller "fetched". */
export const STAND_IN_REVISION = "main@sha1:0123456789abcdef0123456789abcdef01234567";

interface FluxObject {
  metadata: { name: string; generation?: number };
  status?: { conditions?: { type: string; status: string }[]; lastAppliedRevision?: string };
}

const KUSTOMIZATIONS = "kustomizations.kustomize.toolkit.fluxcd.io";
const GIT_REPOSITORIES = "gitrepositories.source.toolkit.fluxcd.io";

/** A condition as metav1.Condition requires it. */
const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: new Date().toISOString() });

export class FluxStandIn extends StandInController {
  private readonly ns: string;

  constructor(cluster: TestCluster, private readonly options: FluxStandInOptions = {}) {
    super(cluster);
    this.ns = options.namespace ?? "flux-system";
  }

  private list(resource: string): FluxObject[] {
    return (JSON.parse(this.kubectl(["get", resource, "-n", this.ns, "-o", "json"])) as { items: FluxObject[] }).items;
  }

  private patchStatus(resource: string, object: FluxObject, status: Record<string, unknown>): void {
    const body = { status: { observedGeneration: object.metadata.generation ?? 1, ...status } };
    this.kubectl(["patch", resource, object.metadata.name, "-n", this.ns, "--subresource=status", "--type=merge", "-p", JSON.stringify(body)]);
    this.log.push(`${object.metadata.name}: ${JSON.stringify(status)}`);
  }

  private ready(object: FluxObject): boolean {
    return object.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  }

  protected step(): void {
    let sources: FluxObject[];
    let kustomizations: FluxObject[];
    try {
      sources = this.list(GIT_REPOSITORIES);
      kustomizations = this.list(KUSTOMIZATIONS);
    } catch {
      return; // API server restarting, or the CRDs / namespace not there yet
    }
    for (const source of sources.filter((s) => !this.ready(s))) {
      this.patchStatus(GIT_REPOSITORIES, source, { conditions: [condition("Ready", "True", "Succeeded", `stored artifact for revision '${STAND_IN_REVISION}'`)] });
    }
    const children = this.children(path.join(PROJECT_DIR, "examples/gitops-repo-flux/apps")).filter((c) => c.doc.kind === "Kustomization");
    const root = kustomizations.find((k) => !children.some((c) => c.name === k.metadata.name));
    if (!root || sources.length === 0) return;
    const byName = new Map(kustomizations.map((k) => [k.metadata.name, k]));

    const missing = children.filter((c) => !byName.has(c.name));
    if (missing.length > 0) {
      // Reconciling the root applies its folder: the child Kustomizations.
      for (const c of missing) this.kubectl(["apply", "--server-side", "-f", c.file]);
      this.patchStatus(KUSTOMIZATIONS, root, {
        conditions: [condition("Ready", "Unknown", "Progressing", "Reconciliation in progress")],
        lastAttemptedRevision: STAND_IN_REVISION,
      });
      return;
    }
    let allReady = true;
    for (const c of children) {
      const child = byName.get(c.name)!;
      if (this.ready(child)) continue;
      allReady = false;
      if (child.status?.conditions?.length) continue; // failed for good
      if (c.name === this.options.fail) {
        this.patchStatus(KUSTOMIZATIONS, child, {
          conditions: [condition("Ready", "False", "HealthCheckFailed", "health check failed after 5m0s: timeout waiting for: [Deployment/hello/hello status: 'InProgress']")],
          lastAttemptedRevision: STAND_IN_REVISION,
        });
        continue;
      }
      this.deploySopsSecrets(c.doc.spec?.path ?? "");
      this.patchStatus(KUSTOMIZATIONS, child, {
        conditions: [condition("Ready", "True", "ReconciliationSucceeded", `Applied revision: ${STAND_IN_REVISION}`)],
        lastAppliedRevision: STAND_IN_REVISION,
        lastAttemptedRevision: STAND_IN_REVISION,
      });
    }
    if (allReady && !this.ready(root)) {
      this.patchStatus(KUSTOMIZATIONS, root, {
        conditions: [condition("Ready", "True", "ReconciliationSucceeded", `Applied revision: ${STAND_IN_REVISION}`)],
        lastAppliedRevision: STAND_IN_REVISION,
        lastAttemptedRevision: STAND_IN_REVISION,
      });
    }
  }
}
