/**
 * Every `gitops-bootstrap` command line the project ships (in the GitHub workflows, the README and
 * every command's --help examples) parses with the current commands and options, so a renamed
 * flag cannot leave a workflow or the documentation broken.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { main, parseCommandLine } from "../../bootstrap/cli";
import { projectDir } from "./cli-harness";

/**
 * The words of a shell command as bash would pass them, for the simple forms the workflows use:
 * quotes, `$VAR` / `${VAR}` (replaced by a stand-in value) and `${VAR:+words}` (the words).
 */
export function shellWords(text: string): string[] {
  const expanded = text.replace(/\$\{\w+:\+([^}]*)\}/g, "$1").replace(/\$\{\w+\}|\$\w+/g, "VALUE");
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const c of expanded) {
    if (quote) {
      if (c === quote) quote = undefined;
      else word = (word ?? "") + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word = word ?? "";
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? "") + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The gitops-bootstrap invocations in a shell script: arguments up to a pipe, redirection or `;`. */
export function invocations(script: string): string[][] {
  // Continuation lines joined; shell comments (a # after white space, to the end of the line) dropped.
  const joined = script.replace(/\\\n\s*/g, " ").replace(/(^|\s)#.*$/gm, "$1");
  const found: string[][] = [];
  for (const m of joined.matchAll(/(?:npx |node_modules\/\.bin\/|^|\s|\$\()gitops-bootstrap((?: [^|;&>)\n#]*)?)/gm)) {
    found.push(shellWords(m[1] ?? ""));
  }
  return found;
}

function workflowScripts(): { file: string; script: string }[] {
  const dir = path.join(projectDir, ".github/workflows");
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .flatMap((f) => {
      const doc = YAML.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { jobs: Record<string, { steps?: { run?: string }[] }> };
      return Object.values(doc.jobs).flatMap((job) => (job.steps ?? []).filter((s) => s.run).map((s) => ({ file: f, script: s.run! })));
    });
}

/** Commands in the README's sh code blocks (lines starting with `npx gitops-bootstrap` or `gitops-bootstrap`). */
function readmeScripts(): string[] {
  const text = fs.readFileSync(path.join(projectDir, "README.md"), "utf8");
  return [...text.matchAll(/```(?:sh|bash|console)\n([\s\S]*?)```/g)].map((m) => m[1]);
}

async function helpExamples(): Promise<string[]> {
  let top = "";
  await main(["--help"], { stdout: (s) => void (top += s), stderr: () => undefined, env: {}, projectDir });
  const commands = [...top.matchAll(/^ {2}([a-z][a-z-]+)(?: \[options\]| <|\s{2})/gm)].map((m) => m[1]).filter((c) => c !== "help");
  const lines: string[] = [];
  for (const c of commands) {
    let out = "";
    await main([c, "--help"], { stdout: (s) => void (out += s), stderr: () => undefined, env: {}, projectDir });
    lines.push(...[...out.matchAll(/^ {2}\$ (.*)$/gm)].map((m) => m[1]));
  }
  return lines;
}

/** The command lines that do not parse, each with where it is and commander's message. */
async function problems(lines: readonly { where: string; argv: string[] }[]): Promise<string[]> {
  const out: string[] = [];
  for (const { where, argv } of lines) {
    const problem = await parseCommandLine(argv);
    if (problem !== undefined) out.push(`${where}: gitops-bootstrap ${argv.join(" ")} → ${problem}`);
  }
  return out;
}

describe("shellWords and invocations (the test's own reading of shell)", () => {
  it("reads quotes, variables and continuation lines as bash passes them", () => {
    expect(invocations(`x="$(npx gitops-bootstrap drill-stacks --json \${R:+--only "$R"})"\nnpx gitops-bootstrap drill --stack "$S" \\\n  --timeout "$T" > out  # gitops-bootstrap is nice`)).toEqual([
      ["drill-stacks", "--json", "--only", "VALUE"],
      ["drill", "--stack", "VALUE", "--timeout", "VALUE"],
    ]);
  });
});

describe("every shipped gitops-bootstrap command line parses with the current CLI", () => {
  it("a mistyped option or a removed command is caught", async () => {
    expect(await parseCommandLine(["drill", "--stack", "x", "--kubeconfig", "k", "--timout", "5m"])).toMatch(/unknown option '--timout'/);
    expect(await parseCommandLine(["drill-summry", "reports"])).toMatch(/unknown command 'drill-summry'/);
    expect(await parseCommandLine(["drill", "--stack", "x"])).toMatch(/required option '--kubeconfig <file>'/);
  });

  it("the GitHub workflows", async () => {
    const all = workflowScripts().flatMap(({ file, script }) => invocations(script).map((argv) => ({ file, argv })));
    expect(all.map((a) => a.argv[0])).toEqual(expect.arrayContaining(["drill-stacks", "drill", "drill-summary"]));
    expect(await problems(all.map(({ file, argv }) => ({ where: file, argv })))).toEqual([]);
  });

  it("the README's shell blocks", async () => {
    const all = readmeScripts().flatMap(invocations);
    expect(all.length).toBeGreaterThan(10);
    expect(await problems(all.map((argv) => ({ where: "README.md", argv })))).toEqual([]);
  });

  it("every command's --help examples", async () => {
    const examples = await helpExamples();
    expect(examples.length).toBeGreaterThan(8);
    expect(await problems(examples.flatMap((line) => invocations(line).map((argv) => ({ where: `--help: ${line}`, argv }))))).toEqual([]);
  });
});
