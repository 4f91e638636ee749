/** `render` of stacks with `repo.caFile`: where the Git server's CA ends up, shown (it is not a secret). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import { REPO_SECRET_NAME } from "../../components/defaults";
import { cli, docs } from "./cli-harness";
import { TestCertificates, makeTestCertificates } from "./tls-harness";

let certs: TestCertificates;
let dir: string;

/** A project with an age key file, the CA file at certs/git-ca.pem and one stack per entry. */
beforeAll(async () => {
  certs = makeTestCertificates();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "project-ca-"));
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: gitops-bootstrap\nruntime: nodejs\nstackConfigDir: stacks\n");
  fs.writeFileSync(path.join(dir, "age.txt"), `${await age.generateX25519Identity()}\n`);
  fs.mkdirSync(path.join(dir, "certs"));
  fs.writeFileSync(path.join(dir, "certs/git-ca.pem"), certs.ca);
  fs.mkdirSync(path.join(dir, "stacks"));
  const stack = (reconciler: string, repoLines: string[], extra: string[] = []) =>
    [
      "config:",
      "  gitops-bootstrap:environment: dev",
      `  gitops-bootstrap:reconciler: ${reconciler}`,
      "  gitops-bootstrap:ageKeyFile: age.txt",
      "  gitops-bootstrap:repo:",
      "    url: https://git.example.com:8443/org/state.git",
      "    revision: main",
      "    path: apps",
      "    caFile: certs/git-ca.pem",
      ...repoLines,
      ...extra,
    ].join("\n");
  const credentials = ["    credentials:", "      username: bot", "      password:", "        secure: v1:AAAABBBBCCCC"];
  fs.writeFileSync(path.join(dir, "stacks/Pulumi.flux-public.yaml"), stack("flux", []));
  fs.writeFileSync(path.join(dir, "stacks/Pulumi.flux-basic.yaml"), stack("flux", credentials));
  fs.writeFileSync(
    path.join(dir, "stacks/Pulumi.argo.yaml"),
    stack("argocd", [], ["  gitops-bootstrap:argocd:", "    values:", "      configs:", "        tls:", "          certificates:", "            charts.example.com: OTHER"]),
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function render(stack: string): Promise<any[]> {
  const { code, stdout, stderr } = await cli(["render", "--stack", stack], dir);
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  return docs(stdout);
}

describe("render with repo.caFile", () => {
  test("Flux, public repository: a Git Secret holding only ca.crt, shown, and the GitRepository names it", async () => {
    const all = await render("flux-public");
    expect(all.map((d) => d.kind ?? "HelmRelease")).toEqual(["Namespace", "Secret", "Secret", "HelmRelease", "GitRepository", "Kustomization"]);
    const gitSecret = all.find((d) => d.metadata?.name === REPO_SECRET_NAME);
    expect(gitSecret).toMatchObject({ kind: "Secret", metadata: { namespace: "flux-system" } });
    expect(gitSecret.stringData).toEqual({ "ca.crt": certs.ca });
    expect(all.find((d) => d.kind === "GitRepository").spec).toMatchObject({ url: "https://git.example.com:8443/org/state.git", secretRef: { name: REPO_SECRET_NAME } });
    expect(all.find((d) => d.metadata?.name === "sops-age").stringData).toEqual({ "age.agekey": "<redacted>" });
  });

  test("Flux, basic auth: the credentials stay redacted beside the CA", async () => {
    const all = await render("flux-basic");
    const gitSecret = all.find((d) => d.metadata?.name === REPO_SECRET_NAME);
    expect(gitSecret.stringData).toEqual({ username: "<redacted>", password: "<redacted>", "ca.crt": certs.ca });
    expect(all.find((d) => d.kind === "GitRepository").spec.secretRef).toEqual({ name: REPO_SECRET_NAME });
  });

  test("Argo CD: the Helm values carry it under the host without the port, beside the user's hosts", async () => {
    const all = await render("argo");
    const release = all.find((d) => d.helmRelease);
    expect(release.values.configs.tls.certificates).toEqual({ "git.example.com": certs.ca, "charts.example.com": "OTHER" });
    expect(release.values.configs.cm["kustomize.buildOptions"]).toBe("--enable-alpha-plugins --enable-exec");
  });
});
