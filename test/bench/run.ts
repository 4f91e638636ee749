/**
 * Benchmark of the repository check (printed figures, not a timed test).
 *
 *   npm run bench            (ts-node --transpile-only test/bench/run.ts)
 *   BENCH_FILES=200 npm run bench       (fewer files)
 *   BENCH_KEEP=1 npm run bench          (keep the generated repository, e.g. to profile)
 *
 * 1. Generates a repository of BENCH_FILES (default 1000) SOPS files of mixed stores (YAML
 *    Secrets, multi-document YAML, JSON, dotenv, binary) plus ordinary files, encrypting
 *    in-process like sops does (bootstrap/sops/writer.ts) to one fresh age key.
 * 2. Validates a sample of every store with the real `sops --decrypt` (plaintext must match).
 * 3. Checks the repository in a fresh process: wall time, files/second, peak RSS and heap.
 * 4. Times a shell-style loop of `sops --decrypt` over the same files.
 * Target: 1000 files in under 3 s on 2 cores, at least 10x faster than the sops loop.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import * as YAML from "yaml";
import { findSops } from "./sops-binary";
import { type Plain, type WriteOptions, writeSopsBinary, writeSopsDotenv, writeSopsJson, writeSopsYaml } from "../../bootstrap/sops/writer";
import { rng } from "./random";

const FILES = Number(process.env.BENCH_FILES ?? 1000);
const SAMPLE_PER_STORE = 5;

const random = rng(20260227);
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_+/=.:@ ";
const secretText = (n: number): string => Array.from({ length: n }, () => ALPHABET[int(0, ALPHABET.length - 1)]).join("").trim() || "x";
const word = (): string => Array.from({ length: int(4, 10) }, () => "abcdefghijklmnopqrstuvwxyz"[int(0, 25)]).join("");

function secretManifest(name: string): Plain {
  const stringData: Record<string, Plain> = {};
  for (let i = int(3, 10); i > 0; i--) stringData[`${word()}_${i}`] = secretText(int(8, 64));
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: word(), labels: { "app.kubernetes.io/name": word() } },
    type: "Opaque",
    stringData,
  };
}

function jsonConfig(): Plain {
  return {
    database: { host: `${word()}.internal`, port: int(1024, 65535), password: secretText(32), pool: { min: int(1, 4), max: int(8, 64) } },
    features: Array.from({ length: int(2, 6) }, () => word()),
    ratio: Math.round(random() * 1000) / 1000,
    enabled: random() < 0.5,
    tokens: Array.from({ length: int(1, 4) }, () => ({ name: word(), value: secretText(40) })),
  };
}

function dotenvEntries(): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = int(5, 15); i > 0; i--) out[`${word().toUpperCase()}_${i}`] = secretText(int(8, 48));
  return out;
}

export interface Generated {
  /** Path relative to the repository. */
  readonly file: string;
  readonly store: "yaml" | "json" | "dotenv" | "binary";
  readonly plain: Plain | readonly Plain[] | string;
}

/**
 * Writes `count` SOPS files of mixed stores (every 20: 11 single-document YAML Secrets, 2
 * multi-document YAML, 3 JSON, 2 dotenv, 2 binary), a kustomization.yaml beside each YAML one
 * and a `.sops.yaml`, into `dir`, all encrypted to `recipient`. Returns the SOPS files.
 */
export async function generate(dir: string, recipient: string, count: number = FILES): Promise<Generated[]> {
  const k8s: WriteOptions = { recipients: [recipient], encryptedRegex: "^(data|stringData)$" };
  const all: WriteOptions = { recipients: [recipient] };
  const out: Generated[] = [];
  for (let i = 0; i < count; i++) {
    const bucket = i % 20;
    const app = `app-${String(i).padStart(4, "0")}`;
    let g: Generated;
    let text: string;
    if (bucket < 11) {
      const doc = secretManifest(`${app}-secret`);
      g = { file: `apps/${app}/secret.enc.yaml`, store: "yaml", plain: [doc] };
      text = await writeSopsYaml([doc], k8s);
    } else if (bucket < 13) {
      const docs = [secretManifest(`${app}-a`), secretManifest(`${app}-b`), secretManifest(`${app}-c`)];
      g = { file: `apps/${app}/secrets.enc.yaml`, store: "yaml", plain: docs };
      text = await writeSopsYaml(docs, k8s);
    } else if (bucket < 16) {
      const doc = jsonConfig();
      g = { file: `config/${app}.enc.json`, store: "json", plain: doc };
      text = await writeSopsJson(doc, all);
    } else if (bucket < 18) {
      const env = dotenvEntries();
      g = { file: `env/${app}.env`, store: "dotenv", plain: env };
      text = await writeSopsDotenv(env, all);
    } else {
      const blob = `-----BEGIN CERTIFICATE-----\n${secretText(600)}\n-----END CERTIFICATE-----\n`;
      g = { file: `files/${app}.crt`, store: "binary", plain: blob };
      text = await writeSopsBinary(blob, all);
    }
    fs.mkdirSync(path.join(dir, path.dirname(g.file)), { recursive: true });
    fs.writeFileSync(path.join(dir, g.file), text);
    // Ordinary files around them, as in a real GitOps repository.
    if (bucket < 13) fs.writeFileSync(path.join(dir, `apps/${app}/kustomization.yaml`), `resources:\n  - ${path.basename(g.file)}\n`);
    out.push(g);
  }
  fs.writeFileSync(path.join(dir, ".sops.yaml"), `creation_rules:\n  - path_regex: \\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: ${recipient}\n  - age: ${recipient}\n`);
  return out;
}

function validateSample(sops: string, dir: string, keyFile: string, generated: readonly Generated[]): string {
  const env = { ...process.env, SOPS_AGE_KEY_FILE: keyFile };
  let checked = 0;
  for (const store of ["yaml", "json", "dotenv", "binary"] as const) {
    for (const g of generated.filter((x) => x.store === store).slice(0, SAMPLE_PER_STORE)) {
      const out = execFileSync(sops, ["decrypt", path.join(dir, g.file)], { env, encoding: "utf8" });
      let same: boolean;
      if (store === "yaml") same = JSON.stringify(YAML.parseAllDocuments(out).map((d) => d.toJS())) === JSON.stringify(g.plain);
      else if (store === "json") same = JSON.stringify(JSON.parse(out)) === JSON.stringify(g.plain);
      else if (store === "dotenv") {
        const entries = Object.fromEntries(out.trimEnd().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
        same = JSON.stringify(entries) === JSON.stringify(g.plain);
      } else same = out === g.plain;
      if (!same) throw new Error(`sops --decrypt of ${g.file} does not give back the generated plaintext`);
      checked++;
    }
  }
  return `${checked} files (${SAMPLE_PER_STORE} per store) decrypt with the real sops to the generated plaintext`;
}

interface ChildFigures {
  readonly ms: number;
  readonly files: number;
  readonly ok: boolean;
  readonly peakRssMB: number;
  readonly peakHeapMB: number;
  readonly maxRssMB: number;
  readonly baselineRssMB: number;
}

function runCheckChild(dir: string, keyFile: string, concurrency?: number): ChildFigures {
  const child = spawnSync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "check-child.ts"), dir, keyFile, ...(concurrency === undefined ? [] : [String(concurrency)])],
    { encoding: "utf8", cwd: path.resolve(__dirname, "../.."), maxBuffer: 16 * 2 ** 20 },
  );
  if (child.status !== 0) throw new Error(`the check process failed (exit ${child.status}): ${child.stderr.slice(0, 500)}`);
  return JSON.parse(child.stdout.trim().split("\n").pop() as string) as ChildFigures;
}

function sopsLoop(sops: string, dir: string, keyFile: string, files: readonly Generated[]): number {
  const env = { ...process.env, SOPS_AGE_KEY_FILE: keyFile };
  const started = performance.now();
  for (const g of files) {
    const r = spawnSync(sops, ["decrypt", path.join(dir, g.file)], { env, stdio: ["ignore", "ignore", "pipe"] });
    if (r.status !== 0) throw new Error(`sops --decrypt ${g.file} failed`);
  }
  return performance.now() - started;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gitops-bootstrap-bench-"));
  try {
    const dir = path.join(tmp, "repo");
    fs.mkdirSync(dir);
    const identity = await age.generateX25519Identity();
    const recipient = await age.identityToRecipient(identity);
    const keyFile = path.join(tmp, "age.txt");
    fs.writeFileSync(keyFile, `# bench key\n${identity}\n`, { mode: 0o600 });

    console.log(`► generating ${FILES} SOPS files (in-process encryption, mixed stores) in ${dir}`);
    let t = performance.now();
    const generated = await generate(dir, recipient);
    console.log(`✔ generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    if (process.env.BENCH_ONLY_GENERATE) return;
    const sops = findSops();
    if (sops) console.log(`✔ ${validateSample(sops, dir, keyFile, generated)}`);
    else console.log("⚠ no sops binary found (build it with test/e2e/toolchain/build.sh sops): sample validation and the sops loop are skipped");

    console.log(`► checking the repository (fresh process, ${os.availableParallelism()} cores)`);
    const single = runCheckChild(dir, keyFile, 1);
    const pooled = runCheckChild(dir, keyFile, os.availableParallelism());
    if (!pooled.ok || pooled.files !== FILES) throw new Error(`the check did not verify all ${FILES} files: ${JSON.stringify(pooled)}`);

    let loopMs: number | undefined;
    if (sops) {
      console.log(`► timing a loop of sops decrypt over the same ${FILES} files`);
      t = performance.now();
      loopMs = sopsLoop(sops, dir, keyFile, generated);
    }

    const row = (label: string, f: ChildFigures): string =>
      `  ${label.padEnd(22)} ${(f.ms / 1000).toFixed(2).padStart(6)} s  ${Math.round((f.files * 1000) / f.ms).toString().padStart(6)} files/s  peak RSS ${f.peakRssMB.toFixed(0)} MiB (max ${f.maxRssMB.toFixed(0)}, at start ${f.baselineRssMB.toFixed(0)})  peak heap ${f.peakHeapMB.toFixed(0)} MiB`;
    console.log("");
    console.log(`Results for ${FILES} SOPS files:`);
    console.log(row("check, 1 thread", single));
    console.log(row(`check, ${os.availableParallelism()} workers`, pooled));
    if (loopMs !== undefined) {
      console.log(`  ${"sops decrypt loop".padEnd(22)} ${(loopMs / 1000).toFixed(2).padStart(6)} s  ${Math.round((FILES * 1000) / loopMs).toString().padStart(6)} files/s`);
      console.log(`  speed-up over the sops loop: ${(loopMs / single.ms).toFixed(1)}x on 1 thread, ${(loopMs / pooled.ms).toFixed(1)}x with workers (target ≥ 10x)`);
    }
    const target = (FILES / 1000) * 3000;
    const best = Math.min(single.ms, pooled.ms);
    console.log(`  ${best <= target ? "✔" : "✗"} target: ${FILES} files in under ${(target / 1000).toFixed(2)} s (best ${(best / 1000).toFixed(2)} s)`);
  } finally {
    if (process.env.BENCH_KEEP) console.log(`(kept ${tmp})`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// Only when run as a script: test/bench/check-command.ts imports generate().
if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`✗ ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
