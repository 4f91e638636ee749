/**
 * The https front of the e2e Git server (git-server.ts starts it): Git's smart HTTP protocol,
 * answered by `git http-backend` run as a CGI program per request. A process of its own, so
 * that a test blocking its event loop (execFileSync) never stalls a fetch, and a synchronous
 * `git clone` from the test itself works.
 *
 * Reads its settings as the first line of stdin, one JSON object:
 *   {root, cert, key, accessLog, auth?: {username, password}}
 * prints `listening <port>` once it listens on 127.0.0.1, and serves until stdin ends (the
 * parent closed it or died: no server outlives its test) or it is killed.
 * The access log has one line per request (method, path, status, user), never credentials.
 */
"use strict";
const { spawn } = require("node:child_process");
const { timingSafeEqual } = require("node:crypto");
const fs = require("node:fs");
const https = require("node:https");

function parseCgiHead(head) {
  for (const sep of ["\r\n\r\n", "\n\n"]) {
    const at = head.indexOf(sep);
    if (at < 0) continue;
    const headers = [];
    let status = 200;
    for (const line of head.subarray(0, at).toString("latin1").split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
      else headers.push([name, value]);
    }
    return { status, headers, rest: head.subarray(at + sep.length) };
  }
  return undefined;
}

function authenticatedUser(header, auth) {
  const m = /^Basic\s+(\S+)$/i.exec(header || "");
  if (!m) return undefined;
  const given = Buffer.from(m[1], "base64");
  const expected = Buffer.from(`${auth.username}:${auth.password}`);
  return given.length === expected.length && timingSafeEqual(given, expected) ? auth.username : undefined;
}

function serve(config) {
  const log = (line) => fs.appendFileSync(config.accessLog, `${new Date().toISOString()} ${line}\n`);
  const server = https.createServer({ cert: fs.readFileSync(config.cert), key: fs.readFileSync(config.key) }, (req, res) => {
    const url = new URL(req.url || "/", "https://127.0.0.1");
    const record = (status, user) => log(`${req.method} ${url.pathname}${url.search} ${status} ${user || "-"}`);
    let user;
    if (config.auth) {
      user = authenticatedUser(req.headers.authorization, config.auth);
      if (!user) {
        req.resume();
        res.writeHead(401, { "WWW-Authenticate": 'Basic realm="gitops-bootstrap e2e"', "Content-Type": "text/plain" });
        res.end("authentication required\n");
        record(401);
        return;
      }
    }
    const env = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: config.root,
      GIT_HTTP_EXPORT_ALL: "1",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      REQUEST_METHOD: req.method || "GET",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ""),
      CONTENT_TYPE: req.headers["content-type"] || "",
      REMOTE_ADDR: req.socket.remoteAddress || "127.0.0.1",
    };
    // Without CONTENT_LENGTH (a chunked body) http-backend reads the body to its end.
    if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
    if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = req.headers["content-encoding"];
    if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);
    // http-backend accepts pushes only from an authenticated user (REMOTE_USER).
    if (user) env.REMOTE_USER = user;

    const cgi = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
    req.pipe(cgi.stdin);
    cgi.stdin.on("error", () => undefined); // it may answer before reading the whole body
    let stderr = "";
    cgi.stderr.on("data", (d) => (stderr += d.toString()));
    let head = Buffer.alloc(0);
    let started = false;
    cgi.stdout.on("data", (chunk) => {
      if (started) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const parsed = parseCgiHead(head);
      if (!parsed) return;
      started = true;
      res.writeHead(parsed.status, parsed.headers);
      if (parsed.rest.length) res.write(parsed.rest);
      record(parsed.status, user);
    });
    cgi.on("error", (e) => (stderr += `spawn: ${e.message}`));
    cgi.on("close", (code) => {
      if (!started) {
        res.writeHead(500, { "Content-Type": "text/plain" });
        res.end("git http-backend failed\n");
        record(500, user);
      } else {
        res.end();
      }
      if (code !== 0 && stderr) log(`  git http-backend exited ${code}: ${stderr.trim()}`);
    });
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${server.address().port}\n`));
}

let input = "";
let started = false;
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  input += d;
  const nl = input.indexOf("\n");
  if (started || nl < 0) return;
  started = true;
  serve(JSON.parse(input.slice(0, nl)));
});
process.stdin.on("end", () => process.exit(0));
