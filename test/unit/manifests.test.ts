import { repositorySecretData, rootApplicationSpec } from "../../bootstrap/manifests";
import { SecretString } from "../../bootstrap/secret";
import { ROOT_APP } from "../../bootstrap/defaults";

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
