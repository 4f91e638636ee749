/**
 * The audit's answer: counts by origin, what would be lost grouped by namespace and kind (with
 * names), Secrets not from Git called out first, and the data Git does not hold. As a terminal
 * summary, JSON, and Markdown. Only names and kinds: the audit never read a value.
 */
import { type Classified, type Origin, describeObject } from "./classify";
import type { IgnoreRule } from "./ignore";

export interface AuditItem {
  readonly group: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** Objects controllers made from this one (ReplicaSets, Pods, ...): lost with it, back with it. */
  readonly dependents?: number;
}

export interface DataItem extends AuditItem {
  /** Where the claim or volume itself comes from (its data comes from nowhere). */
  readonly from: string;
}

export interface AuditReport {
  readonly cluster: string;
  readonly stack: string;
  readonly reconciler: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly counts: {
    readonly objects: number;
    readonly kubernetes: number;
    readonly stack: number;
    readonly git: number;
    readonly madeFromThose: number;
    readonly ignored: number;
    readonly wouldBeLost: number;
    /** Objects made from those that would be lost (counted with them, not listed). */
    readonly madeFromLost: number;
    readonly data: number;
  };
  /** Objects a rebuild from Git would not bring back (ignored ones left out), Secrets first. */
  readonly wouldBeLost: readonly AuditItem[];
  readonly data: readonly DataItem[];
  readonly ignored: readonly (AuditItem & { readonly rule: number })[];
}

const item = (c: Classified): AuditItem => ({ group: c.object.group, kind: c.object.kind, namespace: c.object.namespace, name: c.object.name });

function describeOrigin(o: Origin): string {
  switch (o.kind) {
    case "kubernetes":
      return "made by Kubernetes";
    case "stack":
      return o.how;
    case "git":
      return `from Git (${o.via})`;
    case "owner":
      return `made from ${o.owner}, ${describeOrigin(o.root)}`;
    case "lost":
      return "would be lost";
    case "lost-with":
      return `made from ${o.owner}, which would be lost`;
  }
}

const isSecret = (i: AuditItem): boolean => i.group === "" && i.kind === "Secret";
const order = (a: AuditItem, b: AuditItem): number =>
  Number(isSecret(b)) - Number(isSecret(a)) || (a.namespace ?? "").localeCompare(b.namespace ?? "") || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name);

export function buildReport(classified: readonly Classified[], ignore: readonly IgnoreRule[], meta: { cluster: string; stack: string; reconciler: string; startedAt: number }): AuditReport {
  const counts = { objects: classified.length, kubernetes: 0, stack: 0, git: 0, madeFromThose: 0, ignored: 0, wouldBeLost: 0, madeFromLost: 0, data: 0 };
  const lost: AuditItem[] = [];
  const data: DataItem[] = [];
  const ignored: (AuditItem & { rule: number })[] = [];
  // What was made from a lost object goes with it: counted on its entry, ignored with it.
  const dependents = new Map<string, number>();
  for (const c of classified) if (c.origin.kind === "lost-with" && !c.data) dependents.set(c.origin.ownerUid, (dependents.get(c.origin.ownerUid) ?? 0) + 1);
  const ruleFor = (c: Classified) => ignore.find((r) => r.matches(c.object));
  const rootIgnored = new Set<string>();
  for (const c of classified) if (c.origin.kind === "lost" && ruleFor(c)) rootIgnored.add(c.object.uid);
  for (const c of classified) {
    const o = c.origin;
    if (o.kind === "kubernetes") counts.kubernetes++;
    else if (o.kind === "stack") counts.stack++;
    else if (o.kind === "git") counts.git++;
    else if (o.kind === "owner") counts.madeFromThose++;
    if (o.kind === "lost-with" && !c.data) {
      if (rootIgnored.has(o.ownerUid)) counts.ignored++;
      else counts.madeFromLost++;
      continue;
    }
    if (o.kind !== "lost" && !c.data) continue;
    const rule = ruleFor(c);
    if (rule) {
      counts.ignored++;
      ignored.push({ ...item(c), rule: rule.index });
    } else if (c.data) {
      data.push({ ...item(c), from: c.dataReason ?? describeOrigin(o) });
    } else {
      const n = dependents.get(c.object.uid);
      lost.push(n ? { ...item(c), dependents: n } : item(c));
    }
  }
  lost.sort(order);
  data.sort(order);
  counts.wouldBeLost = lost.length;
  counts.data = data.length;
  return { ...meta, startedAt: new Date(meta.startedAt).toISOString(), durationMs: Date.now() - meta.startedAt, counts, wouldBeLost: lost, data, ignored };
}

/** Groups items as `namespace → kind → names`, cluster-scoped first. */
function grouped(items: readonly AuditItem[]): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const i of items) {
    const ns = i.namespace ?? "";
    const kinds = out.get(ns) ?? new Map<string, string[]>();
    const name = i.dependents ? `${i.name} (+${i.dependents} made from it)` : i.name;
    kinds.set(i.kind, [...(kinds.get(i.kind) ?? []), name]);
    out.set(ns, kinds);
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

const plural = (n: number, word: string): string => `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;

export function formatText(r: AuditReport): string {
  const c = r.counts;
  const lines = [
    `► audit of ${r.cluster} (stack ${r.stack}, ${r.reconciler}): ${plural(c.objects, "object")} in ${(r.durationMs / 1000).toFixed(1)}s`,
    `  made by Kubernetes ${c.kubernetes} · created by the stack ${c.stack} · from Git ${c.git} · made from those ${c.madeFromThose}${c.ignored ? ` · ignored ${c.ignored}` : ""}`,
  ];
  const secrets = r.wouldBeLost.filter(isSecret);
  if (r.wouldBeLost.length === 0) lines.push("✔ nothing would be lost: everything is in Git, made by the stack, or made by Kubernetes");
  else {
    lines.push(`✗ ${plural(r.wouldBeLost.length, "object")} would be lost in a rebuild from Git${c.madeFromLost ? ` (and ${plural(c.madeFromLost, "object")} made from them)` : ""}:`);
    if (secrets.length > 0) {
      lines.push(`  ! ${plural(secrets.length, "Secret")} not from Git: their values exist nowhere else`);
      for (const s of secrets) lines.push(`      ${describeObject(s)}`);
    }
    for (const [ns, kinds] of grouped(r.wouldBeLost)) {
      lines.push(`  ${ns === "" ? "cluster-scoped" : `namespace ${ns}`}:`);
      for (const [kind, names] of kinds) lines.push(`    ${kind} (${names.length}): ${names.join(", ")}`);
    }
  }
  if (r.data.length > 0) {
    const volumes = r.data.every((d) => d.kind !== "Secret");
    lines.push(`■ data Git does not hold (back it up separately): ${plural(r.data.length, volumes ? "volume" : "object")}`);
    for (const d of r.data) lines.push(`    ${describeObject(d)} (${d.from})`);
  }
  return `${lines.join("\n")}\n`;
}

export function formatMarkdown(r: AuditReport): string {
  const c = r.counts;
  const out = [
    `# What a rebuild from Git would lose: ${r.stack}`,
    "",
    `Cluster ${r.cluster}, reconciler ${r.reconciler}, ${r.startedAt}, ${plural(c.objects, "object")} in ${(r.durationMs / 1000).toFixed(1)} s.`,
    "",
    "| origin | objects |",
    "| --- | --- |",
    `| made by Kubernetes | ${c.kubernetes} |`,
    `| created by the stack | ${c.stack} |`,
    `| from Git | ${c.git} |`,
    `| made from those (owner references) | ${c.madeFromThose} |`,
    `| ignored (--ignore) | ${c.ignored} |`,
    `| **would be lost** | **${c.wouldBeLost}** |`,
    `| made from those that would be lost | ${c.madeFromLost} |`,
    `| **data Git does not hold** | **${c.data}** |`,
    "",
  ];
  const secrets = r.wouldBeLost.filter(isSecret);
  if (secrets.length > 0) {
    out.push("## Secrets not from Git", "", "Their values exist nowhere else: put them in Git (SOPS) or back them up.", "");
    for (const s of secrets) out.push(`- \`${describeObject(s)}\``);
    out.push("");
  }
  if (r.wouldBeLost.length > 0) {
    out.push("## Would be lost", "");
    for (const [ns, kinds] of grouped(r.wouldBeLost)) {
      out.push(`### ${ns === "" ? "cluster-scoped" : `namespace ${ns}`}`, "");
      for (const [kind, names] of kinds) out.push(`- ${kind} (${names.length}): ${names.map((n) => `\`${n}\``).join(", ")}`);
      out.push("");
    }
  }
  if (r.data.length > 0) {
    out.push("## Data Git does not hold", "", "Back these up separately.", "");
    for (const d of r.data) out.push(`- \`${describeObject(d)}\`: ${d.from}`);
    out.push("");
  }
  return out.join("\n");
}
