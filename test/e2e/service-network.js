/**
 * The sandbox's Service network, for the API server's own calls to Services (admission and
 * conversion webhooks): the part kube-proxy plays in a cluster. The sandbox has no kube-proxy and
 * its pods are kwok's, with no process behind their IPs, so the API server is told (its egress
 * selector "cluster", sandbox.ts) to reach Services through this HTTP CONNECT proxy. The API
 * server asks for a Service's ClusterIP and port, as kube-proxy would see it; the routes file
 * maps that address to the local process that plays the Service's pod. TLS stays end to end: the
 * API server verifies the webhook's own certificate against the caBundle of its configuration.
 * A process of its own, so that a test blocking its event loop (execFileSync) never makes the
 * API server's call time out.
 *
 * Arguments: <Unix socket> <routes file: JSON {"<cluster IP>:<port>": "127.0.0.1:<port>"}>. Listens
 * on the socket (the API server's HTTPConnect over TCP requires mutual TLS; over a Unix socket it
 * needs none) until killed; logs each connection it makes or refuses.
 */
"use strict";
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");

const [socket, routesFile] = process.argv.slice(2);

/** Read on every connection: the test adds routes while the proxy runs. */
function routes() {
  try {
    return JSON.parse(fs.readFileSync(routesFile, "utf8"));
  } catch {
    return {};
  }
}

const server = http.createServer((req, res) => {
  res.writeHead(405, { "Content-Type": "text/plain" });
  res.end("only CONNECT\n");
});

server.on("connect", (req, client, head) => {
  const target = routes()[req.url];
  if (!target) {
    console.log(`${new Date().toISOString()} CONNECT ${req.url}: no route (no local process plays this Service's pod)`);
    client.end("HTTP/1.1 503 Service Unavailable\r\n\r\n");
    return;
  }
  const [host, targetPort] = target.split(":");
  let connected = false;
  const upstream = net.connect(Number(targetPort), host, () => {
    connected = true;
    console.log(`${new Date().toISOString()} CONNECT ${req.url} -> ${target}`);
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on("error", (e) => {
    console.log(`${new Date().toISOString()} CONNECT ${req.url} -> ${target}: ${e.message}`);
    // Refused (the process is not up): the API server sees the call fail, as with no endpoint.
    if (!connected) client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
    else client.destroy();
  });
  client.on("error", () => upstream.destroy());
});

fs.rmSync(socket, { force: true }); // left by a previous run on the same data (a restart)
server.listen(socket);
