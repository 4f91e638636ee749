/**
 * Finds the real `sops` binary for the benchmark and the interop test: `$SOPS_BIN`, else the
 * e2e toolchain (`test/e2e/toolchain/build.sh --print-path`, which builds it from its Go module
 * into the cache), else the toolchain cache directly, else `sops` on PATH.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "../..");

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function fromDirs(dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = path.join(dir, "sops");
    if (dir !== "" && executable(candidate)) return candidate;
  }
  return undefined;
}

export function findSops(): string | undefined {
  if (process.env.SOPS_BIN && executable(process.env.SOPS_BIN)) return process.env.SOPS_BIN;
  const script = path.join(REPO_ROOT, "test/e2e/toolchain/build.sh");
  if (fs.existsSync(script)) {
    try {
      const fragment = execFileSync("bash", [script, "--print-path"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
      const found = fromDirs(fragment.split(":"));
      if (found) return found;
    } catch {
      // fall through to the cache and PATH
    }
  }
  const tools = path.join(process.env.GITOPS_BOOTSTRAP_CACHE ?? path.join(os.homedir(), ".cache/gitops-bootstrap"), "tools");
  const cached = fs.existsSync(tools)
    ? fs.readdirSync(tools).filter((d) => /^sops-v?\d/.test(d)).sort().reverse().map((d) => path.join(tools, d, "bin"))
    : [];
  return fromDirs([...cached, ...(process.env.PATH ?? "").split(path.delimiter)]);
}
