import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { FRESH_NAMESPACES, guardProblems, otherStackBindings } from "../../../bootstrap/drill/guard";

describe("drill guard", () => {
  const base = { namespaces: [...FRESH_NAMESPACES], workloads: [], persistentVolumeClaims: [], server: "https://127.0.0.1:6443", context: "kind-drill", otherStacks: [] };

  it("lets a fresh cluster through (kind's local-path-storage included)", () => {
    expect(guardProblems(base)).toEqual([]);
  });

  it("refuses a cluster with other namespaces, naming them", () => {
    expect(guardProblems({ ...base, namespaces: [...FRESH_NAMESPACES, "argocd", "payments"] })).toEqual(["the cluster is not empty: it has namespaces a fresh cluster does not have (argocd, payments)"]);
  });

  it("refuses the cluster another stack deploys to, by server, or by context name when the server is unknown", () => {
    expect(guardProblems({ ...base, otherStacks: [{ stack: "prod", context: "prod-admin", server: "https://127.0.0.1:6443/" }] })).toEqual(["stack prod deploys to this cluster (context prod-admin, server https://127.0.0.1:6443/)"]);
    expect(guardProblems({ ...base, otherStacks: [{ stack: "dev", context: "kind-drill" }] })).toEqual(["stack dev uses the context kind-drill, the same name as the drill's"]);
    expect(guardProblems({ ...base, otherStacks: [{ stack: "prod", context: "prod-admin", server: "https://prod.example.com" }] })).toEqual([]);
  });
});

describe("otherStackBindings", () => {
  const kubeconfig = (server: string, context: string) => [
    "apiVersion: v1", "kind: Config",
    `clusters: [{name: c, cluster: {server: "${server}"}}]`,
    "users: [{name: u, user: {token: not-a-secret}}]",
    `contexts: [{name: ${context}, context: {cluster: c, user: u}}]`,
    `current-context: ${context}`,
  ].join("\n");

  it("resolves the server of stacks bound by a kubeconfig path or inline kubeconfig and context; skips unbound ones and the drill stack", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "guard-"));
    try {
      fs.mkdirSync(path.join(dir, "stacks"));
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: p\nruntime: nodejs\nstackConfigDir: stacks\n");
      fs.writeFileSync(path.join(dir, "prod.kubeconfig"), kubeconfig("https://prod.example.com:6443", "prod-admin"));
      const stack = (name: string, config: Record<string, unknown>) => fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${name}.yaml`), YAML.stringify({ config }));
      stack("prod", { "kubernetes:kubeconfig": "prod.kubeconfig", "kubernetes:context": "prod-admin" });
      stack("staging", { "kubernetes:kubeconfig": kubeconfig("https://staging.example.com", "stg") });
      stack("lab", { "kubernetes:kubeconfig": "prod.kubeconfig", "kubernetes:context": "no-such-context" });
      stack("dev", { "gitops-bootstrap:environment": "dev" });
      stack("drill", { "kubernetes:context": "kind-drill" });
      expect(otherStackBindings(dir, "drill")).toEqual([
        { stack: "lab", context: "no-such-context", kubeconfig: "prod.kubeconfig", server: undefined },
        { stack: "prod", context: "prod-admin", kubeconfig: "prod.kubeconfig", server: "https://prod.example.com:6443" },
        { stack: "staging", context: undefined, kubeconfig: undefined, server: "https://staging.example.com" },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
