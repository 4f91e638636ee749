/** The repository check runs before anything is registered: a failing key leaves nothing half-applied. */
import * as age from "age-encryption";
import * as pulumi from "@pulumi/pulumi";
import { resolveConfig } from "../../bootstrap/config/stack-config";
import { bootstrap, verifyRepoSecretsBeforeUp } from "../../bootstrap/program";
import type { RepoSecretsCheck } from "../../bootstrap/program";

const registered: string[] = [];

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    { newResource: (args) => (registered.push(args.type), { id: `${args.name}-id`, state: args.inputs }), call: (args) => args.inputs },
    "gitops-bootstrap",
    "unit",
    false,
  );
});

async function raw() {
  return {
    values: { environment: "dev", repo: JSON.stringify({ url: "https://git.example.com/org/state.git", path: "apps" }), ageKey: await age.generateIdentity() },
    secretKeys: new Set(["ageKey"]),
    baseDir: "/project",
  };
}

test("a wrong key stops the program before any resource is registered", async () => {
  const seen: unknown[] = [];
  const failing: RepoSecretsCheck = async (options) => {
    seen.push(options.source, options.scope);
    return {
      source: options.source,
      revision: undefined,
      commit: undefined,
      recipients: [],
      files: [{ kind: "wrong-key", path: "apps/db/secret.sops.yaml", detail: "it is encrypted for age1other" } as any],
      sealedSecrets: [],
      externalSecrets: { stores: [], externalSecrets: [] },
      notJudged: [],
      warnings: [],
      scannedFiles: 1,
      skippedFiles: 0,
      counts: {} as any,
      outcome: "fails",
      ok: false,
    };
  };
  await expect(bootstrap(await raw(), { repoSecretsCheck: failing })).rejects.toThrow(/verifyRepoSecrets: .* 1 SOPS file\(s\)[\s\S]*apps\/db\/secret\.sops\.yaml {2}wrong key/);
  // Only what the stack's root reaches is judged: its repo.path, in this repository, under the root GitRepository's name.
  expect(seen).toEqual(["https://git.example.com/org/state.git", { paths: ["apps"], repoUrl: "https://git.example.com/org/state.git", gitRepositoryNames: ["root"] }]);
  expect(registered).toEqual([]);
});

test("a suspicious file (sops decrypts it) is a warning: the update goes on", async () => {
  const logged: string[] = [];
  const suspicious: RepoSecretsCheck = async (options) => ({
    source: options.source,
    revision: undefined,
    commit: undefined,
    recipients: [],
    files: [
      { kind: "suspicious", path: "apps/db.yaml", detail: "sops would accept this, but an encrypted comment near db fails authentication", reason: "", format: "yaml" },
      { kind: "ok", path: "apps/cache.yaml", detail: "1 encrypted value decrypted", reason: "", format: "yaml", encryptedValues: 1, openedBy: "age1x", warnings: [] },
    ],
    sealedSecrets: [],
    externalSecrets: { stores: [], externalSecrets: [] },
    notJudged: [],
    warnings: [],
    scannedFiles: 2,
    skippedFiles: 0,
    counts: {} as any,
    outcome: "suspicious",
    ok: false,
  });
  const config = await resolveConfig(await raw());
  await verifyRepoSecretsBeforeUp(config, suspicious, { info: (m) => logged.push(`info ${m}`), warn: (m) => logged.push(`warn ${m}`) });
  expect(logged).toEqual([
    "warn verifyRepoSecrets: ⚠ apps/db.yaml  suspicious: sops would accept this, but an encrypted comment near db fails authentication",
    "info verifyRepoSecrets: 2 SOPS file(s) that apps reaches in https://git.example.com/org/state.git decrypt with the stack's age key",
  ]);
});

test("verifyRepoSecrets: false skips the check", async () => {
  const never: RepoSecretsCheck = async () => {
    throw new Error("must not run");
  };
  const input = await raw();
  await bootstrap({ ...input, values: { ...input.values, verifyRepoSecrets: "false" } }, { repoSecretsCheck: never });
  await pulumi.runtime.disconnect();
  expect(registered).toContain("kubernetes:helm.sh/v3:Release");
});
