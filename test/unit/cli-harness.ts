/** Running the CLI in-process for the tests, and what the committed stacks need to render. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import * as YAML from "yaml";
import { CliIo, main } from "../../bootstrap/cli";

export const projectDir = path.resolve(__dirname, "../..");
/** The example repository's demo-only identity (committed on purpose), to check it never leaks. */
export const demoIdentity = fs
  .readFileSync(path.join(projectDir, "examples/gitops-repo/demo-age-key.txt"), "utf8")
  .split("\n")
  .find((l) => l.startsWith("AGE-SECRET-KEY-"))!;

export async function cli(args: string[], dir = projectDir, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), env, projectDir: dir };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

export const docs = (text: string) => YAML.parseAllDocuments(text).map((d) => d.toJS());

/** The environments whose stack files name a key file under ~/.config/sops/age/. */
export const KEY_FILE_STACKS = ["dev", "staging", "prod", "drill"] as const;

/** A HOME with a fresh age key at each of those stacks' key file paths; remove it when done. */
export async function homeWithStackKeys(): Promise<string> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "home-"));
  fs.mkdirSync(path.join(home, ".config/sops/age"), { recursive: true });
  for (const env of KEY_FILE_STACKS) {
    fs.writeFileSync(path.join(home, `.config/sops/age/gitops-${env}.agekey`), `${await age.generateIdentity()}\n`);
  }
  return home;
}
