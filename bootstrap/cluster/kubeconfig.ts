/**
 * The cluster a command talks to for a stack, resolved once: which kubeconfig (`--kubeconfig`,
 * else the stack's `kubernetes:kubeconfig`, else KUBECONFIG, else ~/.kube/config), which context
 * (the stack's `kubernetes:context`, else the file's current one), and a kubeconfig that holds
 * only that context, its cluster and its user. Everything that talks to the cluster for one run
 * (guard, watcher, the Pulumi engine) uses that single-context kubeconfig, so a later
 * `kubectl config use-context` cannot send part of the run elsewhere.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import * as YAML from "yaml";
import { UsageError } from "../../components/errors";

/** No kubeconfig anywhere: exit 2 with the ways to give one, never a request to a default address. */
export class MissingKubeconfigError extends UsageError {}

/** The kubeconfig has no context of the name asked for. */
export class UnknownContextError extends UsageError {}

/** The stack's provider keys (`kubernetes:kubeconfig`, `kubernetes:context`). */
export interface StackKubernetesConfig {
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** Whether a `kubernetes:kubeconfig` value is the kubeconfig itself rather than a path to one. */
export function isInlineKubeconfig(value: string): boolean {
  return /^\s*(apiVersion|clusters|kind):/m.test(value);
}

/** `~` and `~/…` expanded, then made absolute against `baseDir`: once, so every reader opens the same file. */
export function absoluteKubeconfigPath(file: string, baseDir: string, home = os.homedir()): string {
  const expanded = file === "~" || file.startsWith("~/") ? path.join(home, file.slice(1)) : file;
  return path.resolve(baseDir, expanded);
}

/** One kubeconfig document: a file's text (with its folder, for relative paths in it) or inline YAML. */
export interface KubeconfigDocument {
  readonly text: string;
  /** Where it came from, for messages: a path, `KUBECONFIG`, or `(inline)`. */
  readonly where: string;
  /** Relative file references in it are relative to this folder (absent for inline YAML). */
  readonly dir?: string;
}

/** The documents the default lookup reads: KUBECONFIG's existing files in order, else ~/.kube/config. */
export function defaultKubeconfigFiles(
  env: NodeJS.ProcessEnv,
  home: string,
  exists: (file: string) => boolean = fs.existsSync,
): string[] {
  const listed = (env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
  if (listed.length > 0) {
    // As kubectl: files in KUBECONFIG that do not exist are skipped.
    const found = listed.map((f) => absoluteKubeconfigPath(f, process.cwd(), home)).filter(exists);
    if (found.length === 0) {
      const names = listed.join(path.delimiter);
      throw new MissingKubeconfigError(`no kubeconfig: KUBECONFIG names ${names}, and none of it exists; pass --kubeconfig FILE or fix KUBECONFIG`);
    }
    return found;
  }
  const standard = path.join(home, ".kube", "config");
  if (!exists(standard)) {
    throw new MissingKubeconfigError(
      `no kubeconfig: pass --kubeconfig FILE (or set KUBECONFIG, or the stack's kubernetes:kubeconfig); ${standard} does not exist either`,
    );
  }
  return [standard];
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Fields holding file paths, which kubectl reads relative to the kubeconfig's folder. */
const CLUSTER_FILES = ["certificate-authority"];
const USER_FILES = ["client-certificate", "client-key", "tokenFile"];

function absolutePaths(entry: Obj, fields: readonly string[], dir: string | undefined): Obj {
  if (dir === undefined) return entry;
  const out: Obj = { ...entry };
  for (const f of fields) if (typeof out[f] === "string" && out[f] !== "") out[f] = path.resolve(dir, out[f] as string);
  // An exec plugin's command with a folder in it is relative to the kubeconfig; a bare name is looked up on PATH.
  if (isObject(out.exec) && typeof out.exec.command === "string" && out.exec.command.includes("/")) {
    out.exec = { ...out.exec, command: path.resolve(dir, out.exec.command) };
  }
  return out;
}

interface Named {
  readonly body: Obj;
  readonly dir?: string;
}

/** The cluster, user and context of one run, and a kubeconfig that holds nothing else. */
export interface SingleContextKubeconfig {
  readonly context: string;
  readonly server: string;
  /** The kubeconfig YAML: credentials included, so it is written 0600 and never logged. */
  readonly yaml: string;
}

/**
 * Merges the documents as kubectl does (the first file that defines a name wins, and the first
 * current-context), picks `context` (else the current one) and keeps only that context, its
 * cluster and its user, with every file path made absolute. Throws a UsageError naming `from`
 * (the flag or key the kubeconfig came from) when the context, its cluster or its server is missing.
 */
export function singleContextKubeconfig(
  docs: readonly KubeconfigDocument[],
  context: string | undefined,
  from: string,
): SingleContextKubeconfig {
  const clusters = new Map<string, Named>();
  const users = new Map<string, Named>();
  const contexts = new Map<string, Named>();
  let current: string | undefined;
  for (const doc of docs) {
    let parsed: unknown;
    try {
      parsed = YAML.parse(doc.text);
    } catch (e) {
      throw new UsageError(`the kubeconfig ${doc.where} (${from}) is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
    if (parsed === null || parsed === undefined) continue;
    if (!isObject(parsed)) {
      throw new UsageError(`the kubeconfig ${doc.where} (${from}) is not a kubeconfig (a YAML map with clusters, users and contexts)`);
    }
    const lists = [["clusters", clusters, "cluster"], ["users", users, "user"], ["contexts", contexts, "context"]] as const;
    for (const [list, into, field] of lists) {
      const entries = parsed[list];
      if (!Array.isArray(entries)) continue;
      for (const e of entries) {
        if (!isObject(e) || typeof e.name !== "string" || into.has(e.name)) continue;
        into.set(e.name, { body: isObject(e[field]) ? (e[field] as Obj) : {}, dir: doc.dir });
      }
    }
    const named = parsed["current-context"];
    if (current === undefined && typeof named === "string" && named !== "") current = named;
  }
  const where = docs.map((d) => d.where).join(path.delimiter);
  const name = context ?? current;
  if (name === undefined) {
    throw new UsageError(
      `the kubeconfig ${where} (${from}) has no current context: pick one with kubectl config use-context, or set the stack's kubernetes:context`,
    );
  }
  const ctx = contexts.get(name);
  if (!ctx) {
    const known = [...contexts.keys()].join(", ") || "none";
    throw new UnknownContextError(`the kubeconfig ${where} (${from}) has no context ${name} (it has: ${known})`);
  }
  const clusterName = typeof ctx.body.cluster === "string" ? ctx.body.cluster : undefined;
  const cluster = clusterName === undefined ? undefined : clusters.get(clusterName);
  if (!cluster || typeof cluster.body.server !== "string" || cluster.body.server === "") {
    const which = clusterName ?? "(none)";
    throw new UsageError(`the kubeconfig ${where} (${from}): context ${name} names no cluster with a server (cluster ${which})`);
  }
  const userName = typeof ctx.body.user === "string" ? ctx.body.user : undefined;
  const user = userName === undefined ? undefined : users.get(userName);
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: clusterName, cluster: absolutePaths(cluster.body, CLUSTER_FILES, cluster.dir) }],
    users: user && userName !== undefined ? [{ name: userName, user: absolutePaths(user.body, USER_FILES, user.dir) }] : [],
    contexts: [{ name, context: ctx.body }],
    "current-context": name,
  };
  return { context: name, server: cluster.body.server, yaml: YAML.stringify(doc) };
}

/** Where the kubeconfig of a run comes from, resolved once. */
export interface KubeconfigChoice {
  readonly docs: readonly KubeconfigDocument[];
  /** The flag or key it came from, for messages (`--kubeconfig /home/me/x`). */
  readonly from: string;
}

export interface TargetRequest {
  /** `--kubeconfig` as typed. */
  readonly given?: string;
  readonly stack: StackKubernetesConfig;
  /** The project folder: a relative `kubernetes:kubeconfig` path is relative to it. */
  readonly projectDir: string;
  /** A relative `--kubeconfig` is relative to it. @default process.cwd() */
  readonly cwd?: string;
  readonly env: NodeJS.ProcessEnv;
  /** @default os.homedir() */
  readonly home?: string;
}

function readDocument(file: string, from: string): KubeconfigDocument {
  try {
    return { text: fs.readFileSync(file, "utf8"), where: file, dir: path.dirname(file) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : (code ?? (e as Error).message);
    throw new UsageError(`cannot read the kubeconfig ${file} (${from}): ${why}; pass --kubeconfig FILE`);
  }
}

/** `--kubeconfig`, else the stack's `kubernetes:kubeconfig`, else KUBECONFIG / ~/.kube/config. */
export function chooseKubeconfig(req: TargetRequest): KubeconfigChoice {
  const home = req.home ?? os.homedir();
  if (req.given !== undefined) {
    const file = absoluteKubeconfigPath(req.given, req.cwd ?? process.cwd(), home);
    return { docs: [readDocument(file, `--kubeconfig ${file}`)], from: `--kubeconfig ${file}` };
  }
  const stackValue = req.stack.kubeconfig;
  if (stackValue !== undefined && stackValue !== "") {
    if (isInlineKubeconfig(stackValue)) {
      return { docs: [{ text: stackValue, where: "(inline)" }], from: "the stack's kubernetes:kubeconfig" };
    }
    const file = absoluteKubeconfigPath(stackValue, req.projectDir, home);
    return { docs: [readDocument(file, "the stack's kubernetes:kubeconfig")], from: `the stack's kubernetes:kubeconfig ${file}` };
  }
  const files = defaultKubeconfigFiles(req.env, home);
  const from = req.env.KUBECONFIG ? `KUBECONFIG ${files.join(path.delimiter)}` : files[0];
  return { docs: files.map((f) => readDocument(f, from)), from };
}

/**
 * The one cluster of a run: the chosen kubeconfig at the stack's `kubernetes:context` (else its
 * current context), reduced to that context. A stack context the chosen kubeconfig does not have
 * is a UsageError saying what to pass, rather than watching one cluster and deploying to another.
 */
export function resolveKubeconfig(req: TargetRequest): SingleContextKubeconfig & { readonly from: string } {
  const choice = chooseKubeconfig(req);
  const context = req.stack.context || undefined;
  try {
    return { ...singleContextKubeconfig(choice.docs, context, choice.from), from: choice.from };
  } catch (e) {
    if (context !== undefined && e instanceof UnknownContextError) {
      throw new UsageError(
        `the stack sets kubernetes:context ${context}, which ${choice.from} does not have: pass a --kubeconfig that has ` +
          `the context ${context}, or remove it from the stack (pulumi config rm kubernetes:context)`,
      );
    }
    throw e;
  }
}

/** A client-node KubeConfig of the single-context YAML: the watcher and direct reads use exactly what the engine gets. */
export function kubeConfigOf(single: SingleContextKubeconfig): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(single.yaml);
  kc.setCurrentContext(single.context);
  return kc;
}

/**
 * `given` (--kubeconfig), else the stack's `kubernetes:kubeconfig` / `kubernetes:context` (relative
 * to the project), else the default kubeconfig, at one context; a UsageError naming which one
 * cannot be used, or that there is none.
 */
export function kubeConfigFor(
  given: string | undefined,
  stack: StackKubernetesConfig,
  projectDir: string,
  env: NodeJS.ProcessEnv = process.env,
): KubeConfig {
  return kubeConfigOf(resolveKubeconfig({ given, stack, projectDir, env, home: env.HOME || undefined }));
}

