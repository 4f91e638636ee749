/**
 * Certificates for the `repo.caFile` tests, made at run time with openssl (node:crypto cannot
 * issue certificates). Their private keys are deleted at once: no key material is committed or
 * kept.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface TestCertificates {
  /** A self-signed CA certificate (basicConstraints CA:TRUE). */
  readonly ca: string;
  /** A second, unrelated CA certificate. */
  readonly otherCa: string;
  /** A self-signed server certificate for git.example.com that is not a CA (CA:FALSE). */
  readonly leaf: string;
}

function selfSigned(dir: string, name: string, subject: string, extensions: readonly string[]): string {
  const cert = path.join(dir, `${name}.pem`);
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, `${name}.key`),
      "-out", cert, "-subj", subject, "-days", "2", ...extensions.flatMap((e) => ["-addext", e])],
    { stdio: "pipe" },
  );
  return fs.readFileSync(cert, "utf8");
}

export function makeTestCertificates(): TestCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-ca-"));
  try {
    return {
      ca: selfSigned(dir, "ca", "/CN=Test Git CA", ["basicConstraints=critical,CA:TRUE"]),
      otherCa: selfSigned(dir, "other", "/CN=Other Test CA", ["basicConstraints=critical,CA:TRUE"]),
      leaf: selfSigned(dir, "leaf", "/CN=git.example.com", ["basicConstraints=critical,CA:FALSE", "subjectAltName=DNS:git.example.com"]),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
