/** Stack config with `reconciler: flux`: the `flux` block, and what Flux needs beyond Argo CD. */
import * as age from "age-encryption";
import { generateKeyPairSync } from "node:crypto";
import { RawStackConfig, resolveConfig } from "../../bootstrap/config/stack-config";
import { ConfigError, parseDuration, reconcilerNamespace } from "../../components/settings/bootstrap-config";
import { checkKnownHosts } from "../../components/settings/repository";
import { FLUX } from "../../components/defaults";
import { configProblems, rawStackConfig } from "./config-harness";

let identity: string;
let sshKey: string;
const KNOWN_HOSTS = "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const repo = { url: "https://git.example.com/org/state.git", revision: "main", path: "clusters/dev" };
const sshRepo = { ...repo, url: "git@git.example.com:org/state.git", sshKnownHosts: KNOWN_HOSTS };

beforeAll(async () => {
  identity = await age.generateX25519Identity();
  sshKey = generateKeyPairSync("ed25519", { privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
});

/** A valid flux config, with overrides; `null` removes a key. */
function raw(overrides: Record<string, unknown> = {}, secretKeys: string[] = ["ageKey", "repo"]): RawStackConfig {
  return rawStackConfig({ environment: "dev", reconciler: "flux", repo, ageKey: identity, ...overrides }, secretKeys);
}

const problems = configProblems;

async function expectProblem(input: RawStackConfig, key: string, message: RegExp): Promise<void> {
  expect(await problems(input)).toContainEqual({ key: `gitops-bootstrap:${key}`, message: expect.stringMatching(message) });
}

describe("reconciler flux: a valid stack", () => {
  test("applies the flux defaults and has no argocd block", async () => {
    const cfg = await resolveConfig(raw());
    expect(cfg.reconciler).toBe("flux");
    expect(cfg.flux).toEqual({ chartVersion: FLUX.chartVersion, chartRepo: FLUX.chartRepo, namespace: "flux-system", values: {}, interval: "1m", valuesSecret: false });
    expect(cfg.argocd).toBeUndefined();
    expect(reconcilerNamespace(cfg)).toBe("flux-system");
    expect(cfg.rootApp).toMatchObject({ name: "root", prune: true });
  });

  test("the default chart pin is an exact version of the fluxcd-community chart", () => {
    expect(FLUX.chartVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(FLUX.chartRepo).toBe("https://fluxcd-community.github.io/helm-charts");
  });

  test("keeps the user's chart settings, values and interval", async () => {
    const cfg = await resolveConfig(
      raw({
        flux: { chartVersion: "v2.17.0", chartRepo: "oci://ghcr.io/fluxcd-community/charts", namespace: "gitops", interval: "10m0s", values: { logLevel: "debug" } },
        rootApp: { name: "cluster", syncPolicy: { prune: false } },
      }),
    );
    expect(cfg.flux).toEqual({ chartVersion: "2.17.0", chartRepo: "oci://ghcr.io/fluxcd-community/charts", namespace: "gitops", interval: "10m0s", values: { logLevel: "debug" }, valuesSecret: false });
    expect(cfg.rootApp).toMatchObject({ name: "cluster", prune: false });
    expect(reconcilerNamespace(cfg)).toBe("gitops");
  });

  test("an SSH repository with a key and known hosts, scp-style or ssh://", async () => {
    for (const url of ["git@git.example.com:org/state.git", "ssh://git@git.example.com:2222/org/state.git"]) {
      const cfg = await resolveConfig(raw({ repo: { ...sshRepo, url, credentials: { sshPrivateKey: sshKey } } }));
      expect(cfg.repo).toMatchObject({ url, transport: "ssh", sshKnownHosts: KNOWN_HOSTS });
      expect(cfg.repo.credentials?.kind).toBe("ssh");
    }
  });

  test("https with username and password, and a public https repo without", async () => {
    const cfg = await resolveConfig(raw({ repo: { ...repo, credentials: { username: "bot", password: "tok" } } }));
    expect(cfg.repo.credentials).toMatchObject({ kind: "basic", username: "bot" });
    expect((await resolveConfig(raw())).repo.credentials).toBeUndefined();
  });

  test("an argocd stack has no flux block", async () => {
    const cfg = await resolveConfig(raw({ reconciler: "argocd" }));
    expect(cfg.flux).toBeUndefined();
    expect(reconcilerNamespace(cfg)).toBe("argocd");
  });
});

describe("reconciler flux: bad input names the key and what is expected", () => {
  test("an SSH URL without known hosts: Flux has none built in", async () => {
    const input = raw({ repo: { ...sshRepo, sshKnownHosts: undefined, credentials: { sshPrivateKey: sshKey } } });
    await expectProblem(input, "repo.sshKnownHosts", /required with reconciler flux.*Flux, unlike Argo CD, has no built-in known hosts.*ssh-keyscan/);
    // The same repository is fine for Argo CD, which knows common hosts and takes extra ones.
    await expect(resolveConfig(raw({ reconciler: "argocd", repo: { ...sshRepo, sshKnownHosts: undefined, credentials: { sshPrivateKey: sshKey } } }))).resolves.toBeDefined();
  });

  test("an SSH URL without a key", async () => {
    await expectProblem(raw({ repo: sshRepo }), "repo.credentials.sshPrivateKey", /required with reconciler flux and an SSH repo.url/);
  });

  test("known_hosts that are not known_hosts lines, for either reconciler", async () => {
    for (const reconciler of ["flux", "argocd"]) {
      const bad = raw({ reconciler, repo: { ...sshRepo, sshKnownHosts: `${KNOWN_HOSTS}\ngit.example.com`, credentials: { sshPrivateKey: sshKey } } });
      await expectProblem(bad, "repo.sshKnownHosts", /line 2 is not a known_hosts entry/);
    }
  });

  test("an argocd block under flux", async () => {
    await expectProblem(raw({ argocd: { chartVersion: "10.9.1" } }), "argocd", /Argo-only options under reconciler flux.*gitops-bootstrap:flux/);
  });

  test("a flux block under argocd", async () => {
    await expectProblem(raw({ reconciler: "argocd", flux: { interval: "5m" } }), "flux", /Flux-only options under reconciler argocd.*gitops-bootstrap:argocd/);
  });

  test("intervals that are not Flux durations", async () => {
    for (const interval of ["5 minutes", "1d", "0s", "", "10", "-1m", "1m 30s"]) {
      await expectProblem(raw({ flux: { interval } }), "flux.interval", /expected a Flux duration of at least 1s such as 1m, 10m0s or 1h/);
    }
  });

  test("unpinned chart versions", async () => {
    for (const chartVersion of ["^2.18.0", "2.x", "latest", ">=2", "~2.18"]) {
      await expectProblem(raw({ flux: { chartVersion } }), "flux.chartVersion", /must pin an exact chart version such as \d+\.\d+\.\d+/);
    }
  });

  test("bad namespace, plain http chart repo, values that are not an object, unknown keys", async () => {
    await expectProblem(raw({ flux: { namespace: "Flux_System" } }), "flux.namespace", /DNS-1123 label/);
    await expectProblem(raw({ flux: { chartRepo: "http://charts.example.com" } }), "flux.chartRepo", /plain http/);
    await expectProblem(raw({ flux: { values: "logLevel=debug" } }), "flux.values", /expected an object of Helm values/);
    await expectProblem(raw({ flux: { intervall: "1m" } }), "flux.intervall", /unknown key; expected one of: chartVersion, chartRepo, namespace, values, interval/);
    await expectProblem(raw({ flux: "2.18.3" }), "flux", /expected an object/);
  });

  test("values that remove what the root objects need", async () => {
    await expectProblem(raw({ flux: { values: { installCRDs: false } } }), "flux.values.installCRDs", /need the Flux CRDs/);
    await expectProblem(raw({ flux: { values: { kustomizeController: { create: false } } } }), "flux.values.kustomizeController.create", /need this controller/);
    await expectProblem(raw({ flux: { values: { sourceController: { create: false } } } }), "flux.values.sourceController.create", /need this controller/);
  });

  test("Argo-only root app settings under flux; prune is shared", async () => {
    await expectProblem(raw({ rootApp: { project: "platform" } }), "rootApp.project", /Argo-only option/);
    await expectProblem(raw({ rootApp: { syncPolicy: { selfHeal: false } } }), "rootApp.syncPolicy.selfHeal", /Argo-only option under reconciler flux/);
    await expectProblem(raw({ rootApp: { syncPolicy: { retry: { limit: 3 } } } }), "rootApp.syncPolicy.retry", /Argo-only option under reconciler flux/);
    await expect(resolveConfig(raw({ rootApp: { syncPolicy: { prune: false } } }))).resolves.toMatchObject({ rootApp: { prune: false } });
  });

  test("every problem at once, and never a secret", async () => {
    const input = raw({
      environment: "Bad Env",
      repo: { ...sshRepo, sshKnownHosts: undefined, credentials: { sshPrivateKey: `${sshKey}\n${identity}` } },
      argocd: {},
      flux: { interval: "soon", chartVersion: "latest" },
    });
    const list = await problems(input);
    expect(list.map((p) => p.key)).toEqual(
      expect.arrayContaining([
        "gitops-bootstrap:environment",
        "gitops-bootstrap:repo.sshKnownHosts",
        "gitops-bootstrap:repo.credentials.sshPrivateKey",
        "gitops-bootstrap:argocd",
        "gitops-bootstrap:flux.interval",
        "gitops-bootstrap:flux.chartVersion",
      ]),
    );
    const text = new ConfigError(list).message;
    expect(text).not.toContain(identity);
    expect(text).not.toContain(sshKey.split("\n")[1]);
  });
});

describe("checkKnownHosts and parseDuration", () => {
  test.each([
    [KNOWN_HOSTS, undefined],
    [`# comment\n${KNOWN_HOSTS}\n\n[git.example.com]:2222,10.0.0.1 ecdsa-sha2-nistp256 AAAAE2VjZHNh= c`, undefined],
    [`@cert-authority *.example.com ssh-ed25519 AAAAC3Nz`, undefined],
    ["", /holds no known_hosts entry/],
    ["git.example.com", /line 1 is not a known_hosts entry/],
    ["git.example.com AAAAC3Nz ssh-ed25519", /line 1 is not a known_hosts entry/],
  ])("%j", (text, expected) => {
    const r = checkKnownHosts(text);
    if (expected === undefined) expect(r).toBeUndefined();
    else expect(r).toMatch(expected);
  });

  test.each([
    ["1m", 60_000],
    ["10m0s", 600_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
    ["250ms", 250],
    ["1d", undefined],
    ["5 m", undefined],
  ])("%s is %p ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
});
