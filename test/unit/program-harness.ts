/**
 * Runs the program under Pulumi mocks, as `pulumi up` would (inside a root stack resource), and
 * records every registered resource with its inputs and its dependsOn. Shared by the program's
 * structure tests (program.test.ts for Argo CD, program-flux.test.ts for Flux).
 */
import * as pulumi from "@pulumi/pulumi";
import type { RawStackConfig } from "../../bootstrap/config/stack-config";
import { type BootstrapOptions, bootstrap } from "../../bootstrap/program";

/** Pulumi's marker for a secret value crossing the RPC boundary. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export const isSecretEnvelope = (v: unknown): boolean => typeof v === "object" && v !== null && (v as any)[SIG_KEY] !== undefined;
export const unwrap = (v: any): any => (isSecretEnvelope(v) ? v.value : v);

export interface Registered {
  type: string;
  name: string;
  inputs: any;
}

export interface ProgramRun {
  readonly registered: Registered[];
  /** Resource name → names of its dependsOn. */
  readonly dependencies: Map<string, string[]>;
  readonly outputs: Record<string, unknown>;
  byName(name: string): Registered;
}

/** `releaseVersion` is what the mocked Helm release reports as its chart version. */
export async function runProgramUnderMocks(raw: RawStackConfig, releaseVersion: string, options: BootstrapOptions = {}): Promise<ProgramRun> {
  const registered: Registered[] = [];
  const dependencies = new Map<string, string[]>();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: { ...args.inputs, status: { status: "deployed", version: releaseVersion } } };
      },
      call: (args) => args.inputs,
    },
    "gitops-bootstrap",
    "unit",
    false,
  );
  // A stack transformation records each resource's dependsOn (legacy transformations run in the
  // SDK, before registration).
  const stackOutputs = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const deps = ([] as pulumi.Resource[]).concat((args.opts.dependsOn as pulumi.Resource[] | undefined) ?? []);
      dependencies.set(args.name, deps.map((d) => (d as any).__name));
      return undefined;
    });
    // The repository check has its own tests (preflight.test.ts); git.example.com is not real.
    return bootstrap(raw, { repoSecretsCheck: false, ...options });
  });
  const outputs = await new Promise<Record<string, unknown>>((resolve) => pulumi.output(stackOutputs as any).apply((o) => resolve(o as Record<string, unknown>)));
  await pulumi.runtime.disconnect();
  return {
    registered,
    dependencies,
    outputs,
    byName: (name) => {
      const r = registered.find((x) => x.name === name);
      if (!r) throw new Error(`no resource ${name}; have ${registered.map((x) => x.name).join(", ")}`);
      return r;
    },
  };
}
