/**
 * The Argo CD application controller's part, played openly by the drill e2e tests: no Argo CD
 * controller runs in the sandbox (no container images here). It does what the controller does
 * for an app-of-apps, visibly and simply: when the root Application appears it creates the child
 * Applications from the example repository's apps/ folder, then moves every Application through
 * OutOfSync → Synced/Progressing → Synced/Healthy by writing `status`, creates the Secret the
 * SOPS file defines (with a placeholder value, standing in for KSOPS' decryption), and on
 * deletion releases the resources finalizer (children first). Scenarios make one child stay
 * Degraded or Progressing.
 */
import * as path from "node:path";
import { PROJECT_DIR, type TestCluster } from "./harness";
import { StandInController } from "./stand-in-controller";

export interface StandInOptions {
  readonly namespace?: string;
  /** Child Application manifests (default: examples/gitops-repo/apps/*.yaml). */
  readonly childrenDir?: string;
  /** This child ends Degraded with a failed sync. */
  readonly degrade?: string;
  /** This child stays Progressing for ever. */
  readonly stall?: string;
  /** Pause between steps, so each state is seen by the watcher. @default 300 */
  readonly stepMs?: number;
}

interface App {
  metadata: { name: string; deletionTimestamp?: string; finalizers?: string[] };
  status?: { sync?: { status?: string }; health?: { status?: string } };
}

/** An operation state as the CRD requires it (operation and startedAt are mandatory). */
const operation = (phase: string, message = "") => ({ operation: { sync: { revision: "stand-in" } }, phase, message, startedAt: new Date().toISOString() });
const status = (sync: string, health: string, extra: Record<string, unknown> = {}) => ({ status: { sync: { status: sync, revision: "stand-in" }, health: { status: health }, ...extra } });

export class ArgoStandIn extends StandInController {
  private readonly ns: string;

  constructor(cluster: TestCluster, private readonly options: StandInOptions = {}) {
    super(cluster, options.stepMs);
    this.ns = options.namespace ?? "argocd";
  }

  private patchStatus(name: string, body: unknown): void {
    this.kubectl(["patch", "applications.argoproj.io", name, "-n", this.ns, "--type=merge", "-p", JSON.stringify(body)]);
    this.log.push(`${name}: ${JSON.stringify(body)}`);
  }

  protected step(): void {
    let apps: App[];
    try {
      apps = (JSON.parse(this.kubectl(["get", "applications.argoproj.io", "-n", this.ns, "-o", "json"])) as { items: App[] }).items;
    } catch {
      return; // API server restarting, or the CRD / namespace not there yet
    }
    const byName = new Map(apps.map((a) => [a.metadata.name, a]));
    const children = this.children(this.options.childrenDir ?? path.join(PROJECT_DIR, "examples/gitops-repo/apps"));
    const root = apps.find((a) => !children.some((c) => c.name === a.metadata.name));

    // Deletion: children first, then the root (what the resources finalizer waits for).
    const deleting = apps.filter((a) => a.metadata.deletionTimestamp && a.metadata.finalizers?.length);
    if (deleting.length > 0) {
      for (const c of children) if (byName.has(c.name)) this.kubectl(["delete", "applications.argoproj.io", c.name, "-n", this.ns, "--wait=false"]);
      for (const a of apps.filter((x) => x.metadata.deletionTimestamp && x.metadata.finalizers?.length)) {
        const isRoot = a === root;
        if (isRoot && apps.some((x) => x !== root)) {
          // wait until the children are gone
          for (const c of apps.filter((x) => x !== root && x.metadata.finalizers?.length)) this.kubectl(["patch", "applications.argoproj.io", c.metadata.name, "-n", this.ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
          continue;
        }
        this.kubectl(["patch", "applications.argoproj.io", a.metadata.name, "-n", this.ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
        this.log.push(`${a.metadata.name}: finalizer released`);
      }
      return;
    }
    if (!root) return;

    if (!root.status?.sync?.status) {
      this.patchStatus(root.metadata.name, status("OutOfSync", "Missing", { operationState: operation("Running", "syncing") }));
      return;
    }
    const missing = children.filter((c) => !byName.has(c.name));
    if (missing.length > 0) {
      // The root's sync applies the child Applications from Git.
      for (const c of missing) this.kubectl(["apply", "--server-side", "-f", c.file]);
      this.patchStatus(root.metadata.name, status("Synced", "Progressing", { operationState: operation("Succeeded", "successfully synced") }));
      return;
    }
    let allHealthy = true;
    for (const c of children) {
      const app = byName.get(c.name)!;
      const sync = app.status?.sync?.status;
      const health = app.status?.health?.status;
      if (!sync) {
        this.patchStatus(c.name, status("OutOfSync", "Missing"));
        allHealthy = false;
      } else if (sync === "OutOfSync") {
        this.deploySopsSecrets(c.doc.spec?.source?.path ?? "", c.doc.spec?.destination?.namespace);
        if (c.name === this.options.degrade) {
          this.patchStatus(c.name, status("OutOfSync", "Degraded", {
            operationState: operation("Failed", "one or more objects failed to apply: Deployment.apps \"broken\" is invalid"),
            conditions: [{ type: "SyncError", message: "Failed sync attempt: one or more objects failed to apply" }],
          }));
        } else {
          this.patchStatus(c.name, status("Synced", "Progressing", { operationState: operation("Succeeded") }));
        }
        allHealthy = false;
      } else if (health === "Progressing" && c.name !== this.options.stall) {
        this.patchStatus(c.name, status("Synced", "Healthy", { operationState: operation("Succeeded") }));
        allHealthy = false;
      } else if (health !== "Healthy") {
        allHealthy = false;
      }
    }
    if (allHealthy && root.status?.health?.status !== "Healthy") this.patchStatus(root.metadata.name, status("Synced", "Healthy", { operationState: operation("Succeeded") }));
  }
}
