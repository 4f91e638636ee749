/**
 * Interop with the real sops (built from its Go module by test/e2e/toolchain/build.sh): random
 * documents in every store are encrypted by `sops encrypt` under .sops.yaml creation rules
 * (X25519 and post-quantum recipients, key groups with Shamir, encrypted_regex, suffixes,
 * mac_only_encrypted, comment rules), and our verifier must accept every one. Then single bytes
 * are changed at random positions: whenever our verifier accepts a changed file, sops must
 * accept it too (we are never more lenient). The changes both accept are counted: harmless ones
 * (a recipient string, a redundant base64 bit) and the ones the SOPS format does not
 * authenticate at all (the name of an unencrypted key, values `mac_only_encrypted` leaves out).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import { AgeIdentities } from "../../components/settings/age-identities";
import { ruleHints } from "../../bootstrap/sops/check";
import { parseSopsConfig } from "../../bootstrap/sops/sops-config";
import { failsTheCheck } from "../../bootstrap/sops/types";
import { verifySopsContent } from "../../bootstrap/sops/verify";
import { findSops } from "../bench/sops-binary";
import { rng } from "../bench/random";
import { type CorpusCase, SOPS_CONFIG, buildCorpus } from "./sops-corpus";

const SOPS = findSops();
const SEED = Number(process.env.INTEROP_SEED ?? 424242);
const FLIPS_PER_FILE = Number(process.env.INTEROP_FLIPS ?? 40);
const CUTS_PER_FILE = Number(process.env.INTEROP_CUTS ?? 6);

const random = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

const UNICODE = ["é", "ß", "日本", "😀", "👩‍👩‍👧", "ñ", "Ω", "\u0301", "中文", "עברית", "\u2028", "\t"];
function randomString(): string {
  const parts: string[] = [];
  for (let i = int(0, 6); i > 0; i--) {
    parts.push(pick(["abc", "x y", "a: b", "#not-a-comment", "'q'", '"dq"', "\\", "- item", "{}", "[1]", "ENC", ...UNICODE, String(int(0, 999))]));
  }
  return parts.join("");
}

/** YAML plain scalars whose type yaml.v3 decides (int, float, bool, null, timestamp, string). */
const PLAIN_SCALARS = [
  "yes", "no", "on", "0x1F", "017", "0o17", "08", "1_000", ".5", "-.inf", "+.inf", ".nan", "~", "null", "True", "FALSE",
  "1e21", "-0.0", "0.1", "3.14159", "1.5e300", "1e-7", "-2", "9223372036854775807", "-9223372036854775808", "123456789012",
  "2024-01-02", "2001-12-14t21:59:43.10-05:00", "2024-02-29 23:59:59", "2024-13-01", "1e400", "plain words", "a:b",
];

type Value = { raw: string } | string | number | boolean | null | Value[] | { [k: string]: Value };

function randomScalar(yaml: boolean): Value {
  switch (int(0, yaml ? 6 : 5)) {
    case 0:
      return randomString();
    case 1:
      return pick([0, 1, -1, 42, -7, 2 ** 31, -(2 ** 40), 123456789]);
    case 2:
      return pick([0.1, 0.5, -2.25, 1e21, 1e-7, 3.14159, 1.5e300, 123456.789, -1e-300]);
    case 3:
      return random() < 0.5;
    case 4:
      return null;
    case 5:
      return randomString() + randomString();
    default:
      return { raw: pick(PLAIN_SCALARS) };
  }
}

function randomKey(i: number): string {
  return pick(["password", "data", "stringData", "token_secret", "name", "host", "port", "enabled", "ratio", "list", "nested", "x_unencrypted", "sops_like", "ключ", "キー", "with space", "dot.key"]) + `_${i}`;
}

function randomValue(depth: number, yaml: boolean): Value {
  const r = random();
  if (depth < 3 && r < 0.2) {
    const map: { [k: string]: Value } = {};
    for (let i = int(1, 4); i > 0; i--) map[randomKey(i)] = randomValue(depth + 1, yaml);
    return map;
  }
  if (depth < 3 && r < 0.35) return Array.from({ length: int(0, 4) }, () => randomValue(depth + 1, yaml));
  return randomScalar(yaml);
}

function randomDocument(yaml: boolean): { [k: string]: Value } {
  const doc: { [k: string]: Value } = { kind: "Secret", metadata: { name: `n${int(0, 999)}` } };
  for (let i = int(2, 7); i > 0; i--) doc[randomKey(i)] = randomValue(1, yaml);
  doc.stringData = { password: randomString() || "p", token: randomString() + "t" };
  return doc;
}

function yamlScalar(v: Value): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") {
    if (Number.isInteger(v) && !Object.is(v, -0) && Math.abs(v) < 2 ** 53) return String(v);
    const s = String(v);
    return /[.e]/.test(s) ? s.replace("e+", "e") : `${s}.0`;
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (!Array.isArray(v) && "raw" in v) return v.raw as string;
  throw new Error("not a scalar");
}

const isScalar = (v: Value): boolean => v === null || typeof v !== "object" || (!Array.isArray(v) && "raw" in v);

function emitYaml(v: Value, indent: string, withComments: boolean): string {
  const comment = (): string => (withComments && random() < 0.25 ? `${indent}# ${pick(["note", "sops:enc", "sops:plain", "TODO ünïcode"])}\n` : "");
  if (Array.isArray(v)) {
    if (v.length === 0) return " []\n";
    return "\n" + v.map((item) => `${comment()}${indent}-${isScalar(item) ? ` ${yamlScalar(item)}\n` : emitYaml(item, indent + "  ", withComments).replace(/^\n/, "\n")}`).join("");
  }
  if (v !== null && typeof v === "object" && !("raw" in v)) {
    const entries = Object.entries(v);
    if (entries.length === 0) return " {}\n";
    return "\n" + entries.map(([k, item]) => `${comment()}${indent}${JSON.stringify(k)}:${isScalar(item) ? ` ${yamlScalar(item)}\n` : emitYaml(item, indent + "  ", withComments)}`).join("");
  }
  return ` ${yamlScalar(v)}\n`;
}

function yamlDocument(doc: { [k: string]: Value }, withComments: boolean): string {
  return emitYaml(doc, "", withComments).replace(/^\n/, "");
}

function jsonText(doc: { [k: string]: Value }): string {
  const strip = (v: Value): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v !== null && typeof v === "object") {
      if ("raw" in v) return v.raw;
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]));
    }
    return v;
  };
  // A big int beyond 2^53 and other number forms JSON.stringify would not write.
  return JSON.stringify({ ...(strip(doc) as object), big: "@@BIG@@", exp: "@@EXP@@" }, null, 2)
    .replace('"@@BIG@@"', "9007199254740993")
    .replace('"@@EXP@@"', "1.5E+10");
}

function dotenvText(withComments: boolean): string {
  const lines: string[] = [];
  for (let i = int(2, 8); i > 0; i--) {
    if (withComments && random() < 0.3) lines.push(`# comment ${i} ü`);
    const value = randomString().replace(/[\n\u2028]/g, " ") + pick(["", "=x", " \\n escaped", " trailing "]);
    lines.push(`${pick(["KEY", "TOKEN", "Db_Pass", "x_unencrypted", "A1"])}_${i}=${value}`);
  }
  return lines.join("\n") + "\n";
}

interface Case {
  readonly name: string;
  readonly plain: string | Buffer;
}

const CONFIG = (x: string, y: string, pq: string): string => `creation_rules:
  - path_regex: maconly
    encrypted_regex: ^(data|stringData|password.*)$
    mac_only_encrypted: true
    age: ${x}
  - path_regex: enccomment
    encrypted_comment_regex: sops:enc
    age: ${x}
  - path_regex: unenccomment
    unencrypted_comment_regex: sops:plain
    age: ${x}
  - path_regex: shamir
    shamir_threshold: 2
    key_groups:
      - age: [${x}]
      - age: [${y}]
      - age: [${pq}]
  - path_regex: pqonly
    age: ${pq}
  - path_regex: both
    age: ${x},${pq}
  - path_regex: k8s
    encrypted_regex: ^(data|stringData)$
    age: ${x}
  - path_regex: suffix
    encrypted_suffix: _secret
    age: ${x}
  - path_regex: unencregex
    unencrypted_regex: ^(kind|name|metadata)$
    age: ${x}
  - age: ${x}
`;

function makeCases(): Case[] {
  const cases: Case[] = [];
  const variants = ["plain", "k8s", "maconly", "shamir", "pqonly", "both", "suffix", "unencregex"];
  for (const variant of variants) {
    for (let i = 0; i < 2; i++) {
      const docs = Array.from({ length: int(1, 3) }, () => randomDocument(true));
      cases.push({ name: `${variant}-${i}.yaml`, plain: docs.map((d) => yamlDocument(d, false)).join("---\n") });
      cases.push({ name: `${variant}-${i}.json`, plain: jsonText(randomDocument(false)) });
      cases.push({ name: `${variant}-${i}.env`, plain: dotenvText(false) });
    }
    cases.push({ name: `${variant}.bin`, plain: Buffer.from(Array.from({ length: int(1, 300) }, () => int(0, 255))) });
  }
  for (const variant of ["plain", "enccomment", "unenccomment", "k8s"]) {
    cases.push({ name: `${variant}-comments.yaml`, plain: yamlDocument(randomDocument(true), true) });
    cases.push({ name: `${variant}-comments.env`, plain: dotenvText(true) });
  }
  return cases;
}

test("the real sops is there (build it with: bash test/e2e/toolchain/build.sh sops)", () => {
  expect(SOPS).toBeDefined();
});

describe("interop with the real sops", () => {
  jest.setTimeout(600_000);
  let dir: string;
  let identities: AgeIdentities;
  let env: NodeJS.ProcessEnv;
  const encrypted = new Map<string, Buffer>();

  const sopsDecrypt = (file: string): { ok: boolean; out: string; err: string } => {
    const r = spawnSync(SOPS as string, ["decrypt", file], { cwd: dir, env, encoding: "utf8" });
    return { ok: r.status === 0, out: r.stdout, err: r.stderr };
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-bootstrap-interop-"));
    const [x, y, pq] = await Promise.all([age.generateX25519Identity(), age.generateX25519Identity(), age.generateHybridIdentity()]);
    const [rx, ry, rpq] = await Promise.all([x, y, pq].map((k) => age.identityToRecipient(k)));
    fs.writeFileSync(path.join(dir, ".sops.yaml"), CONFIG(rx, ry, rpq));
    const keyFile = path.join(dir, "keys.txt");
    fs.writeFileSync(keyFile, `# interop keys\n${x}\n${y}\n${pq}\n`);
    env = { PATH: process.env.PATH, HOME: dir, SOPS_AGE_KEY_FILE: keyFile, SOPS_DISABLE_VERSION_CHECK: "1" };
    identities = await AgeIdentities.parse(fs.readFileSync(keyFile, "utf8"), "keys.txt");
    for (const c of makeCases()) {
      fs.writeFileSync(path.join(dir, c.name), c.plain);
      const out = execFileSync(SOPS as string, ["encrypt", c.name], { cwd: dir, env, maxBuffer: 64 * 2 ** 20, stdio: ["ignore", "pipe", "ignore"] });
      encrypted.set(c.name, out);
      fs.writeFileSync(path.join(dir, `encrypted-${c.name}`), out);
    }
  });
  afterAll(() => {
    if (dir && !process.env.INTEROP_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else if (dir) console.log(`sops-interop: kept ${dir}`);
  });

  it("verifies every file sops encrypted (all stores and rules, X25519, post-quantum, Shamir)", async () => {
    const failures: string[] = [];
    let sopsCannotEither = 0;
    for (const [name, content] of encrypted) {
      const result = await verifySopsContent(content, name, identities);
      if (result.kind === "ok") continue;
      // sops sometimes writes a file it cannot decrypt itself (its YAML output does not always
      // read back to the same values); rejecting those is right.
      if (!sopsDecrypt(`encrypted-${name}`).ok) sopsCannotEither++;
      else failures.push(result.reason);
    }
    expect(failures).toEqual([]);
    expect(encrypted.size - sopsCannotEither).toBeGreaterThan(60);
    if (sopsCannotEither > 0) console.log(`sops-interop: ${sopsCannotEither} file(s) sops encrypted but cannot decrypt itself (rejected by both)`);
  });

  it("rejects a one-byte change anywhere, except where sops itself accepts it", async () => {
    const flipRandom = rng(SEED + 1);
    let flips = 0;
    let rejected = 0;
    let unauthenticated = 0;
    const violations: string[] = [];
    for (const c of encrypted.keys()) {
      const original = encrypted.get(c) as Buffer;
      const originalOut = sopsDecrypt(`encrypted-${c}`);
      if (!originalOut.ok) continue;
      for (let i = 0; i < FLIPS_PER_FILE; i++) {
        const pos = Math.floor(flipRandom() * original.length);
        const flipped = Buffer.from(original);
        flipped[pos] ^= 1 + Math.floor(flipRandom() * 255);
        flips++;
        const result = await verifySopsContent(flipped, c, identities);
        // A damaged SOPS file is still meant as one: it is judged, never passed over as not SOPS.
        if (result.kind === "not-sops") violations.push(`${c} byte ${pos}: a damaged SOPS file is not judged (${result.detail})`);
        if (result.kind !== "ok") {
          rejected++;
          continue;
        }
        const target = `flipped-${c}`;
        fs.writeFileSync(path.join(dir, target), flipped);
        const out = sopsDecrypt(target);
        if (!out.ok) {
          const around = (from: number, to: number): string => JSON.stringify(original.toString("latin1", Math.max(0, from), to));
          violations.push(
            `${c} byte ${pos} (0x${original[pos].toString(16)} to 0x${flipped[pos].toString(16)}): we accept it, sops refuses it (${out.err.trim().split("\n").pop()}): ${around(pos - 30, pos)} [changed] ${around(pos + 1, pos + 20)}`,
          );
        } else if (out.out !== originalOut.out) {
          // Accepted by sops too: an unencrypted key's name, or a value mac_only_encrypted leaves out.
          unauthenticated++;
        }
      }
    }
    expect(violations).toEqual([]);
    // Most bytes are ciphertext, key paths or structure. What is left: other recipients' age
    // stanzas (not ours to open), recipient and version strings, and what SOPS leaves unauthenticated.
    expect(rejected / flips).toBeGreaterThan(0.7);
    console.log(
      `sops-interop: ${flips} one-byte changes: ${rejected} rejected; ${flips - rejected - unauthenticated} harmless (sops decrypts them identically); ` +
        `${unauthenticated} in what the SOPS format does not authenticate (sops accepts them too: unencrypted key names, values mac_only_encrypted leaves out)`,
    );
  });

  it("a file cut at any point gets sops's verdict: judged and failed where sops refuses it", async () => {
    const cutRandom = rng(SEED + 2);
    const config = parseSopsConfig(".sops.yaml", fs.readFileSync(path.join(dir, ".sops.yaml")));
    if (typeof config === "string") throw new Error(config);
    const hintsFor = ruleHints([config]);
    // A cut that ends before the first "ENC[" and before the word "sops" of the metadata marker
    // leaves a plain file: nothing in it says it was encrypted, and no creation rule would have
    // encrypted what is left (sops encrypted all of that). Those are not judged; every other cut
    // must get sops's verdict.
    const markers = (name: string, original: Buffer): number => {
      const firstEnc = original.indexOf("ENC[");
      const text = original.toString("latin1");
      const word = name.endsWith(".yaml") ? text.indexOf("\nsops:") + 1 : name.endsWith(".env") ? text.indexOf("\nsops_") + 1 : text.indexOf('"sops":') + 1;
      if (word <= 0) throw new Error(`${name}: no metadata marker found`);
      return Math.min(firstEnc < 0 ? Infinity : firstEnc, word) + "sops".length;
    };
    const disagreements: string[] = [];
    let cuts = 0;
    let refused = 0;
    let unjudged = 0;
    for (const [name, original] of encrypted) {
      if (!sopsDecrypt(`encrypted-${name}`).ok) continue;
      for (let i = 0; i < CUTS_PER_FILE; i++) {
        const at = 1 + Math.floor(cutRandom() * (original.length - 1));
        const cut = original.subarray(0, at);
        const target = `cut-${name}`;
        fs.writeFileSync(path.join(dir, target), cut);
        const sops = sopsDecrypt(target);
        const ours = await verifySopsContent(cut, name, identities, hintsFor(name));
        cuts++;
        if (!sops.ok) refused++;
        if (!sops.ok && ours.kind === "not-sops" && at < markers(name, original)) {
          unjudged++;
          continue;
        }
        const agrees = sops.ok
          ? ours.kind === "ok" || (ours.kind === "suspicious" && ours.detail.startsWith("sops would accept this, but"))
          : failsTheCheck(ours.kind);
        if (!agrees) disagreements.push(`${name} cut at byte ${at} of ${original.length}: sops ${sops.ok ? "decrypts it" : `refuses it (${sops.err.trim().split("\n").pop()})`}, check says ${ours.kind}: ${ours.detail}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(refused).toBeGreaterThan(cuts / 2);
    expect(unjudged).toBeLessThan(cuts / 5);
    console.log(`sops-interop: ${cuts} cuts at random points: ${refused - unjudged} refused by sops and failed by check, ${cuts - refused} decrypted by both, ${unjudged} left nothing to tell them from a plain file (not judged)`);
  });
});


/**
 * The verdict a user relies on: for every file of a corpus the real sops made (and damaged),
 * `check` (the installed command, as a user runs it) must say what `sops decrypt` says: ok where
 * it decrypts, a failure where it refuses. Except where the check is stricter on purpose: sops
 * decrypts those, and the check says "suspicious: sops would accept this, but …". Files that are
 * not SOPS files must not be judged at all.
 */
describe("check agrees with sops decrypt on every file of a corpus", () => {
  jest.setTimeout(600_000);
  const BIN = path.resolve(__dirname, "../../bootstrap/gitops-bootstrap.js");
  let root: string;
  let corpus: string;
  let keyFile: string;
  let env: NodeJS.ProcessEnv;
  let cases: CorpusCase[];
  const sopsVerdict = new Map<string, { ok: boolean; err: string }>();

  const check = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, [BIN, "check", ...args], { env: { ...env, CI: "true" }, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  const checkJson = (dir: string, extra: string[] = []): { status: number | null; files: Map<string, { kind: string; detail: string; sopsDecrypts: boolean | null }>; out: string } => {
    const r = check(["--repo", dir, "--age-key-file", keyFile, "--json", ...extra]);
    const report = JSON.parse(r.stdout) as { files: { path: string; kind: string; detail: string; sopsDecrypts: boolean | null }[] };
    return { status: r.status, files: new Map(report.files.map((f) => [f.path, f])), out: r.stdout + r.stderr };
  };

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-bootstrap-corpus-"));
    corpus = path.join(root, "repo");
    fs.mkdirSync(corpus);
    const [x, y] = await Promise.all([age.generateX25519Identity(), age.generateX25519Identity()]);
    const [rx, ry] = await Promise.all([x, y].map((k) => age.identityToRecipient(k)));
    fs.writeFileSync(path.join(corpus, ".sops.yaml"), SOPS_CONFIG(rx, ry));
    keyFile = path.join(root, "keys.txt");
    fs.writeFileSync(keyFile, `# corpus keys\n${x}\n${y}\n`);
    env = { PATH: process.env.PATH, HOME: root, SOPS_AGE_KEY_FILE: keyFile, SOPS_DISABLE_VERSION_CHECK: "1" };
    cases = buildCorpus(corpus, SOPS as string, env);
    for (const c of cases) {
      const r = spawnSync(SOPS as string, ["decrypt", c.file], { cwd: corpus, env, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
      sopsVerdict.set(c.file, { ok: r.status === 0, err: r.stderr.trim().split("\n").pop() ?? "" });
    }
  });
  afterAll(() => {
    if (root && !process.env.GITOPS_BOOTSTRAP_E2E_KEEP) fs.rmSync(root, { recursive: true, force: true });
  });

  it("gives sops's verdict on every file, the documented stricter ones excepted, and exit status 1", () => {
    const { status, files, out } = checkJson(corpus);
    const disagreements: string[] = [];
    for (const c of cases) {
      const sops = sopsVerdict.get(c.file) as { ok: boolean; err: string };
      const ours = files.get(c.file);
      const said = ours ? `${ours.kind}: ${ours.detail}` : "not listed";
      if (c.notSops) {
        if (ours) disagreements.push(`${c.file} (${c.what}) is not a SOPS file, but check says ${said}`);
        continue;
      }
      if (!ours) {
        disagreements.push(`${c.file} (${c.what}): sops ${sops.ok ? "decrypts it" : `refuses it (${sops.err})`}, check does not list it`);
      } else if (c.stricter) {
        if (!sops.ok) disagreements.push(`${c.file} (${c.what}) was meant as a case sops accepts, but sops refuses it (${sops.err})`);
        if (ours.kind !== "suspicious" || !ours.detail.startsWith("sops would accept this, but") || ours.sopsDecrypts !== true) disagreements.push(`${c.file} (${c.what}): expected the stricter verdict, check says ${said}`);
      } else if (sops.ok !== (ours.kind === "ok") || ours.sopsDecrypts !== sops.ok) {
        disagreements.push(`${c.file} (${c.what}): sops ${sops.ok ? "decrypts it" : `refuses it (${sops.err})`}, check says ${said}`);
      }
    }
    expect(disagreements).toEqual([]);
    // The corpus has files sops refuses, so the run fails; and never a value in the output.
    expect(cases.filter((c) => !c.notSops && !c.stricter && !sopsVerdict.get(c.file)?.ok).length).toBeGreaterThan(15);
    expect(status).toBe(1);
    for (const secret of ["s3cret", "hunter2", "p@ss", "never-encrypted-x", "second"]) expect(out).not.toContain(`: ${secret}`);
  });

  it("exit status 3 when only stricter findings remain, 1 with --strict, 0 with none; 2 for a key file without identities", () => {
    const subset = (name: string, keep: (c: CorpusCase) => boolean): string => {
      const dir = path.join(root, name);
      fs.cpSync(path.join(corpus, ".sops.yaml"), path.join(dir, ".sops.yaml"));
      for (const c of cases.filter(keep)) fs.cpSync(path.join(corpus, c.file), path.join(dir, c.file));
      return dir;
    };
    const decrypting = (c: CorpusCase): boolean => Boolean(sopsVerdict.get(c.file)?.ok) || Boolean(c.notSops);
    const withStricter = subset("stricter", decrypting);
    const clean = subset("clean", (c) => decrypting(c) && !c.stricter);

    const suspicious = check(["--repo", withStricter, "--age-key-file", keyFile]);
    expect(suspicious.stdout).toMatch(/⚠ comments\/comment-tampered\.yaml {2}suspicious: sops would accept this, but/);
    const stricter = cases.filter((c) => c.stricter).length;
    expect(suspicious.stdout).toMatch(new RegExp(`^⚠ .*decrypt as sops decrypts them, but ${stricter} were changed where sops does not look`, "m"));
    expect(suspicious.status).toBe(3);
    expect(check(["--repo", withStricter, "--age-key-file", keyFile, "--strict"]).status).toBe(1);

    const verified = checkJson(clean);
    expect([...verified.files.values()].map((f) => f.kind).filter((k) => k !== "ok")).toEqual([]);
    expect(verified.status).toBe(0);

    const empty = path.join(root, "empty-keys.txt");
    fs.writeFileSync(empty, "# no identity here\n");
    const usage = check(["--repo", clean, "--age-key-file", empty]);
    expect(usage.stderr).toContain(`the key file ${empty} (--age-key-file) has no age identity`);
    expect(usage.status).toBe(2);
  });

  it("a file bigger than --max-file-size that is a SOPS file fails as too big, never passes", () => {
    const r = checkJson(corpus, ["--max-file-size", "16"]);
    expect(r.files.get("big/archive.tar")).toMatchObject({ kind: "too-big", sopsDecrypts: null });
    expect(r.files.get("big/archive.tar")?.detail).toMatch(/^it is 2[0-9] MiB, over the 16 MiB this check reads, so it was not verified/);
    expect(r.status).toBe(1);
  });
});
