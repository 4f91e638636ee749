/**
 * What the e2e helpers that run local processes share (the sandbox cluster, the Flux and Argo CD
 * controllers, the Git server): a free loopback port, an HTTP status probe, and killing what a
 * crashed earlier run left behind (its pids are recorded in a file of the helper's directory).
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";

/** A port nothing listens on at 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The status code of a GET (0 when nothing answers within 2 s). https is not verified: the
 * sandbox's own certificates. Over a Unix socket when `socketPath` is given.
 */
export function httpStatus(url: string, options: { token?: string; socketPath?: string } = {}): Promise<number> {
  return new Promise((resolve) => {
    const mod = url.startsWith("https") ? https : http;
    const headers = options.token ? { Authorization: `Bearer ${options.token}` } : {};
    const req = mod.get(url, { rejectUnauthorized: false, headers, timeout: 2000, ...(options.socketPath ? { socketPath: options.socketPath } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => {
      req.destroy();
      resolve(0);
    });
  });
}

/** Kills (SIGKILL) the processes whose pids `pidFile` lists, one per line, then removes it. */
export function killLeftovers(pidFile: string): void {
  if (!fs.existsSync(pidFile)) return;
  for (const pid of fs.readFileSync(pidFile, "utf8").split("\n").filter(Boolean).map(Number)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  fs.rmSync(pidFile, { force: true });
}

/** Stops a child process: SIGTERM, then SIGKILL if it has not exited 10 s later. Resolves once it is gone. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Starts `helper`; if that fails, stops what it did start before rethrowing. Resolves to the helper. */
export async function startedOrStopped<T extends { start(): Promise<void>; stop(): Promise<void> }>(helper: T): Promise<T> {
  try {
    await helper.start();
  } catch (e) {
    await helper.stop();
    throw e;
  }
  return helper;
}

/**
 * A small process that SIGTERMs `pids` when its stdin closes, i.e. when this (jest) process
 * ends without stop(), even by SIGKILL: no controller outlives its test run.
 */
export function watchParent(pids: readonly number[]): ChildProcess {
  const code = `process.stdin.resume(); process.stdin.on("end", () => { for (const p of process.argv.slice(1)) { try { process.kill(Number(p), "SIGTERM"); } catch {} } process.exit(0); });`;
  const child = spawn(process.execPath, ["-e", code, ...pids.map(String)], { stdio: ["pipe", "ignore", "ignore"] });
  child.unref();
  (child.stdin as net.Socket | null)?.unref(); // does not keep this process alive either
  return child;
}

/**
 * `spawnSync` without blocking the test's event loop: the helpers that play the kubelet (restarts
 * after a crash, Secrets written to mounted files) run on timers, which a synchronous spawn stops
 * for as long as the child runs.
 */
export function runAsync(
  bin: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ status: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}
