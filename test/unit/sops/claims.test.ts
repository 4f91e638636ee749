/**
 * Which files the check judges (bootstrap/sops/claims.ts through the verifier and the repository
 * check), and the JSON store's reader (bootstrap/sops/json.ts), on the real sops test vectors and
 * hand-made damage. The same classes on files the real sops makes in the run are in
 * test/e2e/sops-interop.test.ts.
 */
import { checkRepository } from "../../../bootstrap/sops/check";
import type { EncryptionRule } from "../../../bootstrap/sops/metadata";
import { parseJsonTree } from "../../../bootstrap/sops/json";
import { TreeParseError } from "../../../bootstrap/sops/tree";
import { verifySopsContent } from "../../../bootstrap/sops/verify";
import { fixtureText, identities, tempDir, writeFiles } from "./helpers";

const AGE_YAML = "flux/algorithms/age.yaml";

const K8S_RULE = { kind: "encrypted_regex", value: "^(data|stringData)$", regex: /^(data|stringData)$/ } as const;
const DEFAULT_RULE = { kind: "unencrypted_suffix", value: "_unencrypted" } as const;

async function verdict(text: string, name: string, ruleName?: string, selector: EncryptionRule = K8S_RULE) {
  return verifySopsContent(Buffer.from(text), name, await identities("age"), ruleName ? { rule: { name: ruleName, selector } } : {});
}

describe("files meant as SOPS files are judged; other files are not", () => {
  it("a SOPS file cut before its metadata fails, naming why it was meant as one", async () => {
    const text = fixtureText(AGE_YAML);
    const cut = text.slice(0, text.indexOf("\nsops:") + 1);
    const result = await verdict(cut, "apps/secret.yaml");
    expect(result).toMatchObject({ kind: "malformed" });
    expect(result.detail).toMatch(/it has no sops metadata, so sops cannot decrypt it, but it holds values sops encrypted/);
  });

  it("a SOPS file cut inside its metadata, or mid-line so that it does not parse, fails", async () => {
    const text = fixtureText(AGE_YAML);
    const inMetadata = text.slice(0, text.indexOf("lastmodified:"));
    expect(await verdict(inMetadata, "apps/secret.yaml")).toMatchObject({ kind: "malformed", detail: "sops.lastmodified is missing" });
    const midLine = text.slice(0, text.indexOf("ENC[AES256_GCM") + 30);
    const result = await verdict(midLine, "apps/secret.yaml");
    expect(result.kind).toBe("malformed");
  });

  it("a plain file named as a SOPS file fails; the same file under an ordinary name is not judged", async () => {
    const plain = "apiVersion: v1\nkind: Secret\nstringData:\n  password: plain\n";
    const named = await verdict(plain, "apps/db.sops.yaml");
    expect(named).toMatchObject({ kind: "malformed" });
    expect(named.detail).toContain("its name (db.sops.yaml) says it is a SOPS file");
    expect(named.detail).not.toContain("plain");
    expect((await verdict(plain, "apps/db.enc.yaml")).kind).toBe("malformed");
    expect((await verdict(plain, "apps/db.yaml")).kind).toBe("not-sops");
  });

  it("a multi-document file whose first document lost its metadata fails, as sops reads only the first", async () => {
    const text = fixtureText(AGE_YAML);
    const metadata = text.slice(text.indexOf("\nsops:") + 1);
    const second = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n" + metadata;
    const result = await verdict("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n---\n" + second, "apps/multi.yaml");
    expect(result).toMatchObject({ kind: "malformed", keyPath: "sops" });
    expect(result.detail).toContain("the first YAML document has no sops metadata but a later one has");
  });

  it("Markdown, text and values files that mention sops or show ENC examples are not judged", async () => {
    const readme = "# Secrets\n\n    password: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n\n```yaml\nsops:\n  mac: x\n  lastmodified: y\n```\n";
    expect((await verdict(readme, "docs/README.md")).kind).toBe("not-sops");
    expect((await verdict("Rotate the sops key every quarter.\n", "docs/notes.txt")).kind).toBe("not-sops");
    expect((await verdict("replicas: 2\nsops:\n  enabled: true\n", "charts/app/values.yaml")).kind).toBe("not-sops");
    expect((await verdict("sops: true\n", "charts/app/values.yaml")).kind).toBe("not-sops");
    expect((await verdict("kind: ksops\nfiles: [./db.yaml]\n", "apps/ksops.yaml", "creation rule 1 of .sops.yaml")).kind).toBe("not-sops");
  });

  it("a creation rule counts only for a file that mentions sops and does not parse", async () => {
    const template = "metadata:\n  name: {{ .Release.Name }}\n  note: decrypted by sops\n";
    expect((await verdict(template, "apps/secret.yaml")).kind).toBe("not-sops");
    const covered = await verdict(template, "apps/secret.yaml", "creation rule 2 of .sops.yaml");
    expect(covered).toMatchObject({ kind: "malformed" });
    expect(covered.detail).toContain("creation rule 2 of .sops.yaml covers it and it mentions sops");
    const helm = "metadata:\n  name: {{ .Release.Name }}\n";
    expect((await verdict(helm, "charts/templates/deployment.yaml", "creation rule 2 of .sops.yaml")).kind).toBe("not-sops");
  });

  it("under a creation rule, a file the rule would have encrypted fails; Kubernetes objects only when they are Secrets", async () => {
    const rule = "creation rule 1 of .sops.yaml";
    const secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: plain\n";
    const plainSecret = await verdict(secret, "apps/db.yaml", rule);
    expect(plainSecret).toMatchObject({ kind: "malformed" });
    expect(plainSecret.detail).toBe(
      "it has no sops metadata, so sops cannot decrypt it, but creation rule 1 of .sops.yaml covers it and would encrypt values in it (cut off before its metadata, or never encrypted?); encrypt it (sops encrypt --in-place apps/db.yaml), or narrow the rule's path_regex if it is meant to stay plain",
    );
    // A Secret without values the rule encrypts, a ConfigMap's data, a Deployment: not SOPS files.
    expect((await verdict("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n", "apps/db.yaml", rule)).kind).toBe("not-sops");
    expect((await verdict("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n", "apps/c.yaml", rule)).kind).toBe("not-sops");
    expect((await verdict("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n", "apps/d.yaml", rule, DEFAULT_RULE)).kind).toBe("not-sops");
    // Other files: by the rule's selector.
    expect((await verdict("db:\n  password: plain\n", "apps/config.yaml", rule, DEFAULT_RULE)).kind).toBe("malformed");
    expect((await verdict("db:\n  password: plain\n", "apps/config.yaml", rule)).kind).toBe("not-sops");
    expect((await verdict("DB_PASSWORD=plain\n", "apps/app.env", rule, DEFAULT_RULE)).kind).toBe("malformed");
    expect((await verdict("db:\n  password: plain\n", "apps/config.yaml")).kind).toBe("not-sops");
  });

  it("a file cut mid-line before any encrypted value fails under a rule that would encrypt what is left", async () => {
    const cut = "apiVersion: v1\nkind: Secret\nstringData:\n  user: admin\n  password: \"unterminated";
    const result = await verdict(cut, "apps/db.yaml", "creation rule 1 of .sops.yaml");
    expect(result.kind).toBe("malformed");
    expect(result.detail).toMatch(/^YAML syntax error at line 5, column \d+; sops cannot read it either, and it is meant to be a SOPS file: creation rule 1 of \.sops\.yaml covers it and would encrypt values in it$/);
    // Without the rule nothing says what it was.
    expect((await verdict(cut, "apps/db.yaml")).kind).toBe("not-sops");
  });

  it("a sops entry that is not a map fails in a file meant as a SOPS file", async () => {
    const text = fixtureText(AGE_YAML);
    const broken = text.slice(0, text.indexOf("\nsops:") + 1) + "sops: gone\n";
    expect(await verdict(broken, "apps/secret.yaml")).toMatchObject({ kind: "malformed", keyPath: "sops", detail: expect.stringContaining("its sops entry is not a map") });
  });

  it("a damaged binary envelope is still judged; a text file that is not an envelope is not", async () => {
    const binary = fixtureText("flux/files/file.txt");
    expect((await verdict(binary.slice(0, binary.length / 2), "flux/files/file.txt")).kind).toBe("malformed");
    expect((await verdict("x" + binary.slice(1), "flux/files/file.txt")).kind).toBe("malformed");
  });

  it("the repository check lists judged files only, with the covering rule in the reason", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const text = fixtureText(AGE_YAML);
      writeFiles(dir, {
        ".sops.yaml": "creation_rules:\n  - path_regex: ^apps/\n    age: age1nothere\n",
        "apps/ok.yaml": text,
        "apps/cut.yaml": text.slice(0, text.indexOf("\nsops:") + 1),
        "docs/README.md": "Encrypt with sops: `password: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]`\n",
      });
      const report = await checkRepository({ source: dir, identities: await identities("age") });
      expect(report.files.map((f) => [f.path, f.kind])).toEqual([
        ["apps/cut.yaml", "malformed"],
        ["apps/ok.yaml", "ok"],
      ]);
      expect(report.files[0].detail).toContain("and creation rule 1 of .sops.yaml covers it");
      expect(report.outcome).toBe("fails");
    } finally {
      cleanup();
    }
  });
});

describe("JSON as sops's token reader reads it", () => {
  const keys = (text: string): string[] => parseJsonTree(text).root.items.map((i) => i.key);

  it("keeps key order (also of integer-like keys) and duplicate keys", () => {
    expect(keys('{"b": 1, "2": 2, "a": 3, "1": 4, "a": 5}')).toEqual(["b", "2", "a", "1", "a"]);
  });

  it("reads nothing after the top-level object, as Go's streaming decoder does", () => {
    expect(keys('{"a": 1}\ntrailing garbage {')).toEqual(["a"]);
  });

  it("decodes escapes, and refuses control characters and bad escapes with a byte offset", () => {
    const tree = parseJsonTree('{"k": "a\\"b\\\\c\\n\\u00e9\\ud83d\\ude00"}');
    expect(tree.root.items[0].value).toEqual({ t: "str", s: 'a"b\\c\né😀' });
    expect(() => parseJsonTree('{"k": "a\u0001b"}')).toThrow(/JSON syntax error at byte 8/);
    expect(() => parseJsonTree('{"k": "a\\xb"}')).toThrow(TreeParseError);
  });

  it("types numbers as sops does: int64 in range, float64 otherwise, out of range refused", () => {
    const values = parseJsonTree('{"a": 9223372036854775807, "b": 9223372036854775808, "c": 1.5e3, "d": -0}').root.items.map((i) => i.value);
    expect(values).toEqual([{ t: "int", i: 9223372036854775807n }, { t: "float", f: 9223372036854775808 }, { t: "float", f: 1500 }, { t: "int", i: 0n }]);
    expect(parseJsonTree('{"a": 9007199254740993}').legacyNumbers).toBe(true);
    expect(() => parseJsonTree('{"a": 1e400}')).toThrow(/out of range/);
  });

  it("refuses a cut-off object, a top-level array and an empty file", () => {
    expect(() => parseJsonTree('{"a": [1, 2')).toThrow(/JSON ends early/);
    expect(() => parseJsonTree("[1]")).toThrow(/not an object/);
    expect(() => parseJsonTree("  ")).toThrow(/JSON ends early/);
  });

  it("reads a string of many megabytes in one piece", () => {
    const big = "A".repeat(40 * 1024 * 1024);
    const tree = parseJsonTree(`{"data": "${big}", "sops": {}}`);
    expect(tree.root.items.map((i) => i.key)).toEqual(["data", "sops"]);
    expect((tree.root.items[0].value as { s: string }).s.length).toBe(big.length);
  });
});
