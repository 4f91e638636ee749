/** The e2e toolchain's binaries (built and cached by test/e2e/toolchain/build.sh). */
import { execFileSync } from "node:child_process";
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
