/**
 * What `render` shows for a Flux stack is what the cluster accepts: the rendered objects are
 * applied to the real API server, which validates the GitRepository and the Kustomization
 * against the real Flux CRDs (and rejects malformed ones), and the rendered Helm values are
 * installed with the real helm binary into the real flux2 chart (from the toolchain cache, as
 * the stack points at it) until the controllers are Available. The Flux variant of render-apply.test.ts.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CliIo, main } from "../../bootstrap/cli";
import { FLUX } from "../../components/defaults";
import { PROJECT_DIR, TestCluster, openCluster, scratchProject, tempDir } from "./harness";
import { toolchainEnv } from "./toolchain";

jest.setTimeout(10 * 60 * 1000);

const NS = FLUX.namespace;
let dir: string;
let cluster: TestCluster;
let out: string;
let project: string;
const files = (where = out) => fs.readdirSync(where).sort();
const read = (f: string, where = out) => YAML.parse(fs.readFileSync(path.join(where, f), "utf8"));
const fileOf = (kind: string, where = out) => files(where).find((f) => f.includes(`-${kind}-`))!;

async function render(stack: string, projectDir: string, outDir: string): Promise<void> {
  let stderr = "";
  const io: CliIo = { stdout: () => undefined, stderr: (s) => void (stderr += s), env: process.env, projectDir };
  const code = await main(["render", "--stack", stack, "--show-secrets", "--out", outDir], io);
  if (code !== 0) throw new Error(`render ${stack} failed:\n${stderr}`);
}

const get = (kind: string, name: string) => JSON.parse(cluster.kubectl(["get", kind, name, "-n", NS, "-o", "json"]));

beforeAll(async () => {
  dir = tempDir("flux-render-apply");
  cluster = await openCluster(dir);
  out = path.join(dir, "render");
  // A scratch copy: its test/e2e/charts/ holds the real charts, where the stack points.
  project = scratchProject(dir);
  await render("flux-sandbox", project, out);
});

afterAll(async () => {
  await cluster?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("the namespace and the age key Secret are accepted as rendered; the key is under a name Flux reads", () => {
  for (const kind of ["namespace", "secret"]) {
    for (const f of files().filter((x) => x.includes(`-${kind}-`))) cluster.kubectl(["apply", "--server-side", "-f", path.join(out, f)]);
  }
  const secret = get("secret", "sops-age");
  expect(Object.keys(secret.data)).toEqual(["age.agekey"]);
  expect(Object.keys(secret.data)[0]).toMatch(/\.agekey$/);
  expect(Buffer.from(secret.data["age.agekey"], "base64").toString()).toMatch(/^AGE-SECRET-KEY-1/);
  // A public https repository: no credentials Secret.
  expect(files().filter((f) => f.includes("-secret-"))).toEqual(["02-secret-sops-age.yaml"]);
});

test("the Helm values install with helm and the four controllers become Available", () => {
  const release = read(fileOf("helmrelease"));
  expect(release.values).toEqual({ installCRDs: true, crds: { annotations: { "helm.sh/resource-policy": "keep" } } });
  const valuesFile = path.join(dir, "values.yaml");
  fs.writeFileSync(valuesFile, YAML.stringify(release.values));
  execFileSync(
    "helm",
    ["install", release.helmRelease, path.resolve(project, release.chart), "--namespace", release.namespace, "--values", valuesFile, "--wait", "--timeout", "180s", "--kubeconfig", cluster.kubeconfig],
    { env: toolchainEnv(), encoding: "utf8" },
  );
  for (const name of FLUX.controllers) {
    expect(get("deployment", name).status.availableReplicas).toBe(1);
  }
});

test("the GitRepository and the root Kustomization pass the real Flux CRD schemas", () => {
  for (const kind of ["gitrepository", "kustomization"]) cluster.kubectl(["apply", "--server-side", "-f", path.join(out, fileOf(kind))]);
  const repo = get("gitrepositories.source.toolkit.fluxcd.io", "root");
  expect(repo.spec).toMatchObject({ url: "https://git.example.com/platform/gitops-bootstrap.git", interval: FLUX.interval, ref: { branch: "main" } });
  const ks = get("kustomizations.kustomize.toolkit.fluxcd.io", "root");
  expect(ks.spec).toMatchObject({
    prune: true,
    wait: true,
    path: "./examples/gitops-repo-flux/apps",
    sourceRef: { kind: "GitRepository", name: "root" },
    decryption: { provider: "sops", secretRef: { name: "sops-age" } },
  });
});

test("the real CRDs do reject malformed objects: an scp-style URL, an unknown decryption provider, a bad interval", () => {
  const repo = read(fileOf("gitrepository"));
  repo.metadata.name = "broken";
  repo.spec.url = "git@git.example.com:platform/gitops-bootstrap.git";
  expect(() => cluster.kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(repo))).toThrow(/spec\.url/);

  const ks = read(fileOf("kustomization"));
  ks.metadata.name = "broken";
  ks.spec.decryption.provider = "age";
  expect(() => cluster.kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(ks))).toThrow(/spec\.decryption\.provider/);
  ks.spec.decryption.provider = "sops";
  ks.spec.interval = "1 minute";
  expect(() => cluster.kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(ks))).toThrow(/spec\.interval/);
});

test("the example repository's child Kustomizations pass the real CRD schema", () => {
  const apps = path.join(PROJECT_DIR, "examples/gitops-repo-flux/apps");
  for (const f of ["hello.yaml", "demo-secret.yaml"]) cluster.kubectl(["apply", "--server-side", "-f", path.join(apps, f)]);
  expect(get("kustomizations.kustomize.toolkit.fluxcd.io", "demo-secret").spec.decryption).toEqual({ provider: "sops", secretRef: { name: "sops-age" } });
});

test("an scp-style SSH repository renders in the ssh:// form the real CRD accepts, with identity and known_hosts", async () => {
  const project = path.join(dir, "ssh-project");
  fs.mkdirSync(path.join(project, "stacks"), { recursive: true });
  fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
  fs.writeFileSync(
    path.join(project, "stacks/Pulumi.ssh.yaml"),
    YAML.stringify({
      config: {
        "gitops-bootstrap:environment": "ssh",
        "gitops-bootstrap:reconciler": "flux",
        "gitops-bootstrap:repo": {
          url: "git@git.example.com:platform/state.git",
          revision: "v1.2.3",
          path: "clusters/ssh",
          sshKnownHosts: "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
          // Encrypted in a real stack file; offline render shows a placeholder.
          credentials: { sshPrivateKey: { secure: "v1:AAAABBBBCCCC" } },
        },
        "gitops-bootstrap:ageKeyFile": path.join(PROJECT_DIR, "examples/gitops-repo/demo-age-key.txt"),
        "gitops-bootstrap:rootApp": { name: "ssh-root" },
      },
    }),
  );
  const sshOut = path.join(dir, "render-ssh");
  await render("ssh", project, sshOut);
  const secret = read(files(sshOut).find((f) => f.endsWith("-secret-gitops-bootstrap-repo.yaml"))!, sshOut);
  expect(Object.keys(secret.stringData).sort()).toEqual(["identity", "known_hosts"]);
  cluster.kubectl(["apply", "--server-side", "-f", path.join(sshOut, fileOf("gitrepository", sshOut))]);
  const repo = get("gitrepositories.source.toolkit.fluxcd.io", "ssh-root");
  expect(repo.spec).toMatchObject({ url: "ssh://git@git.example.com/platform/state.git", ref: { tag: "v1.2.3" }, secretRef: { name: "gitops-bootstrap-repo" } });
  expect(repo.metadata.annotations[FLUX.originalUrlAnnotation]).toBe("git@git.example.com:platform/state.git");
});
