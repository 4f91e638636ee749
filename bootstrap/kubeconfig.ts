/** The cluster a command talks to for a stack. */
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "./drill/watch";
import { UsageError } from "./errors";

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
