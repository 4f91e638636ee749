/**
 * The authorization webhook of the sandbox's `deny` rules (sandbox.ts starts it): the API server
 * sends it only the requests a rule's match condition selects, and it refuses every one
 * (`denied: true`, so the client gets HTTP 403 Forbidden). A process of its own, so that a test
 * blocking its event loop (execFileSync) never makes the API server's call time out.
 *
 * Arguments: <port> <cert file> <key file>. Listens on 127.0.0.1 until killed.
 */
"use strict";
const fs = require("node:fs");
const https = require("node:https");

const [port, cert, key] = process.argv.slice(2);
const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let apiVersion = "authorization.k8s.io/v1";
    try {
      apiVersion = JSON.parse(Buffer.concat(chunks).toString("utf8")).apiVersion || apiVersion;
    } catch {
      // not a SubjectAccessReview (a readiness probe): the same answer
    }
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ apiVersion, kind: "SubjectAccessReview", status: { allowed: false, denied: true, reason: "refused by the sandbox's deny rule" } }));
  });
});
server.listen(Number(port), "127.0.0.1");
