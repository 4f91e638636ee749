/**
 * output-files.ts on the real filesystem: a replaced file goes through an exclusive temporary
 * file (a link planted at the temporary path is not followed), a link or folder at the target is
 * refused; the report folders of audit, restore and drill are refused before any work when they
 * hold what the command did not write, and their own earlier reports are replaced.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runAudit } from "../../bootstrap/audit/command";
import { runRecoveryCommand } from "../../bootstrap/drill/command";
import { reportFolder } from "../../bootstrap/drill/run";
import { UsageError } from "../../components/errors";
import { replaceFile, writeOutputFolder } from "../../bootstrap/cli-common/output-files";
import { projectDir } from "./cli-harness";

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "output-files-"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const mode = (p: string): number => fs.statSync(p).mode & 0o777;

describe("replaceFile", () => {
  test("a symbolic link planted at the temporary path is not followed: its target and the link stay, the file is written", () => {
    const file = path.join(root, "backup.sops.yaml");
    const victim = path.join(root, "victim.txt");
    fs.writeFileSync(victim, "not yours\n");
    const planted = path.join(root, `.backup.sops.yaml.${process.pid}.tmp`);
    fs.symlinkSync(victim, planted);
    replaceFile(file, "new content\n", 0o600);
    expect(fs.readFileSync(victim, "utf8")).toBe("not yours\n");
    expect(fs.readlinkSync(planted)).toBe(victim);
    expect(fs.readFileSync(file, "utf8")).toBe("new content\n");
    expect(mode(file)).toBe(0o600);
    // Nothing else was left behind: the victim, the planted link, the file.
    expect(fs.readdirSync(root).sort()).toEqual([`.backup.sops.yaml.${process.pid}.tmp`, "backup.sops.yaml", "victim.txt"]);
  });

  test("replaces a regular file in place (mode as asked, even over a 0644 file); refuses a link or a folder at the target", () => {
    const file = path.join(root, "f");
    fs.writeFileSync(file, "old\n", { mode: 0o644 });
    replaceFile(file, "new\n", 0o600);
    expect([fs.readFileSync(file, "utf8"), mode(file)]).toEqual(["new\n", 0o600]);
    const link = path.join(root, "link");
    fs.symlinkSync(file, link);
    expect(() => replaceFile(link, "x", 0o600)).toThrow(`${link} is a symbolic link; it is replaced only as a regular file`);
    expect(() => replaceFile(root, "x", 0o600)).toThrow(UsageError);
    expect(fs.readFileSync(file, "utf8")).toBe("new\n");
  });
});

describe("report folders", () => {
  const io = { stdout: () => undefined, stderr: () => undefined, env: {}, projectDir };

  test("audit --report-dir holding other files is refused before the stack or the cluster is read", async () => {
    const dir = path.join(root, "reports");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "audit.md"), "the user's own\n");
    await expect(runAudit({ stack: "no-such-stack", reportDir: dir }, io)).rejects.toThrow(
      `--report-dir ${dir} is not empty and holds no earlier audit output (no .gitops-bootstrap-audit.json in it)`,
    );
    expect(fs.readFileSync(path.join(dir, "audit.md"), "utf8")).toBe("the user's own\n");
  });

  test.each(["restore", "drill"] as const)("%s --report-dir that is a file is refused before the engine opens", async (command) => {
    const file = path.join(root, "report");
    fs.writeFileSync(file, "keep\n");
    const openEngine = () => Promise.reject(new Error("the engine must not be opened"));
    await expect(runRecoveryCommand(command, { stack: "sandbox", kubeconfig: "/nonexistent", reportDir: file }, io, openEngine)).rejects.toThrow(
      `--report-dir ${file} exists and is not a folder; ${command} never deletes or overwrites what it did not write`,
    );
    expect(fs.readFileSync(file, "utf8")).toBe("keep\n");
  });

  test("a drill's earlier report is replaced, a file the user added is kept", () => {
    const dir = path.join(root, "drill-report");
    const files = (tag: string) => ["report.json", "report.md", "junit.xml"].map((name) => ({ name, text: `${tag} ${name}\n` }));
    writeOutputFolder(dir, reportFolder("drill"), files("first"));
    fs.writeFileSync(path.join(dir, "notes.md"), "mine\n");
    const result = writeOutputFolder(dir, reportFolder("drill"), files("second"));
    expect(result).toEqual({ removed: [], kept: ["notes.md"] });
    expect(fs.readFileSync(path.join(dir, "report.md"), "utf8")).toBe("second report.md\n");
    expect(fs.readFileSync(path.join(dir, "notes.md"), "utf8")).toBe("mine\n");
    // restore's manifest is not drill's: the folder is not restore's to write into.
    expect(() => writeOutputFolder(dir, reportFolder("restore"), files("third"))).toThrow("holds no earlier restore output");
    expect(fs.readFileSync(path.join(dir, "report.md"), "utf8")).toBe("second report.md\n");
  });
});
