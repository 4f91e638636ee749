import { inspect } from "node:util";
import * as age from "age-encryption";
import { AgeIdentities, AgeIdentityError, bech32Decode, bech32Encode } from "../../../components/settings/age-identities";
import { KEYS, fixtureText } from "./helpers";

const X25519_RECIPIENT = "age1ulaqjxa694yckl4p8me52t3vnwkag5mrf99n3e9y3kfs97uwryhs3ufhtw";

describe("AgeIdentities", () => {
  it("parses an identity file: comments and blank lines ignored, recipients derived", async () => {
    const ids = await AgeIdentities.parse(fixtureText(KEYS.age), KEYS.age);
    expect(ids.recipients).toEqual([X25519_RECIPIENT]);
    const pq = await AgeIdentities.parse(fixtureText(KEYS.agePq), KEYS.agePq);
    expect(pq.recipients[0]).toMatch(/^age1pq1nkvgwtpnyzf9nppxr8qf0/);
  });

  it("takes several identities per line from SOPS_AGE_KEY-style text, and merges sets without duplicates", async () => {
    const one = fixtureText(KEYS.age).split("\n").find((l) => l.startsWith("AGE-")) as string;
    const two = fixtureText(KEYS.typed).split("\n").find((l) => l.startsWith("AGE-")) as string;
    const ids = await AgeIdentities.parse(`${one} ${two}`, "SOPS_AGE_KEY", true);
    expect(ids.size).toBe(2);
    const merged = AgeIdentities.merge([ids, await AgeIdentities.parse(one, "file")]);
    expect(merged.size).toBe(2);
  });

  it("rejects a bad line naming the line, never quoting it", async () => {
    // Well-formed length, not a key: built at run time so no key-shaped literal is committed.
    const secretish = `AGE-SECRET-KEY-1${"Q".repeat(58)}`;
    await expect(AgeIdentities.parse(`# header\n${secretish}\n`, "keys.txt")).rejects.toThrow(AgeIdentityError);
    await expect(AgeIdentities.parse(`# header\n${secretish}\n`, "keys.txt")).rejects.toThrow(/line 2 of keys\.txt/);
    const err = await AgeIdentities.parse(`${secretish}\n`, "k").catch((e: Error) => e);
    expect(String(err)).not.toContain(secretish);
    await expect(AgeIdentities.parse("ssh-ed25519 AAAA", "k")).rejects.toThrow(/not an age identity/);
    await expect(AgeIdentities.parse("AGE-PLUGIN-YUBIKEY-1XYZ", "k")).rejects.toThrow(/plugin/);
  });

  it("never prints or serialises key material", async () => {
    const ids = await AgeIdentities.parse(fixtureText(KEYS.age), KEYS.age);
    for (const shown of [String(ids), JSON.stringify(ids), inspect(ids), inspect({ ids }, { depth: 5 })]) {
      expect(shown).not.toContain("AGE-SECRET-KEY");
      expect(shown).toContain(X25519_RECIPIENT);
    }
  });

  it("opens what age-encryption encrypts, X25519 (native) and post-quantum (library), like the library does", async () => {
    const x = await age.generateX25519Identity();
    const pq = await age.generateHybridIdentity();
    const other = await age.generateX25519Identity();
    const payload = new Uint8Array(32).map((_, i) => i * 7);
    for (const [recipientsOf, idText] of [
      [[x], x],
      [[pq], pq],
      [[other, x], x],
      [[other, pq], `${x}\n${pq}`],
    ] as const) {
      const e = new age.Encrypter();
      for (const id of recipientsOf) e.addRecipient(await age.identityToRecipient(id));
      const armored = age.armor.encode(await e.encrypt(payload));
      const ids = await AgeIdentities.parse(idText, "test");
      const opened = await ids.open(armored);
      expect(opened.kind).toBe("ok");
      if (opened.kind === "ok") expect([...opened.payload]).toEqual([...payload]);
      const d = new age.Decrypter();
      for (const line of idText.split("\n")) d.addIdentity(line);
      expect([...(await d.decrypt(age.armor.decode(armored)))]).toEqual([...payload]);
    }
  });

  it("says no-match for other recipients and for stanza types it has no identity for (scrypt)", async () => {
    const ids = await AgeIdentities.parse(await age.generateX25519Identity(), "test");
    const e = new age.Encrypter();
    e.addRecipient(await age.identityToRecipient(await age.generateX25519Identity()));
    expect((await ids.open(age.armor.encode(await e.encrypt("x")))).kind).toBe("no-match");
    const s = new age.Encrypter();
    s.setPassphrase("correct horse");
    s.setScryptWorkFactor(2);
    expect((await ids.open(age.armor.encode(await s.encrypt("x")))).kind).toBe("no-match");
  });

  it("reports a tampered header MAC and a tampered payload as malformed", async () => {
    const id = await age.generateX25519Identity();
    const e = new age.Encrypter();
    e.addRecipient(await age.identityToRecipient(id));
    const file = await e.encrypt(new Uint8Array(32));
    const ids = await AgeIdentities.parse(id, "test");
    const headerEnd = Buffer.from(file).indexOf("--- ") + 4;
    const badMac = Buffer.from(file);
    badMac[headerEnd] = badMac[headerEnd] === 0x41 ? 0x42 : 0x41;
    expect(await ids.open(age.armor.encode(badMac))).toEqual({ kind: "malformed", what: "age header MAC" });
    const badPayload = Buffer.from(file);
    badPayload[badPayload.length - 1] ^= 1;
    expect(await ids.open(age.armor.encode(badPayload))).toEqual({ kind: "malformed", what: "age payload" });
  });
});

describe("bech32", () => {
  it("round-trips and rejects a bad checksum", () => {
    const decoded = bech32Decode(X25519_RECIPIENT);
    expect(decoded?.hrp).toBe("age");
    expect(decoded && bech32Encode("age", decoded.bytes)).toBe(X25519_RECIPIENT);
    expect(bech32Decode(X25519_RECIPIENT.replace(/.$/, "q"))).toBeUndefined();
  });
});
