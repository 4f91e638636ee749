/**
 * Run by components.test.ts in a child process: a GitOpsCluster under Pulumi mocks whose args
 * hold a value that resolves, at deploy time, to something its checks refuse (argv[2] picks
 * which). Prints as JSON what the update would report (the errors no code awaited, as the program
 * runner sees them) and the resources that reached the engine.
 */
import * as pulumi from "@pulumi/pulumi";
import * as age from "age-encryption";
import { GitOpsCluster, Reconciler } from "../../index";

const BAD: Record<string, () => Partial<ConstructorParameters<typeof GitOpsCluster>[1]>> = {
  chartVersion: () => ({ flux: { chartVersion: pulumi.output("latest") } }),
  ageKey: () => ({ ageKey: pulumi.secret("AGE-SECRET-KEY-1NOTAVALIDKEY") }),
};

const reported: { message: string; runError: boolean; errors: unknown }[] = [];
process.on("unhandledRejection", (e: any) => {
  if (!reported.some((r) => r.message === e.message)) reported.push({ message: e.message, runError: pulumi.RunError.isInstance(e), errors: e.errors });
});

async function main(): Promise<void> {
  const registered: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => (registered.push(args.name), { id: `${args.name}-id`, state: args.inputs }),
      call: (args) => args.inputs,
    },
    "project",
    "stack",
    false,
  );
  new GitOpsCluster("c", {
    reconciler: Reconciler.Flux,
    repo: { url: "https://git.example.com/org/state.git", revision: "main", path: "apps" },
    ageKey: await age.generateX25519Identity(),
    ...BAD[process.argv[2]](),
  });
  await pulumi.runtime.disconnect().catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 200));
  process.stdout.write(JSON.stringify({ reported, registered }));
}

void main();
