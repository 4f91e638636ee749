import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type ClusterIdentity, identityChange, writePrivateKubeconfig } from "../../../bootstrap/drill/target";

describe("cluster identity", () => {
  const checked: ClusterIdentity = { context: "kind-drill", server: "https://127.0.0.1:6443", kubeSystemUid: "4a7c" };

  it("is the same cluster when server, context and kube-system UID match (a trailing slash or case in the URL does not count)", () => {
    expect(identityChange(checked, { ...checked, server: "https://127.0.0.1:6443/" })).toBeUndefined();
    expect(identityChange(checked, { ...checked, server: "HTTPS://127.0.0.1:6443" })).toBeUndefined();
  });

  it("says what changed: a new cluster at the same address, another server, another context", () => {
    expect(identityChange(checked, { ...checked, kubeSystemUid: "9e01" })).toBe("the kube-system namespace has the UID 9e01, not 4a7c (another cluster answers at https://127.0.0.1:6443)");
    expect(identityChange(checked, { context: "prod", server: "https://prod.example.com", kubeSystemUid: "77" })).toBe(
      "the API server is https://prod.example.com, not https://127.0.0.1:6443; the context is prod, not kind-drill; the kube-system namespace has the UID 77, not 4a7c (another cluster answers at https://prod.example.com)",
    );
  });
});

describe("the run's private kubeconfig", () => {
  it("is a 0600 file in a new 0700 folder, and remove() deletes the folder", () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "private-kc-"));
    try {
      const f = writePrivateKubeconfig("apiVersion: v1\nkind: Config\n", base);
      expect(fs.readFileSync(f.file, "utf8")).toBe("apiVersion: v1\nkind: Config\n");
      expect(fs.statSync(f.file).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(f.file)).mode & 0o777).toBe(0o700);
      f.remove();
      expect(fs.existsSync(path.dirname(f.file))).toBe(false);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
