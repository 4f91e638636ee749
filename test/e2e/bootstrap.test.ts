/**
 * `pulumi up` for real: the Pulumi engine and CLI, the Kubernetes provider plugin and a real
 * Kubernetes API server (test/e2e/sandbox.ts), all built from Go modules. The program installs
 * the real argo-cd chart (test/e2e/charts.ts, from the toolchain cache), with kwok playing the
 * kubelet of its pods: the product as users run it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as age from "age-encryption";
import type { OutputMap, UpResult } from "@pulumi/pulumi/automation";
import { StackHandle, TestCluster, openCluster, openStack, releaseDeletedApplications, requireToolchain, tempDir } from "./harness";

jest.setTimeout(15 * 60 * 1000);


const PASSWORD = "e2e-git-token-never-printed";
let identity: string;
let recipient: string;
let dir: string;
let cluster: TestCluster;
let handle: StackHandle;

const ns = "argocd";
const getJson = (args: string[]) => JSON.parse(cluster.kubectl(["get", ...args, "-o", "json"]));
const exists = (args: string[]) => {
  try {
    cluster.kubectl(["get", ...args]);
    return true;
  } catch {
    return false;
  }
};
const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

async function up(): Promise<UpResult> {
  const out: string[] = [];
  try {
    return await handle.stack.up({ onOutput: (s) => out.push(s), refresh: true });
  } finally {
    handle.log.push(out.join(""));
  }
}

/** Everything a successful `up` must have put in the cluster. */
function expectBootstrapped(outputs: OutputMap): void {
  expect(exists(["namespace", ns])).toBe(true);

  const ageSecret = getJson(["secret", "sops-age", "-n", ns]);
  expect(Object.keys(ageSecret.data)).toEqual(["age.agekey"]);
  expect(decode(ageSecret.data["age.agekey"])).toBe(`${identity}\n`);

  const repoSecret = getJson(["secret", "gitops-bootstrap-repo", "-n", ns]);
  expect(repoSecret.metadata.labels["argocd.argoproj.io/secret-type"]).toBe("repository");
  expect(Object.keys(repoSecret.data).sort()).toEqual(["password", "type", "url", "username"]);
  expect(decode(repoSecret.data.type)).toBe("git");
  expect(decode(repoSecret.data.password)).toBe(PASSWORD);

  const app = getJson(["applications.argoproj.io", "root", "-n", ns]);
  expect(app.metadata.finalizers).toEqual(["resources-finalizer.argocd.argoproj.io"]);
  expect(app.spec.source).toEqual({ repoURL: "https://git.example.com/platform/gitops-bootstrap.git", targetRevision: "HEAD", path: "examples/gitops-repo/apps" });
  expect(app.spec.destination).toEqual({ server: "https://kubernetes.default.svc", namespace: ns });
  expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  expect(app.spec.syncPolicy.retry).toEqual({ limit: 5, backoff: { duration: "5s", factor: 2, maxDuration: "3m" } });

  // Helm records each release revision in a Secret labelled with its status.
  const releases = getJson(["secrets", "-n", ns, "-l", "owner=helm,name=argocd"]);
  expect(releases.items.map((s: any) => s.metadata.labels.status)).toContain("deployed");

  // The KSOPS wiring, as the API server stored the repo-server Deployment the chart rendered.
  const repoServer = getJson(["deployment", "argocd-repo-server", "-n", ns]);
  const pod = repoServer.spec.template.spec;
  // The chart's own init container (copyutil) first, then ours.
  expect(pod.initContainers.map((c: any) => c.name)).toEqual(["copyutil", "install-ksops"]);
  expect(pod.initContainers[1]).toMatchObject({ name: "install-ksops", command: ["/usr/local/bin/ksops", "install", "/custom-tools"] });
  expect(pod.volumes).toContainEqual(expect.objectContaining({ name: "sops-age", secret: expect.objectContaining({ secretName: "sops-age" }) }));
  expect(pod.containers[0].env).toContainEqual({ name: "SOPS_AGE_KEY_FILE", value: "/sops-age/age.agekey" });
  expect(repoServer.status.availableReplicas).toBe(1);
  const cm = getJson(["configmap", "argocd-cm", "-n", ns]);
  expect(cm.data["kustomize.buildOptions"]).toBe("--enable-alpha-plugins --enable-exec");

  expect(outputs.ageRecipients.value).toEqual([recipient]);
  expect(outputs.argocdNamespace.value).toBe(ns);
  expect(outputs.argocdReleaseStatus.value).toBe("deployed");
  expect(outputs.rootApplication.value).toBe("root");
}

beforeAll(async () => {
  requireToolchain("pulumi", "pulumi-resource-kubernetes", "helm");
  identity = await age.generateX25519Identity();
  recipient = await age.identityToRecipient(identity);
  dir = tempDir("e2e");
  cluster = await openCluster(dir);
  handle = await openStack(dir, "sandbox", cluster.kubeconfig);
  const { stack } = handle;
  // The committed sandbox stack reads the demo key file; here the key is a secret, as in production.
  await stack.removeConfig("gitops-bootstrap:ageKeyFile");
  await stack.setConfig("gitops-bootstrap:ageKey", { value: identity, secret: true });
  await stack.setConfig("gitops-bootstrap:repo.credentials.username", { value: "bot" }, true);
  await stack.setConfig("gitops-bootstrap:repo.credentials.password", { value: PASSWORD, secret: true }, true);
});

afterAll(async () => {
  await cluster?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  // On failure, the engine's own words are the best clue.
  const state = expect.getState();
  if (state.assertionCalls > 0 && handle?.log.length) {
    fs.writeFileSync(path.join(dir, `${state.currentTestName?.replace(/\W+/g, "-")}.log`), handle.log.join("\n"));
  }
});

test("bad input reaches the real engine as a clear error, and nothing is created", async () => {
  const { stack } = handle;
  await stack.setConfig("gitops-bootstrap:repo.url", { value: "http://git.example.com/platform/gitops-bootstrap.git" }, true);
  await stack.setConfig("gitops-bootstrap:argocd.chartVersion", { value: "^10" }, true);
  let message = "";
  try {
    await stack.up();
  } catch (e) {
    message = String((e as Error).message);
  }
  expect(message).toContain("Invalid stack config (2 problems)");
  expect(message).toContain("gitops-bootstrap:repo.url: uses plain http");
  expect(message).toContain("gitops-bootstrap:argocd.chartVersion: must pin an exact chart version");
  expect(message).not.toContain(identity);
  expect(message).not.toContain(PASSWORD);
  expect(exists(["namespace", ns])).toBe(false);
  const state = await stack.exportStack();
  // Only the stack itself: no custom resource was registered.
  expect((state.deployment.resources ?? []).map((r: { type: string }) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  await stack.setConfig("gitops-bootstrap:repo.url", { value: "https://git.example.com/platform/gitops-bootstrap.git" }, true);
  await stack.removeConfig("gitops-bootstrap:argocd.chartVersion", true);
});

test("up on an empty cluster installs everything, with secrets encrypted in state", async () => {
  const result = await up();
  expect(result.summary.result).toBe("succeeded");
  expectBootstrapped(result.outputs);
  const state = JSON.stringify(await handle.stack.exportStack());
  expect(state).not.toContain(identity);
  expect(state).not.toContain(PASSWORD);
  expect(handle.log.join("\n")).not.toContain(identity);
  // The provider plugin the toolchain built is the one the SDK asks for (or newer): no version warning.
  expect(handle.log.join("\n")).not.toMatch(/expected to have version/);
});

test("a second up changes nothing", async () => {
  const result = await up();
  const changes = result.summary.resourceChanges ?? {};
  expect(Object.keys(changes).filter((k) => k !== "same")).toEqual([]);
});

test("an operator's manual edit shows as drift and the next up undoes it", async () => {
  cluster.kubectl(["patch", "applications.argoproj.io", "root", "-n", ns, "--type=merge", "-p", '{"spec":{"source":{"targetRevision":"hotfix"}}}']);
  const preview = await handle.stack.preview({ refresh: true, diff: true });
  expect(preview.changeSummary.update ?? 0).toBeGreaterThanOrEqual(1);
  expect(preview.stdout).toMatch(/targetRevision/);
  const result = await up();
  expect(result.summary.resourceChanges?.update ?? 0).toBeGreaterThanOrEqual(1);
  expect(getJson(["applications.argoproj.io", "root", "-n", ns]).spec.source.targetRevision).toBe("HEAD");
});

test("disaster recovery: the cluster is lost, the state is kept, one up brings everything back", async () => {
  await cluster.wipe();
  expect(exists(["namespace", ns])).toBe(false);
  const started = Date.now();
  const result = await up();
  const seconds = (Date.now() - started) / 1000;
  expect(result.summary.result).toBe("succeeded");
  // The provider is not replaced although the kubeconfig changed (clusterIdentifier).
  expect(result.summary.resourceChanges?.replace ?? 0).toBe(0);
  expectBootstrapped(result.outputs);
  process.stdout.write(`recovery up took ${seconds.toFixed(1)}s\n`);
});

test("destroy leaves the cluster clean", async () => {
  const stopReleasing = releaseDeletedApplications(cluster, ns);
  try {
    const result = await handle.stack.destroy();
    expect(result.summary.result).toBe("succeeded");
  } finally {
    stopReleasing();
  }
  expect(exists(["namespace", ns])).toBe(false);
  expect(cluster.kubectl(["get", "applications.argoproj.io", "-A", "-o", "name"]).trim()).toBe("");
  const state = await handle.stack.exportStack();
  expect(state.deployment.resources ?? []).toHaveLength(0);
});
