/** The form of an encrypted value, read as sops's regexp reads it, in linear time. */
import { hasEncForm, parseEncValue } from "../../../bootstrap/sops/values";

// sops's regexp (aes/cipher.go) as a backtracking JavaScript regexp: the reference on short strings.
const SOPS_RE = /^ENC\[AES256_GCM,data:([^\n]+),iv:([^\n]+),tag:([^\n]+),type:([^\n]+)\]/;
const PARTS = [",iv:", ",tag:", ",type:", "]", "QUFB", "x", ",", "\n", "AAAAAAAAAAAAAAAAAAAAAA=="];

describe("hasEncForm and parseEncValue", () => {
  it("agree with sops's regexp, groups included, on 20,000 random strings", () => {
    let seed = 7;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return (seed >>> 8) % n;
    };
    let matched = 0;
    for (let i = 0; i < 20_000; i++) {
      // The value's five places, each a few random parts (empty ones, extra separators, newlines).
      const part = (): string => Array.from({ length: next(4) }, () => PARTS[next(PARTS.length)]).join("");
      const s = `${next(8) === 0 ? "ENC[" : "ENC[AES256_GCM,data:"}${part()},iv:${part()},tag:${part()},type:${part()}]${part()}`;
      const m = SOPS_RE.exec(s);
      expect({ s, form: hasEncForm(s) }).toEqual({ s, form: m !== null });
      if (!m) continue;
      matched++;
      const parsed = parseEncValue(s);
      // The type group is the fourth: the only one returned as text.
      if (typeof parsed !== "string") expect(parsed.type).toBe(m[4]);
    }
    expect(matched).toBeGreaterThan(500);
  });

  it("reads a value of repeated separators in linear time (a backtracking regexp takes minutes)", () => {
    const hostile = `ENC[AES256_GCM,data:${",iv:,tag:,type:".repeat(100_000)}`;
    const started = Date.now();
    expect(hasEncForm(hostile)).toBe(false);
    expect(hasEncForm(`${hostile}]`)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
