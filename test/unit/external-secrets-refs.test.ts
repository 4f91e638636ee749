/**
 * The External Secrets Operator's objects as the check and the drill read them: stores and
 * ExternalSecrets from repository files (within the parse budgets), the stores they need that the
 * repository lacks, values a rebuild would not give back; and the drill's verdicts from objects as
 * ESO v0.16 writes their status.
 */
import { checkRepository } from "../../bootstrap/sops/check";
import { formatTextReport } from "../../bootstrap/sops/report";
import { externalSecretVerdict, externalSecretsIn, missingStores, storeVerdict } from "../../bootstrap/external-secrets/refs";
import { withEventCause } from "../../bootstrap/drill/external-secrets";
import { KEYS, fixtureText, tempDir, writeFiles } from "./sops/helpers";

const file = (path: string, text: string) => ({ path, content: Buffer.from(text) });

const STORE = `apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: central
spec:
  provider:
    kubernetes:
      remoteNamespace: app-secrets
      server: { url: "https://secrets.example.com" }
      auth: { token: { bearerToken: { name: store-token, key: token, namespace: external-secrets } } }
`;
const ES = (name: string, store: string, extra = "") => `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: ${name}
  namespace: apps
spec:
  secretStoreRef: { kind: ClusterSecretStore, name: ${store} }
  target: { name: ${name}-secret }
  data:
    - secretKey: password
      remoteRef: { key: db }
${extra}`;

describe("reading the repository", () => {
  test("stores and ExternalSecrets with the store each needs, the Secret it writes, and what a rebuild would not give back", () => {
    const found = externalSecretsIn([
      file("infra/store.yaml", STORE),
      file("apps/db.yaml", `${ES("db", "central")}---\n${ES("once", "central", "  refreshPolicy: CreatedOnce\n")}`),
      file(
        "apps/generated.yaml",
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: pw}\nspec:\n  dataFrom:\n    - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}\n",
      ),
      file("apps/ns-store.yaml", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: local, namespace: apps}\nspec: {}\n"),
      file("apps/other.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: external-secrets.io}\n"),
    ]);
    expect(found.stores).toEqual([
      { path: "infra/store.yaml", kind: "ClusterSecretStore", name: "central", namespace: undefined },
      { path: "apps/ns-store.yaml", kind: "SecretStore", name: "local", namespace: "apps" },
    ]);
    expect(found.externalSecrets.map((e) => [e.name, e.namespace, e.store, e.target, e.notReproduced])).toEqual([
      ["db", "apps", { kind: "ClusterSecretStore", name: "central" }, "db-secret", undefined],
      ["once", "apps", { kind: "ClusterSecretStore", name: "central" }, "once-secret", expect.stringMatching(/^refreshPolicy CreatedOnce/)],
      ["pw", undefined, undefined, "pw", expect.stringMatching(/generator/)],
    ]);
  });

  test("a store the ExternalSecrets need that the repository lacks is named with what needs it; a SecretStore counts only in its namespace", () => {
    const found = externalSecretsIn([
      file("apps/a.yaml", ES("a", "nowhere")),
      file("apps/b.yaml", ES("b", "nowhere")),
      file("apps/c.yaml", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: c, namespace: team}\nspec: {secretStoreRef: {name: local}}\n"),
      file("apps/store.yaml", "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: local, namespace: apps}\n"),
    ]);
    expect(missingStores(found)).toEqual([
      { store: "ClusterSecretStore nowhere", neededBy: ["ExternalSecret apps/a", "ExternalSecret apps/b"] },
      { store: "SecretStore team/local", neededBy: ["ExternalSecret team/c"] },
    ]);
  });

  test("a file over the parse budget or that does not parse is a verdict (nothing read), never a crash", () => {
    const bomb = `apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: x}\nspec:\n  data: [${Array.from({ length: 300_000 }, () => "[a]").join(",")}]\n`;
    expect(externalSecretsIn([file("big.yaml", bomb), file("bad.yaml", "apiVersion: external-secrets.io/v1\nkind: [\n")])).toEqual({ stores: [], externalSecrets: [] });
  });
});

test("check: lists each ExternalSecret with its store, and warns of a store the repository does not define", async () => {
  const repo = tempDir();
  try {
    writeFiles(repo.dir, { "apps/db.yaml": ES("db", "central"), "apps/api.yaml": ES("api", "missing") });
    const report = await checkRepository({ source: repo.dir, identities: fixtureText(KEYS.age) });
    expect(report.externalSecrets.externalSecrets.map((e) => e.name)).toEqual(["api", "db"]);
    expect(report.warnings).toContain("ClusterSecretStore central is needed by ExternalSecret apps/db but is not in the repository: a rebuilt cluster has no such store unless something else creates it");
    const text = formatTextReport(report);
    expect(text).toContain("• apps/db.yaml  ExternalSecret apps/db: needs ClusterSecretStore central");
    writeFiles(repo.dir, { "infra/store.yaml": STORE });
    const fixed = await checkRepository({ source: repo.dir, identities: fixtureText(KEYS.age) });
    expect(fixed.warnings.filter((w) => w.includes("central"))).toEqual([]);
  } finally {
    repo.cleanup();
  }
});

describe("the drill's verdicts, from objects as ESO writes them", () => {
  const ref = externalSecretsIn([file("apps/db.yaml", ES("db", "central"))]).externalSecrets[0];
  const withReady = (status: string, reason: string, message: string) => ({ status: { conditions: [{ type: "Ready", status, reason, message }] } });

  test("a store: Valid, not validated yet, or ESO's reason and message", () => {
    expect(storeVerdict(withReady("True", "Valid", "store validated"))).toEqual({ state: "ok", detail: "Valid" });
    expect(storeVerdict({ status: {} })).toEqual({ state: "pending", problem: "not validated yet (no Ready condition)" });
    expect(storeVerdict(withReady("False", "InvalidProviderConfig", "could not get provider client: unable to fetch Secret"))).toEqual({
      state: "failed",
      problem: "InvalidProviderConfig: could not get provider client: unable to fetch Secret",
    });
    expect(storeVerdict(undefined)).toEqual({ state: "failed", problem: "not in the cluster" });
  });

  test("an ExternalSecret: synced with its Secret present, synced without it, or ESO's message", () => {
    const synced = withReady("True", "SecretSynced", "secret synced");
    expect(externalSecretVerdict(ref, synced, true)).toEqual({ state: "ok", detail: "SecretSynced" });
    expect(externalSecretVerdict(ref, synced, false)).toEqual({ state: "failed", problem: "synced, but its Secret db-secret is not in the cluster" });
    expect(externalSecretVerdict(ref, withReady("False", "SecretSyncedError", "could not get secret data from provider"), false)).toEqual({
      state: "failed",
      problem: "SecretSyncedError: could not get secret data from provider",
    });
    expect(externalSecretVerdict(ref, {}, false).state).toBe("pending");
  });
});

describe("a failure with the cause from ESO's newest Warning event", () => {
  const generic = "InvalidProviderConfig: unable to create client";

  test("the event's reason and message follow ESO's generic condition", () => {
    expect(withEventCause(generic, { reason: "InvalidProviderConfig", message: 'secrets "central-secrets-token" not found' })).toBe(
      `${generic} (ESO's last warning InvalidProviderConfig: secrets "central-secrets-token" not found)`,
    );
  });

  test("no event, an empty message, or one the condition already says: the problem as it was", () => {
    expect(withEventCause(generic, undefined)).toBe(generic);
    expect(withEventCause(generic, { reason: "X", message: "  " })).toBe(generic);
    expect(withEventCause(generic, { reason: "InvalidProviderConfig", message: "unable to create client" })).toBe(generic);
  });

  test("a long message is cut at 300 characters, control characters are escaped", () => {
    const cause = withEventCause("Err: x", { message: `Unauthorized\x1b[2J${"a".repeat(400)}` });
    expect(cause).not.toContain("\x1b");
    expect(cause).toContain("Unauthorized\\x1b[2J");
    expect(cause.length).toBeLessThan("Err: x (ESO's last warning: ".length + 300 + 10);
    expect(cause.endsWith("…)")).toBe(true);
  });
});
