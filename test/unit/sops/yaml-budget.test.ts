/**
 * The YAML budgets. The alias cases were run through sops 3.13.3 itself: it answered
 * "yaml: document contains excessive aliasing" exactly for those this test expects refused.
 */
import * as YAML from "yaml";
import { CYCLIC_ANCHOR, aliasTargets, estimateYamlNodes, expandedNodes, firstDocumentAliasing } from "../../../bootstrap/sops/yaml-budget";
import { aliasBomb } from "../../fixtures/hostile-corpus";

function firstDoc(text: string): YAML.Document {
  return YAML.parseAllDocuments(text, { version: "1.2", schema: "failsafe", uniqueKeys: false })[0] as YAML.Document;
}

const refusal = (text: string): string | undefined => {
  const doc = firstDoc(text);
  return firstDocumentAliasing(doc, aliasTargets(doc));
};

/** A list of `width` strings, then a list aliasing it `uses` times. */
const reused = (width: number, uses: number): string => `a: &a [${Array(width).fill('"x"').join(",")}]\nb: [${Array(uses).fill("*a").join(",")}]\n`;

describe("firstDocumentAliasing (yaml.v3's rule, as sops applies it to the first document)", () => {
  it.each([
    ["1,000 strings aliased 120 times", true, reused(1000, 120)],
    ["1,000 strings aliased 200 times", true, reused(1000, 200)],
    ["1,000 strings aliased 90 times", false, reused(1000, 90)],
    ["1,000 strings aliased 50 times", false, reused(1000, 50)],
    ["2 strings aliased 600 times", false, reused(2, 600)],
    ["an alias bomb of 9 levels", true, aliasBomb(9)],
  ])("%s: refused %s", (_, refused, text) => {
    expect(refusal(text)).toBe(refused ? "document contains excessive aliasing" : undefined);
  });

  it("refuses a map of 1,000 keys merged 200 times, and accepts one merged 101 times into small maps", () => {
    const keys = `a: &a {${Array.from({ length: 1000 }, (_, i) => `k${i}: x`).join(", ")}}\n`;
    expect(refusal(keys + Array.from({ length: 200 }, (_, i) => `m${i}: {<<: *a}\n`).join(""))).toBe("document contains excessive aliasing");
    const small = "d: &d {replicas: 1, image: app}\n" + Array.from({ length: 101 }, (_, i) => `s${i}:\n  <<: *d\n  port: ${i}\n`).join("");
    expect(refusal(small)).toBeUndefined();
  });

  it("costs the document's size, not its expansion", () => {
    const doc = firstDoc(aliasBomb(30));
    const started = Date.now();
    expect(expandedNodes(doc, aliasTargets(doc))).toBe(1e12);
    expect(firstDocumentAliasing(doc, aliasTargets(doc))).toBe("document contains excessive aliasing");
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("expandedNodes", () => {
  it("counts each alias as its target's nodes", () => {
    const doc = firstDoc("a: &a [x, y]\nb: [*a, *a]\n");
    // map, a, [x, y] (3), b, [alias→3, alias→3]: 1 + 1 + 3 + 1 + (1 + 4 + 4)
    expect(expandedNodes(doc, aliasTargets(doc))).toBe(15);
  });

  it("finds an anchor whose value contains an alias to itself", () => {
    const doc = firstDoc("a: &a [x, *a]\n");
    expect(expandedNodes(doc, aliasTargets(doc))).toBe(CYCLIC_ANCHOR);
  });
});

describe("estimateYamlNodes", () => {
  it("counts two per line with content and one per comma, not comments nor the commas of encrypted values", () => {
    expect(estimateYamlNodes("a: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nb: [1,2,3]\n# c,c,c\n\nd: ENC[AES,cut\ne: 1")).toBe(10);
  });

  it("sees a 2 MB flow list as a million nodes", () => {
    expect(estimateYamlNodes(`x: [${"1,".repeat(1_000_000)}1]\n`)).toBe(1_000_002);
  });
});
