/**
 * The e2e runs controllers as local processes with their chart's flags (test/e2e/chart-pods.ts):
 * the flags it must set for a local process replace the chart's, the others are kept as rendered.
 */
import { withOurFlags } from "../e2e/chart-pods";

test("the chart's flags are kept, except those we set, in either --name=value or --name value form", () => {
  // As the flux2 chart 2.18.3 renders source-controller's, and the sealed-secrets chart's.
  const flux = ["--events-addr=http://notification-controller.flux-system.svc.cluster.local.", "--watch-all-namespaces=true", "--log-level=info", "--log-encoding=json", "--enable-leader-election", "--storage-path=/data"];
  expect(withOurFlags(flux, { "events-addr": "", "enable-leader-election": "false", "storage-path": "/tmp/s" })).toEqual([
    "--watch-all-namespaces=true",
    "--log-level=info",
    "--log-encoding=json",
    "--events-addr=",
    "--enable-leader-election=false",
    "--storage-path=/tmp/s",
  ]);
  const sealed = ["--update-status", "--key-prefix", "sealed-secrets-key", "--listen-addr", ":8080", "--listen-metrics-addr", ":8081"];
  expect(withOurFlags(sealed, { "listen-addr": "127.0.0.1:1", "listen-metrics-addr": "127.0.0.1:2" })).toEqual([
    "--update-status",
    "--key-prefix",
    "sealed-secrets-key",
    "--listen-addr=127.0.0.1:1",
    "--listen-metrics-addr=127.0.0.1:2",
  ]);
});

test("the argo-cd chart's leading binary path is dropped (the local binary's role comes from ARGOCD_BINARY_NAME); null only removes", () => {
  expect(withOurFlags(["/usr/local/bin/argocd-application-controller", "--metrics-port=8082", "--loglevel=warn"], { "metrics-port": "9", "loglevel": null })).toEqual(["--metrics-port=9"]);
});

test("redis's form: --name value", () => {
  // The argo-cd chart's redis, its password already substituted by the kubelet.
  expect(withOurFlags(["--save", "", "--appendonly", "no", "--requirepass pw"], { bind: "127.0.0.1", port: "6380" }, "--name value")).toEqual([
    "--save",
    "",
    "--appendonly",
    "no",
    "--requirepass pw",
    "--bind",
    "127.0.0.1",
    "--port",
    "6380",
  ]);
});
