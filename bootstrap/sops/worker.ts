/**
 * Verifier worker threads. Parsing YAML and unwrapping one age stanza per file are CPU work, so
 * a repository with many SOPS files is verified on several threads. Each worker parses the
 * identities once, then answers `{ id, path, content }` with `{ id, result }`; only results
 * (which never contain plaintext) come back.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { AgeIdentities } from "../../components/settings/age-identities";
import type { SopsFileResult } from "./types";
import { type ExamineHints, verifySopsContent } from "./verify";

interface Job {
  readonly id: number;
  readonly path: string;
  readonly content: Uint8Array;
  readonly hints: ExamineHints;
}

interface Reply {
  readonly id: number;
  readonly result?: SopsFileResult;
  readonly error?: string;
}

interface WorkerInit {
  readonly identities: string;
  readonly entry: string;
  /** When running from TypeScript sources: this directory's modules, transpiled to JavaScript. */
  readonly sources?: Readonly<Record<string, string>>;
}

let transpiled: Record<string, string> | undefined;

/**
 * This module and every module it imports (relative imports, followed: the age identities live in
 * the library, components/settings/) as CommonJS JavaScript, for workers started from TypeScript
 * sources (ts-node, ts-jest): the main thread already has TypeScript loaded, so transpiling here
 * is quick, and workers need neither TypeScript nor ts-node.
 */
function transpiledSources(): Record<string, string> {
  if (transpiled) return transpiled;
  const ts = require("typescript") as typeof import("typescript");
  const out: Record<string, string> = {};
  // A module missing here would crash the worker, so the whole import closure is transpiled.
  const pending = [__filename];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (out[file] !== undefined) continue;
    out[file] = ts.transpileModule(fs.readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    for (const [, spec] of out[file].matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
      const base = path.resolve(path.dirname(file), spec);
      const found = [`${base}.ts`, path.join(base, "index.ts")].find((candidate) => fs.existsSync(candidate));
      if (found) pending.push(found);
    }
  }
  transpiled = out;
  return out;
}

// Loads the .ts modules from the JavaScript the main thread transpiled.
const TS_WORKER_BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
require.extensions[".ts"] = (module, filename) => module._compile(workerData.sources[filename], filename);
require(workerData.entry);
`;

/**
 * Heap of one verifier worker. The parsers' budgets keep a file well below it; a file that still
 * goes beyond it ends that worker only, and the file gets an `unreadable` result.
 */
const WORKER_HEAP_MB = 1024;

/** Verifies files on `size` worker threads. */
export class VerifierPool {
  readonly #workers = new Set<Worker>();
  readonly #pending = new Map<number, { resolve: (r: SopsFileResult) => void; reject: (e: Error) => void }>();
  readonly #idle: Worker[] = [];
  readonly #queue: Job[] = [];
  /** The job each busy worker has. */
  readonly #busy = new Map<Worker, Job>();
  readonly #init: WorkerInit;
  readonly #heapMb: number;
  #nextId = 0;
  #closing = false;

  /** `heapMb`: each worker's heap limit (@default {@link WORKER_HEAP_MB}). */
  constructor(identities: AgeIdentities, size: number, heapMb = WORKER_HEAP_MB) {
    this.#heapMb = heapMb;
    const fromSources = __filename.endsWith(".ts");
    this.#init = { identities: identities.revealIdentities(), entry: __filename, sources: fromSources ? transpiledSources() : undefined };
    for (let i = 0; i < size; i++) this.#start();
  }

  #start(): void {
    const options = { workerData: this.#init, resourceLimits: { maxOldGenerationSizeMb: this.#heapMb } };
    const worker = this.#init.sources ? new Worker(TS_WORKER_BOOTSTRAP, { ...options, eval: true }) : new Worker(__filename, options);
    worker.on("message", (reply: Reply) => this.#onReply(worker, reply));
    worker.on("error", (err) => this.#onDeath(worker, err));
    worker.on("exit", () => this.#onDeath(worker, new Error("the verifier worker stopped")));
    this.#workers.add(worker);
    this.#idle.push(worker);
  }

  /**
   * A worker died. With a job (a file that exhausted its memory): that file is unreadable, and a
   * new worker takes its place. Without one (it could not start): every file fails, as before.
   */
  #onDeath(worker: Worker, err: Error): void {
    if (this.#closing || !this.#workers.delete(worker)) return;
    const idle = this.#idle.indexOf(worker);
    if (idle >= 0) this.#idle.splice(idle, 1);
    const job = this.#busy.get(worker);
    this.#busy.delete(worker);
    if (!job) {
      this.#failAll(err);
      return;
    }
    const pending = this.#pending.get(job.id);
    this.#pending.delete(job.id);
    const memory = (err as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY";
    const why = memory ? `reading it took more than the ${this.#heapMb} MB a verifier worker may use` : `its verifier worker stopped (${err.name})`;
    const detail = `${why}, so it was not verified`;
    pending?.resolve({ kind: "unreadable", path: job.path, detail, reason: `${job.path}: ${detail}` });
    this.#start();
    this.#dispatch();
  }

  /**
   * How many workers to use for `files` files (0: verify on the calling thread). An explicit
   * `concurrency` is honoured. Otherwise one worker per core (at most 8), and only when there
   * are enough files to pay for starting them: workers cost about 0.2 s each to start from
   * compiled JavaScript, much more from TypeScript sources (the sources are transpiled first).
   */
  static sizeFor(files: number, concurrency?: number): number {
    if (concurrency !== undefined) return concurrency <= 1 ? 0 : Math.min(concurrency, Math.ceil(files / 16));
    const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
    const threshold = __filename.endsWith(".ts") ? 4000 : 400;
    return cores < 2 || files < threshold ? 0 : Math.min(cores, 8);
  }

  verify(filePath: string, content: Buffer, hints: ExamineHints = {}): Promise<SopsFileResult> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      this.#pending.set(id, { resolve, reject });
      this.#queue.push({ id, path: filePath, content, hints });
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#workers].map((w) => w.terminate()));
  }

  #dispatch(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.pop() as Worker;
      const job = this.#queue.shift() as Job;
      this.#busy.set(worker, job);
      worker.postMessage(job);
    }
  }

  #onReply(worker: Worker, reply: Reply): void {
    const pending = this.#pending.get(reply.id);
    this.#pending.delete(reply.id);
    this.#busy.delete(worker);
    this.#idle.push(worker);
    this.#dispatch();
    if (!pending) return;
    if (reply.result) pending.resolve(reply.result);
    else pending.reject(new Error(reply.error ?? "the verifier worker failed"));
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

async function serveJobs(init: WorkerInit): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const identities = await AgeIdentities.parse(init.identities, "the key given to the check", true);
  port.on("message", (job: Job) => {
    verifySopsContent(Buffer.from(job.content.buffer, job.content.byteOffset, job.content.byteLength), job.path, identities, job.hints).then(
      (result) => port.postMessage({ id: job.id, result } satisfies Reply),
      // Programming errors only; a message, never the content.
      (err: unknown) => port.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
    );
  });
}

if (!isMainThread && (workerData as WorkerInit | undefined)?.entry === __filename) {
  void serveJobs(workerData as WorkerInit);
}
