import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isPlaceholderHost } from "../../bootstrap/drill-stacks/command";
import { cli, projectDir } from "./cli-harness";

function project(stacks: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drill-stacks-"));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
  fs.mkdirSync(path.join(dir, "stacks"));
  for (const [name, config] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), `config:\n${config}`);
  return dir;
}

const stack = (url: string, extra = ""): string => `  gitops-bootstrap:repo:\n    url: ${url}\n    path: clusters/prod\n  gitops-bootstrap:ageKeyFile: ~/.config/sops/age/drill.agekey\n${extra}`;

describe("drill-stacks", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const make = (stacks: Record<string, string>): string => {
    const d = project(stacks);
    dirs.push(d);
    return d;
  };

  it("lists drill and drill-<name> stacks only, as JSON for a workflow matrix", async () => {
    const dir = make({ drill: stack("https://git.acme.io/platform/state.git"), "drill-staging": stack("ssh://git@git.acme.io/platform/state.git"), prod: stack("https://git.acme.io/x.git") });
    expect(await cli(["drill-stacks", "--json"], dir)).toMatchObject({ code: 0, stdout: '["drill","drill-staging"]\n' });
    expect(await cli(["drill-stacks", "--only", "drill-staging"], dir)).toMatchObject({ code: 0, stdout: "drill-staging\n" });
  });

  it("a placeholder repository URL or a pinned cluster is exit 2 naming the stack and the key", async () => {
    const dir = make({ drill: stack("https://git.example.com/platform/cluster-state.git"), "drill-dev": stack("git@git.acme.io:org/state.git", "  kubernetes:context: prod\n") });
    const r = await cli(["drill-stacks"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("stack drill: gitops-bootstrap:repo.url is still the placeholder https://git.example.com/platform/cluster-state.git; set it to your GitOps repository (stacks/Pulumi.drill.yaml)");
    expect(r.stderr).toContain("stack drill-dev: sets kubernetes:context, but a drill runs only on the cluster its --kubeconfig names; remove it");
  });

  it("the shipped drill stack still has the placeholder, so a copied workflow fails clearly until it is set", async () => {
    const r = await cli(["drill-stacks"], projectDir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("stack drill: gitops-bootstrap:repo.url is still the placeholder");
  });

  it("--key-file prints the stack's key file with ~ expanded; an unknown stack is named", async () => {
    const dir = make({ drill: stack("https://git.acme.io/state.git") });
    expect(await cli(["drill-stacks", "--only", "drill", "--key-file"], dir, { HOME: "/home/ci" })).toMatchObject({ code: 0, stdout: "/home/ci/.config/sops/age/drill.agekey\n" });
    expect(await cli(["drill-stacks", "--only", "drill,prod"], dir)).toMatchObject({ code: 2, stderr: expect.stringContaining("not a drill stack: prod") });
  });

  it("reserved documentation domains are placeholders, real ones are not", () => {
    expect(["example.com", "git.example.com", "GIT.EXAMPLE.ORG", "repo.invalid", "x.test"].map(isPlaceholderHost)).toEqual([true, true, true, true, true]);
    expect(["github.com", "example.com.evil.io", "myexample.com", "gitlab.acme.io"].map(isPlaceholderHost)).toEqual([false, false, false, false]);
  });
});
