/** The CLI as a user runs it: `render` on the committed stacks, and bad input. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cli, demoIdentity, docs, homeWithStackKeys, projectDir } from "./cli-harness";


describe("render --stack demo", () => {
  test("prints every resource, with secrets redacted", async () => {
    const { code, stdout, stderr } = await cli(["render", "--stack", "demo"]);
    expect(code).toBe(0);
    const all = docs(stdout);
    expect(all.map((d) => d.kind ?? "HelmRelease")).toEqual(["Namespace", "Secret", "Secret", "HelmRelease", "Application"]);
    const ageSecret = all.find((d) => d.metadata?.name === "sops-age");
    expect(ageSecret.stringData).toEqual({ "age.agekey": "<redacted>" });
    const release = all.find((d) => d.helmRelease);
    expect(release).toMatchObject({ chart: "argo-cd", repository: "https://argoproj.github.io/argo-helm", version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    expect(release.values.repoServer.env).toContainEqual({ name: "SOPS_AGE_KEY_FILE", value: "/sops-age/age.agekey" });
    expect(stderr).toMatch(/✔ stack demo: 5 resources, secrets redacted/);
    expect(stderr).toMatch(/"ageRecipients":\["age1/);
    expect(stdout + stderr).not.toContain(demoIdentity);
  });

  test("--show-secrets shows the age key", async () => {
    const { code, stdout } = await cli(["render", "--stack", "demo", "--show-secrets"]);
    expect(code).toBe(0);
    const ageSecret = docs(stdout).find((d) => d.metadata?.name === "sops-age");
    expect(ageSecret.stringData["age.agekey"]).toBe(`${demoIdentity}\n`);
  });

  test("--out writes one file per resource", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "render-"));
    const { code } = await cli(["render", "--stack", "demo", "--out", out]);
    expect(code).toBe(0);
    const files = fs.readdirSync(out).filter((f) => f !== ".gitops-bootstrap-render.json").sort();
    expect(fs.readdirSync(out)).toContain(".gitops-bootstrap-render.json");
    expect(files).toEqual([
      "01-namespace-argocd.yaml",
      "02-secret-sops-age.yaml",
      "03-secret-gitops-bootstrap-repo.yaml",
      "04-helmrelease-argocd.yaml",
      "05-application-root.yaml",
    ]);
    const text = files.map((f) => fs.readFileSync(path.join(out, f), "utf8")).join("\n");
    expect(text).not.toContain(demoIdentity);
    fs.rmSync(out, { recursive: true });
  });
});

describe("render of the environment stacks", () => {
  let home: string;
  beforeAll(async () => {
    home = await homeWithStackKeys();
  });
  afterAll(() => fs.rmSync(home, { recursive: true }));

  test("drill renders production's repository path with single replicas", async () => {
    const { code, stdout, stderr } = await cli(["render", "--stack", "drill"], projectDir, { HOME: home });
    expect(stderr).toContain("✔ stack drill: 5 resources");
    expect(code).toBe(0);
    expect(docs(stdout).find((d) => d.kind === "Application").spec.source).toMatchObject({ path: "clusters/prod", targetRevision: "production" });
    expect(docs(stdout).find((d) => d.helmRelease).values.server.replicas).toBe(1);
  });

  test.each(["dev", "staging", "prod"])("%s renders once its key file exists", async (stack) => {
    const { code, stdout, stderr } = await cli(["render", "--stack", stack], projectDir, { HOME: home });
    expect(stderr).toContain(`✔ stack ${stack}: 5 resources`);
    expect(code).toBe(0);
    const app = docs(stdout).find((d) => d.kind === "Application");
    expect(app.spec.source.path).toBe(`clusters/${stack}`);
  });

  test("prod runs Argo CD in HA, dev does not", async () => {
    const release = async (stack: string) => docs((await cli(["render", "--stack", stack], projectDir, { HOME: home })).stdout).find((d) => d.helmRelease);
    const prod = await release("prod");
    const dev = await release("dev");
    expect(prod.values["redis-ha"]).toEqual({ enabled: true });
    expect(prod.values.server.replicas).toBe(2);
    expect(dev.values["redis-ha"]).toBeUndefined();
    expect(dev.values.server.replicas).toBe(1);
  });

  test("a stack whose key file is missing fails and names the file", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "empty-home-"));
    const { code, stderr } = await cli(["render", "--stack", "prod"], projectDir, { HOME: empty });
    expect(code).toBe(2);
    expect(stderr).toContain(`gitops-bootstrap:ageKeyFile: ${empty}/.config/sops/age/gitops-prod.agekey does not exist`);
  });
});

describe("bad input", () => {
  function project(stackYaml: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "project-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.writeFileSync(path.join(dir, "stacks/Pulumi.bad.yaml"), stackYaml);
    return dir;
  }

  test("a bad stack config exits 2 listing every problem, and creates nothing", async () => {
    const dir = project(
      [
        "config:",
        "  gitops-bootstrap:environment: Prod EU",
        "  gitops-bootstrap:reconciler: argo",
        "  gitops-bootstrap:repo:",
        "    url: http://git.example.com/org/state.git",
        `  gitops-bootstrap:ageKey: ${demoIdentity}`,
        "  gitops-bootstrap:argocd:",
        "    chartVersion: ^10.0.0",
      ].join("\n"),
    );
    const { code, stdout, stderr } = await cli(["render", "--stack", "bad"], dir);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    for (const key of ["environment", "reconciler", "repo.url", "repo.path", "ageKey", "argocd.chartVersion"]) {
      expect(stderr).toContain(`✗ gitops-bootstrap:${key}:`);
    }
    expect(stderr).toMatch(/Invalid stack config \(6 problems\)/);
    expect(stderr).not.toContain(demoIdentity);
  });

  test("secure values in the stack file are checked for shape, never printed", async () => {
    const dir = project(
      [
        "config:",
        "  gitops-bootstrap:environment: dev",
        "  gitops-bootstrap:repo:",
        "    url: https://git.example.com/org/state.git",
        "    path: apps",
        "    credentials:",
        "      username: bot",
        "      password:",
        "        secure: v1:AAAABBBBCCCC",
        "  gitops-bootstrap:ageKey:",
        "    secure: v1:DDDDEEEEFFFF",
      ].join("\n"),
    );
    const { code, stdout } = await cli(["render", "--stack", "bad"], dir);
    expect(code).toBe(0);
    const repoSecret = docs(stdout).find((d) => d.metadata?.name === "gitops-bootstrap-repo");
    // type and url are not secret (a URL with credentials is refused), so they are worth seeing.
    expect(repoSecret.stringData).toEqual({ type: "git", url: expect.stringMatching(/^https:\/\/[^@]+$/), username: "<redacted>", password: "<redacted>" });
    expect(stdout).not.toContain("v1:AAAABBBBCCCC");
  });

  test("an unknown stack lists the known ones", async () => {
    const { code, stderr } = await cli(["render", "--stack", "nope"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/no stack config stacks\/Pulumi\.nope\.yaml; known stacks: demo, dev, drill, flux-demo, flux-sandbox, prod, sandbox, staging/);
  });

  test("usage errors exit 2", async () => {
    expect((await cli(["render"])).code).toBe(2);
    expect((await cli(["render", "--stack"])).stderr).toContain("✗ option '--stack <name>' argument missing");
    expect((await cli(["render", "--stack", "demo", "--frobnicate"])).stderr).toContain("✗ unknown option '--frobnicate'");
    expect((await cli(["deploy"])).stderr).toContain("✗ unknown command 'deploy'");
    expect((await cli([])).code).toBe(2);
  });

  test("help <mistyped command> suggests the nearest; -v prints the version", async () => {
    expect(await cli(["help", "rendr"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command 'rendr'\n\(Did you mean render\?\)/), stdout: "" });
    expect(await cli(["help", "render"])).toMatchObject({ code: 0, stdout: expect.stringContaining("Usage: gitops-bootstrap render [options]") });
    expect(await cli(["-v"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  });
});
