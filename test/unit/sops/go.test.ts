import {
  GoRegExpError,
  compileGoRegExp,
  formatGoFloat,
  formatRfc3339,
  marshalGoTime,
  parseGoAtoi,
  parseGoBool,
  parseGoFloat,
  parseRfc3339,
  parseYamlTimestamp,
  resolveYamlPlain,
} from "../../../bootstrap/sops/go";

describe("formatGoFloat (strconv.FormatFloat(f, 'f', -1, 64))", () => {
  it.each([
    [0.1, "0.1"],
    [3.14, "3.14"],
    [100, "100"],
    [1e21, "1000000000000000000000"],
    [1e-7, "0.0000001"],
    [-0, "-0"],
    [0, "0"],
    [-2.5, "-2.5"],
    [123456789.123456789, "123456789.12345679"],
    [5e-324, `0.${"0".repeat(323)}5`],
    [1.7976931348623157e308, "17976931348623157" + "0".repeat(292)],
    [NaN, "NaN"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
  ])("%p → %s", (f, s) => {
    expect(formatGoFloat(f)).toBe(s);
  });
});

describe("Go parsing", () => {
  it("parses like strconv.Atoi, ParseBool and ParseFloat", () => {
    expect(parseGoAtoi("+7")).toBe(7n);
    expect(parseGoAtoi("-0")).toBe(0n);
    expect(parseGoAtoi("9223372036854775807")).toBe(9223372036854775807n);
    expect(parseGoAtoi("9223372036854775808")).toBeUndefined();
    expect(parseGoAtoi("0x1F")).toBeUndefined();
    expect(parseGoAtoi("1_000")).toBeUndefined();
    expect(parseGoBool("True")).toBe(true);
    expect(parseGoBool("t")).toBe(true);
    expect(parseGoBool("0")).toBe(false);
    expect(parseGoBool("yes")).toBeUndefined();
    expect(parseGoFloat("1e21")).toBe(1e21);
    expect(parseGoFloat("+Inf")).toBe(Infinity);
    expect(parseGoFloat("-infinity")).toBe(-Infinity);
    expect(parseGoFloat("NaN")).toBeNaN();
    expect(parseGoFloat("1e400")).toBeUndefined();
    expect(parseGoFloat("0x1p-2")).toBeUndefined();
  });
});

describe("resolveYamlPlain (yaml.v3 resolve for plain scalars)", () => {
  const cases: [string, unknown][] = [
    ["1", { t: "int", i: 1n }],
    ["-0", { t: "int", i: 0n }],
    ["0x1F", { t: "int", i: 31n }],
    ["017", { t: "int", i: 15n }],
    ["0o17", { t: "int", i: 15n }],
    ["0b101", { t: "int", i: 5n }],
    ["-0b101", { t: "int", i: -5n }],
    ["1_000", { t: "int", i: 1000n }],
    ["08", { t: "float", f: 8 }],
    ["1e21", { t: "float", f: 1e21 }],
    [".5", { t: "float", f: 0.5 }],
    ["-0.0", { t: "float", f: -0 }],
    ["+.inf", { t: "float", f: Infinity }],
    ["1e400", { t: "str", s: "1e400" }],
    ["9223372036854775807", { t: "int", i: 9223372036854775807n }],
    ["9223372036854775808", { t: "uint" }],
    ["-9223372036854775809", { t: "float", f: -9223372036854775809 }],
    ["true", { t: "bool", b: true }],
    ["FALSE", { t: "bool", b: false }],
    ["yes", { t: "str", s: "yes" }],
    ["on", { t: "str", s: "on" }],
    ["~", { t: "null" }],
    ["", { t: "null" }],
    ["Null", { t: "null" }],
    ["hello", { t: "str", s: "hello" }],
    ["2024-02-30", { t: "str", s: "2024-02-30" }],
  ];
  it.each(cases)("%j", (input, expected) => {
    expect(resolveYamlPlain(input)).toEqual(expected);
  });

  it("resolves timestamps and prints them like time.Time.MarshalText", () => {
    const ts = (s: string): string => {
      const r = resolveYamlPlain(s);
      if (r.t !== "time") throw new Error(`${s} is not a timestamp`);
      return marshalGoTime(r.time);
    };
    expect(ts("2024-01-02")).toBe("2024-01-02T00:00:00Z");
    expect(ts("2024-1-2")).toBe("2024-01-02T00:00:00Z");
    expect(ts("2001-12-14t21:59:43.10-05:00")).toBe("2001-12-14T21:59:43.1-05:00");
    expect(ts("2001-12-14 21:59:43.123456789123")).toBe("2001-12-14T21:59:43.123456789Z");
    expect(ts("2020-02-29T23:59:59+00:00")).toBe("2020-02-29T23:59:59Z");
    expect(parseYamlTimestamp("2024-01-02T10:00:00")).toBeUndefined();
    expect(parseYamlTimestamp("2023-02-29")).toBeUndefined();
    expect(parseYamlTimestamp("2024-01-02 24:00:00")).toBeUndefined();
  });

  it("re-formats lastmodified as RFC 3339 (the MAC's additional data)", () => {
    const t = parseRfc3339("2024-11-12T13:33:42.123+02:00");
    expect(t && formatRfc3339(t)).toBe("2024-11-12T13:33:42+02:00");
    expect(parseRfc3339("2024-11-12 13:33:42Z")).toBeUndefined();
  });
});

describe("compileGoRegExp", () => {
  it("accepts the RE2 forms SOPS configs use", () => {
    expect(compileGoRegExp("^(data|stringData)$").test("stringData")).toBe(true);
    expect(compileGoRegExp("(?i)^PASSWORD").test("password_x")).toBe(true);
    expect(compileGoRegExp("(?P<x>a)b\\z").test("ab")).toBe(true);
    expect(compileGoRegExp("^[[:upper:]]+$").test("ABC")).toBe(true);
    // Go accepts (?U) (ungreedy) and refuses lookaround, \Z and repeats over 1000, as RE2 does.
    expect(compileGoRegExp("(?U)a+").test("aaa")).toBe(true);
    for (const bad of ["(?=a)", "(?<=a)b", "a\\Z", "a{1001}", "(a"]) expect(() => compileGoRegExp(bad)).toThrow(GoRegExpError);
  });
});

describe("compileGoRegExp on hostile patterns", () => {
  it("matches a catastrophic pattern in time linear in the input, as Go's RE2 does", () => {
    const started = Date.now();
    const regex = compileGoRegExp("(a+)+$");
    for (let i = 0; i < 100; i++) expect(regex.test(`${"a".repeat(10_000)}!`)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("gives RE2's reason for a pattern Go refuses", () => {
    expect(() => compileGoRegExp("(?=secret)")).toThrow(/invalid or unsupported Perl syntax/);
  });
});

describe("parseGoFloat on hostile input", () => {
  it("rejects 100,000 digits and a letter at once (no quadratic backtracking)", () => {
    const started = Date.now();
    expect(parseGoFloat(`${"1".repeat(100_000)}x`)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
