/** `repo.caFile`: the Git server's CA certificate(s), read, checked and kept with the config. */
import * as age from "age-encryption";
import { generateKeyPairSync } from "node:crypto";
import { RawStackConfig, resolveConfig } from "../../bootstrap/config/stack-config";
import { ConfigError } from "../../components/settings/bootstrap-config";
import { parseCaCertificates } from "../../components/settings/repository";
import { configProblems, pemLine, rawStackConfig } from "./config-harness";
import { TestCertificates, makeTestCertificates } from "./tls-harness";

let identity: string;
let certs: TestCertificates;
/** A PEM private key made at run time (never committed), to check that it is refused and never echoed. */
let privateKey: string;
let publicKey: string;

beforeAll(async () => {
  identity = await age.generateX25519Identity();
  certs = makeTestCertificates();
  ({ privateKey, publicKey } = generateKeyPairSync("ec", {
    namedCurve: "P-256",
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }));
});

const repo = { url: "https://git.example.com/org/state.git", revision: "main", path: "clusters/dev" };
const CA_FILE = "/project/certs/git-ca.pem";

/** A valid config with `repo.caFile: certs/git-ca.pem` holding `caText`, with overrides (`null` removes a key). */
function raw(caText: string | undefined, overrides: Record<string, unknown> = {}, files: Record<string, string> = {}): RawStackConfig {
  return rawStackConfig(
    { environment: "dev", reconciler: "argocd", repo: { ...repo, caFile: "certs/git-ca.pem" }, ageKey: identity, ...overrides },
    ["ageKey"],
    { ...(caText === undefined ? {} : { [CA_FILE]: caText }), ...files },
  );
}

async function expectCaProblem(input: RawStackConfig, key: string, message: RegExp): Promise<string> {
  const list = await configProblems(input);
  expect(list).toContainEqual({ key: `gitops-bootstrap:${key}`, message: expect.stringMatching(message) });
  return new ConfigError(list).message;
}

describe("repo.caFile: a good file", () => {
  test("is read relative to the project and kept as PEM, for both reconcilers", async () => {
    for (const reconciler of ["argocd", "flux"]) {
      const cfg = await resolveConfig(raw(certs.ca, { reconciler }));
      expect(cfg.repo.caCertificates).toEqual({ file: CA_FILE, pem: certs.ca, count: 1 });
    }
  });

  test("~/ expands to the home directory, as for ageKeyFile", async () => {
    const input = { ...raw(undefined, { repo: { ...repo, caFile: "~/pki/git-ca.pem" } }, { "/home/op/pki/git-ca.pem": certs.ca }), homeDir: "/home/op" };
    expect((await resolveConfig(input)).repo.caCertificates).toMatchObject({ file: "/home/op/pki/git-ca.pem", count: 1 });
  });

  test("a bundle of several certificates, with text around them, keeps only the certificates", async () => {
    const text = `# Git CA bundle\nsubject=CN = Test Git CA\n${certs.ca}\nissuer=CN = Other\n${certs.otherCa}`;
    const cfg = await resolveConfig(raw(text));
    expect(cfg.repo.caCertificates).toMatchObject({ pem: certs.ca + certs.otherCa, count: 2 });
    expect(cfg.repo.caCertificates?.pem).not.toContain("subject=");
  });

  test("CRLF line endings are accepted", async () => {
    const cfg = await resolveConfig(raw(certs.ca.replace(/\n/g, "\r\n")));
    expect(cfg.repo.caCertificates?.pem).toBe(certs.ca);
  });

  test("a self-signed server certificate (not a CA) is accepted: git can trust it directly", async () => {
    expect((await resolveConfig(raw(certs.leaf))).repo.caCertificates?.count).toBe(1);
  });

  test("without caFile there is none", async () => {
    expect((await resolveConfig(raw(undefined, { repo }))).repo.caCertificates).toBeUndefined();
  });
});

describe("repo.caFile: bad input names the key and what is expected", () => {
  test("a missing file names the resolved path", async () => {
    await expectCaProblem(raw(undefined), "repo.caFile", /^\/project\/certs\/git-ca\.pem does not exist; expected a PEM file with the CA certificate\(s\) that sign the Git server's HTTPS certificate$/);
  });

  test("an unreadable file", async () => {
    const input: RawStackConfig = {
      ...raw(undefined),
      readFile: () => {
        throw Object.assign(new Error("EACCES"), { code: "EACCES" });
      },
    };
    await expectCaProblem(input, "repo.caFile", /\/project\/certs\/git-ca\.pem is not readable; expected a PEM file/);
  });

  test("an empty path or a non-string", async () => {
    await expectCaProblem(raw(undefined, { repo: { ...repo, caFile: "" } }), "repo.caFile", /is empty; expected a path/);
    await expectCaProblem(raw(undefined, { repo: { ...repo, caFile: { path: "x" } } }), "repo.caFile", /expected a string, got an object/);
  });

  test("a file that is not PEM", async () => {
    await expectCaProblem(raw("just some text\n"), "repo.caFile", /holds no certificate; expected one or more -----BEGIN CERTIFICATE----- blocks/);
    const der = Buffer.from(certs.ca.split("\n").filter((l) => !l.startsWith("-----")).join(""), "base64").toString("utf8");
    await expectCaProblem(raw(der), "repo.caFile", /is not PEM text \(DER\?\); convert it: openssl x509 -inform der/);
  });

  test("a damaged or truncated certificate", async () => {
    const lines = certs.ca.trim().split("\n");
    const damaged = [lines[0], "AAAA" + lines[1].slice(4), ...lines.slice(2)].join("\n");
    await expectCaProblem(raw(damaged), "repo.caFile", /block 1 is not a valid X\.509 certificate/);
    await expectCaProblem(raw(certs.ca + lines.slice(0, 3).join("\n")), "repo.caFile", /-----BEGIN \.\.\.----- line without its matching -----END/);
  });

  test("a private key in the file is refused and never echoed", async () => {
    const message = await expectCaProblem(raw(certs.ca + privateKey), "repo.caFile", /holds a private key \(a PRIVATE KEY block\); give only the CA certificate\(s\), never a key/);
    for (const line of privateKey.split("\n").slice(1, -2)) expect(message).not.toContain(line);
    // The certificate is not echoed either: messages never quote the file.
    expect(message).not.toContain(certs.ca.split("\n")[1]);
  });

  test("another kind of PEM block", async () => {
    await expectCaProblem(raw(certs.ca + publicKey), "repo.caFile", /has a PUBLIC KEY block \(block 2\); expected only CERTIFICATE blocks/);
  });

  test("with an SSH URL, says why it does not apply", async () => {
    const url = "ssh://git@git.example.com/org/state.git";
    for (const reconciler of ["argocd", "flux"]) {
      const sshRepo = { ...repo, url, caFile: "certs/git-ca.pem", sshKnownHosts: "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" };
      await expectCaProblem(raw(certs.ca, { reconciler, repo: sshRepo }), "repo.caFile", /only applies to an https:\/\/ repo\.url: it is the CA of the Git server's HTTPS certificate, and over SSH the server is checked with repo\.sshKnownHosts/);
    }
  });

  test("every problem at once: an SSH URL with a missing CA file, beside other mistakes", async () => {
    const input = raw(undefined, {
      environment: "Bad Env",
      repo: { ...repo, url: "git@git.example.com:org/state.git", caFile: "certs/git-ca.pem" },
      argocd: { chartVersion: "latest" },
    });
    const list = await configProblems(input);
    const caProblems = list.filter((p) => p.key === "gitops-bootstrap:repo.caFile").map((p) => p.message);
    expect(caProblems).toEqual([expect.stringMatching(/only applies to an https:\/\/ repo\.url/), expect.stringMatching(/git-ca\.pem does not exist/)]);
    expect(list.map((p) => p.key)).toEqual(expect.arrayContaining(["gitops-bootstrap:environment", "gitops-bootstrap:argocd.chartVersion"]));
  });
});

describe("repo.caFile with Argo CD: the user's values must keep it", () => {
  const host = "git.example.com";
  test("other hosts and other tls settings beside it are fine", async () => {
    const values = { configs: { tls: { annotations: { a: "b" }, certificates: { "other.example.com": "x" } } } };
    await expect(resolveConfig(raw(certs.ca, { argocd: { values } }))).resolves.toBeDefined();
  });
  test("the same certificate for the same host is fine", async () => {
    const values = { configs: { tls: { certificates: { [host]: certs.ca } } } };
    await expect(resolveConfig(raw(certs.ca, { argocd: { values } }))).resolves.toBeDefined();
  });
  test("another certificate for the same host replaces it", async () => {
    const values = { configs: { tls: { certificates: { [host]: certs.otherCa } } } };
    await expectCaProblem(raw(certs.ca, { argocd: { values } }), `argocd.values.configs.tls.certificates.${host}`, /replaces the value built from repo\.caFile, which would drop the CA certificate\(s\) from repo\.caFile/);
  });
  test("a null on the way removes it", async () => {
    await expectCaProblem(raw(certs.ca, { argocd: { values: { configs: { tls: null } } } }), "argocd.values.configs.tls", /is null \(Helm: remove\), which would drop/);
  });
  test("the chart's switch for the ConfigMap, and its older tlsCerts", async () => {
    await expectCaProblem(raw(certs.ca, { argocd: { values: { configs: { tls: { create: false } } } } }), "argocd.values.configs.tls.create", /would not create argocd-tls-certs-cm/);
    await expectCaProblem(raw(certs.ca, { argocd: { values: { configs: { tlsCerts: { data: {} } } } } }), "argocd.values.configs.tlsCerts", /older form of configs\.tls\.certificates/);
  });
  test("an IPv6 literal host cannot key argocd-tls-certs-cm", async () => {
    await expectCaProblem(raw(certs.ca, { repo: { ...repo, url: "https://[fd00::1]:8443/org/state.git", caFile: "certs/git-ca.pem" } }), "repo.caFile", /not a valid ConfigMap key; use the server's DNS name/);
  });
  test("Flux has no such values to check", async () => {
    const values = { configs: { tls: null } };
    await expect(resolveConfig(raw(certs.ca, { reconciler: "flux", flux: { values } }))).resolves.toBeDefined();
  });
});

describe("parseCaCertificates", () => {
  test("counts and re-encodes the certificates", () => {
    expect(parseCaCertificates(`${certs.ca}${certs.leaf}`)).toEqual({ pem: certs.ca + certs.leaf, count: 2 });
  });
  test("refuses a private key even when it is not a well-formed block", () => {
    expect(parseCaCertificates(`${certs.ca}${pemLine("BEGIN", "RSA PRIVATE KEY")}\nAAAA\n`)).toEqual({ error: expect.stringMatching(/holds a private key/) });
  });
});
