/** The cluster a command talks to for a stack. */
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "./drill/watch";
import { UsageError } from "./errors";
import { readStackFileConfig } from "./stack-file";

/** The stack's kubeconfig: --kubeconfig, else its kubernetes:kubeconfig / kubernetes:context, else the default. */
export function stackKubeConfig(projectDir: string, stack: string, given: string | undefined): KubeConfig {
  const file = readStackFileConfig(projectDir, stack);
  const str = (k: string): string | undefined => (typeof file[k] === "string" ? (file[k] as string) : undefined);
  try {
    return given ? loadKubeConfig(given) : loadKubeConfig(str("kubernetes:kubeconfig"), str("kubernetes:context"), projectDir);
  } catch (e) {
    throw new UsageError(`cannot use the kubeconfig ${given ?? "of the stack (kubernetes:kubeconfig / kubernetes:context) or the default one"}: ${(e as Error).message.split("\n")[0]}`);
  }
}

