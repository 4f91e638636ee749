import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type OpenEngine, parseDuration, runRecoveryCommand } from "../../../bootstrap/drill/command";
import { UsageError } from "../../../components/errors";
import { rawStackConfig } from "../config-harness";
import { engineEnvironment, engineEventLine } from "../../../bootstrap/drill/engine";
import { firstLines } from "../../../bootstrap/drill/run";

describe("restore/drill command helpers", () => {
  it("parses durations and names the flag when one is wrong", () => {
    expect(parseDuration("90", "timeout")).toBe(90_000);
    expect(parseDuration("1h30m", "timeout")).toBe(5_400_000);
    expect(parseDuration("2m", "failure-grace")).toBe(120_000);
    expect(() => parseDuration("10 minutes", "timeout")).toThrow('--timeout "10 minutes" is not a duration: use e.g. 90s, 15m or 1h');
    expect(() => parseDuration("0s", "timeout")).toThrow(/--timeout/);
  });

  it("needs a passphrase for a stack in a local backend before anything runs, and says which variables", () => {
    const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-env-"));
    try {
      fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), "name: gitops-bootstrap\nstackConfigDir: stacks\n");
      const local = { url: "file:///tmp/gitops-bootstrap-test-state", source: "pulumi login" } as const;
      expect(() => engineEnvironment({ projectDir, stack: "dev", env: {}, backend: local })).toThrow(/set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/);
      expect(engineEnvironment({ projectDir, stack: "dev", env: { PULUMI_CONFIG_PASSPHRASE: "", USER: "ci" }, backend: local })).toMatchObject({ PULUMI_BACKEND_URL: local.url });
      const s3 = { url: "s3://bucket/state", source: "PULUMI_BACKEND_URL" } as const;
      // The kubeconfig is not the environment's business any more: the engine gets the run's own (useCluster).
      expect(engineEnvironment({ projectDir, stack: "dev", env: { PULUMI_CONFIG_PASSPHRASE_FILE: "/p/pass", USER: "ci" }, backend: s3 })).toEqual({
        PULUMI_BACKEND_URL: "s3://bucket/state",
        PULUMI_SKIP_UPDATE_CHECK: "true",
      });
      // Without $USER (containers, some CI runners) the statically built CLI fails: the OS user stands in.
      expect(engineEnvironment({ projectDir, stack: "dev", env: { PULUMI_CONFIG_PASSPHRASE: "x" }, backend: s3 }).USER).toEqual(expect.any(String));
    } finally {
      fs.rmSync(projectDir, { recursive: true, force: true });
    }
  });

  it("turns engine events into one line per finished resource change, and shows errors", () => {
    const urn = "urn:pulumi:dev::gitops-bootstrap::gitops-bootstrap:index:GitOpsCluster$kubernetes:core/v1:Namespace::gitops-argocd";
    expect(engineEventLine({ sequence: 1, timestamp: 0, resOutputsEvent: { metadata: { op: "create", urn, type: "kubernetes:core/v1:Namespace" } } } as never)).toBe("  ✔ create kubernetes:core/v1:Namespace gitops-argocd");
    expect(engineEventLine({ sequence: 2, timestamp: 0, resOutputsEvent: { metadata: { op: "same", urn, type: "kubernetes:core/v1:Namespace" } } } as never)).toBeUndefined();
    expect(engineEventLine({ sequence: 3, timestamp: 0, diagnosticEvent: { severity: "error", message: "namespaces is forbidden\n", color: "never", urn } } as never)).toBe("  ✗ error (gitops-argocd): namespaces is forbidden");
  });
});

describe("firstLines", () => {
  it("keeps the engine's own error lines, once each, and drops the CLI invocation", () => {
    const message = [
      "stderr: Command failed with exit code 1: pulumi up --yes --refresh --stack sandbox",
      "    pulumi:providers:kubernetes k8s  error: no resource plugin 'pulumi-resource-kubernetes' found",
      "error: no resource plugin 'pulumi-resource-kubernetes' found",
      "err?: Error: Command failed with exit code 1: pulumi up --yes",
    ].join("\n");
    expect(firstLines(new Error(message))).toBe("no resource plugin 'pulumi-resource-kubernetes' found");
    expect(firstLines(new Error("connect ECONNREFUSED\nsecond"))).toBe("connect ECONNREFUSED / second");
  });
});

describe("restore and drill without a kubeconfig", () => {
  const PROJECT = path.resolve(__dirname, "../../..");
  const raw = { ...rawStackConfig({ environment: "demo", repo: { url: "https://git.example.com/x.git", revision: "HEAD", path: "apps" }, ageKeyFile: "examples/gitops-repo/demo-age-key.txt" }, []), baseDir: PROJECT };
  const deployed: string[] = [];
  const openEngine: OpenEngine = async () => ({
    engine: {
      description: "stand-in",
      useCluster: () => deployed.push("useCluster"),
      up: async () => (deployed.push("up"), { changes: {} }),
      destroy: async () => (deployed.push("destroy"), { changes: {} }),
    },
    raw,
    kubernetesConfig: {},
  });

  it("stop with a usage error naming --kubeconfig and KUBECONFIG before anything is deployed", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "no-kube-home-"));
    try {
      // A state backend is configured (restore checks that first): only the kubeconfig is missing.
      fs.mkdirSync(path.join(home, "state"));
      const env = { HOME: home, PULUMI_BACKEND_URL: `file://${path.join(home, "state")}` };
      const io = { stderr: () => undefined, env, projectDir: PROJECT, onInterrupt: () => () => undefined };
      const restore = runRecoveryCommand("restore", { stack: "demo" }, io, openEngine);
      await expect(restore).rejects.toThrow(UsageError);
      await expect(restore).rejects.toThrow(/^no kubeconfig: pass --kubeconfig FILE \(or set KUBECONFIG/);
      await expect(runRecoveryCommand("drill", { stack: "demo", kubeconfig: "~/kind.kubeconfig" }, io, openEngine)).rejects.toThrow(
        `cannot read the kubeconfig ${path.join(home, "kind.kubeconfig")} (--kubeconfig ${path.join(home, "kind.kubeconfig")}): no such file; pass --kubeconfig FILE`,
      );
      expect(deployed).toEqual([]);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
