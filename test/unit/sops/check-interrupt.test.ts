/**
 * Ctrl-C (SIGINT) or SIGTERM while `gitops-bootstrap check` clones a URL: the real command, run
 * as its own process against a local HTTP server that accepts the connection and never answers
 * (a hung Git server). It exits 130, and leaves neither the temporary clone nor a `git` process.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";

jest.setTimeout(120_000);

const SHIM = path.resolve(__dirname, "../../../bootstrap/gitops-bootstrap.js");

let server: http.Server;
let port: number;
let requests = 0;
let work: string;
let keyFile: string;

beforeAll(async () => {
  server = http.createServer(() => {
    requests++; // never answered
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  work = fs.mkdtempSync(path.join(os.tmpdir(), "check-interrupt-"));
  keyFile = path.join(work, "key.txt");
  fs.writeFileSync(keyFile, `${await age.generateX25519Identity()}\n`, { mode: 0o600 });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(work, { recursive: true, force: true });
});

/** Every process whose parent chain leads to `pid`, from /proc. */
function descendants(pid: number): { pid: number; name: string }[] {
  const parent = new Map<number, { ppid: number; name: string }>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" ");
      parent.set(Number(entry), { ppid: Number(fields[1]), name: stat.slice(stat.indexOf("(") + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  const out: { pid: number; name: string }[] = [];
  for (const [p, info] of parent) {
    for (let up = info.ppid, hops = 0; up > 1 && hops < 64; up = parent.get(up)?.ppid ?? 0, hops++) {
      if (up === pid) {
        out.push({ pid: p, name: info.name });
        break;
      }
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    const state = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    return state !== "Z";
  } catch {
    return false;
  }
};

async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  test(`${signal} during the clone of a URL: exit 130, no temporary clone, no git left`, async () => {
    const tmp = fs.mkdtempSync(path.join(work, "tmp-"));
    const before = requests;
    const child = spawn(process.execPath, [SHIM, "check", "--repo", `http://127.0.0.1:${port}/state.git`, "--age-key-file", keyFile], {
      env: { ...process.env, TMPDIR: tmp, GITOPS_BOOTSTRAP_FROM_SOURCES: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // The clone is under way: its folder exists, git asked the server, and git processes run.
    await until("the clone to start", () => (requests > before && fs.readdirSync(tmp).some((d) => d.startsWith("gitops-bootstrap-check-")) ? true : undefined));
    const gits = await until("git processes", () => {
      const found = descendants(child.pid as number).filter((p) => p.name.startsWith("git"));
      return found.length > 0 ? found : undefined;
    });
    child.kill(signal);
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/■ interrupted/);
    expect(fs.readdirSync(tmp).filter((d) => d.startsWith("gitops-bootstrap-"))).toEqual([]);
    await until("every git process to end", () => (gits.every((g) => !alive(g.pid)) ? true : undefined), 5000);
  });
}
