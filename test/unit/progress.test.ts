/**
 * Progress output: plain lines off a terminal (throttled, no escape codes), one live line on a
 * terminal. The terminal case runs the real command in a pseudo-terminal (util-linux `script`).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as age from "age-encryption";
import { elapsed, plainStatusLine } from "../../bootstrap/cli-common/progress";
import { writeSopsYaml } from "../../bootstrap/sops/writer";
import { projectDir } from "./cli-harness";

test("plain progress prints a line only when the interval has passed, without escape codes", () => {
  let now = 0;
  let out = "";
  const status = plainStatusLine((s) => void (out += s), 5000, () => now);
  status.update("► 1/10");
  now = 4999;
  status.update("► 2/10");
  now = 5000;
  status.update("► 3/10");
  status.print("✔ done");
  status.clear();
  expect(out).toBe("► 3/10\n✔ done\n");
});

test("elapsed times read like a person would say them", () => {
  expect([elapsed(0), elapsed(3_250), elapsed(48_400), elapsed(72_000), elapsed(3_725_000)]).toEqual(["0.0s", "3.3s", "48s", "1m12s", "62m05s"]);
});

describe("check's progress, from the installed command", () => {
  let dir: string;
  let keyFile: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "progress-"));
    const identity = await age.generateX25519Identity();
    keyFile = path.join(dir, "keys.txt");
    fs.writeFileSync(keyFile, `${identity}\n`);
    const recipients = [await age.identityToRecipient(identity)];
    fs.mkdirSync(path.join(dir, "repo"));
    for (let i = 0; i < 60; i++) {
      const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: `s${i}` }, stringData: { token: `value-${i}` } };
      fs.writeFileSync(path.join(dir, "repo", `s${i}.yaml`), await writeSopsYaml([secret], { recipients, encryptedRegex: "^(data|stringData)$" }));
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const args = () => [path.join(projectDir, "bootstrap/gitops-bootstrap.js"), "check", "--repo", path.join(dir, "repo"), "--age-key-file", keyFile];
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: dir, TERM: "xterm", ...extra });
  /** Runs the command with stdin, stdout and stderr on a pseudo-terminal; returns what the terminal received. */
  const inTerminal = (extra: NodeJS.ProcessEnv = {}) => {
    const command = `stty cols 120 rows 40; ${[process.execPath, ...args()].map((a) => `'${a}'`).join(" ")}`;
    return spawnSync("script", ["-qec", command, "/dev/null"], { cwd: projectDir, env: env(extra), encoding: "utf8" });
  };

  test("on a terminal: one live line, redrawn in place, gone before the report", () => {
    const r = inTerminal();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/► checking files: 50\/60 \(\d+\.\ds\)/);
    // Erased (erase-line escape) after its last drawing, before the report.
    const afterLast = r.stdout.slice(r.stdout.lastIndexOf("► checking files"));
    expect(afterLast.indexOf("\u001b[2K")).toBeGreaterThan(0);
    expect(afterLast.indexOf("\u001b[2K")).toBeLessThan(afterLast.indexOf("✔ s0.yaml"));
  });

  test("with CI set, or piped: no escape codes and, for a quick check, no progress lines", () => {
    const ci = inTerminal({ CI: "true" });
    expect(ci.status).toBe(0);
    expect(ci.stdout).not.toContain("\u001b[");
    expect(ci.stdout).not.toContain("checking files");
    const piped = spawnSync(process.execPath, args(), { cwd: projectDir, env: env(), encoding: "utf8" });
    expect(piped.status).toBe(0);
    expect(piped.stdout + piped.stderr).not.toContain("\u001b[");
    expect(piped.stderr).not.toContain("checking files");
  });
});
