/**
 * A corpus of SOPS cases made by the real sops in the test run, for comparing `check`'s verdict
 * with `sops decrypt`'s on every file: files sops encrypted (merge keys and aliases, multi-document
 * YAML, encrypted comments, every store, Shamir key groups, a 17 MB binary), the same damaged
 * (truncated at several points, metadata lost or changed, a value or comment tampered with), files
 * named as SOPS files that are not, and ordinary files beside them that must not be judged.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface CorpusCase {
  /** Relative to the corpus root. */
  readonly file: string;
  readonly what: string;
  /** sops decrypts it, and the check is stricter on purpose: it must say "suspicious". */
  readonly stricter?: true;
  /** Not a SOPS file and not meant as one: the check must not list it. */
  readonly notSops?: true;
}

export const SOPS_CONFIG = (x: string, y: string): string => `creation_rules:
  - path_regex: ^k8s/
    encrypted_regex: ^(data|stringData)$
    age: ${x}
  - path_regex: ^groups/
    shamir_threshold: 2
    key_groups:
      - age: [${x}]
      - age: [${y}]
  - path_regex: ^(apps|comments|trunc|big)/
    age: ${x}
  - path_regex: ^ecr/
    encrypted_comment_regex: sops:enc
    age: ${x}
  - path_regex: ^ucr/
    unencrypted_comment_regex: sops:plain
    age: ${x}
`;

/** Values a marker comment encrypts (encrypted_comment_regex) or keeps plain (unencrypted_comment_regex). */
const MARKED = (marker: string): string => `# ${marker}
password: secret
# a note
other: plain
list:
  # ${marker}
  - one
  - two
nested:
  # ${marker}
  key: v
  token: t # ${marker}
  # trailing note
`;

const MERGE_YAML = `# defaults shared by the environments
defaults: &defaults
  user: admin
  password: s3cret
  tags: &tags [blue, green]
prod:
  <<: *defaults
  host: prod.example
staging:
  <<: [*defaults]
  tags: *tags
  replicas: 2
`;

const MERGE_SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: db
  labels: &labels
    app: db
stringData:
  base: &base
    user: admin
  password: hunter2
  extra:
    <<: *base
    role: reader
data:
  token: dG9rZW4=
`;

const MULTI_DOC = ["apiVersion: v1\nkind: Secret\nmetadata:\n  name: one\nstringData:\n  password: first\n", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: two\nstringData:\n  password: second\n", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: three\ndata:\n  mode: fast\n"].join("---\n");

const COMMENTED = `# the database
db:
  # who connects
  user: app
  password: pw # inline note
list:
  # first item
  - a
  - b
`;

const JSON_DOC = JSON.stringify({ database: { host: "db.internal", port: 5432, password: "p@ss", ratio: 0.25, big: 9007199254740993 }, enabled: true, list: [1, "two", null] }, null, 2);
const DOTENV = "DB_USER=app\nDB_PASSWORD=p=ss word\n# a comment\nTOKEN=abc\\ndef\n";
const INI = "[database]\nuser = app\npassword = s3cret value\n\n[cache]\nhost = redis.internal\nport = 6379\n";

const NOT_SOPS: Record<string, string> = {
  "docs/README.md": `# Secrets\n\nEncrypt with sops; a value then looks like\n\n    password: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n\n\`\`\`yaml\nsops:\n  age:\n    - recipient: age1example\n  lastmodified: "2024-01-01T00:00:00Z"\n  mac: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n\`\`\`\n`,
  "docs/notes.txt": "Rotate the sops key every quarter: sops updatekeys, then commit.\n",
  "apps/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sops-settings\ndata:\n  mode: fast\n",
  "k8s/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n",
  "apps/ksops-generator.yaml": "apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: secrets\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ksops\nfiles:\n  - ./db.yaml\n",
  "charts/app/values.yaml": "replicas: 2\nsops:\n  enabled: true\n  ageKeySecret: sops-age\n",
  "charts/app/templates/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n",
};

function write(root: string, file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), content);
}

/** Changes one base64 character of the first `ENC[...]` data after `from` (a value sops authenticates). */
export function flipEncData(text: string, from = 0, marker = "ENC[AES256_GCM,data:"): string {
  const at = text.indexOf(marker, from);
  if (at < 0) throw new Error("no ENC value to tamper with");
  const i = at + marker.length + 2;
  return text.slice(0, i) + (text[i] === "A" ? "B" : "A") + text.slice(i + 1);
}

/**
 * Writes the corpus under `root` (which must hold the `.sops.yaml` from {@link SOPS_CONFIG}),
 * encrypting with the real sops; returns every case. `env` has SOPS_AGE_KEY_FILE.
 */
export function buildCorpus(root: string, sops: string, env: NodeJS.ProcessEnv): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const encrypt = (file: string, plain: string | Buffer, what: string): string => {
    write(root, file, plain);
    execFileSync(sops, ["encrypt", "--in-place", file], { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] });
    cases.push({ file, what });
    return fs.readFileSync(path.join(root, file), "latin1");
  };
  const derived = (file: string, content: string, what: string, extra: Partial<CorpusCase> = {}): void => {
    write(root, file, Buffer.from(content, "latin1"));
    cases.push({ file, what, ...extra });
  };

  // Files sops encrypted, in every store.
  const merge = encrypt("apps/merge.yaml", MERGE_YAML, "anchors, aliases and merge keys");
  encrypt("k8s/merge-secret.yaml", MERGE_SECRET, "merge keys under encrypted_regex");
  const multi = encrypt("apps/multi.yaml", MULTI_DOC, "three YAML documents");
  const commented = encrypt("comments/commented.yaml", COMMENTED, "encrypted comments");
  encrypt("groups/shamir.yaml", "apiVersion: v1\nkind: Secret\nstringData:\n  password: split\n", "Shamir key groups, threshold 2");
  const json = encrypt("apps/config.json", JSON_DOC, "JSON with a big integer");
  const env_ = encrypt("apps/app.env", DOTENV, "dotenv");
  const ini = encrypt("apps/app.ini", INI, "INI");
  // ini.v1 reads bytes: a Latin-1 section and key name (not UTF-8) are authenticated byte for byte.
  encrypt("apps/latin1.ini", Buffer.concat([Buffer.from("[caf"), Buffer.from([0xe9]), Buffer.from("]\nna"), Buffer.from([0xef]), Buffer.from("ve = value\n")]), "INI that is not UTF-8");
  const bin = encrypt("apps/blob.bin", crypto.randomBytes(3000), "small binary");
  const big = encrypt("big/archive.tar", crypto.randomBytes(17 * 1024 * 1024), "17 MB binary");

  // Damaged: sops refuses these (or decrypts them; the test asks sops every time).
  derived("apps/merge-tampered.yaml", flipEncData(merge, merge.indexOf("prod:")), "a tampered value under a merge key");
  derived("big/archive-tampered.tar", flipEncData(big), "a 17 MB binary with a changed byte");
  const docs = multi.split(/^---\n/m);
  const firstLost = docs[0].replace(/^sops:\n(?:[ ].*\n|\n)*/m, "");
  if (firstLost === docs[0] || !/^sops:/m.test(docs[1])) throw new Error("sops no longer writes metadata into every document: the corpus needs a new case");
  derived("apps/multi-first-lost.yaml", [firstLost, ...docs.slice(1)].join("---\n"), "first document's metadata removed");
  derived("apps/multi-cut.yaml", docs.slice(1).join("---\n").slice(0, Math.floor(docs.slice(1).join("---\n").length * 0.6)), "multi-document file cut inside its second document");
  const single = encrypt("trunc/source.yaml", MERGE_SECRET, "the source of the YAML truncations");
  for (const [name, text] of [["yaml", single], ["json", json], ["env", env_], ["ini", ini], ["bin", bin]] as const) {
    const ext = name === "bin" ? "bin" : name;
    const metadataAt = Math.max(text.indexOf("\nsops:"), text.indexOf('"sops":'), text.indexOf("\nsops_"), text.indexOf("[sops]"));
    const points: [string, number][] = [
      ["10pc", Math.floor(text.length * 0.1)],
      ["50pc", Math.floor(text.length * 0.5)],
      ["before-metadata", metadataAt > 0 ? metadataAt : Math.floor(text.length * 0.7)],
      ["in-metadata", Math.floor(text.length * 0.9)],
    ];
    for (const [where, at] of points) derived(`trunc/${name}-${where}.${ext}`, text.slice(0, at), `${name} cut ${where}`);
  }
  derived("apps/plain.sops.yaml", "apiVersion: v1\nkind: Secret\nstringData:\n  password: never-encrypted\n", "named as a SOPS file, never encrypted");
  derived("k8s/plain-secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: forgotten\nstringData:\n  password: never-encrypted\n", "a plaintext Secret where a creation rule encrypts data");
  derived("apps/settings.env", "DB_PASSWORD=never-encrypted\n", "a plain dotenv file where a creation rule encrypts every value");
  derived("k8s/cut-before-values.yaml", single.slice(0, single.indexOf("password:") + "password: ENC[AES".length), "cut inside its first encrypted value");

  // Comment rules: sops decides what is encrypted from the comments before each value.
  for (const [dir, marker] of [["ecr", "sops:enc"], ["ucr", "sops:plain"]] as const) {
    const marked = encrypt(`${dir}/marked.yaml`, MARKED(marker), `${marker} markers`);
    const env = encrypt(`${dir}/marked.env`, `#${marker}\nPASSWORD=secret\nOTHER=plain\n`, `${marker} marker in dotenv`);
    const changed = [marked.replace(`# ${marker}`, "# sops:gone"), env.replace(`#${marker}`, "#sops:gone")];
    if (changed[0] === marked || changed[1] === env) throw new Error(`sops no longer keeps the ${marker} marker comments in plaintext`);
    derived(`${dir}/marker-changed.yaml`, changed[0], `first ${marker} marker changed`);
    derived(`${dir}/marker-changed.env`, changed[1], `${marker} marker changed in dotenv`);
  }

  // sops accepts these; the check is stricter on purpose.
  const commentAt = commented.indexOf("#ENC[AES256_GCM,data:");
  derived("comments/comment-tampered.yaml", flipEncData(commented, commentAt), "a tampered encrypted comment", { stricter: true });
  const later = multi.split(/^---\n/m);
  const changed = later[1].replace(/unencrypted_suffix: _unencrypted/, "unencrypted_suffix: _plain");
  if (changed === later[1]) throw new Error("the second document has no unencrypted_suffix to change");
  later[1] = changed;
  derived("apps/multi-later-differs.yaml", later.join("---\n"), "second document's metadata changed", { stricter: true });
  derived("apps/multi-cut-in-last-metadata.yaml", multi.slice(0, multi.lastIndexOf("lastmodified:")), "cut inside the last document's metadata (sops reads only the first's)", { stricter: true });

  for (const [file, content] of Object.entries(NOT_SOPS)) derived(file, content, "not a SOPS file", { notSops: true });
  return cases;
}
