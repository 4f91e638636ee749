/**
 * What `init` writes into the GitOps repository besides `.sops.yaml`, and the next steps it
 * prints: pure builders (no file access), so their shape is tested on its own.
 *
 * Argo CD decrypts SOPS files only through KSOPS, a kustomize generator, and the root
 * Application's folder is a plain directory of Application manifests (app-of-apps), which
 * nothing decrypts. So for `reconciler: argocd` the environment gets a folder of its own for
 * Secrets: `<repoPath>/secrets/` (a kustomization whose KSOPS generator lists the encrypted
 * files) and the child Application `<repoPath>/secrets.yaml` that syncs it. The generator starts
 * with `files: []`: KSOPS refuses a generator without the `files` key, and an empty list
 * generates nothing, so the Application syncs (empty) before the first Secret is listed.
 * Flux needs nothing: the root Kustomization decrypts every SOPS file under its path.
 */
import * as path from "node:path";
import * as YAML from "yaml";
import { ARGOCD } from "../../components/defaults";

/** The KSOPS wiring's file names, relative to the environment's folder. */
export const ARGO_SECRETS = {
  folder: "secrets",
  application: "secrets.yaml",
  kustomization: "kustomization.yaml",
  generator: "secret-generator.yaml",
} as const;

/** The file name the next steps use for the first Secret (any name works). */
export const EXAMPLE_SECRET_FILE = "my-secret.yaml";

/** A file to create, relative to the GitOps repository's root (`/`-separated). */
export interface RepoFile {
  readonly path: string;
  readonly text: string;
}

export interface ArgoWiringInput {
  readonly stack: string;
  /** The environment's folder (`repo.path`). */
  readonly repoPath: string;
  readonly repoUrl: string;
  readonly revision: string;
  /** Argo CD's namespace (`argocd.namespace`), where the child Application lives. */
  readonly namespace: string;
  /** `rootApp.project` and its sync policy, which the child Application shares. */
  readonly project: string;
  readonly prune: boolean;
  readonly selfHeal: boolean;
}

const join = (...parts: string[]): string => path.posix.join(...parts);

/** The folder (relative to the repository) whose Secrets the child Application syncs. */
export const argoSecretsFolder = (repoPath: string): string => join(repoPath, ARGO_SECRETS.folder);

/** The Application's name (also the generator's): unique per environment. */
export const argoSecretsAppName = (stack: string): string => `${stack}-secrets`;

function yamlFile(comment: string, value: unknown): string {
  const doc = new YAML.Document(value);
  doc.commentBefore = comment;
  return doc.toString({ lineWidth: 0 });
}

/** The three files that let Argo CD decrypt this environment's Secrets (Application, kustomization, KSOPS generator). */
export function argoSecretsWiring(input: ArgoWiringInput): RepoFile[] {
  const folder = argoSecretsFolder(input.repoPath);
  const name = argoSecretsAppName(input.stack);
  const application = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: { name, namespace: input.namespace, finalizers: [ARGOCD.resourcesFinalizer] },
    spec: {
      project: input.project,
      source: { repoURL: input.repoUrl, targetRevision: input.revision, path: folder },
      destination: { server: ARGOCD.inClusterServer },
      syncPolicy: { automated: { prune: input.prune, selfHeal: input.selfHeal } },
    },
  };
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    generators: [ARGO_SECRETS.generator],
  };
  const generator = {
    apiVersion: "viaduct.ai/v1",
    kind: "ksops",
    metadata: { name, annotations: { "config.kubernetes.io/function": "exec:\n  path: ksops\n" } },
    files: [],
  };
  return [
    {
      path: join(input.repoPath, ARGO_SECRETS.application),
      text: yamlFile(
        [
          ` Stack ${input.stack}'s Secrets, written by gitops-bootstrap init: the root Application creates this`,
          ` child Application, which syncs ${folder}/, where KSOPS decrypts the SOPS files at sync time.`,
        ].join("\n"),
        application,
      ),
    },
    {
      path: join(folder, ARGO_SECRETS.kustomization),
      text: yamlFile(
        [
          ` Stack ${input.stack}'s Secrets, written by gitops-bootstrap init. Argo CD builds this folder with`,
          ` kustomize; the KSOPS generator decrypts the files it lists (the repo-server has the age key).`,
        ].join("\n"),
        kustomization,
      ),
    },
    {
      path: join(folder, ARGO_SECRETS.generator),
      text: yamlFile(
        [
          ` KSOPS decrypts the files listed under files (relative to this folder) when Argo CD syncs. Encrypt a`,
          ` Secret with sops from the repository's root (so .sops.yaml picks the recipient), then list it:`,
          `   files:`,
          `     - ./${EXAMPLE_SECRET_FILE}`,
          ` An empty list generates nothing; keep the files key (KSOPS refuses a generator without it).`,
        ].join("\n"),
        generator,
      ),
    },
  ];
}

/** A word as bash takes it back: unquoted when safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./~-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface NextStepsInput {
  readonly stack: string;
  readonly reconciler: "argocd" | "flux";
  /** The GitOps repository as the commands name it (relative to where they run, or absolute). */
  readonly gitopsRepo: string;
  readonly repoPath: string;
  /** `stacks/Pulumi.<stack>.yaml`, relative to the project. */
  readonly stackFile: string;
  /** The key file as the stack file names it. */
  readonly keyFile: string;
  readonly recipient: string;
  readonly configNamespace: string;
  /** Set when the commands must run from the project but init ran elsewhere: a `cd` comes first. */
  readonly projectDir?: string;
  /**
   * The environment folder's kustomization file, when it has one: then the folder is built by
   * kustomize, and only the resources it lists are applied.
   */
  readonly envKustomization?: string;
}

/** What to do after `init`, each command as it can be pasted. */
export function nextSteps(n: NextStepsInput): string {
  const repo = shellWord(n.gitopsRepo);
  const inRepo = (command: string): string => `(cd ${repo} && ${command})`;
  const argo = n.reconciler === "argocd";
  const folder = argo ? argoSecretsFolder(n.repoPath) : n.repoPath;
  const secretFile = join(folder, EXAMPLE_SECRET_FILE);
  const lines: string[] = [`Stack ${n.stack} is ready. Next steps:`];
  let step = 0;
  const add = (text: string, ...commands: string[]): void => {
    lines.push(`  ${++step}. ${text}`, ...commands.map((c) => `       ${c}`));
  };
  if (n.projectDir) add("Go to gitops-bootstrap's checkout (where stacks/ is); the commands below run there:", `cd ${shellWord(n.projectDir)}`);
  add(
    `Write a Secret as plain YAML (metadata.name, and metadata.namespace of a namespace the cluster has) to`,
    `${join(n.gitopsRepo, secretFile)}   (${EXAMPLE_SECRET_FILE}: any name; ${argo ? `in ${folder}/` : `anywhere under ${folder}/`})`,
  );
  add(`Encrypt it in the GitOps repository, where the .sops.yaml rule picks the recipient:`, inRepo(`sops encrypt --in-place ${shellWord(secretFile)}`));
  if (argo) {
    add(
      `List it under files in ${join(folder, ARGO_SECRETS.generator)} (instead of files: []), so KSOPS decrypts it when Argo CD syncs the ${argoSecretsAppName(n.stack)} Application (${join(n.repoPath, ARGO_SECRETS.application)}):`,
      "files:",
      `  - ./${EXAMPLE_SECRET_FILE}`,
    );
    if (n.envKustomization) add(`Argo CD builds ${n.repoPath} with kustomize (${n.envKustomization}): list ${ARGO_SECRETS.application} under its resources.`);
  } else if (n.envKustomization) {
    add(`Flux builds ${n.repoPath} with your ${n.envKustomization}: list ${EXAMPLE_SECRET_FILE} under its resources (Flux then decrypts it).`);
  } else {
    lines.push(`     Flux decrypts every SOPS-encrypted Secret under ${n.repoPath}/ when it applies it (a sub-folder with a kustomization.yaml must list it under resources).`);
  }
  add(`Commit them (never the key file):`, inRepo(`git add .sops.yaml ${shellWord(n.repoPath)} && git commit -m ${shellWord(`${n.stack}: SOPS rule and Secrets`)}`));
  add(
    `Prove the key opens every SOPS file, and see what the stack applies:`,
    `npx gitops-bootstrap check --stack ${n.stack} --repo ${repo}`,
    `npx gitops-bootstrap render --stack ${n.stack}`,
  );
  add(`Push, then deploy (and commit ${n.stackFile} here):`, inRepo("git push"), `pulumi stack init ${n.stack} && pulumi up`);
  if (argo) lines.push(`  Until ${join(folder, ARGO_SECRETS.generator)} lists a file, ${argoSecretsAppName(n.stack)} syncs nothing (and is healthy).`);
  else lines.push(`  Git keeps no empty folder: until ${n.repoPath}/ has a file in Git, Flux's root Kustomization fails (path not found).`);
  lines.push(
    `  The stack reads the key from ${n.keyFile} (only ${n.recipient}).`,
    `  To keep it in Pulumi's encrypted config instead (CI runners), store it and remove ageKeyFile from the stack file:`,
    `       grep -A1 '^# public key: ${n.recipient}$' ${n.keyFile} | tail -n 1 | pulumi config set --stack ${n.stack} --secret ${n.configNamespace}:ageKey`,
    `  Back up ${n.keyFile}: without it, nothing encrypted to ${n.recipient} can be decrypted.`,
    "",
  );
  return lines.join("\n");
}
