/**
 * `gitops-bootstrap init`: from nothing to a stack a user can render, check and `pulumi up`.
 *
 * 1. makes an age identity (X25519, or post-quantum ML-KEM-768 + X25519 on request) and appends
 *    it to the user's key file (created with mode 0600; an existing identity is never replaced);
 * 2. writes or updates `.sops.yaml` in the GitOps repository with a creation rule for the
 *    environment's folder and the new recipient, keeping every other rule and comment;
 * 3. with `reconciler: argocd`, writes the KSOPS wiring Argo CD needs to decrypt the environment's
 *    Secrets (wiring.ts), never over an existing file;
 * 4. writes `stacks/Pulumi.<stack>.yaml` (never over an existing one) with the non-secret keys,
 *    and `ageKeyFile` + `ageRecipient`, so only this identity goes into the cluster;
 * 5. prints what to do next, each command as it can be pasted.
 *
 * Everything is validated first (the would-be stack through the same `resolveConfig` as `up`),
 * then written; if a write fails, the earlier ones are undone. The private key is never printed.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import * as YAML from "yaml";
import { resolveConfig } from "../config/stack-config";
import { ConfigError } from "../../components/settings/bootstrap-config";
import { checkRepoUrl } from "../../components/settings/repository";
import { DNS_LABEL } from "../../components/settings/fields";
import { CONFIG_NAMESPACE } from "../../components/defaults";
import { UsageError } from "../../components/errors";
import { ARGO_SECRETS, type RepoFile, argoSecretsFolder, argoSecretsWiring, nextSteps } from "./wiring";
import { replaceFile } from "../cli-common/output-files";
import { parseSopsConfig, ruleFor } from "../sops/sops-config";
import { listStacks, stackFilePath } from "../config/stack-file";

export interface InitOptions {
  readonly stack: string;
  readonly repoUrl: string;
  readonly repoPath?: string;
  readonly revision: string;
  readonly reconciler: "argocd" | "flux";
  /** Local checkout of the GitOps repository (where `.sops.yaml` goes). */
  readonly gitopsRepo: string;
  /** `~/` expands to the home directory. */
  readonly keyFile: string;
  readonly postQuantum: boolean;
}

export interface InitIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly projectDir: string;
}

/** What the secrets of this environment are matched by: YAML files under its folder. */
export function creationRuleRegex(repoPath: string): string {
  const folder = repoPath.replace(/\/+$/, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return folder === "\\." ? "\\.ya?ml$" : `${folder}/.*\\.ya?ml$`;
}

/** `.sops.yaml` with a rule for `regex` to `recipient`, other rules and comments kept. */
export function updatedSopsConfig(existing: string | undefined, file: string, repoPath: string, recipient: string): { text: string; action: "created" | "added a rule to" | "added the recipient to" } {
  const regex = creationRuleRegex(repoPath);
  const rule = { path_regex: regex, encrypted_regex: "^(data|stringData)$", age: recipient };
  if (existing === undefined || existing.trim() === "") {
    const doc = new YAML.Document({ creation_rules: [rule] });
    doc.commentBefore = " Which files sops encrypts, and for whom (one rule per environment, each with its own recipient).\n Only data/stringData of Secrets are encrypted, so names and namespaces stay readable in Git.";
    return { text: doc.toString({ lineWidth: 0 }), action: "created" };
  }
  const parsed = parseSopsConfig(file, Buffer.from(existing));
  if (typeof parsed === "string") throw new UsageError(`cannot update ${file}: ${parsed.replace(`${file}: `, "").replace(`${file} `, "it ")}; fix it (or move it away) and run init again (nothing was written)`);
  const doc = YAML.parseDocument(existing);
  let rules = doc.get("creation_rules");
  if (!YAML.isSeq(rules)) {
    rules = doc.createNode([]);
    doc.set("creation_rules", rules);
  }
  const seq = rules as YAML.YAMLSeq;
  // The same folder already has a rule: add the recipient to it (every other setting kept).
  const same = parsed.rules.find((r) => r.pathRegex === regex);
  if (same) {
    const node = seq.items[same.index - 1] as YAML.YAMLMap;
    if (same.ageRecipients.includes(recipient)) return { text: existing, action: "added the recipient to" };
    const current = node.get("age");
    if (YAML.isSeq(current)) current.add(recipient);
    else node.set("age", typeof current === "string" && current.trim() !== "" ? `${current.trim()},${recipient}` : recipient);
    return { text: doc.toString({ lineWidth: 0 }), action: "added the recipient to" };
  }
  // sops uses the first rule that matches: go before the first one that would take this folder's files.
  const sample = `${repoPath.replace(/\/+$/, "")}/secret.yaml`;
  const relativeSample = parsed.dir === "" ? sample : `${parsed.dir}/${sample}`;
  const shadowing = ruleFor(relativeSample, parsed);
  const at = shadowing ? shadowing.index - 1 : seq.items.length;
  seq.items.splice(at, 0, doc.createNode(rule));
  return { text: doc.toString({ lineWidth: 0 }), action: "added a rule to" };
}

function expandHome(file: string, home: string): string {
  return file === "~" ? home : file.startsWith("~/") ? path.join(home, file.slice(2)) : path.resolve(file);
}

/** The key file as the stack file names it: `~/...` under the home directory (portable), else absolute. */
function portablePath(file: string, home: string): string {
  const rel = path.relative(home, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? `~/${rel}` : file;
}

const writable = (p: string): boolean => {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/** A key file open to group or others can be made 0600 by this user (its owner) before a key is added. */
function canTighten(file: string): boolean {
  const stat = fs.statSync(file);
  return (stat.mode & 0o077) === 0 || process.getuid === undefined || stat.uid === process.getuid();
}

/** The nearest existing ancestor of `p` (for "can this be created?"). */
function existingAncestor(p: string): string {
  let dir = p;
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  return dir;
}

/** @internal Everything init will write, checked (exported for the rollback test). */
export interface Plan {
  /** The environment's folder in the GitOps repository (`--repo-path`, default `clusters/<stack>`). */
  readonly repoPath: string;
  /** The key file as the stack file and the next steps name it (`~/...` under the home directory). */
  readonly keyFileShown: string;
  readonly keyFile: string;
  readonly keyFileExisted: boolean;
  readonly keyBlock: string;
  readonly sopsFile: string;
  readonly sopsBefore: string | undefined;
  readonly sopsAfter: string;
  readonly sopsAction: string;
  readonly stackFile: string;
  readonly stackText: string;
  /** The GitOps repository's root (absolute). */
  readonly gitopsRepo: string;
  /** Folders to create in the GitOps repository, parents first (absolute). */
  readonly repoDirs: readonly string[];
  /** Files to create in the GitOps repository (the Argo CD KSOPS wiring). */
  readonly repoFiles: readonly RepoFile[];
  /** The wiring files that were all there already, left as they are. */
  readonly repoFilesKept: readonly string[];
  /** The environment folder's kustomization file, when it has one (relative to the repository). */
  readonly envKustomization?: string;
}

/** The folders of `dir` (absolute) that do not exist, parents first. */
function missingDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  return missing;
}

/**
 * Where the wiring goes: every file is new (write them all), or every file is there (keep them,
 * as an earlier init wrote them); anything between, or something in the way, is a problem.
 */
function wiringPlan(gitopsRepo: string, repoPath: string, reconciler: InitOptions["reconciler"], problems: string[]): { dirs: string[]; write: boolean; kept: string[] } {
  const envDir = path.join(gitopsRepo, repoPath);
  const blocked = (dir: string): string | undefined => {
    const ancestor = existingAncestor(dir);
    if (!fs.statSync(ancestor).isDirectory()) return `${path.relative(gitopsRepo, ancestor)} is not a folder`;
    return writable(ancestor) ? undefined : `${ancestor} is not writable`;
  };
  if (reconciler === "flux") {
    const why = blocked(envDir);
    if (why) problems.push(`cannot create the environment's folder ${repoPath} in --gitops-repo: ${why}`);
    return { dirs: why ? [] : missingDirs(envDir), write: false, kept: [] };
  }
  const folder = argoSecretsFolder(repoPath);
  const files = [path.posix.join(repoPath, ARGO_SECRETS.application), path.posix.join(folder, ARGO_SECRETS.kustomization), path.posix.join(folder, ARGO_SECRETS.generator)];
  const present = files.filter((f) => fs.existsSync(path.join(gitopsRepo, f)));
  const notFiles = present.filter((f) => !fs.statSync(path.join(gitopsRepo, f)).isFile());
  if (notFiles.length > 0) {
    problems.push(`--gitops-repo has ${notFiles.join(", ")}, where init writes a file (the Argo CD KSOPS wiring); move ${notFiles.length === 1 ? "it" : "them"} away, or choose another --repo-path`);
    return { dirs: [], write: false, kept: [] };
  }
  if (present.length === files.length) return { dirs: [], write: false, kept: present };
  const folderThere = fs.existsSync(path.join(gitopsRepo, folder));
  if (present.length > 0 || folderThere) {
    const found = present.length > 0 ? present.join(", ") : `${folder}/`;
    problems.push(
      `--gitops-repo already has ${found} but not ${files.filter((f) => !present.includes(f)).join(", ")}: init writes these together (the Argo CD KSOPS wiring for ${repoPath}) and never over existing files; move ${found} away, or choose another --repo-path`,
    );
    return { dirs: [], write: false, kept: [] };
  }
  const why = blocked(path.join(gitopsRepo, folder));
  if (why) problems.push(`cannot create ${folder} in --gitops-repo: ${why}`);
  return { dirs: why ? [] : missingDirs(path.join(gitopsRepo, folder)), write: !why, kept: [] };
}

/** Checks every input and prepares every write; throws a UsageError naming the flag or file. */
export async function plan(opts: InitOptions, io: InitIo, identity: string, recipient: string): Promise<Plan> {
  const home = io.env.HOME ?? os.homedir();
  const problems: string[] = [];
  if (!DNS_LABEL.test(opts.stack)) {
    problems.push(`--stack ${JSON.stringify(opts.stack)}: the stack name is also the environment, so it must be a DNS-1123 label (lower case letters, digits, '-'), e.g. dev or prod-eu`);
  }
  const url = checkRepoUrl(opts.repoUrl);
  if ("error" in url) problems.push(`--repo-url ${url.error}`);
  const repoPath = (opts.repoPath ?? `clusters/${opts.stack}`).replace(/\/+$/, "");
  const repoPathOk = !(repoPath === "" || repoPath.startsWith("/") || repoPath.split("/").includes(".."));
  if (!repoPathOk) {
    problems.push(`--repo-path must be a folder inside the repository (relative, no '..'), got ${JSON.stringify(opts.repoPath)}`);
  }
  if (opts.revision.trim() === "") problems.push("--revision must not be empty (a branch, tag, commit or HEAD)");
  // source-controller resolves a GitRepository ref named HEAD to no commit (the remote advertises it
  // as a symbolic ref), so the root Kustomization would never get an artifact.
  else if (opts.reconciler === "flux" && opts.revision === "HEAD") {
    problems.push("--revision: with --reconciler flux, name the branch (or tag, or commit) to deploy, e.g. --revision main: Flux cannot follow the repository's default branch (HEAD)");
  }

  const stackFile = stackFilePath(io.projectDir, opts.stack);
  if (fs.existsSync(stackFile)) {
    problems.push(`${path.relative(io.projectDir, stackFile)} already exists; init never overwrites a stack: choose another --stack, or edit that file (known stacks: ${listStacks(io.projectDir).join(", ")})`);
  } else if (!writable(path.dirname(stackFile))) {
    problems.push(`cannot write ${stackFile}: ${path.dirname(stackFile)} is not writable`);
  }

  const gitopsRepo = path.resolve(opts.gitopsRepo);
  const sopsFile = path.join(gitopsRepo, ".sops.yaml");
  let sopsBefore: string | undefined;
  let repoUsable = false;
  const ownCheckout = path.relative(path.resolve(io.projectDir), gitopsRepo);
  if (!fs.existsSync(gitopsRepo) || !fs.statSync(gitopsRepo).isDirectory()) {
    problems.push(`--gitops-repo ${gitopsRepo} is not a directory; give the local checkout of the GitOps repository`);
  } else if (ownCheckout === "" || (!ownCheckout.startsWith("..") && !path.isAbsolute(ownCheckout))) {
    problems.push(`--gitops-repo ${gitopsRepo} is gitops-bootstrap's own checkout, not your GitOps repository; give the local checkout of the repository the cluster syncs from (e.g. ../cluster-state)`);
  } else {
    repoUsable = repoPathOk;
    if (fs.lstatSync(sopsFile, { throwIfNoEntry: false })) {
      if (fs.lstatSync(sopsFile).isSymbolicLink()) problems.push(`${sopsFile} is a symbolic link; init replaces .sops.yaml as a regular file: give the repository that holds the real file`);
      else if (!fs.statSync(sopsFile).isFile()) problems.push(`${sopsFile} is not a regular file`);
      else sopsBefore = fs.readFileSync(sopsFile, "utf8");
      if (!writable(sopsFile)) problems.push(`${sopsFile} is not writable`);
    } else if (!writable(gitopsRepo)) {
      problems.push(`cannot create ${sopsFile}: ${gitopsRepo} is not writable`);
    }
  }
  const wiring = repoUsable ? wiringPlan(gitopsRepo, repoPath, opts.reconciler, problems) : { dirs: [], write: false, kept: [] };
  const envKustomization = repoUsable
    ? ["kustomization.yaml", "kustomization.yml", "Kustomization"].map((f) => path.posix.join(repoPath, f)).find((f) => fs.existsSync(path.join(gitopsRepo, f)))
    : undefined;

  const keyFile = expandHome(opts.keyFile, home);
  const keyFileExisted = fs.existsSync(keyFile);
  let keyText = "";
  if (keyFileExisted) {
    if (!fs.statSync(keyFile).isFile()) problems.push(`--key-file ${keyFile} is not a regular file`);
    else if (!writable(keyFile)) problems.push(`--key-file ${keyFile} is not writable; init appends the new identity to it`);
    else if (!canTighten(keyFile)) {
      const mode = (fs.statSync(keyFile).mode & 0o777).toString(8);
      problems.push(`--key-file ${keyFile} is readable by others (mode ${mode}) and belongs to another user: init cannot make it 0600 before adding a private key to it; have its owner run chmod 600 on it, or give another --key-file`);
    } else keyText = fs.readFileSync(keyFile, "utf8");
  } else {
    const ancestor = existingAncestor(path.dirname(keyFile));
    if (!fs.statSync(ancestor).isDirectory()) problems.push(`--key-file ${keyFile} cannot be created: ${ancestor} is not a directory`);
    else if (!writable(ancestor)) problems.push(`--key-file ${keyFile} cannot be created: ${ancestor} is not writable`);
  }
  if (problems.length > 0) throw new UsageError(`init: nothing was written:\n${problems.map((p) => `  ✗ ${p}`).join("\n")}`);

  // age-keygen's layout: the public key on the line before the identity.
  const keyBlock = `${keyText === "" || keyText.endsWith("\n") ? "" : "\n"}# gitops-bootstrap stack ${opts.stack}\n# created: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}\n# public key: ${recipient}\n${identity}\n`;
  const sops = updatedSopsConfig(sopsBefore, sopsFile, repoPath, recipient);
  const keyFileShown = portablePath(keyFile, home);

  const values = {
    environment: opts.stack,
    reconciler: opts.reconciler,
    repo: { url: opts.repoUrl, revision: opts.revision, path: repoPath },
    ageKeyFile: keyFileShown,
    ageRecipient: recipient,
  };
  const doc = new YAML.Document({ config: Object.fromEntries(Object.entries(values).map(([k, v]) => [`${CONFIG_NAMESPACE}:${k}`, v])) });
  doc.commentBefore = [
    ` Stack ${opts.stack}, written by gitops-bootstrap init. The age key is read from ageKeyFile (only the`,
    ` identity of ageRecipient goes into the cluster); the key file itself never goes into Git.`,
    ` Private repository: pulumi config set --stack ${opts.stack} --secret --path '${CONFIG_NAMESPACE}:repo.credentials.password' <token>`,
    `   plus --path '${CONFIG_NAMESPACE}:repo.credentials.username' <user> (https), or --path '${CONFIG_NAMESPACE}:repo.credentials.sshPrivateKey' (ssh).`,
  ].join("\n");
  const stackText = doc.toString({ lineWidth: 0 });

  // The same validation as `render` and `up`, on the stack as it will be, with the key file as it will be.
  let config: Awaited<ReturnType<typeof resolveConfig>>;
  try {
    config = await resolveConfig({
      values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
      secretKeys: new Set(),
      baseDir: io.projectDir,
      homeDir: home,
      readFile: (f) => (f === keyFile ? keyText + keyBlock : fs.readFileSync(f, "utf8")),
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`init: nothing was written: the stack would not be valid:\n${e.message}`);
    throw e;
  }
  const repoFiles =
    wiring.write && config.reconciler === "argocd"
      ? argoSecretsWiring({
          stack: opts.stack,
          repoPath,
          repoUrl: config.repo.url,
          revision: config.repo.revision,
          namespace: config.argocd.namespace,
          project: config.rootApp.project,
          prune: config.rootApp.prune,
          selfHeal: config.rootApp.selfHeal,
        })
      : [];
  return {
    repoPath, keyFileShown, keyFile, keyFileExisted, keyBlock, sopsFile, sopsBefore, sopsAfter: sops.text, sopsAction: sops.action, stackFile, stackText,
    gitopsRepo, repoDirs: wiring.dirs, repoFiles, repoFilesKept: wiring.kept, envKustomization,
  };
}

/** Creates `file` (never replacing one) through a temporary file in the same folder, linked into place. */
function createAtomically(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString("hex")}.tmp`);
  fs.writeFileSync(tmp, text, { flag: "wx" });
  try {
    fs.linkSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** `.sops.yaml` as it is to be: replaced through an exclusive temporary file, its mode kept. */
function writeSopsConfig(file: string, text: string): void {
  const mode = fs.existsSync(file) ? fs.statSync(file).mode & 0o777 : 0o644;
  replaceFile(file, text, mode);
}

/** @internal Performs the writes in order; a failure undoes the ones before it. */
export function apply(p: Plan, stderr: (s: string) => void): void {
  const undo: (() => void)[] = [];
  try {
    if (p.keyFileExisted) {
      const { size, mode } = fs.statSync(p.keyFile);
      // Tightened before the private key goes in (and kept so if a later write is undone).
      if ((mode & 0o077) !== 0) {
        try {
          fs.chmodSync(p.keyFile, 0o600);
        } catch (e) {
          throw new UsageError(`init: ${p.keyFile} is readable by others (mode ${(mode & 0o777).toString(8)}) and cannot be made 0600 (${(e as NodeJS.ErrnoException).code}): nothing was written; make it 0600 as its owner, or give another --key-file`);
        }
        stderr(`! ${p.keyFile} was readable by others (mode ${(mode & 0o777).toString(8)}); it is now 0600, before the new identity was added\n`);
      }
      fs.appendFileSync(p.keyFile, p.keyBlock);
      undo.push(() => fs.truncateSync(p.keyFile, size));
    } else {
      fs.mkdirSync(path.dirname(p.keyFile), { recursive: true, mode: 0o700 });
      fs.writeFileSync(p.keyFile, p.keyBlock, { flag: "wx", mode: 0o600 });
      undo.push(() => fs.rmSync(p.keyFile, { force: true }));
    }
    if (p.sopsAfter !== p.sopsBefore) {
      writeSopsConfig(p.sopsFile, p.sopsAfter);
      undo.push(() => (p.sopsBefore === undefined ? fs.rmSync(p.sopsFile, { force: true }) : writeSopsConfig(p.sopsFile, p.sopsBefore)));
    }
    for (const dir of p.repoDirs) {
      fs.mkdirSync(dir);
      // Only while empty: whatever else appeared in it is not init's to delete.
      undo.push(() => {
        if (fs.existsSync(dir) && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
      });
    }
    for (const f of p.repoFiles) {
      const file = path.join(p.gitopsRepo, f.path);
      createAtomically(file, f.text);
      undo.push(() => fs.rmSync(file, { force: true }));
    }
    createAtomically(p.stackFile, p.stackText);
  } catch (e) {
    for (const step of undo.reverse()) step();
    if (e instanceof UsageError) throw e;
    const err = e as NodeJS.ErrnoException & { dest?: string };
    throw new UsageError(`init: ${err.code === "EEXIST" ? `${err.dest ?? err.path ?? p.stackFile} appeared while init ran` : `writing failed (${err.code ?? err.message})`}; nothing was kept`);
  }
}

export async function runInit(opts: InitOptions, io: InitIo): Promise<number> {
  const kind = opts.postQuantum ? "ML-KEM-768 + X25519 (post-quantum)" : "X25519";
  io.stderr(`► init ${opts.stack}: making an ${kind} age identity\n`);
  const identity = opts.postQuantum ? await age.generateHybridIdentity() : await age.generateX25519Identity();
  const recipient = await age.identityToRecipient(identity);
  const p = await plan(opts, io, identity, recipient);
  apply(p, io.stderr);
  // The commands run where stacks/ is: from there, a path inside is relative, anything else absolute.
  const elsewhere = path.resolve(process.cwd()) !== path.resolve(io.projectDir);
  const rel = (f: string): string => {
    const r = path.relative(io.projectDir, f);
    return r === "" ? "." : r.startsWith("..") ? f : r;
  };
  const inRepo = (files: readonly string[]): string => files.join(", ");
  io.stderr(`✔ ${p.keyFileExisted ? "appended the identity to" : "created"} ${p.keyFile} (mode 0600): public key ${recipient}\n`);
  io.stderr(`✔ ${p.sopsAfter === p.sopsBefore ? "already up to date:" : p.sopsAction} ${rel(p.sopsFile)}: ${creationRuleRegex(p.repoPath)} → ${recipient}\n`);
  if (p.repoFiles.length > 0) io.stderr(`✔ wrote the KSOPS wiring for Argo CD in ${rel(p.gitopsRepo)}: ${inRepo(p.repoFiles.map((f) => f.path))}\n`);
  if (p.repoFilesKept.length > 0) io.stderr(`✔ left as they are (already there): ${inRepo(p.repoFilesKept)} in ${rel(p.gitopsRepo)}\n`);
  if (p.envKustomization) io.stderr(`! ${p.envKustomization} exists: ${opts.reconciler === "flux" ? "Flux" : "Argo CD"} applies only what it lists (the next steps say what to add to it)\n`);
  io.stderr(`✔ wrote ${path.relative(io.projectDir, p.stackFile)}\n`);
  io.stdout(
    nextSteps({
      stack: opts.stack,
      reconciler: opts.reconciler,
      gitopsRepo: rel(p.gitopsRepo),
      repoPath: p.repoPath,
      stackFile: path.relative(io.projectDir, p.stackFile),
      keyFile: p.keyFileShown,
      recipient,
      configNamespace: CONFIG_NAMESPACE,
      projectDir: elsewhere ? path.resolve(io.projectDir) : undefined,
      envKustomization: p.envKustomization,
    }),
  );
  return 0;
}
