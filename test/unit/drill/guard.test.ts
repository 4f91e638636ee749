import { FRESH_NAMESPACES, guardProblems } from "../../../bootstrap/drill/guard";

describe("drill guard", () => {
  const base = { namespaces: [...FRESH_NAMESPACES], server: "https://127.0.0.1:6443", context: "kind-drill", otherStacks: [] };

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
