/** checkRepository: .sops.yaml creation rules against the key, worker threads, reports. */
import * as age from "age-encryption";
import { checkRepository } from "../../../bootstrap/sops/check";
import { readRepository } from "../../../bootstrap/sops/repository";
import { configFor, parseSopsConfig, ruleFor } from "../../../bootstrap/sops/sops-config";
import { writeSopsDotenv, writeSopsYaml } from "../../../bootstrap/sops/writer";
import { KEYS, fixture, fixtureText, tempDir, writeFiles } from "./helpers";

describe(".sops.yaml creation rules", () => {
  it("reads path_regex, age recipients (string, list, key_groups) like sops, first match wins", () => {
    const config = parseSopsConfig(
      ".sops.yaml",
      Buffer.from(`creation_rules:
  - path_regex: ^prod/
    age: age1a, age1b
  - path_regex: \\.env$
    key_groups:
      - age: [age1c]
        pgp: [ABC]
      - age: [age1d]
  - age:
      - age1e
`),
    );
    if (typeof config === "string") throw new Error(config);
    expect(config.rules.map((r) => r.ageRecipients)).toEqual([["age1a", "age1b"], ["age1c", "age1d"], ["age1e"]]);
    expect(ruleFor("prod/x.env", config)?.index).toBe(1);
    expect(ruleFor("dev/x.env", config)?.index).toBe(2);
    expect(ruleFor("dev/x.yaml", config)?.index).toBe(3);
  });

  it("uses the nearest .sops.yaml above a file, and reports one that does not parse", () => {
    const root = parseSopsConfig(".sops.yaml", Buffer.from("creation_rules: [{age: age1root}]"));
    const sub = parseSopsConfig("team/.sops.yaml", Buffer.from("creation_rules: [{path_regex: secret, age: age1team}]"));
    if (typeof root === "string" || typeof sub === "string") throw new Error("parse");
    expect(configFor("team/a/secret.yaml", [root, sub])?.path).toBe("team/.sops.yaml");
    expect(ruleFor("team/a/secret.yaml", sub)?.ageRecipients).toEqual(["age1team"]);
    expect(configFor("other/x.yaml", [root, sub])?.path).toBe(".sops.yaml");
    expect(parseSopsConfig(".sops.yaml", Buffer.from("creation_rules: [\n"))).toMatch(/is not valid YAML \(line/);
  });

  it("warns when a rule that applies to SOPS files here does not list the key's recipient", async () => {
    const repo = tempDir();
    try {
      writeFiles(repo.dir, {
        ".sops.yaml": `creation_rules:\n  - path_regex: ^legacy/\n    age: age1someoneelse\n  - age: age1ulaqjxa694yckl4p8me52t3vnwkag5mrf99n3e9y3kfs97uwryhs3ufhtw\n`,
        "legacy/secret.yaml": fixture("flux/patches/merge1.yaml"),
        "apps/secret.yaml": fixture("flux/algorithms/age.yaml"),
        ".sops.yml": "creation_rules: []\n",
      });
      const report = await checkRepository({ source: repo.dir, identities: fixtureText(KEYS.age) });
      expect(report.ok).toBe(true);
      expect(report.warnings).toEqual([
        ".sops.yml: sops ignores .sops.yml; the config file must be called .sops.yaml",
        ".sops.yaml: creation rule 1 (path_regex ^legacy/) applies to 1 SOPS file here but does not list your age recipient: files created or rotated under it will not be decryptable with this key",
      ]);
    } finally {
      repo.cleanup();
    }
  });
});

describe("checkRepository", () => {
  it("checks a repository already read without reading it again", async () => {
    const repo = tempDir();
    try {
      writeFiles(repo.dir, { "apps/secret.yaml": fixture("flux/algorithms/age.yaml") });
      const snapshot = await readRepository({ source: repo.dir });
      repo.cleanup();
      const report = await checkRepository({ source: repo.dir, identities: fixtureText(KEYS.age), snapshot });
      expect(report).toMatchObject({ ok: true, counts: { ok: 1 } });
      expect(report.files.map((f) => f.path)).toEqual(["apps/secret.yaml"]);
    } finally {
      repo.cleanup();
    }
  });

  // Starts two worker threads, each loading the verifier from the TypeScript sources: about 3 s on a
  // busy 2-core machine, so it gets its own budget instead of jest's default 5 s.
  it("gives the same results on worker threads as on the calling thread", async () => {
    const repo = tempDir();
    try {
      const identity = await age.generateX25519Identity();
      const recipient = await age.identityToRecipient(identity);
      const files: Record<string, string> = {};
      for (let i = 0; i < 12; i++) { // 24 files: two workers (one per 16 files)
        files[`apps/a${i}.yaml`] = await writeSopsYaml([{ kind: "Secret", stringData: { k: `v${i}` } }], { recipients: [recipient], encryptedRegex: "^stringData$" });
        files[`env/e${i}.env`] = await writeSopsDotenv({ K: `v${i}` }, { recipients: [recipient] });
      }
      files["apps/a3.yaml"] = files["apps/a3.yaml"].replace("kind: Secret", "kind: Other");
      writeFiles(repo.dir, files);
      const inline = await checkRepository({ source: repo.dir, identities: identity, concurrency: 1 });
      const pooled = await checkRepository({ source: repo.dir, identities: identity, concurrency: 2 });
      expect(pooled.files).toEqual(inline.files);
      expect(inline.counts).toMatchObject({ ok: 23, "mac-mismatch": 1 });
    } finally {
      repo.cleanup();
    }
  }, 30_000);

  it("accepts the key as text or as a secret holder, and names the recipients used", async () => {
    const holder = { reveal: () => fixtureText(KEYS.typed) };
    const repo = tempDir();
    try {
      writeFiles(repo.dir, { "s.json": fixture("typed/secret.enc.json") });
      const report = await checkRepository({ source: repo.dir, identities: holder });
      expect(report.recipients).toEqual(["age1wz2n7m0qzg46ekmkrkc6ve5hsagkw7z432jm0sq8ekta2tmdzycqu5ee0f"]);
      expect(report.files).toMatchObject([{ path: "s.json", kind: "ok", format: "json" }]);
    } finally {
      repo.cleanup();
    }
  });
});
