/**
 * One GitOps repository, two environments, each made with `gitops-bootstrap init` (a: X25519 with
 * Argo CD, b: post-quantum with Flux): each stack's check judges what its own cluster decrypts,
 * the other environment's files are counted and not judged, a file this environment uses that
 * is encrypted only to the other key fails it, and `check --repo --path` agrees with `--stack`.
 * The SOPS files are written by the repository's own writer (bootstrap/sops/writer.ts), in a
 * temporary Git repository made here.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { expectedSealedSecrets, expectedSecrets, judgedOnly } from "../../../bootstrap/drill/secrets";
import { checkRepository } from "../../../bootstrap/sops/check";
import { readRepository } from "../../../bootstrap/sops/repository";
import { repositoryKey, segmentMatches, walkScope } from "../../../bootstrap/sops/scope";
import { writeSopsYaml } from "../../../bootstrap/sops/writer";
import { cli } from "../cli-harness";

jest.setTimeout(60_000);

const URL = "https://git.example.com/platform/cluster-state.git";

interface World {
  readonly root: string;
  readonly home: string;
  readonly repo: string;
  readonly project: string;
  readonly keyFile: string;
  readonly recipients: Record<"a" | "b", string>;
}

let world: World;

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com", GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
  }).trim();
}

function write(files: Readonly<Record<string, string>>): void {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(world.repo, name)), { recursive: true });
    fs.writeFileSync(path.join(world.repo, name), content);
  }
}

const secret = (name: string, namespace: string, recipients: readonly string[]): Promise<string> =>
  writeSopsYaml([{ apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, stringData: { password: `pw-${name}` } }], { recipients, encryptedRegex: "^(data|stringData)$" });

const application = (name: string, appPath: string, repoURL = URL): string =>
  YAML.stringify({
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: { name, namespace: "argocd" },
    spec: { project: "default", source: { repoURL, targetRevision: "HEAD", path: appPath }, destination: { server: "https://kubernetes.default.svc", namespace: name } },
  });

const fluxKustomization = (name: string, ksPath: string, source = "root"): string =>
  YAML.stringify({
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name, namespace: "flux-system" },
    spec: { interval: "10m", path: ksPath, prune: true, sourceRef: { kind: "GitRepository", name: source }, decryption: { provider: "sops", secretRef: { name: "sops-age" } } },
  });

const ksopsGenerator = (...files: string[]): string =>
  YAML.stringify({ apiVersion: "viaduct.ai/v1", kind: "ksops", metadata: { name: "secrets", annotations: { "config.kubernetes.io/function": "exec:\n  path: ksops\n" } }, files });

beforeAll(async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "scope-"));
  const w = { root, home: path.join(root, "home"), repo: path.join(root, "state"), project: path.join(root, "project") };
  for (const dir of [w.home, w.repo, path.join(w.project, "stacks")]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(w.project, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
  const keyFile = path.join(w.home, ".config/sops/age/keys.txt");
  const init = async (stack: string, ...extra: string[]): Promise<string> => {
    const r = await cli(["init", "--stack", stack, "--repo-url", URL, "--gitops-repo", w.repo, "--key-file", keyFile, ...extra], w.project, { HOME: w.home });
    expect(r.code).toBe(0);
    const stackFile = YAML.parse(fs.readFileSync(path.join(w.project, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, string> };
    return stackFile.config["gitops-bootstrap:ageRecipient"];
  };
  const a = await init("a");
  const b = await init("b", "--post-quantum", "--reconciler", "flux", "--revision", "main");
  expect(b.startsWith("age1pq1")).toBe(true);
  world = { ...w, keyFile, recipients: { a, b } };
  git(w.repo, "init", "--quiet", "--initial-branch=main");
  write({
    // a (Argo CD): the root folder holds Applications; one points at a kustomize overlay with a KSOPS generator.
    "clusters/a/apps.yaml": application("a-web", "apps/overlays/a") + "---\n" + application("elsewhere", "apps/overlays/b", "https://git.example.com/other/repo.git"),
    "clusters/a/db.yaml": await secret("db", "a", [a]),
    "apps/overlays/a/kustomization.yaml": YAML.stringify({ resources: ["../../base", "deployment.yaml"], generators: ["secret-generator.yaml"] }),
    "apps/overlays/a/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
    "apps/overlays/a/secret-generator.yaml": ksopsGenerator("../../../secrets/a/web.sops.yaml"),
    "apps/base/kustomization.yaml": YAML.stringify({ resources: ["configmap.yaml"] }),
    "apps/base/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n",
    "secrets/a/web.sops.yaml": await secret("web", "a-web", [a]),
    // b (Flux): the root folder holds a Kustomization of the same GitRepository (the root's name) and one of another repository.
    "clusters/b/infra.yaml": fluxKustomization("infra", "./infra/b") + "---\n" + fluxKustomization("vendor", "./vendor", "vendor-repo"),
    "clusters/b/db.yaml": await secret("db", "b", [b]),
    "infra/b/cache/secret.yaml": await secret("cache", "b", [b]),
    "infra/b/cache/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cache\n",
    // Nobody's tree, but encrypted to both keys: judged by both.
    "shared/registry.sops.yaml": await secret("registry", "default", [a, b]),
    // A SealedSecret-free, SOPS-free folder that only a vendor repository would use.
    "vendor/readme.md": "nothing here\n",
  });
  git(w.repo, "add", "-A");
  git(w.repo, "commit", "--quiet", "-m", "two environments");
  git(w.repo, "tag", "two-environments");
});

/** Commits what a test wrote: b (Flux) checks its stack's revision, main, not the work tree. */
function commitChanges(): void {
  git(world.repo, "add", "-A");
  git(world.repo, "commit", "--quiet", "--allow-empty", "-m", "test changes");
}
afterAll(() => fs.rmSync(world.root, { recursive: true, force: true }));

async function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; json: { files: { path: string; kind: string }[]; notJudged: string[]; warnings: string[] } | undefined }> {
  const r = await cli(["check", "--repo", world.repo, ...args], world.project, { HOME: world.home });
  return { ...r, json: args.includes("--json") ? JSON.parse(r.stdout) : undefined };
}

const judged = (r: { json?: { files: { path: string; kind: string }[] } }): string[][] => (r.json?.files ?? []).map((f) => [f.path, f.kind]);

describe("each stack judges what its own cluster decrypts", () => {
  it("a (Argo CD, X25519): its root, the Application's overlay, the KSOPS file, and a file encrypted to it; b's files are counted, not judged", async () => {
    const r = await check("--stack", "a", "--json");
    expect(judged(r)).toEqual([
      ["clusters/a/db.yaml", "ok"],
      ["secrets/a/web.sops.yaml", "ok"],
      ["shared/registry.sops.yaml", "ok"],
    ]);
    expect(r.json?.notJudged).toEqual(["clusters/b/db.yaml", "infra/b/cache/secret.yaml"]);
    expect(r.code).toBe(0);
    const text = await check("--stack", "a");
    expect(text.stdout).toMatch(/^– 2 SOPS files for other environments, not judged \(outside what clusters\/a reaches, and not encrypted to this key\)$/m);
    expect(text.stdout).not.toMatch(/wrong key/);
  });

  it("b (Flux, post-quantum): its root, the same GitRepository's Kustomization path, not another repository's", async () => {
    const r = await check("--stack", "b", "--json");
    expect(judged(r)).toEqual([
      ["clusters/b/db.yaml", "ok"],
      ["infra/b/cache/secret.yaml", "ok"],
      ["shared/registry.sops.yaml", "ok"],
    ]);
    expect(r.json?.notJudged).toEqual(["clusters/a/db.yaml", "secrets/a/web.sops.yaml"]);
    expect(r.code).toBe(0);
  });

  it("check --repo --path with the key agrees with --stack (the URL unknown, every path that exists is followed)", async () => {
    for (const [stack, root] of [["a", "clusters/a"], ["b", "clusters/b"]] as const) {
      const key = await keyFileFor(stack);
      const byPath = await check("--path", root, "--age-key-file", key, "--json");
      const byStack = await check("--stack", stack, "--json");
      // Without the repository's URL, b's other-repository Kustomization is followed too: its folder holds no SOPS file.
      expect(judged(byPath)).toEqual(judged(byStack));
      expect(byPath.json?.notJudged).toEqual(byStack.json?.notJudged);
      expect(byPath.json?.warnings.some((w) => /URL is not known here/.test(w))).toBe(true);
      expect(byPath.code).toBe(0);
    }
    // At a revision (from Git objects) too, and with a URL-less --path given twice.
    const both = await check("--path", "clusters/a", "--path", "clusters/b", "--revision", "main", "--age-key-file", await keyFileFor("a"), "--json");
    expect(both.json?.notJudged).toEqual([]);
    expect(both.code).toBe(1);
  });

  it("--path must be a folder of the repository", async () => {
    for (const bad of ["/clusters/a", "clusters/../.."]) {
      const r = await check("--path", bad, "--age-key-file", await keyFileFor("a"));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--path .*expected a folder of the repository, relative to its root/);
    }
  });

  it("another environment's SealedSecrets are not judged, warned about or expected either", async () => {
    const sealed = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: api\n  namespace: b\nspec:\n  encryptedData:\n    token: AgB=\n";
    write({ "clusters/b/sealed.yaml": sealed });
    try {
      const snapshot = await readRepository({ source: world.repo });
      const identities = fs.readFileSync(await keyFileFor("a"), "utf8");
      const scoped = await checkRepository({ source: world.repo, snapshot, identities, scope: { paths: ["clusters/a"], repoUrl: URL } });
      expect(scoped.notJudged).toContain("clusters/b/sealed.yaml");
      expect(scoped.warnings.some((w) => w.includes("SealedSecret"))).toBe(false);
      expect(expectedSealedSecrets(judgedOnly(snapshot.sealed, scoped.notJudged))).toEqual([]);
      // Unscoped, it is named (no key backup to prove it).
      const whole = await checkRepository({ source: world.repo, snapshot, identities });
      expect(whole.warnings.some((w) => w.includes("clusters/b/sealed.yaml: b/api"))).toBe(true);
    } finally {
      fs.rmSync(path.join(world.repo, "clusters/b/sealed.yaml"));
    }
  });

  it("the drill expects only the Secrets of the files its check judged", async () => {
    const snapshot = await readRepository({ source: world.repo, revision: "main" });
    const report = await checkRepository({ source: world.repo, revision: "main", snapshot, identities: fs.readFileSync(await keyFileFor("a"), "utf8"), scope: { paths: ["clusters/a"], repoUrl: URL } });
    expect(expectedSecrets(judgedOnly(snapshot.candidates, report.notJudged)).map((s) => `${s.namespace}/${s.name}`)).toEqual(["a/db", "a-web/web", "default/registry"]);
    expect(expectedSecrets(snapshot.candidates)).toHaveLength(5);
    // The KSOPS file is reached by the walk itself, not only because it is encrypted to a's key.
    const scope = walkScope(snapshot, { paths: ["clusters/a"], repoUrl: URL });
    // clusters/a/secrets: the KSOPS wiring init wrote for a's own Secrets (its Application in clusters/a).
    expect(scope.folders).toEqual(["apps/base", "apps/overlays/a", "clusters/a", "clusters/a/secrets"]);
    expect(scope.includes("secrets/a/web.sops.yaml")).toBe(true);
    expect(scope.includes("clusters/b/db.yaml")).toBe(false);
  });
});

describe("a file this environment uses, encrypted only to the other key, fails it", () => {
  const changes: string[] = [];
  afterEach(() => {
    changes.splice(0);
    // Back to the two environments as committed in beforeAll.
    git(world.repo, "reset", "--quiet", "--hard", "two-environments");
    git(world.repo, "clean", "--quiet", "-fd");
  });

  it("under a's root folder", async () => {
    changes.push("clusters/a/intruder.yaml");
    write({ "clusters/a/intruder.yaml": await secret("intruder", "a", [world.recipients.b]) });
    commitChanges();
    const r = await check("--stack", "a", "--json");
    expect(r.json?.files.find((f) => f.path === "clusters/a/intruder.yaml")?.kind).toBe("wrong-key");
    expect(r.code).toBe(1);
    // b does not judge it: it is a's tree, and b's own recipient in it is what makes b judge it.
    const b = await check("--stack", "b", "--json");
    expect(b.json?.files.find((f) => f.path === "clusters/a/intruder.yaml")?.kind).toBe("ok");
  });

  it("named by a's KSOPS generator, outside a's folders", async () => {
    write({
      "secrets/b-only/token.sops.yaml": await secret("token", "a-web", [world.recipients.b]),
      "apps/overlays/a/secret-generator.yaml": ksopsGenerator("../../../secrets/a/web.sops.yaml", "../../../secrets/b-only/token.sops.yaml"),
    });
    changes.push("secrets/b-only/token.sops.yaml");
    commitChanges();
    const r = await check("--stack", "a");
    expect(r.stdout).toMatch(/^✗ secrets\/b-only\/token\.sops\.yaml {2}wrong key/m);
    expect(r.code).toBe(1);
  });

  it("under the folder b's Flux Kustomization names", async () => {
    changes.push("infra/b/cache/a-only.yaml");
    write({ "infra/b/cache/a-only.yaml": await secret("a-only", "b", [world.recipients.a]) });
    commitChanges();
    const r = await check("--stack", "b", "--json");
    expect(r.json?.files.find((f) => f.path === "infra/b/cache/a-only.yaml")?.kind).toBe("wrong-key");
    expect(r.code).toBe(1);
  });
});

async function keyFileFor(stack: "a" | "b"): Promise<string> {
  const file = path.join(world.root, `${stack}.agekey`);
  if (!fs.existsSync(file)) {
    const lines = fs.readFileSync(world.keyFile, "utf8").split("\n");
    const at = lines.indexOf(`# public key: ${world.recipients[stack]}`);
    fs.writeFileSync(file, `${lines[at + 1]}\n`, { mode: 0o600 });
  }
  return file;
}

describe("the walk's rules and bounds", () => {
  const snapshot = (files: Readonly<Record<string, string>>) => ({
    paths: Object.keys(files).sort(),
    manifests: Object.entries(files).filter(([p]) => /\.ya?ml$/.test(p)).map(([p, c]) => ({ path: p, content: Buffer.from(c) })),
  });

  it("spells one repository many ways", () => {
    const key = repositoryKey("https://git.example.com/platform/cluster-state.git");
    for (const u of ["https://git.example.com/platform/cluster-state", "ssh://git@git.example.com:22/platform/cluster-state.git", "git@git.example.com:platform/cluster-state.git", "HTTPS://user@Git.Example.com/platform/cluster-state/"]) {
      expect(repositoryKey(u)).toBe(key);
    }
    expect(repositoryKey("https://git.example.com/platform/other.git")).not.toBe(key);
  });

  it("follows Flux Kustomizations of any GitRepository in the repository with the same URL, and no other", () => {
    const gitRepository = (name: string, url: string): string =>
      YAML.stringify({ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: { name }, spec: { url, ref: { branch: "main" } } });
    const files = {
      "clusters/b/sources.yaml": gitRepository("mirror", "ssh://git@git.example.com/platform/cluster-state") + "---\n" + gitRepository("vendor", "https://git.example.com/vendor/x.git"),
      "clusters/b/ks.yaml": fluxKustomization("mirrored", "./m", "mirror") + "---\n" + fluxKustomization("vendored", "./v", "vendor"),
      "m/s.yaml": "kind: ConfigMap\n",
      "v/s.yaml": "kind: ConfigMap\n",
    };
    const scope = walkScope(snapshot(files), { paths: ["clusters/b"], repoUrl: URL, gitRepositoryNames: ["root"] });
    expect(scope.folders).toEqual(["clusters/b", "m"]);
  });

  it("says the URL was unknown only when that decided something", () => {
    expect(walkScope(snapshot({ "root/cm.yaml": "kind: ConfigMap\n" }), { paths: ["root"] }).notes).toEqual([]);
    expect(walkScope(snapshot({ "root/app.yaml": application("x", "x"), "x/cm.yaml": "kind: ConfigMap\n" }), { paths: ["root"] }).notes).toEqual([
      expect.stringMatching(/URL is not known here/),
    ]);
  });

  it("follows Argo CD directory sources only one level unless directory.recurse, and cycles once", () => {
    const files = {
      "root/apps.yaml": application("x", "x") + "---\n" + application("self", "root"),
      "x/a.yaml": "kind: ConfigMap\n",
      "x/deeper/app.yaml": application("y", "y"),
      "y/s.yaml": "kind: ConfigMap\n",
    };
    const scope = walkScope(snapshot(files), { paths: ["root"], repoUrl: URL });
    expect(scope.folders).toEqual(["root", "x"]);
    expect(scope.complete).toBe(true);
    // Folders are in scope with everything under them (judging more fails a check, never passes a wrong key).
    expect(scope.includes("x/deeper/anything.sops.yaml")).toBe(true);
    expect(scope.includes("y/s.yaml")).toBe(false);
  });

  it("a manifest that does not parse, a missing path, an ApplicationSet and a path out of the repository are notes", () => {
    const files = {
      "root/bad.yaml": "kind: Application\napiVersion: argoproj.io/v1alpha1\nspec: [unclosed\n",
      "root/bomb.yaml": `apiVersion: argoproj.io/v1alpha1\nkind: Application\na: &a [x, x]\n${Array.from({ length: 120 }, (_, i) => `k${i}: *a`).join("\n")}\n`,
      "root/missing.yaml": application("missing", "no/such/folder"),
      "root/set.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: envs\n",
      "root/out.yaml": application("out", "../elsewhere"),
    };
    const scope = walkScope(snapshot(files), { paths: ["root"], repoUrl: URL });
    expect(scope.complete).toBe(true);
    expect(scope.notes.join("\n")).toMatch(/root\/bad\.yaml does not parse/);
    expect(scope.notes.join("\n")).toMatch(/root\/bomb\.yaml does not parse/);
    expect(scope.notes.join("\n")).toMatch(/no\/such\/folder \(named by Application missing in root\/missing\.yaml\) does not exist/);
    expect(scope.notes.join("\n")).toMatch(/ApplicationSet envs \(root\/set\.yaml\)/);
    expect(scope.notes.join("\n")).toMatch(/Application out \(root\/out\.yaml\) has a path outside the repository/);
  });

  /** An ApplicationSet with one Git directory generator of `repoURL` and a template whose path is `templatePath`. */
  const applicationSet = (name: string, directories: readonly object[], opts: { goTemplate?: boolean; templatePath?: string; repoURL?: string; generator?: object } = {}): string =>
    YAML.stringify({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "ApplicationSet",
      metadata: { name, namespace: "argocd" },
      spec: {
        ...(opts.goTemplate === false ? {} : { goTemplate: true }),
        generators: [opts.generator ?? { git: { repoURL: opts.repoURL ?? URL, revision: "HEAD", directories } }],
        template: {
          metadata: { name: "app-{{.path.basename}}" },
          spec: { project: "default", source: { repoURL: URL, targetRevision: "HEAD", path: opts.templatePath ?? "{{.path.path}}" }, destination: { server: "https://kubernetes.default.svc", namespace: "x" } },
        },
      },
    });

  it("follows an ApplicationSet's Git directory generator: the folders its globs match, less the excluded ones", () => {
    const files = {
      "root/set.yaml": applicationSet("envs", [{ path: "envs/*" }, { path: "envs/skip", exclude: true }, { path: "teams/[a-b]?" }]),
      "envs/staging/db.sops.yaml": "kind: Secret\n",
      "envs/production/kustomization.yaml": "resources:\n  - ../../base\n",
      "base/db.sops.yaml": "kind: Secret\n",
      "envs/skip/db.sops.yaml": "kind: Secret\n",
      "teams/a1/db.sops.yaml": "kind: Secret\n",
      "teams/c1/db.sops.yaml": "kind: Secret\n",
      "teams/a12/db.sops.yaml": "kind: Secret\n",
    };
    const scope = walkScope(snapshot(files), { paths: ["root"], repoUrl: URL });
    expect(scope.complete).toBe(true);
    expect(scope.notes).toEqual([]);
    expect(scope.folders).toEqual(["base", "envs/production", "envs/staging", "root", "teams/a1"]);
    for (const f of ["envs/staging/db.sops.yaml", "base/db.sops.yaml", "teams/a1/db.sops.yaml"]) expect(scope.includes(f)).toBe(true);
    for (const f of ["envs/skip/db.sops.yaml", "teams/c1/db.sops.yaml", "teams/a12/db.sops.yaml"]) expect(scope.includes(f)).toBe(false);
    // The same with the older template syntax (no goTemplate: `{{path}}`).
    const plain = walkScope(snapshot({ ...files, "root/set.yaml": applicationSet("envs", [{ path: "envs/*" }], { goTemplate: false, templatePath: "{{ path }}" }) }), { paths: ["root"], repoUrl: URL });
    expect(plain.folders).toEqual(["base", "envs/production", "envs/skip", "envs/staging", "root"]);
  });

  it("an ApplicationSet it cannot follow exactly stays a note, its folders unjudged by it", () => {
    const cases = [
      applicationSet("sub", [{ path: "envs/*" }], { templatePath: "{{.path.path}}/overlays" }),
      applicationSet("other-repo", [{ path: "envs/*" }], { repoURL: "https://git.example.com/platform/other.git" }),
      applicationSet("list", [], { generator: { list: { elements: [{ path: "envs/staging" }] } } }),
      applicationSet("bad-glob", [{ path: "envs/[a-" }]),
    ];
    for (const set of cases) {
      const scope = walkScope(snapshot({ "root/set.yaml": set, "envs/staging/db.sops.yaml": "kind: Secret\n" }), { paths: ["root"], repoUrl: URL });
      expect(scope.notes).toEqual([expect.stringMatching(/^scope: ApplicationSet [a-z-]+ \(root\/set\.yaml\): the Applications it generates are not followed/)]);
      expect(scope.includes("envs/staging/db.sops.yaml")).toBe(false);
    }
  });

  it("gives up on ApplicationSet globs past the match budget and then judges every file", () => {
    const files: Record<string, string> = { "root/set.yaml": applicationSet("many", [{ path: "f*/x" }, { path: "g*" }]) };
    for (let i = 0; i < 50; i++) files[`f${i}/x/cm.yaml`] = "kind: ConfigMap\n";
    const limited = walkScope(snapshot(files), { paths: ["root"], repoUrl: URL }, { maxDepth: 32, maxFolders: 1000, maxManifests: 1000, maxManifestBytes: 2 ** 20, maxGlobMatches: 40 });
    expect(limited.complete).toBe(false);
    expect(limited.notes.join("\n")).toMatch(/stopped at more than 40 ApplicationSet directory matches/);
    expect(walkScope(snapshot(files), { paths: ["root"], repoUrl: URL }).folders).toHaveLength(51);
  });

  it("matches glob segments as Go's path.Match does", () => {
    const cases: [string, string, boolean | undefined][] = [
      ["*", "staging", true], ["*", "", true], ["st*g", "staging", true], ["*a*g", "staging", true], ["a*", "b", false],
      ["?", "a", true], ["?", "", false], ["[a-c]1", "b1", true], ["[a-c]1", "d1", false], ["[^a-c]1", "d1", true], ["[^a-c]1", "a1", false],
      ["\\*", "*", true], ["\\*", "a", false], ["[\\]]", "]", true],
      ["[", "a", undefined], ["[]a]", "]", undefined], ["[a-", "a", undefined], ["x\\", "x", undefined], ["[-a]", "-", undefined],
    ];
    for (const [glob, name, expected] of cases) expect([glob, name, segmentMatches(glob, name)]).toEqual([glob, name, expected]);
  });

  it("a root folder the repository lacks judges every file (a check that judged nothing must not pass)", () => {
    const files = { "elsewhere/db.sops.yaml": "kind: Secret\n", "other/app.yaml": application("x", "x") };
    const scope = walkScope(snapshot(files), { paths: ["clusters/prod"], repoUrl: URL });
    expect(scope.complete).toBe(false);
    expect(scope.includes("elsewhere/db.sops.yaml")).toBe(true);
    expect(scope.notes.join("\n")).toMatch(/clusters\/prod does not exist in the repository at this revision; every SOPS file of the repository is judged/);
    // One root that exists is enough to scope by.
    expect(walkScope(snapshot({ ...files, "clusters/prod/cm.yaml": "kind: ConfigMap\n" }), { paths: ["clusters/prod"], repoUrl: URL }).complete).toBe(true);
  });

  it("gives up past its bounds and then judges every file", () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`l${i}/app.yaml`] = application(`l${i}`, `l${i + 1}`);
    files["l40/app.yaml"] = "kind: ConfigMap\n";
    const deep = walkScope(snapshot(files), { paths: ["l0"], repoUrl: URL });
    expect(deep.complete).toBe(false);
    expect(deep.includes("anywhere/else.sops.yaml")).toBe(true);
    expect(deep.notes.join("\n")).toMatch(/stopped at more than 32 levels/);
    const wide = walkScope(snapshot(files), { paths: ["l0"], repoUrl: URL }, { maxDepth: 100, maxFolders: 10, maxManifests: 1000, maxManifestBytes: 2 ** 20 });
    expect(wide.complete).toBe(false);
    const bytes = walkScope(snapshot(files), { paths: ["l0"], repoUrl: URL }, { maxDepth: 100, maxFolders: 100, maxManifests: 1000, maxManifestBytes: 4096 });
    expect(bytes.complete).toBe(false);
    expect(bytes.notes.join("\n")).toMatch(/stopped at more than 4 KiB of manifests/);
    const full = walkScope(snapshot(files), { paths: ["l0"], repoUrl: URL }, { maxDepth: 100, maxFolders: 100, maxManifests: 1000, maxManifestBytes: 2 ** 20 });
    expect(full.complete).toBe(true);
    expect(full.folders).toHaveLength(41);
  });
});
