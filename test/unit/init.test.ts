/**
 * `gitops-bootstrap init` in a temporary HOME, GitOps repository and project: the key file, the
 * .sops.yaml rule, the Argo CD KSOPS wiring, the stack file, the next steps (every command as it
 * can be pasted), and that `render` and `check --stack` then accept the stack, also after a Secret
 * is added as the steps say. Bad input leaves every file as it was. (e2e: init.test.ts follows
 * the steps with the real sops to a decrypted Secret in a cluster.)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import * as YAML from "yaml";
import { execFileSync } from "node:child_process";
import { parseCommandLine } from "../../bootstrap/cli";
import { type Plan, apply, plan } from "../../bootstrap/init/command";
import { writeSopsYaml } from "../../bootstrap/sops/writer";
import { cli, docs } from "./cli-harness";
import { steps } from "./init-steps";

interface World {
  readonly root: string;
  readonly home: string;
  readonly repo: string;
  readonly project: string;
  readonly keyFile: string;
}

let world: World;

beforeEach(() => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "init-"));
  const w = { root, home: path.join(root, "home"), repo: path.join(root, "state"), project: path.join(root, "project") };
  for (const dir of [w.home, w.repo, path.join(w.project, "stacks")]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(w.project, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
  world = { ...w, keyFile: path.join(w.home, ".config/sops/age/keys.txt") };
});
afterEach(() => fs.rmSync(world.root, { recursive: true, force: true }));

const URL = "https://git.example.com/platform/cluster-state.git";

function init(...extra: string[]) {
  return cli(["init", "--repo-url", URL, "--gitops-repo", world.repo, ...extra], world.project, { HOME: world.home });
}

/** Every file under the world, with its content and mode: to prove nothing changed. */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(world.root, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    out[file] = entry.isFile() ? `${(fs.statSync(file).mode & 0o777).toString(8)} ${fs.readFileSync(file, "utf8")}` : "dir";
  }
  return out;
}

const identities = (text: string) => text.split("\n").filter((l) => l.startsWith("AGE-SECRET-KEY-"));
const publicKey = (stderr: string) => /public key (age1[0-9a-z]+)/.exec(stderr)![1];

describe("init from nothing", () => {
  test("makes a key file 0600, a .sops.yaml rule and a stack that render and check accept", async () => {
    const r = await init("--stack", "dev");
    expect(r.code).toBe(0);
    const recipient = publicKey(r.stderr);

    const keyText = fs.readFileSync(world.keyFile, "utf8");
    expect(fs.statSync(world.keyFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(world.keyFile)).mode & 0o777).toBe(0o700);
    expect(identities(keyText)).toHaveLength(1);
    expect(keyText).toContain(`# public key: ${recipient}\nAGE-SECRET-KEY-1`);
    // The private key is never printed.
    expect(r.stdout + r.stderr).not.toContain(identities(keyText)[0]);
    expect(r.stdout + r.stderr).not.toMatch(/AGE-SECRET-KEY/);

    expect(YAML.parse(fs.readFileSync(path.join(world.repo, ".sops.yaml"), "utf8"))).toEqual({
      creation_rules: [{ path_regex: "clusters/dev/.*\\.ya?ml$", encrypted_regex: "^(data|stringData)$", age: recipient }],
    });
    expect(YAML.parse(fs.readFileSync(path.join(world.project, "stacks/Pulumi.dev.yaml"), "utf8")).config).toEqual({
      "gitops-bootstrap:environment": "dev",
      "gitops-bootstrap:reconciler": "argocd",
      "gitops-bootstrap:repo": { url: URL, revision: "HEAD", path: "clusters/dev" },
      "gitops-bootstrap:ageKeyFile": "~/.config/sops/age/keys.txt",
      "gitops-bootstrap:ageRecipient": recipient,
    });
    expect(r.stdout).toContain("Next steps:");
    expect(r.stdout).toContain(`npx gitops-bootstrap check --stack dev --repo ${world.repo}`);
    expect(r.stdout).toContain(`pulumi config set --stack dev --secret gitops-bootstrap:ageKey`);
    expect(r.stdout).toContain("pulumi stack init dev && pulumi up");

    const rendered = await cli(["render", "--stack", "dev", "--show-secrets"], world.project, { HOME: world.home });
    expect(rendered.code).toBe(0);
    const ageSecret = docs(rendered.stdout).find((d) => d.metadata?.name === "sops-age");
    expect(ageSecret.stringData["age.agekey"]).toBe(`${identities(keyText)[0]}\n`);

    // A Secret encrypted to the new recipient (as the .sops.yaml rule says) checks out with the stack's key.
    fs.mkdirSync(path.join(world.repo, "clusters/dev"), { recursive: true });
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "apps" }, stringData: { password: "from-init-test" } };
    fs.writeFileSync(path.join(world.repo, "clusters/dev/db.yaml"), await writeSopsYaml([secret], { recipients: [recipient], encryptedRegex: "^(data|stringData)$" }));
    const checked = await cli(["check", "--stack", "dev", "--repo", world.repo], world.project, { HOME: world.home });
    expect(checked.stdout).toContain("✔ clusters/dev/db.yaml  ok");
    expect(checked.code).toBe(0);
    // init, then render (the first to load Pulumi in this worker) and check: more than jest's 5 s on a busy machine.
  }, 30_000);

  test("--post-quantum makes a hybrid identity; --reconciler flux and --repo-path are written", async () => {
    const r = await init("--stack", "edge", "--post-quantum", "--reconciler", "flux", "--repo-path", "envs/edge/", "--revision", "main");
    expect(r.code).toBe(0);
    expect(publicKey(r.stderr)).toMatch(/^age1pq1/);
    expect(identities(fs.readFileSync(world.keyFile, "utf8"))[0]).toMatch(/^AGE-SECRET-KEY-PQ-1/);
    const config = YAML.parse(fs.readFileSync(path.join(world.project, "stacks/Pulumi.edge.yaml"), "utf8")).config;
    expect(config["gitops-bootstrap:reconciler"]).toBe("flux");
    expect(config["gitops-bootstrap:repo"]).toEqual({ url: URL, revision: "main", path: "envs/edge" });
    expect((await cli(["render", "--stack", "edge"], world.project, { HOME: world.home })).code).toBe(0);
  });
});

describe("init next to what exists", () => {
  test("a second environment appends its identity and its rule; each stack keeps only its own key", async () => {
    const dev = await init("--stack", "dev");
    const before = fs.readFileSync(world.keyFile, "utf8");
    const prod = await init("--stack", "prod");
    expect(prod.code).toBe(0);
    const after = fs.readFileSync(world.keyFile, "utf8");
    expect(after.startsWith(before)).toBe(true);
    expect(identities(after)).toHaveLength(2);
    const rules = YAML.parse(fs.readFileSync(path.join(world.repo, ".sops.yaml"), "utf8")).creation_rules;
    expect(rules.map((r: { path_regex: string; age: string }) => [r.path_regex, r.age])).toEqual([
      ["clusters/dev/.*\\.ya?ml$", publicKey(dev.stderr)],
      ["clusters/prod/.*\\.ya?ml$", publicKey(prod.stderr)],
    ]);
    for (const [stack, out] of [["dev", dev], ["prod", prod]] as const) {
      const rendered = await cli(["render", "--stack", stack, "--show-secrets"], world.project, { HOME: world.home });
      const keyInCluster = docs(rendered.stdout).find((d) => d.metadata?.name === "sops-age").stringData["age.agekey"];
      expect(identities(keyInCluster)).toHaveLength(1);
      expect(rendered.stderr).toContain(`"ageRecipients":["${publicKey(out.stderr)}"]`);
    }
  });

  test("an existing .sops.yaml keeps its comments and rules; the new rule goes before a catch-all", async () => {
    const existing = "# team rules\ncreation_rules:\n  # shared secrets\n  - path_regex: shared/.*\\.yaml$\n    age: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqs3290gq\n  - path_regex: .*\n    age: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqs3290gq\n";
    fs.writeFileSync(path.join(world.repo, ".sops.yaml"), existing);
    const r = await init("--stack", "dev");
    expect(r.code).toBe(0);
    const text = fs.readFileSync(path.join(world.repo, ".sops.yaml"), "utf8");
    expect(text).toContain("# team rules");
    expect(text).toContain("# shared secrets");
    expect(YAML.parse(text).creation_rules.map((r: { path_regex: string }) => r.path_regex)).toEqual(["shared/.*\\.yaml$", "clusters/dev/.*\\.ya?ml$", ".*"]);
    expect(r.stderr).toContain(`✔ added a rule to ${world.repo}/.sops.yaml`);
  });

  test("a rule for the same folder gets the new recipient added", async () => {
    fs.writeFileSync(path.join(world.repo, ".sops.yaml"), "creation_rules:\n  - path_regex: clusters/dev/.*\\.ya?ml$\n    age: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqs3290gq\n");
    const r = await init("--stack", "dev");
    expect(r.code).toBe(0);
    expect(YAML.parse(fs.readFileSync(path.join(world.repo, ".sops.yaml"), "utf8")).creation_rules).toEqual([
      { path_regex: "clusters/dev/.*\\.ya?ml$", age: `age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqs3290gq,${publicKey(r.stderr)}` },
    ]);
  });

  test("a key file readable by others is tightened to 0600, and says so", async () => {
    fs.mkdirSync(path.dirname(world.keyFile), { recursive: true });
    fs.writeFileSync(world.keyFile, "# an older key\n", { mode: 0o644 });
    fs.chmodSync(world.keyFile, 0o644);
    const r = await init("--stack", "dev");
    expect(r.code).toBe(0);
    expect(fs.statSync(world.keyFile).mode & 0o777).toBe(0o600);
    expect(r.stderr).toContain(`! ${world.keyFile} was readable by others (mode 644); it is now 0600, before the new identity was added`);
    const keyText = fs.readFileSync(world.keyFile, "utf8");
    expect(keyText.startsWith("# an older key\n# gitops-bootstrap stack dev\n")).toBe(true);
    const [identity] = identities(keyText);
    expect(identity).toMatch(/^AGE-SECRET-KEY-1/);
    expect(r.stdout + r.stderr).not.toContain(identity);
  });

  test("a key file readable by others that belongs to another user is refused, untouched: it could not be made 0600 first", async () => {
    fs.mkdirSync(path.dirname(world.keyFile), { recursive: true });
    fs.writeFileSync(world.keyFile, "# someone else's key\n", { mode: 0o644 });
    fs.chmodSync(world.keyFile, 0o644);
    // As root the file is given to another user; otherwise this process is taken for another user.
    if (process.getuid!() === 0) fs.chownSync(world.keyFile, 54321, 54321);
    else jest.spyOn(process, "getuid").mockReturnValue(process.getuid!() + 1);
    const before = snapshot();
    const r = await init("--stack", "dev");
    jest.restoreAllMocks();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--key-file ${world.keyFile} is readable by others (mode 644) and belongs to another user: init cannot make it 0600 before adding a private key to it`);
    expect(snapshot()).toEqual(before);
    expect(r.stdout + r.stderr).not.toContain("AGE-SECRET-KEY-");
  });
});

describe("bad input is a usage error and writes nothing", () => {
  test.each([
    ["an existing stack", ["--stack", "dev"], () => fs.writeFileSync(path.join(world.project, "stacks/Pulumi.dev.yaml"), "config: {}\n"), /stacks\/Pulumi\.dev\.yaml already exists; init never overwrites a stack/],
    ["a bad URL", ["--stack", "dev", "--repo-url", "http://git.example.com/a.git"], () => undefined, /--repo-url uses plain http/],
    ["a stack name that is not an environment", ["--stack", "Prod_EU"], () => undefined, /--stack "Prod_EU": the stack name is also the environment/],
    ["a repo path outside the repository", ["--stack", "dev", "--repo-path", "../x"], () => undefined, /--repo-path must be a folder inside the repository/],
    ["Flux on the default branch (HEAD)", ["--stack", "dev", "--reconciler", "flux"], () => undefined, /--revision: with --reconciler flux, name the branch \(or tag, or commit\) to deploy, e\.g\. --revision main/],
    ["a .sops.yaml that does not parse", ["--stack", "dev"], () => fs.writeFileSync(path.join(world.repo, ".sops.yaml"), "creation_rules: [\n"), /cannot update .*\.sops\.yaml: it is not valid YAML \(line \d\); fix it/],
    ["a .sops.yaml whose rules are not a list", ["--stack", "dev"], () => fs.writeFileSync(path.join(world.repo, ".sops.yaml"), "creation_rules: yes\n"), /cannot update .*\.sops\.yaml: creation_rules is not a list/],
    ["a GitOps repository that does not exist", ["--stack", "dev", "--gitops-repo", "/nonexistent/state"], () => undefined, /--gitops-repo \/nonexistent\/state is not a directory/],
    ["the tool's own checkout as the GitOps repository", ["--stack", "dev", "--gitops-repo", "<project>"], () => undefined, /--gitops-repo .*project is gitops-bootstrap's own checkout, not your GitOps repository/],
    ["a folder inside the tool's own checkout", ["--stack", "dev", "--gitops-repo", "<project>/stacks"], () => undefined, /--gitops-repo .*project\/stacks is gitops-bootstrap's own checkout/],
    ["a key file that cannot be created", ["--stack", "dev", "--key-file", "~/blocker/keys.txt"], () => fs.writeFileSync(path.join(world.home, "blocker"), "a file"), /--key-file .*\/blocker\/keys\.txt cannot be created: .*\/blocker is not a directory/],
    ["a .sops.yaml that is a symbolic link", ["--stack", "dev"], () => fs.symlinkSync(path.join(world.root, "elsewhere.yaml"), path.join(world.repo, ".sops.yaml")), /\.sops\.yaml is a symbolic link; init replaces \.sops\.yaml as a regular file/],
    ["a key file that is a directory", ["--stack", "dev", "--key-file", "~/keys"], () => fs.mkdirSync(path.join(world.home, "keys")), /--key-file .*\/keys is not a regular file/],
  ] as [string, string[], () => void, RegExp][])("%s", async (_what, argv, prepare, message) => {
    prepare();
    const before = snapshot();
    const r = await init(...argv.map((a) => a.replace("<project>", world.project)));
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(snapshot()).toEqual(before);
  });

  test("--gitops-repo is required: init never guesses where .sops.yaml goes", async () => {
    const before = snapshot();
    const r = await cli(["init", "--stack", "dev", "--repo-url", URL], world.project, { HOME: world.home });
    expect(r).toMatchObject({ code: 2, stderr: expect.stringContaining("required option '--gitops-repo <dir>' not specified") });
    expect(snapshot()).toEqual(before);
  });

  test("every problem at once", async () => {
    const r = await init("--stack", "Prod_EU", "--repo-url", "git@github.com/org/repo.git", "--gitops-repo", "/nonexistent");
    expect(r.code).toBe(2);
    expect(r.stderr.match(/  ✗ /g)).toHaveLength(3);
  });

  test("a write that fails undoes the earlier ones (key file and .sops.yaml as they were)", async () => {
    fs.mkdirSync(path.dirname(world.keyFile), { recursive: true });
    fs.writeFileSync(world.keyFile, "# older key\n", { mode: 0o600 });
    fs.writeFileSync(path.join(world.repo, ".sops.yaml"), "creation_rules: []\n");
    const before = snapshot();
    const opts = { stack: "dev", repoUrl: URL, revision: "HEAD", reconciler: "argocd" as const, gitopsRepo: world.repo, keyFile: world.keyFile, postQuantum: false };
    const io = { stdout: () => undefined, stderr: () => undefined, env: { HOME: world.home }, projectDir: world.project };
    const identity = await age.generateX25519Identity();
    const p: Plan = await plan(opts, io, identity, await age.identityToRecipient(identity));
    // The stack's folder disappears between the checks and the writes: the last write fails.
    fs.rmSync(path.join(world.project, "stacks"), { recursive: true });
    expect(() => apply({ ...p }, () => undefined)).toThrow(/init: writing failed \(ENOENT\); nothing was kept/);
    const after = snapshot();
    fs.mkdirSync(path.join(world.project, "stacks"));
    expect(after).toEqual(Object.fromEntries(Object.entries(before).filter(([f]) => !f.startsWith(path.join(world.project, "stacks")))));
  });
});

/** Every file under a folder (relative, sorted), and the folders that are empty. */
function tree(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() || (e.isDirectory() && fs.readdirSync(path.join(e.parentPath, e.name)).length === 0))
    .map((e) => `${path.relative(dir, path.join(e.parentPath, e.name))}${e.isDirectory() ? "/" : ""}`)
    .sort();
}

const readYaml = (file: string) => YAML.parse(fs.readFileSync(path.join(world.repo, file), "utf8"));


const stepAbout = (stdout: string, text: RegExp) => steps(stdout).find((s) => text.test(s.text))!;

/** The steps' Secret: written, encrypted to the stack's recipient as `sops encrypt` does under the rule. */
async function writeEncryptedSecret(file: string, recipient: string, value: string): Promise<void> {
  const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "app-credentials", namespace: "apps" }, stringData: { password: value } };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await writeSopsYaml([secret], { recipients: [recipient], encryptedRegex: "^(data|stringData)$" }));
}

describe("the Secrets of an Argo CD stack reach the cluster through KSOPS", () => {
  test("init writes a child Application, a kustomization and a KSOPS generator for the environment's Secrets", async () => {
    const r = await init("--stack", "lab", "--revision", "main");
    expect(r.code).toBe(0);
    expect(tree(world.repo)).toEqual([".sops.yaml", "clusters/lab/secrets.yaml", "clusters/lab/secrets/kustomization.yaml", "clusters/lab/secrets/secret-generator.yaml"]);
    expect(readYaml("clusters/lab/secrets.yaml")).toEqual({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Application",
      metadata: { name: "lab-secrets", namespace: "argocd", finalizers: ["resources-finalizer.argocd.argoproj.io"] },
      spec: {
        project: "default",
        source: { repoURL: URL, targetRevision: "main", path: "clusters/lab/secrets" },
        destination: { server: "https://kubernetes.default.svc" },
        syncPolicy: { automated: { prune: true, selfHeal: true } },
      },
    });
    expect(readYaml("clusters/lab/secrets/kustomization.yaml")).toEqual({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", generators: ["secret-generator.yaml"] });
    // KSOPS refuses a generator without the files key; an empty list generates nothing.
    expect(readYaml("clusters/lab/secrets/secret-generator.yaml")).toEqual({
      apiVersion: "viaduct.ai/v1",
      kind: "ksops",
      metadata: { name: "lab-secrets", annotations: { "config.kubernetes.io/function": "exec:\n  path: ksops\n" } },
      files: [],
    });
    expect(r.stderr).toContain(`✔ wrote the KSOPS wiring for Argo CD in ${world.repo}: clusters/lab/secrets.yaml, clusters/lab/secrets/kustomization.yaml, clusters/lab/secrets/secret-generator.yaml`);
    expect(r.stdout).toContain("Until clusters/lab/secrets/secret-generator.yaml lists a file, lab-secrets syncs nothing (and is healthy).");
  });

  test("the Application follows the stack: its repository, revision, --repo-path, and Argo CD's namespace", async () => {
    fs.mkdirSync(path.join(world.repo, "envs/edge"), { recursive: true });
    fs.writeFileSync(path.join(world.repo, "envs/edge/app.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n");
    const r = await init("--stack", "edge", "--repo-path", "envs/edge", "--repo-url", "git@github.com:org/state.git");
    expect(r.code).toBe(0);
    expect(readYaml("envs/edge/secrets.yaml").spec.source).toEqual({ repoURL: "git@github.com:org/state.git", targetRevision: "HEAD", path: "envs/edge/secrets" });
    expect(tree(path.join(world.repo, "envs/edge"))).toEqual(["app.yaml", "secrets.yaml", "secrets/kustomization.yaml", "secrets/secret-generator.yaml"]);
  });

  test("following the steps (write, encrypt, list in the generator) gives a repository check --stack passes, before and after", async () => {
    const r = await init("--stack", "lab");
    const recipient = publicKey(r.stderr);
    const check = () => cli(["check", "--stack", "lab", "--repo", world.repo], world.project, { HOME: world.home });

    // Before any Secret: none of init's files is a SOPS file, and nothing fails.
    const before = await check();
    expect(before.stdout + before.stderr).not.toMatch(/clusters\/lab\/secrets/);
    expect(before.code).toBe(0);

    // Step 1 names the file, step 2 encrypts it there, step 3 lists it in the generator.
    const where = stepAbout(r.stdout, /^Write a Secret/).commands[0].split(/\s+/)[0];
    expect(where).toBe(path.join(world.repo, "clusters/lab/secrets/my-secret.yaml"));
    expect(stepAbout(r.stdout, /^Encrypt it/).commands).toEqual([`(cd ${world.repo} && sops encrypt --in-place clusters/lab/secrets/my-secret.yaml)`]);
    await writeEncryptedSecret(where, recipient, "from-the-steps");
    const list = stepAbout(r.stdout, /^List it under files in clusters\/lab\/secrets\/secret-generator\.yaml/);
    const generatorFile = path.join(world.repo, "clusters/lab/secrets/secret-generator.yaml");
    const generator = YAML.parseDocument(fs.readFileSync(generatorFile, "utf8"));
    generator.set("files", YAML.parse(list.commands.join("\n")).files);
    fs.writeFileSync(generatorFile, generator.toString());
    // What KSOPS reads: each listed file, relative to the generator's folder, is the encrypted Secret.
    for (const f of YAML.parse(fs.readFileSync(generatorFile, "utf8")).files) expect(path.join(path.dirname(generatorFile), f)).toBe(where);

    const after = await check();
    expect(after.stdout).toContain("✔ clusters/lab/secrets/my-secret.yaml  ok");
    expect(after.stdout).not.toMatch(/secrets\.yaml |kustomization\.yaml|secret-generator\.yaml/);
    expect(after.code).toBe(0);
  });

  test("an environment folder built by kustomize: the steps say to list secrets.yaml in it", async () => {
    fs.mkdirSync(path.join(world.repo, "clusters/lab"), { recursive: true });
    fs.writeFileSync(path.join(world.repo, "clusters/lab/kustomization.yaml"), "resources: [app.yaml]\n");
    const r = await init("--stack", "lab");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("! clusters/lab/kustomization.yaml exists: Argo CD applies only what it lists");
    expect(r.stdout).toContain("Argo CD builds clusters/lab with kustomize (clusters/lab/kustomization.yaml): list secrets.yaml under its resources.");
    expect(fs.readFileSync(path.join(world.repo, "clusters/lab/kustomization.yaml"), "utf8")).toBe("resources: [app.yaml]\n");
  });
});

describe("the KSOPS wiring never replaces what is there", () => {
  test("all three files there (an earlier init): kept as they are, and said so", async () => {
    const files = { "clusters/lab/secrets.yaml": "# mine\n", "clusters/lab/secrets/kustomization.yaml": "# mine too\n", "clusters/lab/secrets/secret-generator.yaml": "# and this\n" };
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(world.repo, f)), { recursive: true });
      fs.writeFileSync(path.join(world.repo, f), text);
    }
    const r = await init("--stack", "lab");
    expect(r.code).toBe(0);
    for (const [f, text] of Object.entries(files)) expect(fs.readFileSync(path.join(world.repo, f), "utf8")).toBe(text);
    expect(r.stderr).toContain(`✔ left as they are (already there): ${Object.keys(files).join(", ")} in ${world.repo}`);
    expect(r.stderr).not.toContain("wrote the KSOPS wiring");
  });

  test.each([
    ["an Application of the user's own named secrets.yaml", { "clusters/lab/secrets.yaml": "kind: Application\n" }, /already has clusters\/lab\/secrets\.yaml but not clusters\/lab\/secrets\/kustomization\.yaml, clusters\/lab\/secrets\/secret-generator\.yaml: init writes these together/],
    ["a secrets/ folder of the user's own", { "clusters/lab/secrets/db.yaml": "kind: Secret\n" }, /already has clusters\/lab\/secrets\/ but not .*; move clusters\/lab\/secrets\/ away, or choose another --repo-path/],
    ["a folder where the generator goes", { "clusters/lab/secrets/secret-generator.yaml/x": "" }, /--gitops-repo has clusters\/lab\/secrets\/secret-generator\.yaml, where init writes a file/],
    ["a file where the environment's folder goes", { "clusters/lab": "not a folder" }, /cannot create clusters\/lab\/secrets in --gitops-repo: clusters\/lab is not a folder/],
  ] as [string, Record<string, string>, RegExp][])("%s: refused, nothing written", async (_what, files, message) => {
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(world.repo, f)), { recursive: true });
      fs.writeFileSync(path.join(world.repo, f), text);
    }
    const before = snapshot();
    const r = await init("--stack", "lab");
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(snapshot()).toEqual(before);
  });

  test("the wiring's folder appears between the checks and the writes: every write undone, theirs kept, the folder named", async () => {
    fs.mkdirSync(path.dirname(world.keyFile), { recursive: true });
    fs.writeFileSync(world.keyFile, "# older key\n", { mode: 0o600 });
    fs.mkdirSync(path.join(world.repo, "clusters/lab"), { recursive: true });
    fs.writeFileSync(path.join(world.repo, "clusters/lab/app.yaml"), "kind: Application\n");
    const before = snapshot();
    const opts = { stack: "lab", repoUrl: URL, revision: "HEAD", reconciler: "argocd" as const, gitopsRepo: world.repo, keyFile: world.keyFile, postQuantum: false };
    const io = { stdout: () => undefined, stderr: () => undefined, env: { HOME: world.home }, projectDir: world.project };
    const identity = await age.generateX25519Identity();
    const p: Plan = await plan(opts, io, identity, await age.identityToRecipient(identity));
    expect(p.repoDirs).toEqual([path.join(world.repo, "clusters/lab/secrets")]);
    // Someone else's generator lands where init is about to write: init's own writes go, theirs stays.
    const theirs = path.join(world.repo, "clusters/lab/secrets/secret-generator.yaml");
    fs.mkdirSync(path.dirname(theirs));
    fs.writeFileSync(theirs, "# theirs\n");
    expect(() => apply(p, () => undefined)).toThrow(`init: ${path.dirname(theirs)} appeared while init ran; nothing was kept`);
    expect(fs.readFileSync(theirs, "utf8")).toBe("# theirs\n");
    fs.rmSync(path.dirname(theirs), { recursive: true });
    expect(snapshot()).toEqual(before);
  });

  test("a file init writes twice (the second exclusive write fails): the folders and files it made are gone", async () => {
    fs.mkdirSync(path.dirname(world.keyFile), { recursive: true });
    const before = snapshot();
    const opts = { stack: "lab", repoUrl: URL, revision: "HEAD", reconciler: "argocd" as const, gitopsRepo: world.repo, keyFile: world.keyFile, postQuantum: false };
    const io = { stdout: () => undefined, stderr: () => undefined, env: { HOME: world.home }, projectDir: world.project };
    const identity = await age.generateX25519Identity();
    const p: Plan = await plan(opts, io, identity, await age.identityToRecipient(identity));
    const again = { ...p, repoFiles: [...p.repoFiles, p.repoFiles[2]] };
    expect(() => apply(again, () => undefined)).toThrow(`init: ${path.join(world.repo, "clusters/lab/secrets/secret-generator.yaml")} appeared while init ran; nothing was kept`);
    expect(snapshot()).toEqual(before);
  });
});

describe("Flux decrypts what is under its path: init writes nothing else", () => {
  test("no wiring; the environment's folder is made for the Secret; the steps put it there and check passes", async () => {
    const r = await init("--stack", "edge", "--reconciler", "flux", "--revision", "main");
    expect(r.code).toBe(0);
    expect(tree(world.repo)).toEqual([".sops.yaml", "clusters/edge/"]);
    expect(r.stdout).not.toMatch(/KSOPS|generator/);
    expect(r.stdout).toContain("Flux decrypts every SOPS-encrypted Secret under clusters/edge/ when it applies it");
    expect(r.stdout).toContain("until clusters/edge/ has a file in Git, Flux's root Kustomization fails (path not found)");
    const where = stepAbout(r.stdout, /^Write a Secret/).commands[0].split(/\s+/)[0];
    expect(where).toBe(path.join(world.repo, "clusters/edge/my-secret.yaml"));
    expect(stepAbout(r.stdout, /^Encrypt it/).commands).toEqual([`(cd ${world.repo} && sops encrypt --in-place clusters/edge/my-secret.yaml)`]);
    await writeEncryptedSecret(where, publicKey(r.stderr), "from-the-flux-steps");
    // The stack deploys main, so check reads main: committed as the step says, in a Git checkout.
    const gitEnv = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t.invalid", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t.invalid" };
    execFileSync("git", ["init", "--quiet", "--initial-branch=main", world.repo], { env: gitEnv });
    execFileSync("bash", ["-c", stepAbout(r.stdout, /^Commit them/).commands[0]], { env: gitEnv, stdio: "pipe" });
    const checked = await cli(["check", "--stack", "edge", "--repo", world.repo], world.project, { HOME: world.home });
    expect(checked.stdout).toContain("✔ clusters/edge/my-secret.yaml  ok");
    expect(checked.code).toBe(0);
  });

  test("a folder with its own kustomization.yaml: the steps say to list the Secret in it", async () => {
    fs.mkdirSync(path.join(world.repo, "clusters/edge"), { recursive: true });
    fs.writeFileSync(path.join(world.repo, "clusters/edge/kustomization.yaml"), "resources: []\n");
    const r = await init("--stack", "edge", "--reconciler", "flux", "--revision", "main");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Flux builds clusters/edge with your clusters/edge/kustomization.yaml: list my-secret.yaml under its resources");
  });

  test("a write that fails undoes the folder init made for the environment", async () => {
    fs.mkdirSync(path.dirname(world.keyFile), { recursive: true });
    const before = snapshot();
    const opts = { stack: "edge", repoUrl: URL, revision: "main", reconciler: "flux" as const, gitopsRepo: world.repo, keyFile: world.keyFile, postQuantum: false };
    const io = { stdout: () => undefined, stderr: () => undefined, env: { HOME: world.home }, projectDir: world.project };
    const identity = await age.generateX25519Identity();
    const p: Plan = await plan(opts, io, identity, await age.identityToRecipient(identity));
    expect(p.repoFiles).toEqual([]);
    fs.rmSync(path.join(world.project, "stacks"), { recursive: true });
    expect(() => apply(p, () => undefined)).toThrow(/nothing was kept/);
    fs.mkdirSync(path.join(world.project, "stacks"));
    expect(snapshot()).toEqual(before);
  });
});

describe("the next steps, as they can be pasted", () => {
  test.each(["argocd", "flux"])("%s: every gitops-bootstrap line parses, every command is valid shell, in order", async (reconciler) => {
    const r = await init("--stack", "lab", "--reconciler", reconciler, "--revision", "main");
    const all = steps(r.stdout);
    expect(all.map((s) => s.text.replace(/[ :(,].*$/, ""))).toEqual(
      reconciler === "argocd" ? ["Go", "Write", "Encrypt", "List", "Commit", "Prove", "Push"] : ["Go", "Write", "Encrypt", "Commit", "Prove", "Push"],
    );
    // The tests run elsewhere than the project: the first step goes there, so relative paths hold.
    expect(all[0].commands).toEqual([`cd ${world.project}`]);
    // Every command line, in the steps and in the notes after them (the YAML for the generator and the Secret's path aside).
    const commands = r.stdout.split("\n").filter((l) => l.startsWith("       ")).map((l) => l.trim()).filter((c) => !/^(files:|- \.\/)/.test(c) && !c.startsWith(world.repo));
    expect(commands).toEqual([
      `cd ${world.project}`,
      `(cd ${world.repo} && sops encrypt --in-place clusters/lab/${reconciler === "argocd" ? "secrets/" : ""}my-secret.yaml)`,
      `(cd ${world.repo} && git add .sops.yaml clusters/lab && git commit -m 'lab: SOPS rule and Secrets')`,
      `npx gitops-bootstrap check --stack lab --repo ${world.repo}`,
      "npx gitops-bootstrap render --stack lab",
      `(cd ${world.repo} && git push)`,
      "pulumi stack init lab && pulumi up",
      expect.stringMatching(/^grep -A1 '\^# public key: age1[0-9a-z]+\$' ~\/\.config\/sops\/age\/keys\.txt \| tail -n 1 \| pulumi config set --stack lab --secret gitops-bootstrap:ageKey$/),
    ]);
    for (const c of commands) execFileSync("bash", ["-n", "-c", c]);
    for (const c of commands.filter((l) => l.startsWith("npx gitops-bootstrap "))) expect(await parseCommandLine(c.split(" ").slice(2))).toBeUndefined();
    expect(r.stdout).toContain("and commit stacks/Pulumi.lab.yaml here");
  });

  test("run from the project: no cd step; the stack file named as it is there", async () => {
    const repo = path.join(world.project, "..", "state");
    const cwd = jest.spyOn(process, "cwd").mockReturnValue(world.project);
    try {
      const r = await init("--stack", "lab");
      expect(steps(r.stdout)[0].text).toMatch(/^Write a Secret/);
      expect(r.stdout).toContain(`npx gitops-bootstrap check --stack lab --repo ${path.resolve(repo)}`);
      expect(r.stderr).toContain("✔ wrote stacks/Pulumi.lab.yaml");
    } finally {
      cwd.mockRestore();
    }
  });

  test("a path with a space is quoted", async () => {
    const spaced = path.join(world.root, "cluster state");
    fs.mkdirSync(spaced);
    const r = await init("--stack", "lab", "--gitops-repo", spaced);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`(cd '${spaced}' && sops encrypt --in-place clusters/lab/secrets/my-secret.yaml)`);
    expect(r.stdout).toContain(`npx gitops-bootstrap check --stack lab --repo '${spaced}'`);
  });
});
