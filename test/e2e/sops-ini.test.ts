/**
 * The INI store (bootstrap/sops/ini.ts) on files the real sops v3.13.3 (built by
 * test/e2e/toolchain/build.sh) encrypts in the test run: every encrypted value must open under its
 * `section:key:` path to what loadIni reads from the plaintext, every encrypted comment under its
 * section, the MAC recomputed over loadIni's tree must be sops's, `sops decrypt` must print the
 * same sections, keys and values, and the verifier must accept the file.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as age from "age-encryption";
import { AgeIdentities } from "../../components/settings/age-identities";
import { loadIni } from "../../bootstrap/sops/ini";
import { type SopsMetadata, readMetadata } from "../../bootstrap/sops/metadata";
import type { ParsedSopsFile } from "../../bootstrap/sops/tree";
import { openEncValue, parseEncValue } from "../../bootstrap/sops/values";
import { verifySopsContent } from "../../bootstrap/sops/verify";
import { findSops } from "../bench/sops-binary";
import { type Sections, sectionsOf, view } from "../unit/sops/ini-helpers";
import { tempDir } from "../unit/sops/helpers";

/** An `ENC[...]` value opened with the data key and `aad`; throws when it does not authenticate. */
function open(value: string, key: Buffer, aad: string): { plain: string; type: string } {
  const enc = parseEncValue(value);
  if (typeof enc === "string") throw new Error(`a value under ${aad} is malformed: ${enc}`);
  const plain = openEncValue(enc, key, Buffer.from(aad));
  if (!plain) throw new Error(`a value does not authenticate under ${aad}`);
  return { plain: plain.toString("utf8"), type: enc.type };
}

interface Decrypted {
  readonly sections: Sections;
  /** `section:key` of the values that were encrypted. */
  readonly encrypted: string[];
  readonly comments: [string, string][];
  /** The encrypted comments' sections. */
  readonly encryptedComments: string[];
  /** sops's MAC over the values in tree order (sha512, upper-case hex). */
  readonly mac: string;
}

/** Decrypts loadIni's tree of an encrypted file with the data key, as sops's Tree.Decrypt walks it. */
function decryptTree(parsed: ParsedSopsFile, key: Buffer): Decrypted {
  const hash = crypto.createHash("sha512");
  const encrypted: string[] = [];
  const sections = sectionsOf(parsed).map(([name, items]): [string, [string, string][]] => [
    name,
    items.map(([k, v]): [string, string] => {
      let plain = v;
      if (v.startsWith("ENC[")) {
        const opened = open(v, key, `${name}:${k}:`);
        expect(opened.type).toBe("str");
        plain = opened.plain;
        encrypted.push(`${name}:${k}`);
      }
      hash.update(Buffer.from(plain, "utf8"));
      return [k, plain];
    }),
  ]);
  const encryptedComments: string[] = [];
  const comments = parsed.comments.map((c): [string, string] => {
    const where = c.path.join(":");
    if (!c.text.startsWith("ENC[")) return [where, c.text];
    const opened = open(c.text, key, `${where}:`);
    expect(opened.type).toBe("comment");
    encryptedComments.push(where);
    return [where, opened.plain];
  });
  return { sections, encrypted, comments, encryptedComments, mac: hash.digest("hex").toUpperCase() };
}

const SOPS_VERSION = "3.13.3";

function requireSops(): string {
  const sops = findSops();
  if (!sops) throw new Error("no sops binary found (SOPS_BIN, the e2e toolchain cache, PATH): build it with `bash test/e2e/toolchain/build.sh sops`");
  return sops;
}

const CONFIG = (recipient: string): string => `creation_rules:
  - path_regex: regex\\.ini$
    encrypted_regex: ^(password|token)$
    age: ${recipient}
  - path_regex: suffix\\.ini$
    unencrypted_suffix: _plain
    age: ${recipient}
  - age: ${recipient}
`;

/** DEFAULT keys, several sections, comments, quotes, delimiters, unicode, empty and multi-line values. */
const SEVERAL = [
  "; a comment before the first DEFAULT key",
  "top = in the DEFAULT section",
  "top_unencrypted: colon delimiter, left in plaintext",
  "",
  "# comment on the first section",
  "[database] ; and an inline one",
  "host = db.example.com",
  'password = "p@ss word: with = signs"',
  "spaces =    a b  c   ",
  "eq = a=b:c",
  "`key:with=delims` = a quoted key",
  "single = 'single quoted'",
  `inner = say "hi" to 'them'`,
  "hash = `a # b ; c`",
  "; comment on cut",
  "cut = before # after",
  "unicode = héllo 日本 😀 ñ",
  "empty =",
  "empty_colon:",
  'multi = """line one',
  'line two"""',
  "cont = first \\",
  "  second",
  "dup = first",
  "dup = second wins",
  "host_unencrypted = visible",
  "",
  "[database]",
  "host = a repeated section is a new section",
  "",
  "[DEFAULT]",
  "late = a later DEFAULT header opens another section",
  "",
].join("\n");

const SEVERAL_TREE: Sections = [
  [
    "DEFAULT",
    [
      ["top", "in the DEFAULT section"],
      ["top_unencrypted", "colon delimiter, left in plaintext"],
    ],
  ],
  [
    "database",
    [
      ["host", "db.example.com"],
      ["password", "p@ss word: with = signs"],
      ["spaces", "a b  c"],
      ["eq", "a=b:c"],
      ["key:with=delims", "a quoted key"],
      ["single", "single quoted"],
      ["inner", `say "hi" to 'them'`],
      ["hash", "a # b ; c"],
      ["cut", "before"],
      ["unicode", "héllo 日本 😀 ñ"],
      ["empty", ""],
      ["empty_colon", ""],
      ["multi", "line one\nline two"],
      ["cont", "first second"],
      ["dup", "second wins"],
      ["host_unencrypted", "visible"],
    ],
  ],
  ["database", [["host", "a repeated section is a new section"]]],
  ["DEFAULT", [["late", "a later DEFAULT header opens another section"]]],
];

/** encrypted_regex: only password and token keys (and everything in a section named password). */
const REGEX = [
  "[app]",
  "; a comment that stays in plaintext",
  "name = demo",
  "password = s3cret value",
  "token = t0ken",
  "[password]",
  "; a comment in a section the regex matches",
  "note = encrypted because its section matches",
  "[other]",
  "token =",
  "",
].join("\n");

/** unencrypted_suffix _plain, on a key and on a section. */
const SUFFIX = [
  "user_plain = alice",
  "pass = hunter2",
  "[conf_plain]",
  "anything = visible because the section has the suffix",
  "[conf]",
  "key_plain = visible",
  "key = hidden",
  "",
].join("\n");

/** A UTF-8 BOM and CRLF line ends. */
const CRLF = '\uFEFFa = 1\r\n[s]\r\nb = "x y"\r\n; c\r\nc = ok\r\nm = """l1\r\nl2"""\r\n';

describe("INI files the real sops encrypts", () => {
  jest.setTimeout(120_000);
  let sops: string;
  let dir: string;
  let cleanup: () => void;
  let env: NodeJS.ProcessEnv;
  let recipient: string;
  let identities: AgeIdentities;

  const run = (args: readonly string[]): SpawnSyncReturns<string> => spawnSync(sops, args, { cwd: dir, env, encoding: "utf8" });

  /** Encrypts `plain` as `name` with sops; returns the encrypted file and what `sops decrypt` prints. */
  function encrypt(name: string, plain: string): { encrypted: Buffer; decrypted: SpawnSyncReturns<string> } {
    fs.writeFileSync(path.join(dir, name), plain);
    const out = run(["encrypt", name]);
    if (out.status !== 0) throw new Error(`sops encrypt ${name} failed: ${out.stderr}`);
    fs.writeFileSync(path.join(dir, `enc-${name}`), out.stdout);
    return { encrypted: Buffer.from(out.stdout), decrypted: run(["decrypt", `enc-${name}`]) };
  }

  async function dataKey(md: SopsMetadata): Promise<Buffer> {
    const opened = await identities.open(md.keyGroups[0].age[0].enc);
    if (opened.kind !== "ok") throw new Error(`the age stanza does not open: ${opened.kind}`);
    return opened.payload;
  }

  /** Checks an encrypted file against its plaintext; returns the decrypted tree. */
  async function checkRoundTrip(name: string, plain: string): Promise<Decrypted> {
    const { encrypted, decrypted } = encrypt(name, plain);
    expect(decrypted.stderr).toBe("");
    expect(decrypted.status).toBe(0);
    const parsed = loadIni(encrypted);
    expect(parsed).toMatchObject({ format: "ini", laterMetadata: [], encoding: "utf8", hasLegacyJsonNumbers: false });
    expect(parsed.branches).toHaveLength(1);
    expect(parsed.metadata).toBeDefined();
    const md = readMetadata(parsed.metadata!);
    expect(md.keyGroups).toHaveLength(1);
    expect(md.keyGroups[0].age.map((a) => a.recipient)).toEqual([recipient]);
    // EscapeNewlines: the armored stanza is one line in the file, with real newlines once read.
    expect(md.keyGroups[0].age[0].enc).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n[^]*\n-----END AGE ENCRYPTED FILE-----\n$/);
    expect(md.version).toBe(SOPS_VERSION);
    expect(md.mac).toMatch(/^ENC\[AES256_GCM,/);

    const key = await dataKey(md);
    const tree = decryptTree(parsed, key);
    const expected = loadIni(Buffer.from(plain));
    // The values sops encrypted (or left) are what we read from the plaintext, in the same tree.
    expect(tree.sections).toEqual(sectionsOf(expected));
    expect(tree.comments).toEqual(expected.comments.map((c) => [c.path.join(":"), c.text]));
    expect(tree.mac).toBe(open(md.mac, key, md.macAad).plain);
    // sops decrypt prints the same sections, keys and values (and comments).
    const printed = loadIni(Buffer.from(decrypted.stdout));
    expect(sectionsOf(printed)).toEqual(sectionsOf(expected));
    expect(printed.comments).toEqual(expected.comments);
    // And the verifier, which `check` runs, accepts the file as sops does.
    expect(await verifySopsContent(encrypted, name, identities)).toMatchObject({ kind: "ok", format: "ini" });
    return tree;
  }

  beforeAll(async () => {
    sops = requireSops();
    ({ dir, cleanup } = tempDir("gitops-bootstrap-ini-"));
    const identity = await age.generateX25519Identity();
    recipient = await age.identityToRecipient(identity);
    const keyFile = path.join(dir, "keys.txt");
    fs.writeFileSync(keyFile, `# ini test key\n${identity}\n`);
    fs.writeFileSync(path.join(dir, ".sops.yaml"), CONFIG(recipient));
    env = { PATH: process.env.PATH, HOME: dir, SOPS_AGE_KEY_FILE: keyFile, SOPS_DISABLE_VERSION_CHECK: "1" };
    identities = await AgeIdentities.parse(fs.readFileSync(keyFile, "utf8"), "keys.txt");
    const version = run(["--version"]);
    expect(version.stdout).toContain(`sops ${SOPS_VERSION}`);
  });
  afterAll(() => cleanup?.());

  it("several sections, DEFAULT keys, comments, quotes, delimiters, unicode, empty and multi-line values", async () => {
    expect(view(SEVERAL)).toEqual(SEVERAL_TREE);
    const tree = await checkRoundTrip("several.ini", SEVERAL);
    // The default rule (unencrypted_suffix _unencrypted): every non-empty value but the suffixed ones.
    const all = SEVERAL_TREE.flatMap(([s, items]) => items.filter(([, v]) => v !== "").map(([k]) => `${s}:${k}`));
    expect(tree.encrypted).toEqual(all.filter((p) => !p.endsWith("_unencrypted")));
    expect(tree.comments).toEqual([
      ["DEFAULT", "a comment before the first DEFAULT key"],
      ["database", "comment on the first section\n; and an inline one"],
      ["database", "comment on cut\n# after"],
    ]);
    expect(tree.encryptedComments).toEqual(["DEFAULT", "database", "database"]);
  });

  it("encrypted_regex: the matching keys, and everything under a matching section, are encrypted", async () => {
    const tree = await checkRoundTrip("regex.ini", REGEX);
    expect(tree.encrypted).toEqual(["app:password", "app:token", "password:note"]);
    expect(tree.encryptedComments).toEqual(["password"]);
    expect(tree.sections).toEqual([
      ["DEFAULT", []],
      [
        "app",
        [
          ["name", "demo"],
          ["password", "s3cret value"],
          ["token", "t0ken"],
        ],
      ],
      ["password", [["note", "encrypted because its section matches"]]],
      ["other", [["token", ""]]],
    ]);
  });

  it("unencrypted_suffix: a suffixed key or section stays in plaintext", async () => {
    const tree = await checkRoundTrip("suffix.ini", SUFFIX);
    expect(tree.encrypted).toEqual(["DEFAULT:pass", "conf:key"]);
    expect(loadIni(fs.readFileSync(path.join(dir, "enc-suffix.ini"))).metadata?.items.find((i) => i.key === "unencrypted_suffix")?.value).toEqual({
      t: "str",
      s: "_plain",
    });
  });

  it("a BOM and CRLF line ends", async () => {
    expect(view(CRLF)).toEqual([
      ["DEFAULT", [["a", "1"]]],
      [
        "s",
        [
          ["b", "x y"],
          ["c", "ok"],
          ["m", "l1\r\nl2"],
        ],
      ],
    ]);
    await checkRoundTrip("crlf.ini", CRLF);
  });

  it("auto-increment keys (`-`), which sops writes as comment lines: it cannot decrypt its own file, and neither tree matches the MAC", async () => {
    const plain = "- = x\n- = y\n[s]\nb = 2\n";
    expect(view(plain)).toEqual([
      [
        "DEFAULT",
        [
          ["#1", "x"],
          ["#2", "y"],
        ],
      ],
      ["s", [["b", "2"]]],
    ]);
    const { encrypted, decrypted } = encrypt("auto.ini", plain);
    expect(decrypted.status).not.toBe(0);
    expect(decrypted.stderr).toContain("MAC mismatch");
    const parsed = loadIni(encrypted);
    const md = readMetadata(parsed.metadata!);
    const key = await dataKey(md);
    const tree = decryptTree(parsed, key);
    expect(tree.sections).toEqual([
      ["DEFAULT", []],
      ["s", [["b", "2"]]],
    ]);
    expect(tree.mac).not.toBe(open(md.mac, key, md.macAad).plain);
    expect(await verifySopsContent(encrypted, "auto.ini", identities)).toMatchObject({ kind: "mac-mismatch" });
  });
});

