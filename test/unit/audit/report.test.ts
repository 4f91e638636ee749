/** The audit's ignore rules and its report: counts, grouping, Secrets first, data, exit-worthy counts. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Classified, type Origin } from "../../../bootstrap/rebuild-audit/classify";
import { parseSelector, readIgnoreFile } from "../../../bootstrap/rebuild-audit/ignore";
import type { ObjectMeta } from "../../../bootstrap/cluster/list";
import { buildReport, formatMarkdown, formatText } from "../../../bootstrap/rebuild-audit/report";

const meta = (kind: string, name: string, namespace?: string, labels: Record<string, string> = {}): ObjectMeta => ({ group: "", version: "v1", kind, resource: "", namespace, name, uid: `${kind}/${namespace}/${name}`, labels, annotations: {}, owners: [] });
const c = (o: ObjectMeta, origin: Origin = { kind: "lost" }): Classified => ({ object: o, origin, data: o.kind === "PersistentVolumeClaim" });

function ignoreFile(text: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ignore-")), "ignore.yaml");
  fs.writeFileSync(file, text);
  return file;
}

describe("--ignore rules", () => {
  test("globs on kind, namespace and name, and label selectors; a rule matches when all its fields do", () => {
    const rules = readIgnoreFile(ignoreFile('- kind: ConfigMap\n  namespace: "scratch-*"\n- selector: "backup in (velero,restic),tier!=db"\n- namespace: ""\n  kind: Namespace\n  name: "tmp-?"\n'));
    const hit = (o: ObjectMeta) => rules.find((r) => r.matches(o))?.index;
    expect(hit(meta("ConfigMap", "x", "scratch-1"))).toBe(1);
    expect(hit(meta("ConfigMap", "x", "team"))).toBeUndefined();
    expect(hit(meta("Secret", "x", "team", { backup: "velero" }))).toBe(2);
    expect(hit(meta("Secret", "x", "team", { backup: "velero", tier: "db" }))).toBeUndefined();
    expect(hit(meta("Namespace", "tmp-a"))).toBe(3);
    expect(hit(meta("Namespace", "tmp-ab"))).toBeUndefined();
  });

  test("selectors: every operator", () => {
    const ok = (sel: string, labels: Record<string, string>) => parseSelector(sel).every((r) => r(labels));
    expect([ok("a", { a: "1" }), ok("!a", { a: "1" }), ok("a==1", { a: "1" }), ok("a notin (1,2)", {}), ok("a in (1,2)", {})]).toEqual([true, false, true, true, false]);
    expect(() => parseSelector("a ~ b")).toThrow(/cannot read "a ~ b"/);
  });

  test("a bad file is a usage error naming the file and every bad rule", () => {
    const file = ignoreFile("- kind: 3\n- colour: red\n- selector: 'a ~ b'\n");
    expect(() => readIgnoreFile(file)).toThrow(new RegExp(`--ignore ${file}:\\n  ✗ rule 1: kind must be a string \\(a glob\\)\\n  ✗ rule 2: unknown key colour.*\\n  ✗ rule 2 sets none of kind, namespace, name, selector.*\\n  ✗ rule 3: selector cannot read`));
    expect(() => readIgnoreFile(ignoreFile("kind: ConfigMap\n"))).toThrow(/must be a YAML list of rules/);
    expect(() => readIgnoreFile("/nonexistent/ignore.yaml")).toThrow("--ignore /nonexistent/ignore.yaml cannot be read (ENOENT)");
  });
});

describe("the report", () => {
  const classified = [
    c(meta("Namespace", "kube-system"), { kind: "kubernetes", rule: "system-namespace" }),
    c(meta("Application", "root", "argocd"), { kind: "stack", how: "created by the stack" }),
    c(meta("Deployment", "hello", "hello"), { kind: "git", via: "Argo CD Application argocd/hello" }),
    c(meta("Pod", "hello-1", "hello"), { kind: "owner", owner: "ReplicaSet hello/hello-1", root: { kind: "git", via: "x" } }),
    c(meta("Deployment", "debug", "hello")),
    c(meta("ConfigMap", "scratch", "hello")),
    c(meta("Secret", "api-token", "hello")),
    c(meta("Namespace", "hand-made")),
    c(meta("PersistentVolumeClaim", "data", "hello")),
    c(meta("ConfigMap", "cache", "scratch-1")),
    c(meta("ReplicaSet", "debug-1", "hello"), { kind: "lost-with", owner: "Deployment hello/debug", ownerUid: "Deployment/hello/debug" }),
    c(meta("Pod", "debug-1-a", "hello"), { kind: "lost-with", owner: "Deployment hello/debug", ownerUid: "Deployment/hello/debug" }),
    c(meta("Pod", "cache-1", "scratch-1"), { kind: "lost-with", owner: "ConfigMap scratch-1/cache", ownerUid: "ConfigMap/scratch-1/cache" }),
  ];
  const ignore = readIgnoreFile(ignoreFile('- namespace: "scratch-*"\n'));
  const report = buildReport(classified, ignore, { cluster: "https://127.0.0.1:6443", stack: "dev", reconciler: "argocd", startedAt: Date.now() });

  test("counts each origin, leaves ignored objects out, puts Secrets first", () => {
    expect(report.counts).toEqual({ objects: 13, kubernetes: 1, stack: 1, git: 1, madeFromThose: 1, ignored: 2, wouldBeLost: 4, madeFromLost: 2, data: 1 });
    expect(report.wouldBeLost.find((i) => i.name === "debug")).toMatchObject({ dependents: 2 });
    expect(report.wouldBeLost.map((i) => `${i.kind}/${i.name}`)).toEqual(["Secret/api-token", "Namespace/hand-made", "ConfigMap/scratch", "Deployment/debug"]);
    expect(report.data).toEqual([{ group: "", kind: "PersistentVolumeClaim", namespace: "hello", name: "data", from: "would be lost" }]);
    expect(report.ignored).toEqual([{ group: "", kind: "ConfigMap", namespace: "scratch-1", name: "cache", rule: 1 }]);
  });

  test("the terminal summary groups by namespace and kind and calls out the Secrets", () => {
    const text = formatText(report);
    expect(text).toContain("✗ 4 objects would be lost in a rebuild from Git (and 2 objects made from them):\n  ! 1 Secret not from Git: their values exist nowhere else\n      Secret hello/api-token\n");
    expect(text).toContain("  cluster-scoped:\n    Namespace (1): hand-made\n  namespace hello:\n    Secret (1): api-token\n    ConfigMap (1): scratch\n    Deployment (1): debug (+2 made from it)\n");
    expect(text).toContain("■ data Git does not hold (back it up separately): 1 volume\n    PersistentVolumeClaim hello/data (would be lost)");
    expect(formatMarkdown(report)).toContain("| **would be lost** | **4** |");
  });

  test("nothing lost says so", () => {
    const clean = buildReport(classified.slice(0, 4), [], { cluster: "c", stack: "dev", reconciler: "argocd", startedAt: Date.now() });
    expect(formatText(clean)).toContain("✔ nothing would be lost");
  });
});
