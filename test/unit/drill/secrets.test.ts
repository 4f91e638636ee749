import { expectedSealedSecrets, expectedSecrets } from "../../../bootstrap/drill/secrets";

const file = (path: string, text: string) => ({ path, content: Buffer.from(text) });
const sopsBlock = "sops:\n  age: []\n  lastmodified: '2026-01-01T00:00:00Z'\n  mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n  version: 3.13.3\n";

describe("expectedSecrets", () => {
  it("takes name and namespace from the clear metadata of SOPS-encrypted Secrets only", () => {
    const files = [
      file("apps/db/secret.sops.yaml", `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: data\nstringData:\n  password: ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n${sopsBlock}`),
      file("apps/web/secret.sops.yaml", `apiVersion: v1\nkind: Secret\nmetadata:\n  name: web\nstringData:\n  token: ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n${sopsBlock}`),
      file("apps/hidden.sops.yaml", `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ENC[AES256_GCM,data:a,iv:b,tag:c,type:str]\n${sopsBlock}`),
      file("apps/plain.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: not-sops\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"),
      file("clusters/other/secret.sops.yaml", `apiVersion: v1\nkind: Secret\nmetadata:\n  name: other\n  namespace: x\n${sopsBlock}`),
    ];
    expect(expectedSecrets(files)).toEqual([
      { file: "apps/db/secret.sops.yaml", name: "db", namespace: "data" },
      { file: "apps/web/secret.sops.yaml", name: "web", namespace: undefined },
      { file: "clusters/other/secret.sops.yaml", name: "other", namespace: "x" },
    ]);
    expect(expectedSecrets(files, "./apps/").map((s) => s.name)).toEqual(["db", "web"]);
  });
});

describe("expectedSealedSecrets", () => {
  it("takes the SealedSecrets of Bitnami's API, with or without a namespace, under a folder when asked", () => {
    const files = [
      file("apps/api.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: api\n  namespace: apps\nspec:\n  encryptedData:\n    token: AgB=\n"),
      file("apps/floating.yaml", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: floating\n"),
      file("apps/lookalike.yaml", "apiVersion: example.com/v1\nkind: SealedSecret\nmetadata:\n  name: not-bitnami\n"),
      file("other/x.yaml", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: x\n  namespace: o\n"),
    ];
    expect(expectedSealedSecrets(files)).toEqual([
      { file: "apps/api.yaml", name: "api", namespace: "apps" },
      { file: "apps/floating.yaml", name: "floating", namespace: undefined },
      { file: "other/x.yaml", name: "x", namespace: "o" },
    ]);
    expect(expectedSealedSecrets(files, "apps").map((s) => s.name)).toEqual(["api", "floating"]);
  });
});
