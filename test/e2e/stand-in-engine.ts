/**
 * A stand-in for `pulumi up` / `pulumi destroy`, used by the drill e2e tests only where the
 * Pulumi Kubernetes provider plugin cannot be had (its Go module is not served here; see
 * test/e2e/toolchain/README.md). It applies exactly what `gitops-bootstrap render` shows for the
 * stack, in the program's order (namespace, Secrets, Helm release with the real helm, root
 * Application) with the real kubectl, and removes it again in reverse. Everything else in the
 * drill (check, watcher, Secret verification, report, guard, Ctrl-C, teardown) is the product's.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { main } from "../../bootstrap/cli";
import type { OpenEngine } from "../../bootstrap/drill/command";
import type { DeployEngine, DeployResult } from "../../bootstrap/drill/engine";
import { readStackConfig } from "../../bootstrap/stack-file";

interface Rendered {
  readonly file: string;
  readonly doc: Record<string, unknown> & { kind?: string; metadata?: { name?: string; namespace?: string } };
}

class StandInEngine implements DeployEngine {
  readonly description: string;
  private readonly applied: Rendered[] = [];
  private release: { name: string; namespace: string } | undefined;

  constructor(private readonly projectDir: string, private readonly stack: string, private readonly kubeconfig: string, private readonly env: NodeJS.ProcessEnv) {
    this.description = `stand-in for pulumi up (test only: render + kubectl apply + helm install; stack ${stack})`;
  }

  private run(bin: string, args: readonly string[]): string {
    return execFileSync(bin, [...args], { env: { ...this.env, KUBECONFIG: this.kubeconfig }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  }

  async up(onLine: (line: string) => void, signal: AbortSignal): Promise<DeployResult> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-bootstrap-stand-in-"));
    try {
      let err = "";
      const code = await main(["render", "--stack", this.stack, "--show-secrets", "--out", dir], { stdout: () => undefined, stderr: (s) => void (err += s), env: this.env, projectDir: this.projectDir });
      if (code !== 0) throw new Error(`render failed: ${err}`);
      const docs: Rendered[] = fs.readdirSync(dir).sort().map((f) => ({ file: path.join(dir, f), doc: YAML.parse(fs.readFileSync(path.join(dir, f), "utf8")) }));
      // The program's order: namespace, Secrets, the release (it brings the CRDs), then the
      // reconciler's own objects (Application; or GitRepository and Kustomization) as rendered.
      const kindOf = (d: Rendered): string => d.doc.kind ?? (d.doc.chart ? "HelmRelease" : "");
      const rank = (d: Rendered): number => ["Namespace", "Secret", "HelmRelease"].indexOf(kindOf(d)) + 1 || 4;
      let created = 0;
      for (const r of [...docs].sort((a, b) => rank(a) - rank(b))) {
        const kind = kindOf(r);
        if (signal.aborted) throw new Error("up cancelled");
        if (kind === "HelmRelease") {
          const release = r.doc as unknown as { helmRelease: string; chart: string; namespace: string; values: unknown };
          const values = path.join(dir, "values.yaml");
          fs.writeFileSync(values, YAML.stringify(release.values));
          this.run("helm", ["upgrade", "--install", release.helmRelease, path.resolve(this.projectDir, release.chart), "--namespace", release.namespace, "--values", values, "--wait", "--timeout", "180s"]);
          this.release = { name: release.helmRelease, namespace: release.namespace };
          onLine(`  ✔ create helm release ${release.namespace}/${release.helmRelease} (stand-in: helm install)`);
        } else {
          this.run("kubectl", ["apply", "--server-side", "-f", r.file]);
          this.applied.push(r);
          onLine(`  ✔ create ${kind} ${r.doc.metadata?.namespace ? `${r.doc.metadata.namespace}/` : ""}${r.doc.metadata?.name} (stand-in: kubectl apply)`);
        }
        created++;
      }
      return { changes: { create: created } };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  async destroy(onLine: (line: string) => void): Promise<DeployResult> {
    let deleted = 0;
    // Reverse order: the reconciler's objects first (the root Application's finalizer is released
    // by the test's controller), then the release, then the Secrets and the namespace.
    const del = (r: Rendered): string => this.run("kubectl", ["delete", String(r.doc.kind), String(r.doc.metadata?.name), ...(r.doc.metadata?.namespace ? ["-n", r.doc.metadata.namespace] : []), "--ignore-not-found", "--wait=true", "--timeout=120s"]);
    const basic = (r: Rendered): boolean => r.doc.kind === "Namespace" || r.doc.kind === "Secret";
    for (const r of [...this.applied].reverse().filter((x) => !basic(x))) {
      del(r);
      onLine(`  ✔ delete ${r.doc.kind} ${r.doc.metadata?.name} (stand-in: kubectl delete)`);
      deleted++;
    }
    if (this.release) {
      this.run("helm", ["uninstall", this.release.name, "--namespace", this.release.namespace, "--wait", "--timeout", "120s"]);
      onLine(`  ✔ delete helm release ${this.release.namespace}/${this.release.name} (stand-in: helm uninstall)`);
      deleted++;
    }
    for (const r of [...this.applied].reverse().filter(basic)) {
      del(r);
      onLine(`  ✔ delete ${r.doc.kind} ${r.doc.metadata?.name} (stand-in: kubectl delete)`);
      deleted++;
    }
    this.applied.length = 0;
    return { changes: { delete: deleted } };
  }
}

/** `OpenEngine` for the stand-in: the stack's config comes from its file, as `render` reads it. */
export const openStandInEngine: OpenEngine = async ({ projectDir, stack, env, kubeconfig }) => {
  if (!kubeconfig) throw new Error("the stand-in engine needs --kubeconfig");
  return { engine: new StandInEngine(projectDir, stack, path.resolve(kubeconfig), env), raw: readStackConfig(projectDir, stack, env.HOME), kubernetesConfig: {} };
};
