/**
 * What `render` shows is what the cluster accepts: the rendered objects are applied to the real
 * API server (which validates the Application against the real Argo CD CRD), and the rendered
 * Helm values are installed with the real helm binary into the sandbox, where the repo-server
 * Deployment becomes Available on a kwok node. This runs where the Pulumi Kubernetes provider
 * plugin cannot be had (see bootstrap.test.ts).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CliIo, main } from "../../bootstrap/cli";
import { TestCluster, openCluster, scratchProject, tempDir } from "./harness";
import { toolchainEnv } from "./toolchain";

jest.setTimeout(10 * 60 * 1000);

let dir: string;
let cluster: TestCluster;
let out: string;
let project: string;
const files = () => fs.readdirSync(out).sort();
const read = (f: string) => YAML.parse(fs.readFileSync(path.join(out, f), "utf8"));
const fileOf = (kind: string) => files().find((f) => f.includes(`-${kind}-`))!;

beforeAll(async () => {
  dir = tempDir("render-apply");
  cluster = await openCluster(dir);
  out = path.join(dir, "render");
  let stderr = "";
  // A scratch copy: its test/e2e/charts/ holds the real charts, where the stack points.
  project = scratchProject(dir);
  const io: CliIo = { stdout: () => undefined, stderr: (s) => void (stderr += s), env: process.env, projectDir: project };
  const code = await main(["render", "--stack", "sandbox", "--show-secrets", "--out", out], io);
  if (code !== 0) throw new Error(`render failed:\n${stderr}`);
});

afterAll(async () => {
  await cluster?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("the namespace, the age key Secret and the repository Secret are accepted as rendered", () => {
  for (const kind of ["namespace", "secret"]) {
    for (const f of files().filter((x) => x.includes(`-${kind}-`))) cluster.kubectl(["apply", "--server-side", "-f", path.join(out, f)]);
  }
  const secret = JSON.parse(cluster.kubectl(["get", "secret", "sops-age", "-n", "argocd", "-o", "json"]));
  expect(Object.keys(secret.data)).toEqual(["age.agekey"]);
  expect(Buffer.from(secret.data["age.agekey"], "base64").toString()).toMatch(/^AGE-SECRET-KEY-1/);
  const repo = JSON.parse(cluster.kubectl(["get", "secret", "gitops-bootstrap-repo", "-n", "argocd", "-o", "json"]));
  expect(repo.metadata.labels["argocd.argoproj.io/secret-type"]).toBe("repository");
});

test("the Helm values install with helm and the repo-server becomes Available with the KSOPS wiring", () => {
  const release = read(fileOf("helmrelease"));
  const valuesFile = path.join(dir, "values.yaml");
  fs.writeFileSync(valuesFile, YAML.stringify(release.values));
  const chart = path.resolve(project, release.chart);
  execFileSync(
    "helm",
    ["install", release.helmRelease, chart, "--namespace", release.namespace, "--values", valuesFile, "--wait", "--timeout", "180s", "--kubeconfig", cluster.kubeconfig],
    { env: toolchainEnv(), encoding: "utf8" },
  );
  const deploy = JSON.parse(cluster.kubectl(["get", "deployment", "argocd-repo-server", "-n", "argocd", "-o", "json"]));
  expect(deploy.status.availableReplicas).toBe(1);
  const pod = deploy.spec.template.spec;
  expect(pod.initContainers[0]).toMatchObject({ name: "install-ksops", image: "viaductoss/ksops:v4.5.1", command: ["/usr/local/bin/ksops", "install", "/custom-tools"] });
  expect(pod.containers[0].volumeMounts).toEqual(
    expect.arrayContaining([
      { name: "custom-tools", mountPath: "/usr/local/bin/ksops", subPath: "ksops" },
      { name: "sops-age", mountPath: "/sops-age", readOnly: true },
    ]),
  );
  expect(pod.containers[0].env).toContainEqual({ name: "SOPS_AGE_KEY_FILE", value: "/sops-age/age.agekey" });
  const cm = JSON.parse(cluster.kubectl(["get", "configmap", "argocd-cm", "-n", "argocd", "-o", "json"]));
  expect(cm.data["kustomize.buildOptions"]).toBe("--enable-alpha-plugins --enable-exec");
});

test("the root Application passes the real Argo CD CRD schema, which does reject a malformed one", () => {
  const appFile = path.join(out, fileOf("application"));
  cluster.kubectl(["apply", "--server-side", "-f", appFile]);
  const app = JSON.parse(cluster.kubectl(["get", "applications.argoproj.io", "root", "-n", "argocd", "-o", "json"]));
  expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  expect(app.metadata.finalizers).toEqual(["resources-finalizer.argocd.argoproj.io"]);

  const broken = read(path.basename(appFile));
  broken.metadata.name = "broken";
  broken.spec.syncPolicy.retry.limit = "five";
  expect(() => cluster.kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(broken))).toThrow(/spec\.syncPolicy\.retry\.limit/);
});
