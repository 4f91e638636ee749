import {
  fluxGitSecretData,
  fluxGitUrl,
  gitRepositoryRef,
  gitRepositorySpec,
  kustomizationSpec,
  repositorySecretData,
  rootApplicationSpec,
} from "../../components/builders/manifests";
import { SecretString } from "../../components/settings/secret";
import { FLUX, ROOT_APP } from "../../components/defaults";

const base = { url: "https://git.example.com/org/state.git", transport: "https" as const, revision: "main", path: "apps" };

test("repository Secret data for a public repository", () => {
  expect(repositorySecretData(base)).toEqual({ type: "git", url: base.url });
});
test("repository Secret data with username and password", () => {
  const data = repositorySecretData({ ...base, credentials: { kind: "basic", username: "bot", password: new SecretString("tok") } });
  expect(data).toEqual({ type: "git", url: base.url, username: "bot", password: "tok" });
});
test("repository Secret data with an SSH key", () => {
  const data = repositorySecretData({ ...base, url: "ssh://git@h.example.com/a.git", transport: "ssh", credentials: { kind: "ssh", sshPrivateKey: new SecretString("KEY\n") } });
  expect(data).toEqual({ type: "git", url: "ssh://git@h.example.com/a.git", sshPrivateKey: "KEY\n" });
});
test("root Application spec: source, destination, automated sync and retry", () => {
  const spec = rootApplicationSpec({
    repo: base,
    app: { name: "root", project: "platform", prune: true, selfHeal: false, retry: ROOT_APP.retry },
    destinationNamespace: "argocd",
  });
  expect(spec).toEqual({
    project: "platform",
    source: { repoURL: base.url, targetRevision: "main", path: "apps" },
    destination: { server: "https://kubernetes.default.svc", namespace: "argocd" },
    syncPolicy: {
      automated: { prune: true, selfHeal: false },
      retry: { limit: 5, backoff: { duration: "5s", factor: 2, maxDuration: "3m" } },
    },
  });
});

describe("Flux", () => {
  test.each([
    ["git@github.com:org/state.git", "ssh://git@github.com/org/state.git"],
    ["git@git.example.com:/srv/git/state.git", "ssh://git@git.example.com/srv/git/state.git"],
    ["deploy@git.example.com:team/sub/state", "ssh://deploy@git.example.com/team/sub/state"],
  ])("scp-style %s becomes %s, and says so", (given, url) => {
    expect(fluxGitUrl(given)).toEqual({ url, rewrittenFrom: given });
  });
  test.each(["ssh://git@github.com/org/state.git", "ssh://git@github.com:2222/org/state.git", "https://github.com/org/state.git"])("%s is kept", (url) => {
    expect(fluxGitUrl(url)).toEqual({ url });
  });

  test.each([
    ["main", { branch: "main" }],
    ["release/2024-q4", { branch: "release/2024-q4" }],
    ["v1.2.3", { tag: "v1.2.3" }],
    ["2.0.0-rc.1", { tag: "2.0.0-rc.1" }],
    ["HEAD", { name: "HEAD" }],
    ["refs/tags/stable", { name: "refs/tags/stable" }],
    ["0123456789abcdef0123456789abcdef01234567", { commit: "0123456789abcdef0123456789abcdef01234567" }],
  ])("revision %s is checked out as %j", (revision, ref) => {
    expect(gitRepositoryRef(revision)).toEqual(ref);
  });

  test("Git Secret data: identity + known_hosts for SSH, username + password for https, none for a public repo", () => {
    const ssh = { ...base, url: "git@h.example.com:a.git", transport: "ssh" as const, sshKnownHosts: "h.example.com ssh-ed25519 AAAA", credentials: { kind: "ssh" as const, sshPrivateKey: new SecretString("KEY\n") } };
    expect(fluxGitSecretData(ssh)).toEqual({ identity: "KEY\n", known_hosts: "h.example.com ssh-ed25519 AAAA\n" });
    expect(fluxGitSecretData({ ...base, credentials: { kind: "basic", username: "bot", password: new SecretString("tok") } })).toEqual({ username: "bot", password: "tok" });
    expect(fluxGitSecretData(base)).toBeUndefined();
  });

  test("Git Secret data with the Git server's CA: ca.crt, also for a public repository", () => {
    const caCertificates = { file: "/project/ca.pem", pem: "PEM-TEXT\n", count: 1 };
    expect(fluxGitSecretData({ ...base, caCertificates })).toEqual({ "ca.crt": "PEM-TEXT\n" });
    expect(fluxGitSecretData({ ...base, caCertificates, credentials: { kind: "basic", username: "bot", password: new SecretString("tok") } })).toEqual({
      username: "bot",
      password: "tok",
      "ca.crt": "PEM-TEXT\n",
    });
    expect(FLUX.gitCaKey).toBe("ca.crt");
  });

  test("GitRepository spec: ssh:// URL, interval, ref, secretRef only with a Secret", () => {
    expect(gitRepositorySpec({ repo: { url: "git@h.example.com:org/a.git", revision: "main" }, interval: "1m", secretName: "creds" })).toEqual({
      url: "ssh://git@h.example.com/org/a.git",
      interval: "1m",
      ref: { branch: "main" },
      secretRef: { name: "creds" },
    });
    expect(gitRepositorySpec({ repo: base, interval: "5m" })).not.toHaveProperty("secretRef");
  });

  test("root Kustomization spec: source, path, prune, wait, SOPS decryption with sops-age", () => {
    expect(kustomizationSpec({ sourceName: "root", path: "clusters/prod", interval: "1m", prune: true })).toEqual({
      interval: "1m",
      timeout: FLUX.kustomizationTimeout,
      sourceRef: { kind: "GitRepository", name: "root" },
      path: "./clusters/prod",
      prune: true,
      wait: true,
      decryption: { provider: "sops", secretRef: { name: "sops-age" } },
    });
    expect(kustomizationSpec({ sourceName: "root", path: ".", interval: "1m", prune: false })).toMatchObject({ path: "./", prune: false });
  });
});
