/**
 * Direct reads of the API server with a kubeconfig's credentials (GET, lists as metadata only),
 * for restore, drill, audit and backup-keys. Lists are metadata only
 * (PartialObjectMetadataList), so a Secret's data never reaches this process.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { describeError } from "./watch";

export class ClusterError extends Error {}

/** Accept header for lists as metadata only: a Secret's data never reaches the process. */
export const METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1";

export function serverOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? "(no cluster)";
}

/**
 * GET on the API server with the kubeconfig's credentials; resolves with status and parsed body.
 * `agent` keeps connections alive across many calls (the audit's paged lists).
 */
export async function getJson(kc: KubeConfig, apiPath: string, accept = "application/json", agent?: https.Agent): Promise<{ status: number; body: unknown }> {
  const url = new URL(serverOf(kc) + apiPath);
  const options: https.RequestOptions = { method: "GET", headers: { Accept: accept }, timeout: 15_000, ...(agent && url.protocol === "https:" ? { agent } : {}) };
  await kc.applyToHTTPSOptions(options);
  const mod = url.protocol === "http:" ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = undefined;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new ClusterError("timed out")));
    req.on("error", (e) => reject(new ClusterError(`cannot reach the API server ${url.origin} (${describeError(e)})`)));
    req.end();
  });
}

export interface MetadataList {
  readonly items?: readonly {
    readonly metadata?: {
      readonly name?: string;
      readonly namespace?: string;
      readonly annotations?: Readonly<Record<string, string>>;
      readonly ownerReferences?: readonly { readonly kind?: string }[];
    };
  }[];
}

/** A list as metadata only; a refusal (HTTP 403) names the permission `what` needs. */
export async function metadataList(kc: KubeConfig, apiPath: string, what: string): Promise<MetadataList> {
  const { status, body } = await getJson(kc, apiPath, METADATA_ONLY);
  if (status === 403) throw new ClusterError(`not allowed to list ${what} (HTTP 403): the kubeconfig's user needs list on ${what}`);
  if (status !== 200) throw new ClusterError(`listing ${what} failed (HTTP ${status})`);
  return body as MetadataList;
}

/** Names of all namespaces. */
export async function listNamespaces(kc: KubeConfig): Promise<string[]> {
  const list = await metadataList(kc, "/api/v1/namespaces", "namespaces");
  return (list.items ?? []).map((i) => i.metadata?.name ?? "").filter(Boolean).sort();
}

/** Every PersistentVolumeClaim in the cluster, `namespace/name`. */
export async function listPersistentVolumeClaims(kc: KubeConfig): Promise<string[]> {
  const list = await metadataList(kc, "/api/v1/persistentvolumeclaims", "persistentvolumeclaims");
  return (list.items ?? []).map((i) => `${i.metadata?.namespace ?? ""}/${i.metadata?.name ?? ""}`).sort();
}
