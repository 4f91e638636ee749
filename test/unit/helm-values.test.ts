import { AGE_KEY_FILE_IN_POD, APPLICATION_HEALTH_LUA, argoCdTlsCertificateKey, argoCdValues, deepMerge, fluxValues } from "../../components/builders/helm-values";
import { AGE_SECRET, KSOPS } from "../../components/defaults";

type Obj = Record<string, any>;

describe("deepMerge", () => {
  test("merges objects recursively and lets the override win on scalars", () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, d: 1 }, { a: { c: 3 }, e: 4 })).toEqual({ a: { b: 1, c: 3 }, d: 1, e: 4 });
  });
  test("null removes a key, as in Helm", () => {
    expect(deepMerge({ a: { b: 1, c: 2 } }, { a: { b: null } })).toEqual({ a: { c: 2 } });
  });
  test("lists of named objects merge by name; other lists are replaced", () => {
    const base = { vols: [{ name: "a", x: 1 }, { name: "b", x: 2 }], args: ["--one"] };
    const out = deepMerge(base, { vols: [{ name: "b", y: 3 }, { name: "c" }], args: ["--two"] });
    expect(out).toEqual({ vols: [{ name: "a", x: 1 }, { name: "b", x: 2, y: 3 }, { name: "c" }], args: ["--two"] });
  });
  test("does not modify its inputs", () => {
    const base = { a: { b: [{ name: "x" }] } };
    deepMerge(base, { a: { b: [{ name: "y" }] } });
    expect(base).toEqual({ a: { b: [{ name: "x" }] } });
  });
});

describe("argoCdValues", () => {
  const values = argoCdValues({ ksopsImage: KSOPS.image }) as Obj;
  const repo = values.repoServer;

  test("installs and keeps the CRDs", () => {
    expect(values.crds).toEqual({ install: true, keep: true });
  });
  test("enables kustomize exec plugins", () => {
    expect(values.configs.cm["kustomize.buildOptions"]).toBe("--enable-alpha-plugins --enable-exec");
  });
  test("installs KSOPS with an exec-form init container (the image has no shell)", () => {
    expect(repo.initContainers).toEqual([
      {
        name: "install-ksops",
        image: KSOPS.image,
        command: ["/usr/local/bin/ksops", "install", "/custom-tools"],
        volumeMounts: [{ name: "custom-tools", mountPath: "/custom-tools" }],
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        },
      },
    ]);
  });
  test("mounts the ksops binary and the age key Secret, read-only", () => {
    expect(repo.volumes).toEqual([
      { name: "custom-tools", emptyDir: {} },
      { name: "sops-age", secret: { secretName: AGE_SECRET.name } },
    ]);
    expect(repo.volumeMounts).toEqual([
      { name: "custom-tools", mountPath: "/usr/local/bin/ksops", subPath: "ksops" },
      { name: "sops-age", mountPath: "/sops-age", readOnly: true },
    ]);
  });
  test("points SOPS at the mounted key file, whose name Flux would also accept", () => {
    expect(repo.env).toEqual([{ name: "SOPS_AGE_KEY_FILE", value: "/sops-age/age.agekey" }]);
    expect(AGE_KEY_FILE_IN_POD.endsWith(".agekey")).toBe(true);
  });
  test("does not replace Argo CD's own kustomize", () => {
    const text = JSON.stringify(values);
    expect(text).not.toMatch(/\/usr\/local\/bin\/kustomize/);
  });
  test("root app reports its children's health", () => {
    expect(values.configs.cm["resource.customizations.health.argoproj.io_Application"]).toBe(APPLICATION_HEALTH_LUA);
    expect(APPLICATION_HEALTH_LUA).toContain("obj.status.health.status");
  });
  test("adds known hosts only when given", () => {
    expect(values.configs.ssh).toBeUndefined();
    const withHosts = argoCdValues({ ksopsImage: KSOPS.image, sshKnownHosts: "git.example.com ssh-ed25519 AAAA" }) as Obj;
    expect(withHosts.configs.ssh).toEqual({ extraHosts: "git.example.com ssh-ed25519 AAAA" });
  });
  test("user values are merged over ours without dropping the KSOPS wiring", () => {
    const merged = argoCdValues({
      ksopsImage: "registry.example.com/ksops:v4.5.1",
      userValues: {
        server: { replicas: 2 },
        repoServer: { volumes: [{ name: "extra", emptyDir: {} }], env: [{ name: "HTTPS_PROXY", value: "http://proxy:3128" }] },
      },
    }) as Obj;
    expect(merged.server).toEqual({ replicas: 2 });
    expect(merged.repoServer.volumes.map((v: Obj) => v.name)).toEqual(["custom-tools", "sops-age", "extra"]);
    expect(merged.repoServer.env.map((v: Obj) => v.name)).toEqual(["SOPS_AGE_KEY_FILE", "HTTPS_PROXY"]);
    expect(merged.repoServer.initContainers[0].image).toBe("registry.example.com/ksops:v4.5.1");
  });
});

describe("the Git server's CA for Argo CD (repo.caFile)", () => {
  // Only the placement is tested here; config-ca.test.ts checks real certificates.
  const pem = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";

  test.each([
    ["https://git.example.com/org/state.git", "git.example.com"],
    ["https://git.example.com:8443/org/state.git", "git.example.com"],
    ["https://Git.Example.com/org/state.git", "Git.Example.com"],
    ["https://10.0.0.7:3000/org/state", "10.0.0.7"],
  ])("%s is looked up as %s (the host as written, without its port)", (url, key) => {
    expect(argoCdTlsCertificateKey(url)).toBe(key);
  });

  test("goes to configs.tls.certificates under the repository's host, only when given", () => {
    expect((argoCdValues({ ksopsImage: KSOPS.image }) as Obj).configs.tls).toBeUndefined();
    const values = argoCdValues({ ksopsImage: KSOPS.image, gitServerCa: { repoUrl: "https://git.example.com/org/state.git", pem } }) as Obj;
    expect(values.configs.tls).toEqual({ certificates: { "git.example.com": pem } });
  });

  test("a non-default port is not part of the key", () => {
    const values = argoCdValues({ ksopsImage: KSOPS.image, gitServerCa: { repoUrl: "https://git.example.com:8443/org/state.git", pem } }) as Obj;
    expect(Object.keys(values.configs.tls.certificates)).toEqual(["git.example.com"]);
  });

  test("user values add hosts and tls settings beside it, and keep the KSOPS wiring", () => {
    const merged = argoCdValues({
      ksopsImage: KSOPS.image,
      gitServerCa: { repoUrl: "https://git.example.com/org/state.git", pem },
      userValues: { configs: { tls: { annotations: { team: "platform" }, certificates: { "charts.example.com": "OTHER" } }, cm: { "timeout.reconciliation": "60s" } } },
    }) as Obj;
    expect(merged.configs.tls).toEqual({ annotations: { team: "platform" }, certificates: { "git.example.com": pem, "charts.example.com": "OTHER" } });
    expect(merged.configs.cm["kustomize.buildOptions"]).toBe("--enable-alpha-plugins --enable-exec");
    expect(merged.configs.cm["timeout.reconciliation"]).toBe("60s");
  });
});

describe("fluxValues", () => {
  test("installs the CRDs the GitRepository and Kustomization need, kept when the release is uninstalled", () => {
    expect(fluxValues()).toEqual({ installCRDs: true, crds: { annotations: { "helm.sh/resource-policy": "keep" } } });
  });
  test("user values are merged over ours", () => {
    expect(fluxValues({ userValues: { logLevel: "debug", imageAutomationController: { create: false } } })).toEqual({
      installCRDs: true,
      crds: { annotations: { "helm.sh/resource-policy": "keep" } },
      logLevel: "debug",
      imageAutomationController: { create: false },
    });
  });
});
