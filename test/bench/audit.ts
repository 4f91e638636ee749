/**
 * Benchmark of `gitops-bootstrap audit` on a big cluster (printed figures, not a timed test): the
 * sandbox API server (real etcd and kube-apiserver) is filled with BENCH_AUDIT_OBJECTS objects
 * (default 50,000: ConfigMaps, Secrets and ServiceAccounts in 50 namespaces, a third of them
 * tracked by an Argo CD Application, a tenth owned by another object), then the real command
 * audits it in a fresh process: wall time, peak RSS, objects per second.
 *
 *   npm run bench                                          (runs this last)
 *   BENCH_AUDIT_OBJECTS=5000 ts-node --transpile-only test/bench/audit.ts
 *
 * Goal on this machine (2 cores): 50,000 objects in under 20 s and 300 MB.
 * Needs the e2e toolchain (bash test/e2e/toolchain/build.sh).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { PROJECT_DIR, requireToolchain } from "../e2e/harness";
import { startSandbox } from "../e2e/sandbox";

const OBJECTS = Number(process.env.BENCH_AUDIT_OBJECTS ?? 50_000);
const NAMESPACES = 50;
const CONCURRENCY = 24;

async function post(kc: KubeConfig, agent: https.Agent, apiPath: string, body: unknown): Promise<{ uid: string }> {
  const opts: https.RequestOptions = { method: "POST", headers: { "Content-Type": "application/json" }, agent };
  await kc.applyToHTTPSOptions(opts);
  const url = new URL(apiPath, kc.getCurrentCluster()!.server);
  return new Promise((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 201) return reject(new Error(`POST ${apiPath}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
        resolve(JSON.parse(text).metadata);
      });
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** Creates the objects `concurrency` at a time; returns how long it took. */
async function fill(kc: KubeConfig): Promise<number> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const started = Date.now();
  for (let n = 0; n < NAMESPACES; n++) await post(kc, agent, "/api/v1/namespaces", { metadata: { name: `bench-${n}`, annotations: { "argocd.argoproj.io/tracking-id": `root:/Namespace:bench-${n}/bench-${n}` } } });
  // The stack's root Application (in Argo CD's namespace), which the tracked objects name.
  await post(kc, agent, "/api/v1/namespaces", { metadata: { name: "argocd", labels: { "app.kubernetes.io/managed-by": "gitops-bootstrap" } } });
  await post(kc, agent, "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications", { apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name: "root", labels: { "app.kubernetes.io/managed-by": "gitops-bootstrap" } }, spec: { project: "default", source: { repoURL: "https://git.example.com/x.git", path: "." }, destination: { server: "https://kubernetes.default.svc" } } });
  const owners: { uid: string; name: string; ns: string }[] = [];
  let next = 0;
  let made = 0;
  const one = async (i: number): Promise<void> => {
    const ns = `bench-${i % NAMESPACES}`;
    const kind = i % 3;
    const name = `obj-${i}`;
    const annotations: Record<string, string> = { "note.example.com/text": "x".repeat(200) };
    const plural = ["configmaps", "secrets", "serviceaccounts"][kind];
    const Kind = ["ConfigMap", "Secret", "ServiceAccount"][kind];
    if (i % 3 === 0) annotations["argocd.argoproj.io/tracking-id"] = `root:/${Kind}:${ns}/${name}`;
    // An owner in the same namespace (the garbage collector checks it by name and uid).
    const owner = i % 10 === 1 ? owners.find((o) => o.ns === ns) : undefined;
    const ownerReferences = owner ? [{ apiVersion: "v1", kind: "ConfigMap", name: owner.name, uid: owner.uid }] : undefined;
    const body = { metadata: { name, namespace: ns, labels: { "app.kubernetes.io/name": `app-${i % 97}` }, annotations, ownerReferences }, ...(kind === 0 ? { data: { "config.yaml": "y".repeat(300) } } : kind === 1 ? { stringData: { token: `t-${i}` } } : {}) };
    const meta = await post(kc, agent, `/api/v1/namespaces/${ns}/${plural}`, body);
    if (kind === 0 && !owners.some((o) => o.ns === ns)) owners.push({ uid: meta.uid, name, ns });
    if (++made % 5000 === 0) process.stdout.write(`  ${made}/${OBJECTS} objects (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < OBJECTS) await one(next++);
    }),
  );
  agent.destroy();
  return Date.now() - started;
}

async function main(): Promise<void> {
  requireToolchain("kube-apiserver", "etcd", "kubectl", "kwok");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-audit-"));
  process.stdout.write(`► audit benchmark: sandbox API server with ${OBJECTS.toLocaleString("en-US")} objects (${os.cpus().length} cores)\n`);
  const sandbox = await startSandbox({ dir: path.join(dir, "cluster") });
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(sandbox.kubeconfig);
    const fillMs = await fill(kc);
    process.stdout.write(`  filled in ${(fillMs / 1000).toFixed(1)} s\n`);
    const rssFile = path.join(dir, "rss");
    const env = { ...process.env, CI: "true", BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--require ${path.join(__dirname, "rss-probe.js")}` };
    const started = performance.now();
    const r = spawnSync(process.execPath, [path.join(PROJECT_DIR, "bootstrap/gitops-bootstrap.js"), "audit", "--stack", "sandbox", "--kubeconfig", sandbox.kubeconfig, "--json"], { cwd: PROJECT_DIR, env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    const ms = performance.now() - started;
    if (r.status !== 1 && r.status !== 0) throw new Error(`audit exited ${r.status}: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as { counts: Record<string, number> };
    const rss = Number(fs.readFileSync(rssFile, "utf8"));
    const ok = ms < 20_000 && rss < 300 * 1024 * 1024;
    process.stdout.write(`  counts: ${JSON.stringify(report.counts)}\n`);
    process.stdout.write(
      `${ok ? "✔" : "✗"} audit of ${report.counts.objects.toLocaleString("en-US")} objects: ${(ms / 1000).toFixed(1)} s wall, peak RSS ${(rss / 1024 / 1024).toFixed(0)} MB, ` +
        `${Math.round(report.counts.objects / (ms / 1000)).toLocaleString("en-US")} objects/s (goal: under 20 s and 300 MB)\n`,
    );
  } finally {
    await sandbox.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
