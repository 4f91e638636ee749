/**
 * What the e2e tests know about the example repositories they serve: the Secret a SOPS file
 * defines, as the test decrypts it itself with the project's own SOPS code (compared by digest, so
 * a failed comparison never prints a value), the same Secret as it is in the cluster, and a
 * scratch project's stack pointed at the test's Git server.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { resolveConfig } from "../../bootstrap/config/stack-config";
import { type BootstrapConfig } from "../../components/settings/bootstrap-config";
import { rawConfigFromEntries } from "../../bootstrap/program";
import { AgeIdentities } from "../../components/settings/age-identities";
import { decryptSopsContentInternal } from "../../bootstrap/sops/internal/decrypt";
import type { GitServer } from "./git-server";
import { PROJECT_DIR } from "./harness";

/** The age key the example repositories are encrypted to. */
export const DEMO_KEY_FILE = path.join(PROJECT_DIR, "examples/gitops-repo/demo-age-key.txt");

/** Values by SHA-256, so a failed comparison never prints a secret. */
export const digestValues = (values: Record<string, string | Buffer>): Record<string, string> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, createHash("sha256").update(v).digest("hex")]));

export interface ExpectedSecret {
  readonly name: string;
  readonly namespace: string;
  /** Value digests by key. */
  readonly digests: Record<string, string>;
  /** The plaintext values, only to check they never show in output: never print them. */
  readonly values: readonly string[];
}

/** The Secret `sopsFile` (relative to the project) defines, decrypted with the demo key. */
export async function expectedSecret(sopsFile: string): Promise<ExpectedSecret> {
  const identities = await AgeIdentities.parse(fs.readFileSync(DEMO_KEY_FILE, "utf8"), DEMO_KEY_FILE);
  const { result, documents } = await decryptSopsContentInternal(fs.readFileSync(path.join(PROJECT_DIR, sopsFile)), sopsFile, identities);
  if (!documents) throw new Error(`${sopsFile}: ${result.kind}: ${result.detail}`);
  const secret = documents[0] as { metadata: { name: string; namespace: string }; stringData: Record<string, string> };
  return { name: secret.metadata.name, namespace: secret.metadata.namespace, digests: digestValues(secret.stringData), values: Object.values(secret.stringData) };
}

/** The digests of a Secret's data as the cluster holds it, or undefined when it is not there. */
export function clusterSecretDigests(kubectl: (args: readonly string[]) => string, name: string, namespace: string): Record<string, string> | undefined {
  let secret: { data?: Record<string, string> };
  try {
    secret = JSON.parse(kubectl(["get", "secret", name, "-n", namespace, "-o", "json"]));
  } catch {
    return undefined;
  }
  return digestValues(Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")])));
}

/** Points a (scratch) project's stack file at a Git server: its URL, revision and CA file. */
export function pointStackAt(projectDir: string, stack: string, repo: { url: string; revision: string; caFile?: string }): void {
  const file = path.join(projectDir, "stacks", `Pulumi.${stack}.yaml`);
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  doc.config["gitops-bootstrap:repo"] = { ...doc.config["gitops-bootstrap:repo"], ...repo };
  fs.writeFileSync(file, YAML.stringify(doc));
}

/**
 * A committed stack's config, resolved by the product's own code, with its repository pointed at
 * the test's Git server (URL, CA file and credentials). The repo key is a secret, as it holds a password.
 */
export async function stackConfigAt(stack: string, repo: { url: string; caFile: string; credentials: { username: string; password: string } }): Promise<BootstrapConfig> {
  const values = YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, "stacks", `Pulumi.${stack}.yaml`), "utf8")).config as Record<string, unknown>;
  const repoKey = "gitops-bootstrap:repo";
  const merged = { ...values, [repoKey]: { ...(values[repoKey] as Record<string, unknown>), ...repo } };
  const entries = Object.entries(merged).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v), k === repoKey] as const);
  return resolveConfig(rawConfigFromEntries(entries, PROJECT_DIR));
}

/** The URL the Argo CD example's child Applications name (examples/gitops-repo/apps). */
const EXAMPLE_REPO_URL = "https://git.example.com/platform/gitops-bootstrap.git";

/**
 * Commits, in the served copy of the Argo CD example, child Applications that name the test's
 * Git server instead of the example URL, as a real repository names its own server.
 */
export function pointArgoExampleAt(git: GitServer, repo: string): void {
  git.commit(
    repo,
    (tree) => {
      const apps = path.join(tree, "examples/gitops-repo/apps");
      for (const f of fs.readdirSync(apps)) fs.writeFileSync(path.join(apps, f), fs.readFileSync(path.join(apps, f), "utf8").split(EXAMPLE_REPO_URL).join(git.url(repo)));
    },
    "apps: the test's Git server",
  );
}
