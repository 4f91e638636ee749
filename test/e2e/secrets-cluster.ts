/**
 * The real secret store of the External Secrets scenarios: a second sandbox API server, the
 * central "secrets cluster" a platform team keeps its application secrets in, read by ESO's
 * `kubernetes` provider (ClusterSecretStore spec.provider.kubernetes) over HTTPS with a real
 * credential. Chosen over a Vault-API server: it runs here from the toolchain's own binaries,
 * and its credential, a ServiceAccount token, is a real "secret zero" that can be revoked.
 *
 * On it: namespace `app-secrets` with the application Secrets, a ServiceAccount `eso-reader`
 * whose Role allows only get/list/watch of Secrets there (and SelfSubjectRulesReview, which
 * every authenticated user has, for ESO's store validation), and a long-lived token for it (a
 * `kubernetes.io/service-account-token` Secret, filled by the token controller): the credential
 * the workload cluster's ESO holds. Deleting that Secret revokes the token.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Sandbox, startSandbox } from "./sandbox";

export const REMOTE_NAMESPACE = "app-secrets";
const READER = "eso-reader";
const TOKEN_SECRET = "eso-reader-token";

export interface SecretsCluster {
  /** The API server's URL (https://127.0.0.1:port): the store's `server.url`. */
  readonly url: string;
  /** The PEM the API server's certificate chains to: the store's `server.caBundle` (base64 of it). */
  readonly caPem: string;
  /** The namespace the store reads (`remoteNamespace`). */
  readonly remoteNamespace: string;
  /** The reader's bearer token: the secret zero. Never print it. */
  token(): string;
  /** Creates or replaces an application Secret (string values) in the remote namespace. */
  putSecret(name: string, values: Record<string, string>): void;
  /** Deletes the token Secret: the token stops working at once (the API server checks it exists). */
  revokeToken(): void;
  readonly sandbox: Sandbox;
  close(): Promise<void>;
}

async function waitFor<T>(what: string, get: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`secrets cluster: ${what} not there after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts the secrets cluster with `secrets` (name -> key -> value) in its remote namespace. */
export async function startSecretsCluster(options: { dir: string; secrets: Record<string, Record<string, string>> }): Promise<SecretsCluster> {
  const sandbox = await startSandbox({ dir: options.dir, installCrds: false });
  const kubectl = (args: readonly string[], input?: string) => sandbox.kubectl(args, input);
  const apply = (o: unknown) => kubectl(["apply", "-f", "-"], JSON.stringify(o));
  const putSecret = (name: string, values: Record<string, string>): void => {
    apply({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: REMOTE_NAMESPACE }, type: "Opaque", stringData: values });
  };
  try {
    apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: REMOTE_NAMESPACE } });
    apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: READER, namespace: REMOTE_NAMESPACE } });
    apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: READER, namespace: REMOTE_NAMESPACE },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] }],
    });
    apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: READER, namespace: REMOTE_NAMESPACE },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: READER },
      subjects: [{ kind: "ServiceAccount", name: READER, namespace: REMOTE_NAMESPACE }],
    });
    apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: TOKEN_SECRET, namespace: REMOTE_NAMESPACE, annotations: { "kubernetes.io/service-account.name": READER } },
      type: "kubernetes.io/service-account-token",
    });
    for (const [name, values] of Object.entries(options.secrets)) putSecret(name, values);
    const readToken = (): string | undefined => {
      const s = JSON.parse(kubectl(["get", "secret", TOKEN_SECRET, "-n", REMOTE_NAMESPACE, "-o", "json"])) as { data?: { token?: string } };
      return s.data?.token ? Buffer.from(s.data.token, "base64").toString("utf8") : undefined;
    };
    const token = await waitFor("the reader's token (token controller)", readToken);
    // kube-apiserver's self-signed serving certificate (--cert-dir), with the CA it made beside it.
    const caPem = fs.readFileSync(path.join(options.dir, "pki", "apiserver.crt"), "utf8");
    return {
      url: sandbox.server,
      caPem,
      remoteNamespace: REMOTE_NAMESPACE,
      token: () => token,
      putSecret,
      revokeToken: () => void kubectl(["delete", "secret", TOKEN_SECRET, "-n", REMOTE_NAMESPACE, "--wait=true"]),
      sandbox,
      close: () => sandbox.destroy(),
    };
  } catch (e) {
    await sandbox.destroy();
    throw e;
  }
}
