/**
 * `render`: runs the Pulumi program offline (in-process mocks: no CLI, no cluster) and shows
 * exactly what a stack would apply. Secrets are redacted unless asked for.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { CONFIG_NAMESPACE, PUBLIC_SECRET_KEYS } from "../../components/defaults";
import { UsageError } from "../../components/errors";
import { type OutputFolderSpec, inspectOutputFolder, manifestName, writeOutputFolder } from "../cli-common/output-files";
import { bootstrap } from "../program";
import { readStackConfig } from "../config/stack-file";

export const REDACTED = "<redacted>";

/** Pulumi's marker for a secret value crossing the RPC boundary (sdk/nodejs/runtime/rpc.ts). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** One resource the program registered, as the engine would receive it. */
export interface RenderedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** The resources it waits for (`dependsOn`): what `up` creates before it. */
  readonly after?: readonly string[];
}

export interface RenderResult {
  readonly resources: readonly RenderedResource[];
  readonly outputs: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Replaces Pulumi secret envelopes with `<redacted>` (or their value, when showing secrets). */
export function unwrapSecrets(v: unknown, showSecrets: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => unwrapSecrets(x, showSecrets));
  if (!isObject(v)) return v;
  if (v[SIG_KEY] === SECRET_SIG) return showSecrets ? unwrapSecrets(v.value, true) : REDACTED;
  const out: Obj = {};
  for (const [k, child] of Object.entries(v)) out[k] = unwrapSecrets(child, showSecrets);
  return out;
}

/**
 * Inputs with secrets replaced. A Kubernetes Secret keeps its key names (which keys exist is
 * worth seeing) with every value redacted, whatever the program marked as secret, except the
 * public ones (`PUBLIC_SECRET_KEYS`: a CA certificate is worth seeing too).
 */
function redactedInputs(inputs: unknown, showSecrets: boolean): Obj {
  const out = unwrapSecrets(inputs, showSecrets) as Obj;
  if (!showSecrets && out.kind === "Secret") {
    const revealed = unwrapSecrets(inputs, true) as Obj;
    for (const key of ["data", "stringData"]) {
      const entries = revealed[key];
      if (isObject(entries)) {
        out[key] = Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, PUBLIC_SECRET_KEYS.includes(k) ? v : REDACTED]));
      }
    }
  }
  return out;
}

/**
 * Runs `program` under Pulumi mocks and collects every custom resource it registers (providers
 * and components are bookkeeping, not something applied to the cluster).
 */
export async function renderProgram(
  stack: string,
  program: () => Promise<Record<string, unknown>>,
  showSecrets: boolean,
): Promise<RenderResult> {
  const resources: RenderedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (!args.type.startsWith("pulumi:") && !args.type.startsWith(`${CONFIG_NAMESPACE}:`)) {
          resources.push({ type: args.type, name: args.name, inputs: redactedInputs(args.inputs, showSecrets) });
        }
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call(args) {
        return args.inputs;
      },
    },
    CONFIG_NAMESPACE,
    stack,
    false,
  );
  // Resources reach the mocks once their inputs resolve, in no fixed order; they are shown in
  // the order the program constructs them, which a stack transformation sees.
  const constructed: string[] = [];
  const waitsFor = new Map<string, string[]>();
  let failure: { error: unknown } | undefined;
  const exported = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      constructed.push(`${args.type}::${args.name}`);
      const deps = ([] as unknown[]).concat(args.opts.dependsOn ?? []).filter((d): d is pulumi.Resource => pulumi.Resource.isInstance(d));
      if (deps.length > 0) waitsFor.set(`${args.type}::${args.name}`, deps.map((d) => (d as unknown as { __name: string }).__name));
      return undefined;
    });
    try {
      return await program();
    } catch (error) {
      // Thrown from here, not through the stack's outputs, which would reject a second time, unhandled.
      failure = { error };
      return {};
    }
  });
  if (failure) throw failure.error;
  const outputs = await new Promise<Obj>((resolve) => pulumi.output(exported).apply((o) => resolve(o as Obj)));
  // Registrations are asynchronous: wait until every outstanding one has reached the mocks.
  await pulumi.runtime.disconnect();
  const position = (r: RenderedResource): number => constructed.indexOf(`${r.type}::${r.name}`);
  const withOrder = resources.map((r) => {
    const after = waitsFor.get(`${r.type}::${r.name}`);
    return after ? { ...r, after } : r;
  });
  return { resources: withOrder.sort((a, b) => position(a) - position(b)), outputs: unwrapSecrets(outputs, showSecrets) as Obj };
}

/** A resource as the YAML a person reads: a Kubernetes manifest, or a Helm release summary. */
export function toDocument(r: RenderedResource): Obj {
  const inputs = r.inputs;
  if (r.type === "kubernetes:helm.sh/v3:Release") {
    const repo = isObject(inputs.repositoryOpts) ? inputs.repositoryOpts.repo : undefined;
    return {
      helmRelease: inputs.name,
      namespace: inputs.namespace,
      chart: inputs.chart,
      ...(repo ? { repository: repo } : {}),
      ...(inputs.version ? { version: inputs.version } : {}),
      values: inputs.values ?? {},
    };
  }
  const doc: Obj = {};
  for (const key of ["apiVersion", "kind", "metadata", "type", "spec", "data", "stringData"]) {
    if (inputs[key] !== undefined) doc[key] = inputs[key];
  }
  return doc;
}

function fileName(index: number, r: RenderedResource): string {
  const kind = r.type === "kubernetes:helm.sh/v3:Release" ? "helmrelease" : String(r.inputs.kind ?? r.type.split(":").pop()).toLowerCase().replace(/[^a-z0-9_.-]/g, "_");
  const meta = isObject(r.inputs.metadata) ? r.inputs.metadata : {};
  const name = String(meta.name ?? r.inputs.name ?? r.name).replace(/[^A-Za-z0-9_.-]/g, "_");
  return `${String(index + 1).padStart(2, "0")}-${kind}-${name}.yaml`;
}

/** `--out`: the folder render writes into, and the only names it writes there (fileName's). */
export const renderFolder = (showSecrets: boolean): OutputFolderSpec => ({
  command: "render",
  flag: "--out",
  fileNames: /^\d{2,}-[a-z0-9_.-]+-[A-Za-z0-9_.-]+\.yaml$/,
  secret: showSecrets,
});

export interface WriteOptions {
  readonly outDir?: string;
  readonly showSecrets: boolean;
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
}

/** Writes one file per resource into outDir, or a multi-document YAML stream to stdout. */
export function writeRender(result: RenderResult, stack: string, opts: WriteOptions): void {
  const docs = result.resources.map((r, i) => ({ file: fileName(i, r), header: `# ${r.type} ${r.name}${r.after ? `\n# after: ${r.after.join(", ")}` : ""}`, doc: toDocument(r) }));
  if (opts.outDir) {
    const files = docs.map((d) => ({ name: d.file, text: `${d.header}\n${YAML.stringify(d.doc, { lineWidth: 0 })}` }));
    const written = writeOutputFolder(opts.outDir, renderFolder(opts.showSecrets), files);
    if (written.tightenedFrom !== undefined) opts.stderr(`! ${opts.outDir} was mode ${written.tightenedFrom.toString(8)}; it is now 0700 (it holds secrets)\n`);
    for (const f of files) opts.stderr(`✔ ${path.join(opts.outDir, f.name)}${opts.showSecrets ? " (0600)" : ""}\n`);
    if (written.removed.length > 0) opts.stderr(`  removed ${written.removed.length} file(s) of the earlier render that this one does not write: ${written.removed.join(", ")}\n`);
    if (written.kept.length > 0) opts.stderr(`  left untouched (not written by render): ${written.kept.join(", ")}\n`);
    opts.stderr(`  ${manifestName("render")} lists the files render wrote; the next render --out here replaces only those\n`);
  } else {
    opts.stdout(docs.map((d) => `---\n${d.header}\n${YAML.stringify(d.doc, { lineWidth: 0 })}`).join(""));
  }
  opts.stderr(`✔ stack ${stack}: ${docs.length} resources${opts.showSecrets ? " (secrets shown)" : ", secrets redacted"}\n`);
  opts.stderr(`  outputs: ${JSON.stringify(result.outputs)}\n`);
}


export interface RenderCommandOptions {
  readonly stack: string;
  readonly out?: string;
  readonly showSecrets: boolean;
}

export interface RenderIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly projectDir: string;
}

/** `gitops-bootstrap render`: the stack's config, validated, run through the program under mocks. */
export async function runRender(opts: RenderCommandOptions, io: RenderIo): Promise<number> {
  const outDir = opts.out === undefined ? undefined : path.resolve(opts.out);
  // A folder render may not write into is refused before any work.
  if (outDir !== undefined) inspectOutputFolder(outDir, renderFolder(opts.showSecrets));
  io.stderr(`► rendering stack ${opts.stack} offline\n`);
  const raw = readStackConfig(io.projectDir, opts.stack, io.env.HOME);
  let result: RenderResult;
  try {
    result = await renderProgram(opts.stack, async () => ({ ...(await bootstrap(raw, { repoSecretsCheck: false })) }), opts.showSecrets);
  } catch (e) {
    // The program's ConfigError reaches here wrapped as Pulumi's RunError: the same list of problems.
    if (pulumi.RunError.isInstance(e)) throw new UsageError(e.message);
    throw e;
  }
  writeRender(result, opts.stack, { outDir, showSecrets: opts.showSecrets, stdout: io.stdout, stderr: io.stderr });
  return 0;
}
