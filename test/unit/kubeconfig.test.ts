import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { MissingKubeconfigError, absoluteKubeconfigPath, kubeConfigOf, resolveKubeconfig, singleContextKubeconfig } from "../../bootstrap/cluster/kubeconfig";
import { UsageError } from "../../components/errors";
import { cli } from "./cli-harness";

/** Two clusters, two users, two contexts; `current` picks one. Tokens are made up. */
const twoClusters = (current: string) =>
  YAML.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "a", cluster: { server: "https://a.example:6443", "certificate-authority": "pki/a-ca.crt" } },
      { name: "b", cluster: { server: "https://b.example:6443", "certificate-authority-data": "Yi1jYQ==" } },
    ],
    users: [
      { name: "alice", user: { token: "token-of-a", "client-key": "keys/alice.key", "client-certificate": "/abs/alice.crt" } },
      { name: "bob", user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "./bin/get-token", args: ["b"] } } },
    ],
    contexts: [
      { name: "ctx-a", context: { cluster: "a", user: "alice", namespace: "team" } },
      { name: "ctx-b", context: { cluster: "b", user: "bob" } },
    ],
    "current-context": current,
  });

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeconfig-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("singleContextKubeconfig", () => {
  it("keeps only the chosen context, its cluster and its user, at that context, with file paths made absolute", () => {
    const single = singleContextKubeconfig([{ text: twoClusters("ctx-b"), where: "/home/me/.kube/config", dir: "/home/me/.kube" }], "ctx-a", "--kubeconfig /home/me/.kube/config");
    expect(single.context).toBe("ctx-a");
    expect(single.server).toBe("https://a.example:6443");
    expect(YAML.parse(single.yaml)).toEqual({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "a", cluster: { server: "https://a.example:6443", "certificate-authority": "/home/me/.kube/pki/a-ca.crt" } }],
      users: [{ name: "alice", user: { token: "token-of-a", "client-key": "/home/me/.kube/keys/alice.key", "client-certificate": "/abs/alice.crt" } }],
      contexts: [{ name: "ctx-a", context: { cluster: "a", user: "alice", namespace: "team" } }],
      "current-context": "ctx-a",
    });
    expect(single.yaml).not.toContain("b.example");
  });

  it("takes the current context when none is asked for; an exec command with a folder is relative to the kubeconfig", () => {
    const single = singleContextKubeconfig([{ text: twoClusters("ctx-b"), where: "/k/config", dir: "/k" }], undefined, "KUBECONFIG /k/config");
    expect(single.context).toBe("ctx-b");
    expect(YAML.parse(single.yaml).users[0].user.exec.command).toBe("/k/bin/get-token");
  });

  it("merges several files as kubectl does: the first definition of a name and the first current-context win", () => {
    const first = YAML.stringify({ clusters: [{ name: "a", cluster: { server: "https://first.example" } }], contexts: [], "current-context": "ctx-a" });
    const single = singleContextKubeconfig([{ text: first, where: "/1", dir: "/" }, { text: twoClusters("ctx-b"), where: "/2", dir: "/" }], undefined, "KUBECONFIG");
    expect(single).toMatchObject({ context: "ctx-a", server: "https://first.example" });
  });

  it("names the source and what is missing: a context, its cluster's server, or any current context", () => {
    const doc = [{ text: twoClusters("ctx-a"), where: "/k/config", dir: "/k" }];
    expect(() => singleContextKubeconfig(doc, "prod", "--kubeconfig /k/config")).toThrow("the kubeconfig /k/config (--kubeconfig /k/config) has no context prod (it has: ctx-a, ctx-b)");
    const noServer = YAML.stringify({ clusters: [{ name: "a", cluster: {} }], contexts: [{ name: "x", context: { cluster: "a" } }], "current-context": "x" });
    expect(() => singleContextKubeconfig([{ text: noServer, where: "/k/c" }], undefined, "f")).toThrow("context x names no cluster with a server (cluster a)");
    const noCurrent = YAML.stringify({ clusters: [], contexts: [] });
    expect(() => singleContextKubeconfig([{ text: noCurrent, where: "/k/c" }], undefined, "f")).toThrow(/has no current context: pick one with kubectl config use-context/);
    expect(() => singleContextKubeconfig([{ text: "clusters: [", where: "/k/c" }], undefined, "f")).toThrow(/the kubeconfig \/k\/c \(f\) is not valid YAML/);
  });

  it("gives the watcher's client the same server and context", () => {
    const kc = kubeConfigOf(singleContextKubeconfig([{ text: twoClusters("ctx-b"), where: "/k/config", dir: "/k" }], "ctx-a", "f"));
    expect(kc.getCurrentContext()).toBe("ctx-a");
    expect(kc.getCurrentCluster()?.server).toBe("https://a.example:6443");
    expect(kc.getContexts().map((c) => c.name)).toEqual(["ctx-a"]);
  });
});

describe("resolveKubeconfig", () => {
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...extra });

  it("reads --kubeconfig=~/x as the file in the home folder, once, as an absolute path", () => {
    fs.mkdirSync(path.join(dir, "home"));
    fs.writeFileSync(path.join(dir, "home", "x"), twoClusters("ctx-a"));
    expect(absoluteKubeconfigPath("~/x", "/elsewhere", path.join(dir, "home"))).toBe(path.join(dir, "home", "x"));
    const r = resolveKubeconfig({ given: "~/x", stack: {}, projectDir: "/p", cwd: "/elsewhere", env: env(), home: path.join(dir, "home") });
    expect(r).toMatchObject({ context: "ctx-a", from: `--kubeconfig ${path.join(dir, "home", "x")}` });
  });

  it("uses the stack's kubernetes:context inside --kubeconfig, or says what to pass when that file lacks it", () => {
    const file = path.join(dir, "k");
    fs.writeFileSync(file, twoClusters("ctx-a"));
    expect(resolveKubeconfig({ given: file, stack: { context: "ctx-b" }, projectDir: dir, env: env() }).server).toBe("https://b.example:6443");
    expect(() => resolveKubeconfig({ given: file, stack: { context: "prod" }, projectDir: dir, env: env() })).toThrow(
      `the stack sets kubernetes:context prod, which --kubeconfig ${file} does not have: pass a --kubeconfig that has the context prod, or remove it from the stack (pulumi config rm kubernetes:context)`,
    );
  });

  it("reads the stack's kubernetes:kubeconfig relative to the project, or inline", () => {
    fs.writeFileSync(path.join(dir, "stack.kubeconfig"), twoClusters("ctx-b"));
    expect(resolveKubeconfig({ stack: { kubeconfig: "stack.kubeconfig" }, projectDir: dir, env: env({ KUBECONFIG: "/nowhere" }) }).context).toBe("ctx-b");
    expect(resolveKubeconfig({ stack: { kubeconfig: twoClusters("ctx-a") }, projectDir: dir, env: env() }).from).toBe("the stack's kubernetes:kubeconfig");
  });

  it("without any kubeconfig, says to pass --kubeconfig (or KUBECONFIG) instead of trying a default address", () => {
    const home = path.join(dir, "empty-home");
    fs.mkdirSync(home);
    const none = () => resolveKubeconfig({ stack: {}, projectDir: dir, env: env(), home });
    expect(none).toThrow(MissingKubeconfigError);
    expect(none).toThrow(/^no kubeconfig: pass --kubeconfig FILE \(or set KUBECONFIG, or the stack's kubernetes:kubeconfig\)/);
    expect(() => resolveKubeconfig({ stack: {}, projectDir: dir, env: env({ KUBECONFIG: `${dir}/a:${dir}/b` }), home })).toThrow(/^no kubeconfig: KUBECONFIG names .*, and none of it exists; pass --kubeconfig FILE/);
    expect(() => resolveKubeconfig({ given: path.join(dir, "missing"), stack: {}, projectDir: dir, env: env(), home })).toThrow(UsageError);
  });
});

describe("a missing kubeconfig on the command line", () => {
  it("audit and backup-keys stop with exit 2 naming --kubeconfig, not an HTTP error, and audit does not exit 1", async () => {
    const home = path.join(dir, "empty-home");
    fs.mkdirSync(home);
    for (const args of [["audit", "--stack", "demo"], ["backup-keys", "--stack", "demo", "--out", path.join(dir, "keys.sops.yaml")]]) {
      const r = await cli(args, undefined, { HOME: home });
      expect([args[0], r.code]).toEqual([args[0], 2]);
      expect(r.stderr).toMatch(/✗ no kubeconfig: pass --kubeconfig FILE \(or set KUBECONFIG/);
      expect(r.stderr).not.toMatch(/HTTP protocol/);
    }
    expect(fs.existsSync(path.join(dir, "keys.sops.yaml"))).toBe(false);
  });
});
