/** The e2e toolchain's binaries and CRDs (built and cached by test/e2e/toolchain/build.sh). */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const BUILD_SH = path.join(__dirname, "toolchain", "build.sh");
let cached: string | undefined;

/** A PATH fragment with every cached tool's bin directory. */
export function toolchainPath(): string {
  cached ??= execFileSync("bash", [BUILD_SH, "--print-path"], { encoding: "utf8" }).trim();
  return cached;
}

/** process.env with the toolchain first on PATH. */
export function toolchainEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, PATH: `${toolchainPath()}:${process.env.PATH ?? ""}` };
}

/** The reconcilers whose CRDs the sandbox installs, as in the CRD sets' names. */
export type CrdReconciler = "argo-cd" | "flux";

/**
 * Which CRDs of each set (build.sh --print-crds) the sandbox installs: what the product's objects
 * and the tests' listings need. The Flux controllers install the rest of their own when they run.
 */
const SANDBOX_CRDS: readonly { readonly set: string; readonly reconciler: CrdReconciler; readonly only?: string }[] = [
  { set: "argo-cd", reconciler: "argo-cd" },
  { set: "flux-source", reconciler: "flux", only: "source.toolkit.fluxcd.io_gitrepositories.yaml" },
  { set: "flux-kustomize", reconciler: "flux" },
  { set: "flux-helm", reconciler: "flux" },
];

let crdSets: Map<string, string> | undefined;

/** The folder of a CRD set in the toolchain cache, at the version versions.sh names. */
export function crdSetDir(set: string): string {
  crdSets ??= new Map(
    execFileSync("bash", [BUILD_SH, "--print-crds"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((line) => line.split(" ") as [string, string]),
  );
  const dir = crdSets.get(set);
  if (!dir) throw new Error(`build.sh --print-crds names no CRD set "${set}"`);
  return dir;
}

/**
 * The CRD files the sandbox installs for a reconciler, from the modules of the controllers the
 * e2e runs (copied by `build.sh crds`). Throws, saying how to get them, when they are missing.
 */
export function sandboxCrdFiles(reconciler: CrdReconciler): string[] {
  return SANDBOX_CRDS.filter((s) => s.reconciler === reconciler).flatMap(({ set, only }) => {
    const dir = crdSetDir(set);
    const wanted = (f: string): boolean => f.endsWith(".yaml") && (!only || f === only);
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter(wanted) : [];
    if (!files.length) {
      throw new Error(`no ${only ?? "CRDs"} in ${dir}: copy them with \`bash test/e2e/toolchain/build.sh crds\``);
    }
    return files.sort().map((f) => path.join(dir, f));
  });
}

/** kubectl arguments naming the reconciler's sandbox CRD files (`-f a -f b …`). */
export function crdFileArgs(reconciler: CrdReconciler): string[] {
  return sandboxCrdFiles(reconciler).flatMap((f) => ["-f", f]);
}
