/**
 * The drill's e2e set-up, shared by drill.test.ts and the drill benchmark (test/bench/drill-split.ts):
 * `gitops-bootstrap drill` run as users run it (a separate process of the scratch project's CLI,
 * so Ctrl-C is a real SIGINT), and the GitOps side it recovers from: a real Git server over HTTPS
 * serving the example repository, the scratch project's stack pointed at it (its CA trusted through
 * `repo.caFile`), and the reconciler's real controllers run as the chart's pods.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { RunReport } from "../../bootstrap/cli-common/drill-report";
import { type ArgoControllers, startArgoControllers } from "./argo-controllers";
import { pointArgoExampleAt, pointStackAt } from "./demo-repo";
import { type FluxControllers, startFluxControllers } from "./flux-controllers";
import { type GitServer, startGitServer } from "./git-server";
import { PROJECT_DIR, type TestCluster } from "./harness";

/** The name the example repository is served under. */
export const DEMO_REPO = "gitops-bootstrap";

export interface Drill {
  readonly child: ChildProcess;
  readonly reportDir: string;
  stderr(): string;
  /** Resolves when stderr shows `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  exit: Promise<number>;
  /** The exit code, after checking it is `expected` (else fails with the drill's output). */
  exited(expected: number): Promise<number>;
}

export interface DrillProcessOptions {
  /** The CLI to run: `bootstrap/gitops-bootstrap.js` of a scratch project. */
  readonly cli: string;
  readonly env: NodeJS.ProcessEnv;
  /** Everything after `drill`, `--report-dir` included. */
  readonly args: readonly string[];
  readonly reportDir: string;
  /** The reconciler's log tails, added to a failure message. */
  readonly logs?: () => string;
}

/** Starts `gitops-bootstrap drill` as a child process and follows its stderr. */
export function startDrillProcess(options: DrillProcessOptions): Drill {
  const logs = options.logs ?? (() => "");
  const child = spawn(process.execPath, [options.cli, "drill", ...options.args], { env: options.env, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  const waiters: { text: string | RegExp; resolve: () => void }[] = [];
  const matches = (t: string | RegExp) => (typeof t === "string" ? err.includes(t) : t.test(err));
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.splice(0)) (matches(w.text) ? w.resolve() : waiters.push(w));
  });
  child.stdout!.resume();
  const exit = new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return {
    child,
    reportDir: options.reportDir,
    stderr: () => err,
    exit,
    exited: async (expected) => {
      const code = await exit;
      if (code !== expected) throw new Error(`drill exited ${code}, expected ${expected}; its output:\n${err}\n${logs()}`);
      return code;
    },
    waitFor: (text, timeoutMs = 120_000) =>
      new Promise<void>((resolve, reject) => {
        if (matches(text)) return resolve();
        const timer = setTimeout(() => reject(new Error(`drill output never showed ${text}:\n${err}`)), timeoutMs);
        waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
        void exit.then(() => setTimeout(() => (matches(text) ? resolve() : reject(new Error(`drill exited before showing ${text}:\n${err}`))), 50));
      }),
  };
}

export const readDrillReport = (reportDir: string): RunReport => JSON.parse(fs.readFileSync(path.join(reportDir, "report.json"), "utf8"));

/**
 * Back to a fresh cluster for the next drill: only the default namespaces. The drill's teardown
 * leaves what the reconciler created outside its own objects (Argo CD's CreateNamespace
 * namespaces), and what a failed drill left behind.
 */
export async function emptyCluster(cluster: TestCluster): Promise<void> {
  // Applications left by a failed scenario would hold their namespace in Terminating; their
  // ApplicationSets first, or the applicationset-controller creates them again, finalizers and all.
  cluster.kubectl(["delete", "applicationsets.argoproj.io", "--all", "-A", "--wait=true"]);
  const left = JSON.parse(cluster.kubectl(["get", "applications.argoproj.io", "-A", "-o", "json"])).items as { metadata: { name: string; namespace: string } }[];
  for (const a of left) cluster.kubectl(["patch", "applications.argoproj.io", a.metadata.name, "-n", a.metadata.namespace, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
  const namespaces = JSON.parse(cluster.kubectl(["get", "namespaces", "-o", "json"])).items.map((n: { metadata: { name: string } }) => n.metadata.name) as string[];
  for (const n of namespaces) if (!["default", "kube-system", "kube-public", "kube-node-lease"].includes(n)) cluster.kubectl(["delete", "namespace", n, "--wait=true", "--timeout=120s"]);
}

export interface GitOpsSide<Controllers> {
  readonly git: GitServer;
  readonly controllers: Controllers;
  stop(): Promise<void>;
}

/**
 * The Argo CD example served over HTTPS (its child Applications naming that server), the scratch
 * project `work`'s `sandbox` stack pointed at it, and Argo CD's real controllers as the argo-cd
 * chart's pods (they start once the drill's `up` has installed the chart).
 */
export async function startArgoSide(options: { dir: string; kubeconfig: string; work: string; stack?: string }): Promise<GitOpsSide<ArgoControllers>> {
  const git = await startGitServer({ dir: path.join(options.dir, "argo-git"), repos: { [DEMO_REPO]: { dir: PROJECT_DIR, include: ["examples/gitops-repo"] } } });
  try {
    pointArgoExampleAt(git, DEMO_REPO);
    pointStackAt(options.work, options.stack ?? "sandbox", { url: git.url(DEMO_REPO), revision: git.branch, caFile: git.caFile });
    const controllers = await startArgoControllers({ dir: path.join(options.dir, "argo"), kubeconfig: options.kubeconfig, asChartPods: true });
    return { git, controllers, stop: async () => (await controllers.stop(), await git.stop()) };
  } catch (e) {
    await git.stop();
    throw e;
  }
}

/** The Flux example served over HTTPS, the `flux-sandbox` stack pointed at it, Flux's controllers as the flux2 chart's pods. */
export async function startFluxSide(options: { dir: string; kubeconfig: string; work: string; stack?: string }): Promise<GitOpsSide<FluxControllers>> {
  const git = await startGitServer({ dir: path.join(options.dir, "git"), repos: { [DEMO_REPO]: { dir: PROJECT_DIR, include: ["examples/gitops-repo-flux"] } } });
  try {
    pointStackAt(options.work, options.stack ?? "flux-sandbox", { url: git.url(DEMO_REPO), revision: git.branch, caFile: git.caFile });
    const controllers = await startFluxControllers({ dir: path.join(options.dir, "flux"), kubeconfig: options.kubeconfig, asChartPods: true });
    return { git, controllers, stop: async () => (await controllers.stop(), await git.stop()) };
  } catch (e) {
    await git.stop();
    throw e;
  }
}
