/**
 * SOPS features the fixture files (test/fixtures/sops) do not cover (key groups with Shamir, mac_only_encrypted,
 * suffix rules, multi-document YAML), on files written like sops writes them (bootstrap/sops/writer.ts;
 * the interop test checks files the real sops made).
 */
import * as age from "age-encryption";
import { AgeIdentities } from "../../../components/settings/age-identities";
import { verifySopsContent } from "../../../bootstrap/sops/verify";
import { type Plain, writeSopsDotenv, writeSopsJson, writeSopsYaml } from "../../../bootstrap/sops/writer";

async function key(): Promise<{ identity: string; recipient: string }> {
  const identity = await age.generateX25519Identity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}

async function verify(text: string, name: string, ...identityTexts: string[]) {
  return verifySopsContent(Buffer.from(text), name, await AgeIdentities.parse(identityTexts.join("\n"), "test"));
}

describe("SOPS rules beyond the fixture files", () => {
  let a: { identity: string; recipient: string };
  let b: { identity: string; recipient: string };
  let c: { identity: string; recipient: string };
  beforeAll(async () => {
    [a, b, c] = await Promise.all([key(), key(), key()]);
  });

  it("key groups with a Shamir threshold: enough groups open it, too few is a wrong key", async () => {
    const text = await writeSopsYaml([{ password: "s3cret", n: 1 }], { recipients: [], keyGroups: [[a.recipient], [b.recipient], [c.recipient]], shamirThreshold: 2 });
    expect(text).toContain("key_groups:");
    expect((await verify(text, "groups.yaml", a.identity, b.identity)).kind).toBe("ok");
    expect((await verify(text, "groups.yaml", a.identity, b.identity, c.identity)).kind).toBe("ok");
    const one = await verify(text, "groups.yaml", c.identity);
    expect(one.kind).toBe("wrong-key");
    expect(one.detail).toContain("3 key groups (2 needed)");
  });

  it("mac_only_encrypted: only encrypted values are in the MAC, which starts with sops's constant", async () => {
    const doc = { kind: "Secret", metadata: { name: "x" }, stringData: { token: "t0ken" } };
    const text = await writeSopsYaml([doc], { recipients: [a.recipient], encryptedRegex: "^stringData$", macOnlyEncrypted: true });
    expect((await verify(text, "m.yaml", a.identity)).kind).toBe("ok");
    // Unencrypted values are not authenticated in this mode (as in sops).
    expect((await verify(text.replace("name: x", "name: y"), "m.yaml", a.identity)).kind).toBe("ok");
    const withoutFlag = text.replace("mac_only_encrypted: true", "mac_only_encrypted: false");
    expect((await verify(withoutFlag, "m.yaml", a.identity)).kind).toBe("mac-mismatch");
  });

  it("encrypted_suffix and a custom unencrypted_suffix decide which values are encrypted", async () => {
    const doc = { db_password_enc: "p", db_host: "h", nested: { api_key_enc: "k", plain: 1 } };
    const text = await writeSopsJson(doc, { recipients: [a.recipient], encryptedSuffix: "_enc" });
    expect(text).toContain('"db_host": "h"');
    const ok = await verify(text, "s.json", a.identity);
    expect(ok).toMatchObject({ kind: "ok", encryptedValues: 2 });
    const env = await writeSopsDotenv({ USER: "u", PASS: "p", NOTE_plain: "visible" }, { recipients: [a.recipient], unencryptedSuffix: "_plain" });
    expect(env).toContain("NOTE_plain=visible");
    expect(await verify(env, "e.env", a.identity)).toMatchObject({ kind: "ok", encryptedValues: 2 });
    expect((await verify(env.replace("NOTE_plain=visible", "NOTE_plain=changed"), "e.env", a.identity)).kind).toBe("mac-mismatch");
  });

  it("multi-document YAML: one MAC over all documents, in order", async () => {
    const docs: Plain[] = [{ a: "1" }, { b: "2" }, { c: "3" }];
    const text = await writeSopsYaml(docs, { recipients: [a.recipient] });
    expect((await verify(text, "multi.yaml", a.identity)).kind).toBe("ok");
    const parts = text.split(/^---\n/m);
    expect((await verify([parts[1], parts[0], parts[2]].join("---\n"), "multi.yaml", a.identity)).kind).toBe("mac-mismatch");
    expect((await verify([parts[0], parts[2]].join("---\n"), "multi.yaml", a.identity)).kind).toBe("mac-mismatch");
  });

  it("empty strings stay unencrypted and null values are not hashed, as in sops", async () => {
    const text = await writeSopsYaml([{ empty: "", none: null, list: ["", "x", null], n: 0, f: 0.5, t: true }], { recipients: [a.recipient] });
    expect(await verify(text, "e.yaml", a.identity)).toMatchObject({ kind: "ok", encryptedValues: 4 });
  });
});
