/**
 * Where a stack's Pulumi state lives. `restore` must refresh and update the very state the user's
 * own `pulumi up` wrote, so it picks the backend as the Pulumi CLI does; the drill keeps its own
 * throwaway default. Also: whether the stack's secrets need a passphrase.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { UsageError } from "../../components/errors";
import { stackFilePath } from "./stack-file";

export class BackendError extends UsageError {}

/** Where the backend URL came from, as `restore` prints it. */
export type BackendSource = "PULUMI_BACKEND_URL" | "Pulumi.yaml" | "pulumi login" | "the drill's default";

export interface StateBackend {
  readonly url: string;
  readonly source: BackendSource;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function readYaml(file: string): Obj {
  try {
    const doc: unknown = YAML.parse(fs.readFileSync(file, "utf8"));
    return isObject(doc) ? doc : {};
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new BackendError(`cannot read ${file}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/**
 * The credentials file `pulumi login` writes: `$PULUMI_CREDENTIALS_PATH/credentials.json`, else
 * `$PULUMI_HOME/credentials.json`, else `~/.pulumi/credentials.json` (pulumi/pulumi
 * sdk/go/common/workspace/creds.go `getCredsFilePath`, paths.go `GetPulumiHomeDir`).
 */
export function pulumiCredentialsFile(env: NodeJS.ProcessEnv): string {
  const dir = env.PULUMI_CREDENTIALS_PATH || env.PULUMI_HOME || path.join(env.HOME || os.homedir(), ".pulumi");
  return path.join(dir, "credentials.json");
}

/**
 * The backend the Pulumi CLI uses for this project, in its order (pulumi/pulumi
 * pkg/workspace/creds.go `GetCurrentCloudURLWithSource`): `PULUMI_BACKEND_URL`, then `backend.url`
 * in Pulumi.yaml, then the current login (`current` in the credentials file). Undefined when none
 * is set; the CLI would then start an interactive login to Pulumi Cloud, which a restore must not
 * guess at.
 */
export function cliStateBackend(env: NodeJS.ProcessEnv, projectDir: string): StateBackend | undefined {
  if (env.PULUMI_BACKEND_URL) return { url: env.PULUMI_BACKEND_URL, source: "PULUMI_BACKEND_URL" };
  const project = readYaml(path.join(projectDir, "Pulumi.yaml"));
  const fromProject = isObject(project.backend) ? project.backend.url : undefined;
  if (typeof fromProject === "string" && fromProject !== "") return { url: fromProject, source: "Pulumi.yaml" };
  const file = pulumiCredentialsFile(env);
  let current: unknown;
  try {
    current = (JSON.parse(fs.readFileSync(file, "utf8")) as Obj).current;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new BackendError(`cannot read the Pulumi login in ${file}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return typeof current === "string" && current !== "" ? { url: current, source: "pulumi login" } : undefined;
}

/** The folder of a local (`file://`) backend, `~` expanded as Pulumi does; undefined for other backends. */
export function localStateDir(url: string, env: NodeJS.ProcessEnv): string | undefined {
  if (!/^file:\/\//i.test(url)) return undefined;
  const dir = url.slice("file://".length).replace(/\?.*$/, "");
  return dir === "~" || dir.startsWith("~/") ? path.join(env.HOME || os.homedir(), dir.slice(1)) : dir;
}

/**
 * {@link cliStateBackend}, or a BackendError saying how to choose one. A local backend whose
 * folder is missing holds no state: an error too, not a new empty state beside the real one.
 */
export function restoreStateBackend(env: NodeJS.ProcessEnv, projectDir: string): StateBackend {
  const backend = cliStateBackend(env, projectDir);
  if (!backend) {
    throw new BackendError(
      "restore updates the stack's state where `pulumi up` keeps it, and none is configured: run `pulumi login <backend>` " +
        "(as for pulumi up), set PULUMI_BACKEND_URL, or set backend.url in Pulumi.yaml",
    );
  }
  const dir = localStateDir(backend.url, env);
  if (dir !== undefined && !fs.existsSync(dir)) {
    throw new BackendError(
      `the state folder ${dir} (from ${backend.source}) does not exist: point ${backend.source} at the folder your pulumi up used`,
    );
  }
  return backend;
}

/** The drill's own local state folder when PULUMI_BACKEND_URL is not set. */
export function defaultDrillStateDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), ".local", "state");
  return path.join(base, "gitops-bootstrap", "pulumi");
}

/**
 * The drill's backend: PULUMI_BACKEND_URL, else its default folder. A missing local folder is
 * created 0700 (the state holds the stack's encrypted secrets and every resource's inputs); an
 * existing one keeps its mode, whoever made it: `warning` says how to tighten the default folder
 * when others can read it.
 */
export function drillStateBackend(env: NodeJS.ProcessEnv): StateBackend & { readonly warning?: string } {
  const given = env.PULUMI_BACKEND_URL;
  const dir = given ? localStateDir(given, env) : defaultDrillStateDir(env);
  const backend: StateBackend = given
    ? { url: given, source: "PULUMI_BACKEND_URL" }
    : { url: `file://${dir}`, source: "the drill's default" };
  if (dir === undefined) return backend;
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return backend;
  }
  // A folder the user named is theirs to judge; only the drill's own folder gets advice.
  const mode = fs.statSync(dir).mode & 0o777;
  if (given || (mode & 0o077) === 0) return backend;
  const octal = mode.toString(8).padStart(4, "0");
  return { ...backend, warning: `the state folder ${dir} can be read by others (mode ${octal}): chmod 700 ${dir}` };
}

/** DIY backends encrypt a stack's secrets with a passphrase unless the stack names another provider. */
const DIY_BACKEND = /^(file|s3|gs|azblob|postgres):\/\//i;

/**
 * Whether the Pulumi CLI will need PULUMI_CONFIG_PASSPHRASE(_FILE) for this stack: its stack file
 * says `secretsprovider: passphrase` or has an `encryptionsalt`, or it has neither and its state
 * is in a DIY backend (a new stack there gets the passphrase provider).
 */
export function stackNeedsPassphrase(projectDir: string, stack: string, backendUrl: string | undefined): boolean {
  const file = readYaml(stackFilePath(projectDir, stack));
  const provider = file.secretsprovider;
  if (typeof provider === "string" && provider !== "") return provider === "passphrase";
  if (typeof file.encryptionsalt === "string") return true;
  return backendUrl !== undefined && DIY_BACKEND.test(backendUrl);
}

export const hasPassphrase = (env: NodeJS.ProcessEnv): boolean =>
  env.PULUMI_CONFIG_PASSPHRASE !== undefined || !!env.PULUMI_CONFIG_PASSPHRASE_FILE;

/** A backend URL fit to print: user info (a postgres password) masked. */
export function printableBackend(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, "$1***@");
}
