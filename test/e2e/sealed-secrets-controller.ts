/**
 * The real Sealed Secrets controller (v0.40.0, built from its module by the toolchain) as a local
 * process against a sandbox cluster. It has no kubeconfig flag (in-cluster configuration only),
 * so it runs in a private mount namespace (`unshare --mount`, root as in CI) where
 * /run/secrets/kubernetes.io/serviceaccount holds a token of the ServiceAccount the chart made
 * for it (TokenRequest) and the API server's CA, with KUBERNETES_SERVICE_HOST/PORT pointing at the
 * sandbox: it can do what the sealed-secrets chart's RBAC grants, no more. Its flags are the
 * chart's Deployment's, with loopback listeners and no key renewal. The chart's pod is kwok's;
 * this process does the work.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import * as YAML from "yaml";
import { chartContainer, withOurFlags } from "./chart-pods";
import { freePort, httpStatus, terminate, watchParent } from "./processes";
import { toolchainPath } from "./toolchain";

export interface SealedSecretsToolchain {
  readonly controller: string;
  readonly kubeseal: string;
  readonly crds: string;
}

export function sealedSecretsToolchain(): SealedSecretsToolchain {
  const dir = toolchainPath()
    .split(":")
    .find((d) => fs.existsSync(path.join(d, "sealed-secrets-controller")));
  if (!dir) throw new Error("the e2e toolchain lacks the Sealed Secrets controller: build it with `bash test/e2e/toolchain/build.sh sealed-secrets`");
  return { controller: path.join(dir, "sealed-secrets-controller"), kubeseal: path.join(dir, "kubeseal"), crds: path.join(dir, "..", "crds") };
}

export interface SealedSecretsController {
  /** Where kubeseal fetches the certificate (`kubeseal --cert <url>`). */
  readonly certUrl: string;
  readonly logFile: string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** The PEM chain the API server presents (its serving certificate and the CA that signed it). */
function serverChain(server: string): Promise<string> {
  const url = new URL(server);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false, servername: url.hostname === "127.0.0.1" ? undefined : url.hostname }, () => {
      const pems: string[] = [];
      let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        pems.push(`-----BEGIN CERTIFICATE-----\n${cert.raw.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`);
        cert = cert.issuerCertificate;
      }
      socket.end();
      resolve(pems.join(""));
    });
    socket.on("error", reject);
  });
}

export async function startSealedSecretsController(options: { dir: string; kubeconfig: string; kubectl: (args: readonly string[]) => string; namespace?: string; name?: string }): Promise<SealedSecretsController> {
  const tools = sealedSecretsToolchain();
  const namespace = options.namespace ?? "kube-system";
  const name = options.name ?? "sealed-secrets-controller";
  const saDir = path.join(options.dir, "serviceaccount");
  fs.mkdirSync(saDir, { recursive: true });
  fs.mkdirSync(path.join(options.dir, "logs"), { recursive: true });
  // The chart's pod: its ServiceAccount (so only the chart's RBAC), its flags.
  const container = await chartContainer(options.kubeconfig, { kind: "Deployment", name, namespace });
  if (!container) throw new Error(`the Sealed Secrets controller runs as the chart's pod: Deployment ${namespace}/${name} and its ServiceAccount must exist (deploy the chart first)`);
  const token = options.kubectl(["create", "token", container.serviceAccount, "-n", namespace, "--duration=2h"]).trim();
  const server = (YAML.parse(fs.readFileSync(options.kubeconfig, "utf8")) as { clusters: { cluster: { server: string } }[] }).clusters[0].cluster.server;
  fs.writeFileSync(path.join(saDir, "token"), token, { mode: 0o600 });
  fs.writeFileSync(path.join(saDir, "ca.crt"), await serverChain(server));
  fs.writeFileSync(path.join(saDir, "namespace"), namespace);

  const port = await freePort();
  const metrics = await freePort();
  const logFile = path.join(options.dir, "logs", "sealed-secrets-controller.log");
  const url = new URL(server);
  const script = 'mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && cp "$SA_DIR"/* /run/secrets/kubernetes.io/serviceaccount/ && exec "$@"';
  const logFd = fs.openSync(logFile, "a");
  const args = withOurFlags(container.args, { "listen-addr": `127.0.0.1:${port}`, "listen-metrics-addr": `127.0.0.1:${metrics}`, "key-renew-period": "0" });
  const child: ChildProcess = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", tools.controller, ...args], {
    env: { ...container.env, PATH: process.env.PATH, HOME: options.dir, SA_DIR: saDir, KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
    stdio: ["ignore", logFd, logFd],
  });
  fs.closeSync(logFd);
  const watchdog = watchParent([child.pid!]);
  const logTail = (lines = 40): string => `--- last lines of ${logFile} ---\n${fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : "(no log)"}`;
  const certUrl = `http://127.0.0.1:${port}/v1/cert.pem`;
  const stop = async (): Promise<void> => {
    watchdog.kill("SIGKILL");
    await terminate(child);
  };
  const deadline = Date.now() + 60_000;
  while ((await httpStatus(certUrl)) !== 200) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the Sealed Secrets controller did not serve its certificate (${child.exitCode ?? child.signalCode ?? "timeout"})\n${logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { certUrl, logFile, logTail, stop };
}

/**
 * Starts the controller once its Deployment (from the release `up` installs) exists, as the
 * kubelet would start its pod: so the keys `up` restores are there before it starts. Resolves
 * to the running controller; `cancel()` stops waiting.
 */
export function startWhenDeployed(options: { dir: string; kubeconfig: string; kubectl: (args: readonly string[]) => string; namespace?: string; name?: string }): { controller: Promise<SealedSecretsController>; cancel: () => void } {
  let cancelled = false;
  const namespace = options.namespace ?? "kube-system";
  const name = options.name ?? "sealed-secrets-controller";
  const controller = (async () => {
    for (;;) {
      if (cancelled) throw new Error("cancelled before the controller's Deployment appeared");
      try {
        options.kubectl(["get", "deployment", name, "-n", namespace, "-o", "name"]);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    return startSealedSecretsController(options);
  })();
  controller.catch(() => undefined); // awaited by the test; a cancel is not an unhandled rejection
  return { controller, cancel: () => void (cancelled = true) };
}
