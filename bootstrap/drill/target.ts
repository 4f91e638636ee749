/**
 * The one cluster a restore or drill acts on: its context, API server and an identity that
 * survives renames (the UID of its `kube-system` namespace), read once at the start and read
 * again right before `up` and before `destroy`; and the single-context kubeconfig the engine
 * and the watcher share, written where only this user can read it for the length of the run.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { ClusterError, getJson, serverOf } from "../cluster/api";

export interface ClusterIdentity {
  readonly context: string;
  readonly server: string;
  /** metadata.uid of the `kube-system` namespace: new for every cluster, kept across renames. */
  readonly kubeSystemUid: string;
}

/** Reads the identity of the cluster `kc` points at. */
export async function readClusterIdentity(kc: KubeConfig): Promise<ClusterIdentity> {
  const { status, body } = await getJson(kc, "/api/v1/namespaces/kube-system");
  if (status === 403) {
    throw new ClusterError("not allowed to read the namespace kube-system (HTTP 403): the kubeconfig's user needs get on namespaces, which identifies the cluster");
  }
  const uid = (body as { metadata?: { uid?: unknown } } | undefined)?.metadata?.uid;
  if (status !== 200 || typeof uid !== "string" || uid === "") {
    throw new ClusterError(`reading the namespace kube-system failed (HTTP ${status}): cannot tell which cluster this is`);
  }
  return { context: kc.getCurrentContext(), server: serverOf(kc), kubeSystemUid: uid };
}

const normalizeServer = (s: string): string => s.replace(/\/+$/, "").toLowerCase();

/** What differs between the cluster checked at the start and the one answering now; undefined when it is the same. */
export function identityChange(expected: ClusterIdentity, actual: ClusterIdentity): string | undefined {
  const changes: string[] = [];
  if (normalizeServer(expected.server) !== normalizeServer(actual.server)) {
    changes.push(`the API server is ${actual.server}, not ${expected.server}`);
  }
  if (expected.context !== actual.context) changes.push(`the context is ${actual.context}, not ${expected.context}`);
  if (expected.kubeSystemUid !== actual.kubeSystemUid) {
    const uids = `the UID ${actual.kubeSystemUid}, not ${expected.kubeSystemUid}`;
    changes.push(`the kube-system namespace has ${uids} (another cluster answers at ${actual.server})`);
  }
  return changes.length > 0 ? changes.join("; ") : undefined;
}

export function describeIdentity(id: ClusterIdentity): string {
  return `context ${id.context}, server ${id.server}, kube-system ${id.kubeSystemUid}`;
}

/** A file only this user can read, removed by `remove()`. */
export interface PrivateKubeconfigFile {
  readonly file: string;
  remove(): void;
}

/**
 * Writes the single-context kubeconfig (it holds credentials) as a 0600 file in a new 0700
 * folder; the caller removes it when the run ends, whatever the outcome.
 */
export function writePrivateKubeconfig(yaml: string, tmpDir = os.tmpdir()): PrivateKubeconfigFile {
  const dir = fs.mkdtempSync(path.join(tmpDir, "gitops-bootstrap-kube-"));
  fs.chmodSync(dir, 0o700);
  const file = path.join(dir, "kubeconfig");
  fs.writeFileSync(file, yaml, { mode: 0o600, flag: "wx" });
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
