/** The cluster a command talks to for a stack. */
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "./drill/watch";
import { UsageError } from "./errors";
import { readStackFileConfig } from "./stack-file";

/**
 * `given` (--kubeconfig), else the stack's `kubernetes:kubeconfig` / `kubernetes:context` (relative
 * to the project), else the default kubeconfig; a UsageError naming which one cannot be used.
 */
export function kubeConfigFor(given: string | undefined, stack: { readonly kubeconfig?: string; readonly context?: string }, projectDir: string): KubeConfig {
  try {
    return given ? loadKubeConfig(given) : loadKubeConfig(stack.kubeconfig, stack.context, projectDir);
  } catch (e) {
    throw new UsageError(`cannot use the kubeconfig ${given ?? "of the stack (kubernetes:kubeconfig / kubernetes:context) or the default one"}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** {@link kubeConfigFor} with the stack's keys read from its stack file (commands that run without the Pulumi CLI). */
export function stackKubeConfig(projectDir: string, stack: string, given: string | undefined): KubeConfig {
  const file = readStackFileConfig(projectDir, stack);
  const str = (k: string): string | undefined => (typeof file[k] === "string" ? (file[k] as string) : undefined);
  return kubeConfigFor(given, { kubeconfig: str("kubernetes:kubeconfig"), context: str("kubernetes:context") }, projectDir);
}
