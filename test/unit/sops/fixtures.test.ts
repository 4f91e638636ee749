import { AgeIdentities } from "../../../components/settings/age-identities";
import { verifySopsContent } from "../../../bootstrap/sops/verify";
import { DECRYPTABLE, KEYS, type KeyName, fixture, identities } from "./helpers";

describe("the files the real sops made (test/fixtures/sops)", () => {
  describe.each(DECRYPTABLE)("$file", ({ file, key, format }) => {
    it(`verifies with ${KEYS[key]}`, async () => {
      const result = await verifySopsContent(fixture(file), file, await identities(key));
      expect(result).toMatchObject({ kind: "ok", path: file, format });
      expect(result.reason).toContain(file);
      if (result.kind === "ok") expect(result.encryptedValues).toBeGreaterThan(0);
    });

    const wrongKeys = (Object.keys(KEYS) as KeyName[]).filter((k) => k !== key);
    it.each(wrongKeys)("fails with the wrong key %s: the data key cannot be recovered", async (wrong) => {
      const result = await verifySopsContent(fixture(file), file, await identities(wrong));
      expect(result.kind).toBe("wrong-key");
      expect(result.reason).toContain(file);
      expect(result.reason).toContain("none of your identities");
    });
  });

  it("reports flux/algorithms/pgp.yaml as not age (PGP only), with any key", async () => {
    for (const key of Object.keys(KEYS) as KeyName[]) {
      const result = await verifySopsContent(fixture("flux/algorithms/pgp.yaml"), "flux/algorithms/pgp.yaml", await identities(key));
      expect(result).toMatchObject({ kind: "not-age", keyTypes: ["pgp"] });
      expect(result.reason).toContain("flux/algorithms/pgp.yaml");
    }
  });

  it.each(["flux/algorithms/vault.yaml", "flux/inside/secret.yaml", "flux/kustomization.yaml"])(
    "reports %s as not a SOPS file (no sops metadata)",
    async (file) => {
      const result = await verifySopsContent(fixture(file), file, await identities("age"));
      expect(result.kind).toBe("not-sops");
      expect(result.reason).toContain(file);
    },
  );

  it("opens a file with several identities in one key file (the matching one is used)", async () => {
    const text = (["age", "agePq", "typed"] as KeyName[]).map((k) => fixture(KEYS[k]).toString("utf8")).join("\n");
    const ids = await AgeIdentities.parse(text, "combined");
    expect(ids.size).toBe(3);
    for (const { file } of DECRYPTABLE.filter((d) => d.key !== "ageGlobal")) {
      expect((await verifySopsContent(fixture(file), file, ids)).kind).toBe("ok");
    }
  });
});
