/**
 * External Secrets on real parts, before the product installs anything: the real
 * external-secrets chart (0.16.2, `helm install` from the toolchain's cache) in a sandbox whose
 * Service network reaches the webhook, the real operator v0.16.2 as the chart's three pods
 * (external-secrets-controller.ts), and a real store: a second API server holding the
 * application Secrets (secrets-cluster.ts), read with a ServiceAccount token, the secret zero,
 * which reaches the cluster in a credentials file encrypted by the real sops.
 *
 * Proves the test bed the product's scenarios stand on: the webhook is served with the
 * cert-controller's certificate and refuses what ESO refuses; the store validates; every
 * ExternalSecret syncs its Secret to the secrets cluster's values on its first reconcile; a
 * revoked token fails the next sync with ESO's message.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { chartFile } from "./charts";
import { clusterSecretDigests, DEMO_KEY_FILE, digestValues } from "./demo-repo";
import { ESO_NAMESPACE, ESO_RELEASE, type ExternalSecretsOperator, externalSecretsBinary, startExternalSecretsOperator } from "./external-secrets-controller";
import { clusterSecretStore, externalSecretManifests, STORE_NAME, type WantedExternalSecret, writeCredentialsFile } from "./external-secrets-repo";
import { openCluster, requireToolchain, type TestCluster, tempDir } from "./harness";
import { type SecretsCluster, startSecretsCluster } from "./secrets-cluster";
import { toolchainEnv } from "./toolchain";

jest.setTimeout(10 * 60 * 1000);

/** The application secrets in the secrets cluster: random, compared by digest, never printed. */
const REMOTE = {
  db: { username: "shop", password: randomBytes(18).toString("base64url") },
  api: { token: randomBytes(24).toString("hex") },
};

const WANTED: readonly WantedExternalSecret[] = [
  { namespace: "shop", name: "db", target: "db-credentials", data: { username: { remoteSecret: "db", remoteKey: "username" }, password: { remoteSecret: "db", remoteKey: "password" } } },
  { namespace: "billing", name: "api", target: "api-token", data: { token: { remoteSecret: "api", remoteKey: "token" } } },
];

let dir: string;
let secrets: SecretsCluster;
let cluster: TestCluster;
let operator: ExternalSecretsOperator;
let credentials: string;

type Condition = { type: string; status: string; reason?: string; message?: string };

const conditionOf = (kind: string, name: string, namespace?: string): Condition | undefined => {
  try {
    const o = JSON.parse(cluster.kubectl(["get", kind, name, ...(namespace ? ["-n", namespace] : []), "-o", "json"])) as { status?: { conditions?: Condition[] } };
    return o.status?.conditions?.find((c) => c.type === "Ready");
  } catch {
    return undefined;
  }
};

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${operator?.logTail() ?? ""}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const apply = (manifests: readonly Record<string, unknown>[]): void => void cluster.kubectl(["apply", "-f", "-"], manifests.map((m) => JSON.stringify(m)).join("\n"));

/** kubectl apply that is expected to fail: its stderr. */
function applyRefused(manifest: Record<string, unknown>): string {
  try {
    cluster.kubectl(["apply", "-f", "-"], JSON.stringify(manifest));
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
  throw new Error(`${manifest.kind} was accepted`);
}

/** What the secrets cluster says to the store's token, asked for the remote Secrets by kubectl (the token in a 0600 kubeconfig, never on a command line). */
function secretsClusterAnswers(): string {
  const kubeconfig = path.join(dir, "reader.kubeconfig");
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "secrets", cluster: { server: secrets.url, "certificate-authority-data": Buffer.from(secrets.caPem).toString("base64") } }],
    users: [{ name: "reader", user: { token: secrets.token() } }],
    contexts: [{ name: "secrets", context: { cluster: "secrets", user: "reader", namespace: secrets.remoteNamespace } }],
    "current-context": "secrets",
  };
  fs.writeFileSync(kubeconfig, JSON.stringify(config), { mode: 0o600 });
  try {
    return execFileSync("kubectl", ["--kubeconfig", kubeconfig, "get", "secrets", "-o", "name"], { env: toolchainEnv(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  } finally {
    fs.rmSync(kubeconfig);
  }
}

beforeAll(async () => {
  requireToolchain("kubectl", "kube-apiserver", "etcd", "kwok", "helm", "sops");
  externalSecretsBinary();
  dir = tempDir("external-secrets");
  secrets = await startSecretsCluster({ dir: path.join(dir, "secrets-cluster"), secrets: REMOTE });
  cluster = await openCluster(dir, { serviceNetwork: true });
  operator = await startExternalSecretsOperator({ dir: path.join(dir, "eso"), kubeconfig: cluster.kubeconfig, routeService: (s, p) => cluster.routeService!(s, p) });
  credentials = path.join(dir, "eso-credentials.sops.yaml");
});

afterAll(async () => {
  await operator?.stop();
  await cluster?.close();
  await secrets?.close();
  if (dir && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

test("the real chart installs; its cert-controller makes the webhook's certificate and the API server reaches the webhook through its Service", async () => {
  execFileSync("helm", ["--kubeconfig", cluster.kubeconfig, "install", ESO_RELEASE, chartFile("external-secrets"), "-n", ESO_NAMESPACE, "--create-namespace"], { env: toolchainEnv(), stdio: ["ignore", "pipe", "pipe"] });
  await operator.webhookServing();
  // The cert-controller injected its CA into the chart's configurations: that is what the API server trusts.
  const caBundles = JSON.parse(cluster.kubectl(["get", "validatingwebhookconfigurations", "secretstore-validate", "externalsecret-validate", "-o", "json"])) as { items: { webhooks: { clientConfig: { caBundle?: string; service?: { name: string } } }[] }[] };
  for (const w of caBundles.items.flatMap((i) => i.webhooks)) {
    expect(w.clientConfig.service?.name).toBe(`${ESO_RELEASE}-webhook`);
    expect(w.clientConfig.caBundle).toBeTruthy();
  }
  // An ExternalSecret with neither data nor dataFrom is ESO's webhook's to refuse (the CRD allows it).
  const refused = applyRefused({ apiVersion: "external-secrets.io/v1", kind: "ExternalSecret", metadata: { name: "empty", namespace: ESO_NAMESPACE }, spec: { secretStoreRef: { kind: "ClusterSecretStore", name: STORE_NAME } } });
  expect(refused).toContain("admission webhook \"validate.externalsecret.external-secrets.io\" denied the request");
  expect(refused).toContain("either data or dataFrom should be specified");
});

test("the secret zero comes from a sops file: the store validates and every ExternalSecret syncs on its first reconcile", async () => {
  // The token reads the remote namespace (and the secrets cluster's CA verifies its server).
  expect(secretsClusterAnswers()).toContain("secret/db");
  writeCredentialsFile(credentials, secrets.token());
  const text = fs.readFileSync(credentials, "utf8");
  expect(text).not.toContain(secrets.token());
  expect(text).toContain("ENC[AES256_GCM");
  // Decrypted by the real sops with the stack's key, straight into the cluster (never printed).
  const plain = execFileSync("sops", ["decrypt", credentials], { env: toolchainEnv({ SOPS_AGE_KEY_FILE: DEMO_KEY_FILE }), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  cluster.kubectl(["apply", "-f", "-"], plain);
  apply([clusterSecretStore(secrets)]);
  apply(WANTED.flatMap(externalSecretManifests));

  const store = await waitFor("the ClusterSecretStore Ready", () => (conditionOf("clustersecretstore", STORE_NAME)?.status === "True" ? conditionOf("clustersecretstore", STORE_NAME) : undefined));
  expect(store).toMatchObject({ reason: "Valid", message: "store validated" });
  for (const w of WANTED) {
    const ready = await waitFor(`ExternalSecret ${w.namespace}/${w.name} Ready`, () => (conditionOf("externalsecret", w.name, w.namespace)?.status === "True" ? conditionOf("externalsecret", w.name, w.namespace) : undefined));
    expect(ready).toMatchObject({ reason: "SecretSynced", message: "secret synced" });
    const expected = Object.fromEntries(Object.entries(w.data).map(([k, ref]) => [k, (REMOTE as Record<string, Record<string, string>>)[ref.remoteSecret][ref.remoteKey]]));
    expect(clusterSecretDigests((a) => cluster.kubectl(a), w.target, w.namespace)).toEqual(digestValues(expected));
  }
  // First reconcile: no sync error was ever recorded (ESO emits an UpdateFailed event on each).
  const events = cluster.kubectl(["get", "events", "-A", "--field-selector", "involvedObject.kind=ExternalSecret", "-o", "jsonpath={range .items[*]}{.reason}{\"\\n\"}{end}"]).split("\n").filter(Boolean);
  expect(events).not.toContain("UpdateFailed");
  expect(operator.restarts("controller")).toBe(0);
});

test("a revoked token: the next sync fails with ESO's message, and the synced Secret stays", async () => {
  secrets.revokeToken();
  // The secrets cluster refuses the token (once the API server's 10 s cache of good tokens forgot it).
  await waitFor("the secrets cluster to refuse the revoked token", () => (/Unauthorized/.test(secretsClusterAnswers()) ? true : undefined), 30_000);
  const [w] = WANTED;
  cluster.kubectl(["annotate", "externalsecret", w.name, "-n", w.namespace, `force-sync=${Date.now()}`, "--overwrite"]);
  const failed = await waitFor(`the ExternalSecret's sync to fail (now: ${JSON.stringify(conditionOf("externalsecret", w.name, w.namespace))})`, () => (conditionOf("externalsecret", w.name, w.namespace)?.status === "False" ? conditionOf("externalsecret", w.name, w.namespace) : undefined));
  expect(failed.reason).toBe("SecretSyncedError");
  expect(failed.message).toBe("could not get secret data from provider");
  // The cause is in ESO's event on the ExternalSecret: the secrets cluster's answer.
  const events = JSON.parse(cluster.kubectl(["get", "events", "-n", w.namespace, "--field-selector", `involvedObject.name=${w.name},reason=UpdateFailed`, "-o", "json"])) as { items: { message: string }[] };
  expect(events.items.map((e) => e.message)).toContain("error processing spec.data[0] (key: db), err: Unauthorized");
  expect(clusterSecretDigests((a) => cluster.kubectl(a), w.target, w.namespace)).toBeDefined();
});
