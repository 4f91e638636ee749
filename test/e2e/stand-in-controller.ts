/**
 * What the test's stand-in for Argo CD's controller (argo-stand-in.ts) is built on: a step run
 * every few hundred milliseconds until stopped, a pause (no API calls, for the API server
 * restart scenario), a log of what it did, the child objects of the
 * example repository, and the one thing a sync deploys that the drill checks: the Secrets the
 * SOPS files define, with a placeholder value standing in for the decryption.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { PROJECT_DIR, type TestCluster } from "./harness";

/** The value every stand-in Secret holds; the tests check it never shows in output or reports. */
export const PLACEHOLDER_SECRET_VALUE = "stand-in for the decrypted value";

export interface ChildManifest {
  readonly name: string;
  readonly file: string;
  readonly doc: Record<string, any>;
}

export abstract class StandInController {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  protected paused = false;
  /** Steps taken, for the test's own failure messages. */
  readonly log: string[] = [];

  protected constructor(protected readonly cluster: TestCluster, private readonly stepMs = 300) {}

  /** One look at the cluster and one move forward; errors are retried at the next step. */
  protected abstract step(): void;

  start(): this {
    const tick = (): void => {
      if (this.stopped) return;
      if (!this.busy && !this.paused) {
        this.busy = true;
        try {
          this.step();
        } catch (e) {
          this.log.push(`step failed (will retry): ${(e as Error).message.split("\n")[0]}`);
        } finally {
          this.busy = false;
        }
      }
      this.timer = setTimeout(tick, this.stepMs);
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

  protected kubectl(args: readonly string[], input?: string): string {
    return this.cluster.kubectl(args, input);
  }

  /** The manifests in a folder of the project (the example repository's apps/), by metadata.name. */
  protected children(dir: string): ChildManifest[] {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => ({ file: path.join(dir, f), doc: YAML.parse(fs.readFileSync(path.join(dir, f), "utf8")) }))
      .filter((c) => c.doc?.metadata?.name)
      .map((c) => ({ name: c.doc.metadata.name, ...c }));
  }

  /** Creates the Secrets defined by the SOPS files of a workload folder (relative to the project). */
  protected deploySopsSecrets(workloadPath: string, fallbackNamespace?: string): void {
    const dir = path.join(PROJECT_DIR, workloadPath);
    if (!fs.existsSync(dir)) return;
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".sops.yaml"))) {
      const secret = YAML.parse(fs.readFileSync(path.join(dir, f), "utf8"));
      if (secret?.kind !== "Secret") continue;
      const namespace = secret.metadata.namespace ?? fallbackNamespace;
      this.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } }));
      this.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: secret.metadata.name, namespace }, stringData: { placeholder: PLACEHOLDER_SECRET_VALUE } }));
      this.log.push(`created Secret ${namespace}/${secret.metadata.name}`);
    }
  }
}
