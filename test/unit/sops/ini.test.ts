/**
 * The INI store (bootstrap/sops/ini.ts): gopkg.in/ini.v1's parsing rules one by one (the expected
 * trees are what ini.v1 v1.67.3 itself gives), and files sops cannot load. INI files made by the
 * real sops are in test/e2e/sops-ini.test.ts.
 */
import { loadIni } from "../../../bootstrap/sops/ini";
import { TreeParseError } from "../../../bootstrap/sops/tree";
import { type Sections, commentsOf, sectionsOf, view } from "./ini-helpers";

describe("loadIni reads INI as gopkg.in/ini.v1 v1.67.3 does (AllowNonUniqueSections, other options default)", () => {
  it.each<[string, string, Sections]>([
    ["an inline comment starts at the first # or ;, with or without a space", "k = a#b;c\nj = a ; b\n", [["DEFAULT", [["k", "a"], ["j", "a"]]]]],
    [
      "surrounding quotes are removed only when they are the only ones",
      "k = \"a\"\nq = 'b'\nr = \"a\"b\"\ns = \"a;b\"\n",
      [["DEFAULT", [["k", "a"], ["q", "b"], ["r", '"a"b"'], ["s", '"a']]]],
    ],
    ["backtick and triple-quoted values keep # and ; and newlines", 'k = `a # b`\nm = """x\ny"""\n', [["DEFAULT", [["k", "a # b"], ["m", "x\ny"]]]]],
    ["text after a closing backtick is dropped", "k = `v` trailing ; c\n", [["DEFAULT", [["k", "v"]]]]],
    ["a trailing backslash continues the value on the next lines, trimmed", "k = one \\\n   two \\\n three\nnext = 1\n", [["DEFAULT", [["k", "one two three"], ["next", "1"]]]]],
    ["a continuation ends at an empty line", "a = x\\\n\n[s]\n", [["DEFAULT", [["a", "x"]]], ["s", []]]],
    [
      "a backslash after a closing triple quote continues the quoted value",
      'k = """a\nb"""\\\nc"""\nj = 1\n',
      [["DEFAULT", [["k", 'a\nb"""\\\nc'], ["j", "1"]]]],
    ],
    ["a repeated key keeps its place and takes the later value", "k = 1\nj = 2\nk = 3\n", [["DEFAULT", [["k", "3"], ["j", "2"]]]]],
    ["`-` keys are numbered per section", "- = a\n- = b\n[s]\n- = c\n", [["DEFAULT", [["#1", "a"], ["#2", "b"]]], ["s", [["#1", "c"]]]]],
    [
      "the implicit DEFAULT section comes first; repeated headers are new sections",
      "top = 1\n[s]\nx = 2\n[DEFAULT]\ny = 3\n[s]\nz = 4\n",
      [["DEFAULT", [["top", "1"]]], ["s", [["x", "2"]]], ["DEFAULT", [["y", "3"]]], ["s", [["z", "4"]]]],
    ],
    ["section names are not trimmed and end at the last ]", "[ spaced ]\n[a]]\nk=1\n", [["DEFAULT", []], [" spaced ", []], ["a]", [["k", "1"]]]]],
    [
      "quoted key names may hold delimiters; the first = or : splits an unquoted one",
      '`a=b` = 1\n"c:d" : 2\n"""e"f""" = 3\nk:v=w\n',
      [["DEFAULT", [["a=b", "1"], ["c:d", "2"], ['e"f', "3"], ["k", "v=w"]]]],
    ],
    ["keys without a value are empty", "k =\nj:\nl =   \n", [["DEFAULT", [["k", ""], ["j", ""], ["l", ""]]]]],
    ["Unicode spaces are trimmed like Go's unicode.IsSpace", "k = \u00a0v\u3000\n\u2028j = w\u0085\n", [["DEFAULT", [["k", "v"], ["j", "w"]]]]],
    ["a U+FEFF that is not the leading BOM is not a space", "\uFEFF\uFEFFk = v\n", [["DEFAULT", [["\uFEFFk", "v"]]]]],
    ["CR alone does not end a line", "a = 1\rb = 2\n", [["DEFAULT", [["a", "1\rb = 2"]]]]],
  ])("%s", (_, text, expected) => {
    expect(view(text)).toEqual(expected);
  });

  it("skips a UTF-16 BOM's two bytes like ini.v1", () => {
    expect(view(Buffer.from([0xfe, 0xff, ...Buffer.from("k = v\n")]))).toEqual([["DEFAULT", [["k", "v"]]]]);
    expect(view(Buffer.from([0xff, 0xfe, ...Buffer.from("k = v\n")]))).toEqual([["DEFAULT", [["k", "v"]]]]);
  });

  it("collects comment lines and inline comments onto the next section or key, stripped like sops's stripCommentChar", () => {
    const text = "# one\n;two\n[s] ; three\n#four\nk = v ; five\nj = w\nl = \"\"\"a\nb\"\"\" ; six\n# dropped at the end\n";
    expect(commentsOf(text)).toEqual([
      ["s", "one\n;two\n; three"],
      ["s", "four\n; five"],
      ["s", "six"],
    ]);
    // A repeated key takes the later comment, even none.
    expect(commentsOf("; first\nk = 1\nk = 2\n")).toEqual([]);
    expect(commentsOf(";;  x\n#  # y\nk = 1\n")).toEqual([["DEFAULT", "x\n#  # y"]]);
  });

  it("takes the [sops] section as flattened metadata, with literal \\n turned into newlines", () => {
    const parsed = loadIni(
      Buffer.from(
        "k = v\n[sops]\n; a comment\nage__list_0__map_enc = a\\nb\nage__list_0__map_recipient = r\nlastmodified = 2024-01-02T03:04:05Z\nmac = m\nversion = 3.13.3\n",
      ),
    );
    expect(sectionsOf(parsed)).toEqual([["DEFAULT", [["k", "v"]]]]);
    expect(parsed.comments).toEqual([]);
    expect(parsed.metadata).toEqual({
      t: "map",
      items: [
        {
          key: "age",
          value: {
            t: "list",
            items: [
              {
                t: "map",
                items: [
                  { key: "enc", value: { t: "str", s: "a\nb" } },
                  { key: "recipient", value: { t: "str", s: "r" } },
                ],
              },
            ],
          },
        },
        { key: "lastmodified", value: { t: "str", s: "2024-01-02T03:04:05Z" } },
        { key: "mac", value: { t: "str", s: "m" } },
        { key: "version", value: { t: "str", s: "3.13.3" } },
      ],
    });
    expect(loadIni(Buffer.from("k = v\n")).metadata).toBeUndefined();
    expect(loadIni(Buffer.from("k = v\n[sops]\n")).metadata).toBeUndefined();
  });
});

describe("INI files sops cannot load", () => {
  const SECRET = "hunter2";

  it.each<[string, string, number]>([
    ["a section header without ]", `ok = 1\n[${SECRET}\n`, 2],
    ["a line that is not a section, a comment or a key", `ok = 1\n${SECRET} without a delimiter\n`, 2],
    ["a line starting with the delimiter", `= ${SECRET}\n`, 1],
    ["a quoted key without its closing quote", `"${SECRET} = x\n`, 1],
    ["a quoted key without a delimiter after it", `"${SECRET}" x\n`, 1],
    ["an empty section name", `[]\nk = ${SECRET}\n`, 1],
    ["an empty quoted key name", `"" = ${SECRET}\n`, 1],
    ["a triple-quoted value never closed", `a = 1\nk = """${SECRET}\nstill open ${SECRET}\n`, 2],
    ["a backtick value never closed", `a = 1\n\nk = \`${SECRET}`, 3],
    ["two [sops] sections", `[sops]\nmac = ${SECRET}\n[sops]\nversion = ${SECRET}\n`, 3],
    ["flattened metadata with a gap in a list", `[sops]\nage__list_1__map_enc = ${SECRET}\n`, 1],
  ])("%s: a TreeParseError with the line and no content", (_, text, line) => {
    let error: unknown;
    try {
      loadIni(Buffer.from(text));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TreeParseError);
    const message = (error as Error).message;
    expect(message).toContain(`line ${line}`);
    expect(message).not.toContain(SECRET);
  });

  it("a file that is not UTF-8 is read byte for byte, as ini.v1 reads it: an invalid byte is never a space, a valid U+0085 is", () => {
    const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));
    const content = bytes("a = x\nb = ", [0xff, 0xfe], "y\n[s", [0xe9], "]\nk = ", [0xc2, 0x85], "v", [0xc2, 0x85], "\nc = ", [0x85], "z", [0x85], "\n");
    const parsed = loadIni(content);
    expect(parsed.encoding).toBe("latin1");
    const latin1 = (...parts: (string | number[])[]): string => bytes(...parts).toString("latin1");
    expect(sectionsOf(parsed)).toEqual([
      ["DEFAULT", [["a", "x"], ["b", latin1([0xff, 0xfe], "y")]]],
      [latin1("s", [0xe9]), [["k", "v"], ["c", latin1([0x85], "z", [0x85])]]],
    ]);
  });

});
