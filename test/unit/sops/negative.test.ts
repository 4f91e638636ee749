/**
 * Files made broken on purpose, from the real sops test vectors: each must give the specific
 * result kind, and a reason that names the file.
 */
import * as age from "age-encryption";
import { verifySopsContent } from "../../../bootstrap/sops/verify";
import { fixtureText, identities } from "./helpers";

const AGE_YAML = "flux/algorithms/age.yaml";
/** What the fixture's metadata holds (make.sh writes them afresh): the tests change these. */
const LASTMODIFIED = /^ {2}lastmodified: "([^"]+)"$/m.exec(fixtureText(AGE_YAML))?.[1] as string;
const VERSION = /^ {2}version: (.+)$/m.exec(fixtureText(AGE_YAML))?.[1] as string;
/** The last line of the age armor's base64 body (a short one, before -----END). */
const LAST_ARMOR_LINE = /^ {8}(\S+)\n {8}-----END AGE ENCRYPTED FILE-----$/m.exec(fixtureText(AGE_YAML))?.[1] as string;

async function check(text: string, name = AGE_YAML, key: Parameters<typeof identities>[0] = "age") {
  const result = await verifySopsContent(Buffer.from(text), name, await identities(key));
  expect(result.path).toBe(name);
  expect(result.reason.startsWith(`${name}: `)).toBe(true);
  return result;
}

/** Replaces one character of the base64 `data:` of the first value in `text` after `marker`. */
function flipCiphertext(text: string, marker: string): string {
  const at = text.indexOf("data:", text.indexOf(marker)) + "data:".length;
  const replacement = text[at] === "A" ? "B" : "A";
  return text.slice(0, at) + replacement + text.slice(at + 1);
}

describe("tampered and malformed SOPS files", () => {
  it("a changed unencrypted value is a MAC mismatch", async () => {
    const text = fixtureText(AGE_YAML).replace("kind: Secret", "kind: Secrets");
    expect(await check(text)).toMatchObject({ kind: "mac-mismatch", format: "yaml" });
  });

  it("a reordered or renamed unencrypted key is a MAC mismatch", async () => {
    const text = fixtureText(AGE_YAML).replace("  name: age\n", "  name: agf\n");
    expect((await check(text)).kind).toBe("mac-mismatch");
  });

  it("a changed ciphertext byte fails authentication, naming the key path", async () => {
    const text = flipCiphertext(fixtureText(AGE_YAML), "stringData:");
    expect(await check(text)).toMatchObject({ kind: "tampered-value", keyPath: "stringData:key" });
  });

  it("a changed ciphertext byte in a dotenv and a JSON file fails authentication", async () => {
    const env = flipCiphertext(fixtureText("typed/secret.enc.env"), "another_secret=");
    expect(await check(env, "typed/secret.enc.env", "typed")).toMatchObject({ kind: "tampered-value", keyPath: "another_secret" });
    const json = flipCiphertext(fixtureText("typed/secret.enc.json"), '"array"');
    expect(await check(json, "typed/secret.enc.json", "typed")).toMatchObject({ kind: "tampered-value", keyPath: "complex:array" });
  });

  it("an encrypted value moved to another key fails authentication (the key path is authenticated)", async () => {
    const text = fixtureText("typed/secret.enc.yaml");
    const secret = /^secret: (.*)$/m.exec(text)?.[1] as string;
    const moved = text.replace(/^string: .*$/m, `string: ${secret}`);
    expect(await check(moved, "typed/secret.enc.yaml", "typed")).toMatchObject({ kind: "tampered-value", keyPath: "string" });
  });

  it("a plaintext value where the file's rule says encrypted is tampering", async () => {
    const text = fixtureText(AGE_YAML).replace(/^  key: ENC\[.*$/m, "  key: replaced-by-someone");
    const result = await check(text);
    expect(result).toMatchObject({ kind: "tampered-value", keyPath: "stringData:key" });
    expect(result.reason).not.toContain("replaced-by-someone");
  });

  it("an encrypted value where the rule says plaintext is tampering (the rule was changed)", async () => {
    const text = fixtureText(AGE_YAML).replace("encrypted_regex: ^(data|stringData)$", "encrypted_regex: ^(data)$");
    expect(await check(text)).toMatchObject({ kind: "tampered-value", keyPath: "stringData:key" });
  });

  it("a changed lastmodified makes the MAC fail to authenticate", async () => {
    const later = new Date(Date.parse(LASTMODIFIED) + 1000).toISOString().replace(".000Z", "Z");
    const text = fixtureText(AGE_YAML).replace(`lastmodified: "${LASTMODIFIED}"`, `lastmodified: "${later}"`);
    expect(text).not.toBe(fixtureText(AGE_YAML));
    const result = await check(text);
    expect(result.kind).toBe("mac-mismatch");
    expect(result.detail).toContain("does not authenticate");
  });

  it("a missing MAC is malformed", async () => {
    const text = fixtureText(AGE_YAML).replace(/^ {2}mac: .*\n/m, "");
    expect(await check(text)).toMatchObject({ kind: "malformed" });
    expect((await check(text)).detail).toContain("no MAC");
  });

  it("a malformed ENC value is malformed, with its key path, whatever the key", async () => {
    const text = fixtureText(AGE_YAML).replace(/(^ {2}key: ENC\[AES256_GCM,data:)[^,]*/m, "$1not*base64");
    expect(await check(text)).toMatchObject({ kind: "malformed", keyPath: "stringData:key" });
    expect(await check(text, AGE_YAML, "typed")).toMatchObject({ kind: "malformed", keyPath: "stringData:key" });
    const noTag = fixtureText(AGE_YAML).replace(/(^ {2}key: ENC\[AES256_GCM,data:[^,]*,iv:[^,]*),tag:[^,]*/m, "$1");
    expect(await check(noTag)).toMatchObject({ kind: "malformed", keyPath: "stringData:key" });
  });

  it("a truncated age stanza is malformed", async () => {
    const text = fixtureText(AGE_YAML);
    const armored = /-----BEGIN AGE ENCRYPTED FILE-----[\s\S]*?-----END AGE ENCRYPTED FILE-----/.exec(text)?.[0] as string;
    const file = age.armor.decode(armored.replace(/^ +/gm, ""));
    // Cut the binary age file in the middle of its X25519 stanza, and armor it again.
    const truncated = age.armor.encode(file.subarray(0, 60)).trimEnd().replace(/\n/g, "\n        ");
    const result = await check(text.replace(armored, truncated));
    expect(result.kind).toBe("malformed");
    expect(result.detail).toContain("age stanza");
  });

  it("an age block with a line cut out is malformed (armor or payload)", async () => {
    expect(LAST_ARMOR_LINE.length).toBeGreaterThan(20);
    const cutLine = fixtureText(AGE_YAML).replace(`        ${LAST_ARMOR_LINE}\n`, "");
    expect(await check(cutLine)).toMatchObject({ kind: "malformed", detail: expect.stringContaining("(age payload)") });
    const cutChars = fixtureText(AGE_YAML).replace(LAST_ARMOR_LINE, LAST_ARMOR_LINE.slice(0, 17));
    expect(await check(cutChars)).toMatchObject({ kind: "malformed", detail: expect.stringContaining("(age armor)") });
  });

  it("a PGP-only file is not age", async () => {
    const result = await check(fixtureText("flux/algorithms/pgp.yaml"), "flux/algorithms/pgp.yaml");
    expect(result).toMatchObject({ kind: "not-age", keyTypes: ["pgp"] });
  });

  it("a file that is not SOPS is not-sops; one that looks like SOPS but does not parse is malformed", async () => {
    expect((await check("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n", "cm.yaml")).kind).toBe("not-sops");
    expect((await check("just text, no structure: [", "notes.txt")).kind).toBe("not-sops");
    const broken = fixtureText(AGE_YAML).replace("stringData:", "stringData: [");
    expect(await check(broken)).toMatchObject({ kind: "malformed" });
  });

  it("an INI SOPS file is read with the INI store, not as YAML, and its cut-off metadata named", async () => {
    const ini = "[db]\npassword = ENC[AES256_GCM,data:AA==,iv:AA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n\n[sops]\nmac = ENC[AES256_GCM,data:AA==,iv:AA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n";
    expect(await check(ini, "app.ini")).toMatchObject({ kind: "malformed", format: "ini", detail: "sops.lastmodified is missing" });
    // The same content under a name sops reads as YAML is not an INI file to sops.
    expect(await check(ini, "app.yaml")).toMatchObject({ kind: "malformed", detail: expect.stringContaining("INI [sops] section, but sops reads a file with this name as YAML") });
  });

  it("an invalid sops.version is malformed, as the sops CLI refuses it", async () => {
    const text = fixtureText(AGE_YAML).replace(`version: ${VERSION}`, `version: ${VERSION.replace(/\d+$/, "x")}`);
    expect(text).not.toBe(fixtureText(AGE_YAML));
    expect(await check(text)).toMatchObject({ kind: "malformed", detail: expect.stringContaining("sops.version") });
  });

  it("a control character YAML forbids is malformed (sops's YAML reader refuses it)", async () => {
    const text = fixtureText(AGE_YAML).replace("name: age", "name: a\u0001ge");
    expect(await check(text)).toMatchObject({ kind: "malformed", detail: expect.stringContaining("control character") });
  });

  it("two encryption rules in one file are malformed, as sops refuses them", async () => {
    const text = fixtureText(AGE_YAML).replace(`  version: ${VERSION}`, `$&\n  unencrypted_suffix: _plain`);
    expect(text).toContain("unencrypted_suffix: _plain");
    expect((await check(text)).kind).toBe("malformed");
  });

  it("an unquoted lastmodified (a YAML timestamp) is malformed, as sops refuses it", async () => {
    const text = fixtureText(AGE_YAML).replace(`"${LASTMODIFIED}"`, LASTMODIFIED);
    expect(text).not.toBe(fixtureText(AGE_YAML));
    expect((await check(text)).kind).toBe("malformed");
  });

  it("a renamed dotenv key fails authentication; reordered YAML values are a MAC mismatch; unused metadata does not matter", async () => {
    const env = fixtureText("flux/envs/env.env").replace(/^key=/m, "key2=");
    expect((await check(env, "flux/envs/env.env")).kind).toBe("tampered-value");
    const json = fixtureText("typed/secret.enc.json").replace('"unencrypted_suffix": "_unencrypted"', '"unencrypted_suffix": "_plain"');
    expect((await check(json, "typed/secret.enc.json", "typed")).kind).toBe("ok");
    const reordered = fixtureText("typed/secret.enc.yaml").replace(/^(secret: .*)\n(string: .*)$/m, "$2\n$1");
    const moved = await check(reordered, "typed/secret.enc.yaml", "typed");
    expect(moved.kind).toBe("mac-mismatch");
  });
});
