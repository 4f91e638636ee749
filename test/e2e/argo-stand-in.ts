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
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { PROJECT_DIR, type TestCluster } from "./harness";

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

export class ArgoStandIn {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private paused = false;
  /** Steps taken, for the test's own failure messages. */
  readonly log: string[] = [];
  private readonly ns: string;

  constructor(private readonly cluster: TestCluster, private readonly options: StandInOptions = {}) {
    this.ns = options.namespace ?? "argocd";
  }

  start(): this {
    const tick = (): void => {
      if (this.stopped) return;
      if (!this.busy) {
        this.busy = true;
        try {
          this.step();
        } catch (e) {
          this.log.push(`step failed (will retry): ${(e as Error).message.split("\n")[0]}`);
        } finally {
          this.busy = false;
        }
      }
      this.timer = setTimeout(tick, this.options.stepMs ?? 300);
    };
    tick();
    return this;
  }

  /** Holds everything where it is, and stops calling the API server. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private kubectl(args: readonly string[], input?: string): string {
    return this.cluster.kubectl(args, input);
  }

  private patchStatus(name: string, body: unknown): void {
    this.kubectl(["patch", "applications.argoproj.io", name, "-n", this.ns, "--type=merge", "-p", JSON.stringify(body)]);
    this.log.push(`${name}: ${JSON.stringify(body)}`);
  }

  private children(): { name: string; file: string; doc: Record<string, unknown> }[] {
    const dir = this.options.childrenDir ?? path.join(PROJECT_DIR, "examples/gitops-repo/apps");
    return fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => {
      const doc = YAML.parse(fs.readFileSync(path.join(dir, f), "utf8"));
      return { name: doc.metadata.name, file: path.join(dir, f), doc };
    });
  }

  private step(): void {
    if (this.paused) return;
    let apps: App[];
    try {
      apps = (JSON.parse(this.kubectl(["get", "applications.argoproj.io", "-n", this.ns, "-o", "json"])) as { items: App[] }).items;
    } catch {
      return; // API server restarting, or the CRD / namespace not there yet
    }
    const byName = new Map(apps.map((a) => [a.metadata.name, a]));
    const children = this.children();
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
        this.syncChild(c.doc);
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

  /** What syncing a child deploys that the drill checks: the Secret its SOPS file defines (placeholder value). */
  private syncChild(doc: Record<string, unknown>): void {
    const spec = doc.spec as { source?: { path?: string }; destination?: { namespace?: string } };
    const dir = path.join(PROJECT_DIR, spec.source?.path ?? "");
    if (!fs.existsSync(dir)) return;
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".sops.yaml"))) {
      const secret = YAML.parse(fs.readFileSync(path.join(dir, f), "utf8"));
      if (secret?.kind !== "Secret") continue;
      const namespace = secret.metadata.namespace ?? spec.destination?.namespace;
      this.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } }));
      this.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: secret.metadata.name, namespace }, stringData: { placeholder: "stand-in for the decrypted value" } }));
      this.log.push(`created Secret ${namespace}/${secret.metadata.name}`);
    }
  }
}
