/**
 * What a GitOps repository holds for External Secrets, built for a test's secrets cluster
 * (secrets-cluster.ts): a ClusterSecretStore that reads the secrets cluster with ESO's
 * `kubernetes` provider, and ExternalSecrets in application namespaces; and, beside it, the
 * credentials file the stack restores first: the store's token as a Secret in the ESO namespace,
 * SOPS-encrypted by the real sops to the stack's age key (the demo key of the test stacks).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { DEMO_KEY_FILE } from "./demo-repo";
import { ESO_NAMESPACE } from "./external-secrets-controller";
import type { SecretsCluster } from "./secrets-cluster";
import { toolchainEnv } from "./toolchain";

/** The ClusterSecretStore the repository's ExternalSecrets name. */
export const STORE_NAME = "central-secrets";
/** The Secret, in the ESO namespace, that holds the store's token (the secret zero). */
export const TOKEN_SECRET = { name: "central-secrets-token", key: "token" } as const;

export interface WantedExternalSecret {
  readonly namespace: string;
  readonly name: string;
  /** The Secret ESO writes. */
  readonly target: string;
  /** target key -> the remote Secret (in the secrets cluster's remote namespace) and its key. */
  readonly data: Readonly<Record<string, { readonly remoteSecret: string; readonly remoteKey: string }>>;
}

type Manifest = Record<string, unknown>;

export function clusterSecretStore(store: Pick<SecretsCluster, "url" | "caPem" | "remoteNamespace">, namespace = ESO_NAMESPACE): Manifest {
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "ClusterSecretStore",
    metadata: { name: STORE_NAME },
    spec: {
      provider: {
        kubernetes: {
          remoteNamespace: store.remoteNamespace,
          server: { url: store.url, caBundle: Buffer.from(store.caPem).toString("base64") },
          auth: { token: { bearerToken: { name: TOKEN_SECRET.name, key: TOKEN_SECRET.key, namespace } } },
        },
      },
    },
  };
}

export function externalSecretManifests(wanted: WantedExternalSecret): Manifest[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: wanted.namespace } },
    {
      apiVersion: "external-secrets.io/v1",
      kind: "ExternalSecret",
      metadata: { name: wanted.name, namespace: wanted.namespace },
      spec: {
        refreshInterval: "1h",
        secretStoreRef: { kind: "ClusterSecretStore", name: STORE_NAME },
        target: { name: wanted.target, creationPolicy: "Owner" },
        data: Object.entries(wanted.data).map(([secretKey, ref]) => ({ secretKey, remoteRef: { key: ref.remoteSecret, property: ref.remoteKey } })),
      },
    },
  ];
}

/**
 * The repository's files for the store and the ExternalSecrets, under `folder` (one file per
 * application namespace, the store in its own), as relative path -> YAML.
 */
export function externalSecretsRepoFiles(folder: string, store: Pick<SecretsCluster, "url" | "caPem" | "remoteNamespace">, wanted: readonly WantedExternalSecret[]): Record<string, string> {
  const files: Record<string, string> = { [path.posix.join(folder, "cluster-secret-store.yaml")]: YAML.stringify(clusterSecretStore(store)) };
  for (const w of wanted) {
    files[path.posix.join(folder, `${w.namespace}-${w.name}.yaml`)] = externalSecretManifests(w).map((m) => YAML.stringify(m)).join("---\n");
  }
  return files;
}

/** The age recipient of the demo key (its `# public key:` line). */
export function demoRecipient(): string {
  const m = /^# public key: (age1[0-9a-z]+)$/m.exec(fs.readFileSync(DEMO_KEY_FILE, "utf8"));
  if (!m) throw new Error(`${DEMO_KEY_FILE} has no "# public key:" line`);
  return m[1];
}

/**
 * Writes `file`: the store's token as a Secret in the ESO namespace, encrypted by the real sops
 * to `recipient` (data and stringData only, so names stay readable, as the examples' rule does).
 * `extra` documents (other Secrets) follow it, for the product's validation scenarios. The
 * plaintext goes to sops on stdin and is never written to disk or printed.
 */
export function writeCredentialsFile(file: string, token: string, options: { recipient?: string; namespace?: string; extra?: readonly Manifest[] } = {}): void {
  const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: TOKEN_SECRET.name, namespace: options.namespace ?? ESO_NAMESPACE }, type: "Opaque", stringData: { [TOKEN_SECRET.key]: token } };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const plaintext = [secret, ...(options.extra ?? [])].map((d) => YAML.stringify(d)).join("---\n");
  const encrypted = execFileSync(
    "sops",
    // No file argument: sops reads stdin (--filename-override: the name it would have had).
    ["encrypt", "--age", options.recipient ?? demoRecipient(), "--encrypted-regex", "^(data|stringData)$", "--input-type", "yaml", "--output-type", "yaml", "--filename-override", path.basename(file)],
    { cwd: path.dirname(file), input: plaintext, env: toolchainEnv({ SOPS_DISABLE_VERSION_CHECK: "1" }), encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] },
  );
  fs.writeFileSync(file, encrypted);
}
