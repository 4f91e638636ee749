#!/usr/bin/env node
/*
 * Runs a program in the private network namespace it was started in (`unshare --net`), where
 * only a loopback interface exists, and gives it the host's loopback services it needs: for each
 * given port P it listens on 127.0.0.1:P inside and forwards each connection to the Unix socket
 * <sockdir>/P.sock, which the test process serves on the host side (Unix sockets are files, so
 * they cross network namespaces). It also serves <sockdir>/inside-<Q>.sock, forwarding to
 * 127.0.0.1:Q inside, so the host can reach a listener of the program (its health endpoint).
 *
 * Why: Argo CD's application-controller binds its metrics listener to 0.0.0.0 with no flag or
 * environment variable to change it (controller/appcontroller.go: "0.0.0.0:%d"); in this
 * namespace "all interfaces" is a loopback that nothing else can reach.
 *
 * Usage: unshare --net node argo-netns-bridge.js <sockdir> <port,...> <inside-port,...> -- <program> [args...]
 * Exits with the program's status; SIGTERM and SIGINT are passed on to it, and so is the end of
 * its stdin (the test process that started it has gone). The program's pid is written to
 * <sockdir>/program.pid, so a later run can end it if this bridge was killed.
 */
"use strict";
const { execFileSync, spawn } = require("node:child_process");
const net = require("node:net");
const path = require("node:path");

const [sockdir, portList, insideList, dashdash, program, ...args] = process.argv.slice(2);
if (!sockdir || dashdash !== "--" || !program) {
  process.stderr.write("usage: argo-netns-bridge.js <sockdir> <port,...> <inside-port,...> -- <program> [args...]\n");
  process.exit(64);
}
const ports = portList.split(",").filter(Boolean).map(Number);
const inside = insideList.split(",").filter(Boolean).map(Number);

// A new network namespace starts with its loopback interface down.
execFileSync("ip", ["link", "set", "lo", "up"], { stdio: "inherit" });

function pipe(a, b) {
  a.pipe(b);
  b.pipe(a);
  a.on("error", () => b.destroy());
  b.on("error", () => a.destroy());
  a.on("close", () => b.destroy());
  b.on("close", () => a.destroy());
}

function listen(server, where) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, resolve);
  });
}

async function main() {
  for (const port of ports) {
    const server = net.createServer((c) => pipe(c, net.connect(path.join(sockdir, `${port}.sock`))));
    await listen(server, { host: "127.0.0.1", port });
  }
  for (const port of inside) {
    const sock = path.join(sockdir, `inside-${port}.sock`);
    require("node:fs").rmSync(sock, { force: true });
    const server = net.createServer((c) => pipe(c, net.connect({ host: "127.0.0.1", port })));
    await listen(server, sock);
  }
  const child = spawn(program, args, { stdio: ["ignore", "inherit", "inherit"] });
  require("node:fs").writeFileSync(path.join(sockdir, "program.pid"), `${child.pid}\n`);
  for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => child.kill(sig));
  process.stdin.on("end", () => child.kill("SIGTERM"));
  process.stdin.resume();
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
  child.on("error", (e) => {
    process.stderr.write(`argo-netns-bridge: ${program}: ${e.message}\n`);
    process.exit(127);
  });
}

main().catch((e) => {
  process.stderr.write(`argo-netns-bridge: ${e.message}\n`);
  process.exit(1);
});
