/**
 * No decrypted value and no key ever reaches the output. The test decrypts every file itself
 * (through the one internal function that can), then asserts none of those plaintexts appears
 * in anything `check` prints (text or JSON), in the report objects, or in thrown errors, for
 * good, tampered, wrong-key and broken repositories.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as age from "age-encryption";
import { type CliIo, main } from "../../../bootstrap/cli";
import { AgeIdentities } from "../../../components/settings/age-identities";
import { checkRepository } from "../../../bootstrap/sops/check";
import { decryptSopsContentInternal } from "../../../bootstrap/sops/internal/decrypt";
import { verifySopsContent } from "../../../bootstrap/sops/verify";
import { writeSopsBinary, writeSopsDotenv, writeSopsJson, writeSopsYaml } from "../../../bootstrap/sops/writer";
import { DECRYPTABLE, FIXTURES, KEYS, fixture, fixtureText, identities, tempDir, writeFiles } from "./helpers";

function strings(value: unknown, out: Set<string>): Set<string> {
  if (typeof value === "string") out.add(value);
  else if (typeof value === "number" || typeof value === "bigint") out.add(String(value));
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value !== null && typeof value === "object") Object.values(value).forEach((v) => strings(v, out));
  return out;
}

const canary = (label: string): string => `CANARY-${label}-${Math.random().toString(36).slice(2, 12)}`;

describe("no plaintext in any output", () => {
  let repo: { dir: string; cleanup: () => void };
  let keyFile: string;
  let identityText: string;
  /** Every plaintext a SOPS file in the repository decrypts to (encrypted values only). */
  const secrets = new Set<string>();
  const plantedPlaintext = canary("plain-where-encrypted");

  beforeAll(async () => {
    repo = tempDir();
    identityText = await age.generateX25519Identity();
    const recipient = await age.identityToRecipient(identityText);
    const other = await age.identityToRecipient(await age.generateX25519Identity());
    keyFile = path.join(repo.dir, "..", `${path.basename(repo.dir)}.key`);
    fs.writeFileSync(keyFile, `# test key\n${identityText}\n${fixtureText(KEYS.typed)}`);
    const opts = { recipients: [recipient] };
    const files: Record<string, string | Buffer> = {
      "good/secret.yaml": await writeSopsYaml([{ kind: "Secret", stringData: { password: canary("yaml"), n: 4242424242, f: 0.123456789, on: true } }], { ...opts, encryptedRegex: "^stringData$" }),
      "good/multi.yaml": await writeSopsYaml([{ a: canary("doc1") }, { b: [canary("doc2-list"), { c: canary("doc2-nested") }] }], opts),
      "good/config.json": await writeSopsJson({ db: { password: canary("json"), port: 5432 }, list: [canary("json-list")] }, opts),
      "good/app.env": await writeSopsDotenv({ TOKEN: canary("dotenv"), OTHER: `${canary("dotenv-2")} with spaces` }, opts),
      "good/blob.bin": await writeSopsBinary(`-----BEGIN KEY-----\n${canary("binary")}\n-----END KEY-----\n`, opts),
      "typed/secret.enc.yaml": fixture("typed/secret.enc.yaml"),
      "typed/secret.enc.json": fixture("typed/secret.enc.json"),
      "typed/secret.enc.env": fixture("typed/secret.enc.env"),
      "wrong/other-key.yaml": await writeSopsYaml([{ password: canary("wrong-key") }], { recipients: [other] }),
    };
    // Broken copies: tampered value, MAC mismatch, plaintext where encrypted, malformed.
    const good = files["good/secret.yaml"] as string;
    files["bad/mac.yaml"] = good.replace("kind: Secret", "kind: Secrets");
    files["bad/tampered.yaml"] = good.replace(/(password: ENC\[AES256_GCM,data:)(.)/, (_, p: string, c: string) => p + (c === "A" ? "B" : "A"));
    files["bad/plain.yaml"] = good.replace(/password: ENC\[.*\]/, `password: ${plantedPlaintext}`);
    files["bad/malformed.yaml"] = good.replace(/(password: ENC\[AES256_GCM,data:)[^,]*/, "$1***");
    files["bad/no-mac.json"] = (files["good/config.json"] as string).replace(/"mac": "[^"]*",/, "");
    writeFiles(repo.dir, files);

    const ids = await AgeIdentities.parse(`${identityText}\n${fixtureText(KEYS.typed)}`, "test");
    for (const [name, content] of Object.entries(files)) {
      if (!name.startsWith("good/") && !name.startsWith("typed/")) continue;
      const { result, documents } = await decryptSopsContentInternal(Buffer.from(content), name, ids);
      expect(result.kind).toBe("ok");
      const text = Buffer.from(content).toString("utf8");
      // Values that were encrypted: decrypted strings the encrypted file does not show as they are.
      for (const s of strings(documents, new Set())) if (s.length >= 6 && !text.includes(s) && !name.includes(s)) secrets.add(s);
    }
    for (const { file, key } of DECRYPTABLE) {
      const { documents } = await decryptSopsContentInternal(fixture(file), file, await identities(key));
      for (const s of strings(documents, new Set())) if (s.length >= 6 && !fixtureText(file).includes(s) && !file.includes(s)) secrets.add(s);
    }
    secrets.add(plantedPlaintext);
    for (const c of Object.values(files).join("\n").match(/CANARY-[\w-]+/g) ?? []) secrets.add(c);
  });
  afterAll(() => {
    repo.cleanup();
    fs.rmSync(keyFile, { force: true });
  });

  function assertClean(label: string, ...outputs: string[]): void {
    const all = outputs.join("\n");
    for (const s of secrets) {
      if (all.includes(s)) throw new Error(`${label}: a decrypted value appears in the output (${s.slice(0, 12)}…)`);
    }
    // A real identity, not the "AGE-SECRET-KEY-1…" hint some messages give.
    expect(all).not.toMatch(/AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]{20,}/);
  }

  it("knows the plaintexts it must not see (the test decrypted them itself)", () => {
    expect(secrets.size).toBeGreaterThanOrEqual(15);
    expect([...secrets]).toEqual(expect.arrayContaining(["a value only the key opens", "a key that starts with a digit", "global-value"]));
  });

  it("runCheck text and JSON output, with the right key, the wrong key and several keys", async () => {
    const wrongKey = path.join(FIXTURES, KEYS.ageGlobal);
    for (const argv of [
      ["--repo", repo.dir, "--age-key-file", keyFile],
      ["--repo", repo.dir, "--age-key-file", keyFile, "--json"],
      ["--repo", repo.dir, "--age-key-file", wrongKey],
      ["--repo", repo.dir, "--age-key-file", wrongKey, "--json"],
      ["--repo", path.join(FIXTURES, "flux"), "--age-key-file", path.join(FIXTURES, KEYS.age), "--json"],
      ["--repo", path.join(FIXTURES, "typed"), "--age-key-file", path.join(FIXTURES, KEYS.typed)],
    ]) {
      let stdout = "";
      let stderr = "";
      const io: CliIo = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), env: {}, projectDir: process.cwd() };
      const code = await main(["check", ...argv], io);
      expect([0, 1]).toContain(code);
      assertClean(argv.join(" "), stdout, stderr);
    }
  });

  it("the report objects and every per-file result, however they are printed", async () => {
    const report = await checkRepository({ source: repo.dir, identities: fs.readFileSync(keyFile, "utf8") });
    expect(report.files.map((f) => f.kind).sort()).toEqual(
      ["malformed", "mac-mismatch", "malformed", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "tampered-value", "tampered-value", "wrong-key"].sort(),
    );
    assertClean("report", JSON.stringify(report, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v)), require("node:util").inspect(report, { depth: 10 }));
    const plain = report.files.find((f) => f.path === "bad/plain.yaml");
    expect(plain).toMatchObject({ kind: "tampered-value", keyPath: "stringData:password" });
  });

  it("thrown errors: unreadable repositories, unusable identities, broken content", async () => {
    const errors: string[] = [];
    const capture = async (p: Promise<unknown>): Promise<void> => {
      await p.then(
        () => errors.push("(no error)"),
        (e: unknown) => errors.push(e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e)),
      );
    };
    await capture(checkRepository({ source: path.join(repo.dir, "nope"), identities: identityText }));
    await capture(checkRepository({ source: repo.dir, identities: `${identityText}\n${[...secrets][0]}` }));
    await capture(checkRepository({ source: `https://user:${[...secrets][1]}@127.0.0.1:9/repo.git`, identities: identityText }));
    const ids = await AgeIdentities.parse(identityText, "test");
    for (const file of fs.readdirSync(path.join(repo.dir, "bad"))) {
      const content = fs.readFileSync(path.join(repo.dir, "bad", file));
      await capture(verifySopsContent(content.subarray(0, content.length >> 1), file, ids));
    }
    expect(errors.filter((e) => e !== "(no error)").length).toBeGreaterThanOrEqual(3);
    assertClean("errors", ...errors);
  });
});
