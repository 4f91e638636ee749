/** Shared by the SOPS unit tests: where the files the real sops made are, their keys, temp dirs. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AgeIdentities } from "../../../components/settings/age-identities";

/** Made by test/fixtures/sops/make.sh with the real sops (README.md there). */
export const FIXTURES = path.join(__dirname, "../../fixtures/sops");

/** Public test keys, committed with the files. */
export const KEYS = {
  age: "keys/age.txt",
  agePq: "keys/age-pq.txt",
  ageGlobal: "keys/age-global.txt",
  typed: "keys/typed.txt",
} as const;

export type KeyName = keyof typeof KEYS;

/** The expected-outcomes table of test/fixtures/sops/README.md. */
export const DECRYPTABLE: readonly { readonly file: string; readonly key: KeyName; readonly format: string }[] = [
  { file: "flux/algorithms/age.yaml", key: "age", format: "yaml" },
  { file: "flux/algorithms/age-pq.yaml", key: "agePq", format: "yaml" },
  { file: "flux/global/secret.yaml", key: "ageGlobal", format: "yaml" },
  { file: "flux/patches/merge1.yaml", key: "age", format: "yaml" },
  { file: "flux/patches/merge2.yaml", key: "age", format: "yaml" },
  { file: "flux/envs/env.env", key: "age", format: "dotenv" },
  { file: "flux/component/env.env", key: "age", format: "dotenv" },
  { file: "flux/remote/env.env", key: "age", format: "dotenv" },
  { file: "flux/files/file.txt", key: "age", format: "binary" },
  { file: "typed/secret.enc.yaml", key: "typed", format: "yaml" },
  { file: "typed/secret.enc.json", key: "typed", format: "json" },
  { file: "typed/secret.enc.env", key: "typed", format: "dotenv" },
];

const cache = new Map<KeyName, Promise<AgeIdentities>>();

export function identities(key: KeyName): Promise<AgeIdentities> {
  let ids = cache.get(key);
  if (!ids) {
    ids = AgeIdentities.parse(fs.readFileSync(path.join(FIXTURES, KEYS[key]), "utf8"), KEYS[key]);
    cache.set(key, ids);
  }
  return ids;
}

export function fixture(file: string): Buffer {
  return fs.readFileSync(path.join(FIXTURES, file));
}

export function fixtureText(file: string): string {
  return fixture(file).toString("utf8");
}

/** A temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "gitops-bootstrap-test-"): { readonly dir: string; readonly cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function writeFiles(dir: string, files: Readonly<Record<string, string | Buffer>>): void {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
}
