/** `render` on the Flux stacks, every committed stack rendering, and bad Flux input through the CLI. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { cli, demoIdentity, docs, homeWithStackKeys, projectDir } from "./cli-harness";
import { FLUX } from "../../components/defaults";


describe("render --stack flux-demo", () => {
  test("prints the Flux resources in creation order, secrets redacted", async () => {
    const { code, stdout, stderr } = await cli(["render", "--stack", "flux-demo"]);
    expect(code).toBe(0);
    const all = docs(stdout);
    expect(all.map((d) => d.kind ?? "HelmRelease")).toEqual(["Namespace", "Secret", "HelmRelease", "GitRepository", "Kustomization"]);
    expect(all.find((d) => d.metadata?.name === "sops-age")).toMatchObject({ metadata: { namespace: "flux-system" }, stringData: { "age.agekey": "<redacted>" } });
    expect(all.find((d) => d.helmRelease)).toMatchObject({
      chart: "flux2",
      repository: "https://fluxcd-community.github.io/helm-charts",
      version: FLUX.chartVersion,
      values: { installCRDs: true, crds: { annotations: { "helm.sh/resource-policy": "keep" } } },
    });
    const ks = all.find((d) => d.kind === "Kustomization");
    expect(ks.spec).toMatchObject({ path: "./examples/gitops-repo-flux/apps", prune: true, wait: true, decryption: { provider: "sops", secretRef: { name: "sops-age" } } });
    expect(stderr).toMatch(/✔ stack flux-demo: 5 resources, secrets redacted/);
    expect(stderr).toMatch(/"reconcilerNamespace":"flux-system"/);
    expect(stderr).toMatch(/"rootKustomization":"root"/);
    expect(stdout + stderr).not.toContain(demoIdentity);
  });

  test("the root path exists in the example repository and its kustomization lists the child Kustomizations", () => {
    const ks = YAML.parse(fs.readFileSync(path.join(projectDir, "examples/gitops-repo-flux/apps/kustomization.yaml"), "utf8"));
    for (const file of ks.resources as string[]) {
      const child = YAML.parse(fs.readFileSync(path.join(projectDir, "examples/gitops-repo-flux/apps", file), "utf8"));
      expect(child).toMatchObject({ apiVersion: FLUX.kustomizationApiVersion, kind: "Kustomization", spec: { sourceRef: { kind: "GitRepository", name: "root" } } });
      expect(fs.existsSync(path.join(projectDir, child.spec.path))).toBe(true);
    }
  });

  test("the example's SOPS file is the Argo CD example's, byte for byte (encrypted to the demo key)", () => {
    const file = "workloads/demo-secret/demo-credentials.sops.yaml";
    expect(fs.readFileSync(path.join(projectDir, "examples/gitops-repo-flux", file))).toEqual(fs.readFileSync(path.join(projectDir, "examples/gitops-repo", file)));
  });

  test("--out writes one file per resource", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-flux-"));
    const { code } = await cli(["render", "--stack", "flux-demo", "--out", out]);
    expect(code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual([
      ".gitops-bootstrap-render.json",
      "01-namespace-flux-system.yaml",
      "02-secret-sops-age.yaml",
      "03-helmrelease-flux.yaml",
      "04-gitrepository-root.yaml",
      "05-kustomization-root.yaml",
    ]);
    fs.rmSync(out, { recursive: true });
  });
});

describe("every committed stack renders", () => {
  let home: string;
  const stacks = fs
    .readdirSync(path.join(projectDir, "stacks"))
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);

  beforeAll(async () => {
    home = await homeWithStackKeys();
  });
  afterAll(() => fs.rmSync(home, { recursive: true }));

  test("the flux stacks are among them", () => {
    expect(stacks).toEqual(expect.arrayContaining(["flux-demo", "flux-sandbox"]));
  });

  test.each(stacks)("%s", async (stack) => {
    const { code, stderr } = await cli(["render", "--stack", stack], projectDir, { HOME: home });
    expect(stderr).toContain(`✔ stack ${stack}:`);
    expect(code).toBe(0);
  });

  test("flux-sandbox installs the local stand-in chart", async () => {
    const { stdout } = await cli(["render", "--stack", "flux-sandbox"]);
    const release = docs(stdout).find((d) => d.helmRelease);
    expect(release.chart).toBe(path.join(projectDir, "test/e2e/charts/flux2.tgz"));
    expect(release.version).toBeUndefined();
  });
});

describe("bad Flux input", () => {
  function project(stackYaml: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "project-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.writeFileSync(path.join(dir, "stacks/Pulumi.bad.yaml"), stackYaml);
    return dir;
  }

  test("exits 2 listing every problem, creating nothing", async () => {
    const dir = project(
      [
        "config:",
        "  gitops-bootstrap:environment: dev",
        "  gitops-bootstrap:reconciler: flux",
        "  gitops-bootstrap:repo:",
        "    url: git@git.example.com:org/state.git",
        "    path: clusters/dev",
        "    credentials:",
        "      sshPrivateKey:",
        "        secure: v1:AAAABBBBCCCC",
        "  gitops-bootstrap:ageKey:",
        "    secure: v1:DDDDEEEEFFFF",
        "  gitops-bootstrap:argocd:",
        "    chartVersion: 10.9.1",
        "  gitops-bootstrap:flux:",
        "    interval: 10 minutes",
      ].join("\n"),
    );
    const { code, stdout, stderr } = await cli(["render", "--stack", "bad"], dir);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    // No repo.revision: the default HEAD, which Flux's source-controller cannot follow.
    for (const key of ["repo.revision", "repo.sshKnownHosts", "argocd", "flux.interval"]) expect(stderr).toContain(`✗ gitops-bootstrap:${key}:`);
    expect(stderr).toMatch(/Invalid stack config \(4 problems\)/);
    expect(stderr).not.toContain("v1:AAAABBBBCCCC");
  });
});
