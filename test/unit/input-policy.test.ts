import { describe, expect, it } from "vitest";
import { decodeUtf8, InputRefusedError, parseFormEncoded, textProblem } from "../../app/lib/input-policy";

const FORM = { maxValueLength: 100, maxFields: 5, source: "query" as const };

function refusal(run: () => unknown): { field: string; message: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputRefusedError);
    return { field: (error as InputRefusedError).field, message: (error as Error).message };
  }
  throw new Error("expected the input to be refused");
}

describe("the input policy", () => {
  it.each([
    ["NUL", "a\u0000b"],
    ["a C0 control", "a\u0001b"],
    ["escape", "a\u001bb"],
    ["DEL", "a\u007fb"],
    ["a C1 control (NEL)", "a\u0085b"],
    ["a C1 control (CSI)", "a\u009bb"],
    ["a line feed in a single-line field", "a\nb"],
    ["a tab in a single-line field", "a\tb"],
  ])("refuses %s", (_name, value) => {
    expect(textProblem(value, { maxLength: 100 })).toBe("contains a control character");
  });

  it("allows tab, CR and LF in a multi-line field, and nothing else", () => {
    expect(textProblem("line one\r\nline\ttwo", { maxLength: 100, multiline: true })).toBeNull();
    expect(textProblem("line\u0000", { maxLength: 100, multiline: true })).toBe("contains a control character");
    expect(textProblem("line\u000b", { maxLength: 100, multiline: true })).toBe("contains a control character");
  });

  it.each([["a lone high surrogate", "a\ud800b"], ["a lone low surrogate", "\udc00"], ["a reversed pair", "\udc00\ud800"]])(
    "refuses %s as invalid Unicode",
    (_name, value) => {
      expect(textProblem(value, { maxLength: 100 })).toBe("is not valid Unicode text");
    },
  );

  it.each([
    ["accents and emoji", "Zoë 👓 café"],
    ["a right-to-left override", "abc\u202edef"],
    ["spreadsheet formula prefixes", "=HYPERLINK(\"x\")"],
    ["markup and quotes", "<script>'\"&"],
    ["a byte order mark", "\ufeffx"],
  ])("keeps %s as typed", (_name, value) => {
    expect(textProblem(value, { maxLength: 100 })).toBeNull();
  });

  it("counts the limit per field", () => {
    expect(textProblem("x".repeat(10), { maxLength: 10 })).toBeNull();
    expect(textProblem("x".repeat(11), { maxLength: 10 })).toBe("must be at most 10 characters");
  });

  it.each([
    ["an overlong NUL", [0x61, 0xc0, 0x80]],
    ["a stray continuation byte", [0x80]],
    ["a truncated sequence", [0xe2, 0x82]],
    ["an encoded surrogate", [0xed, 0xa0, 0x80]],
  ])("refuses bytes with %s as UTF-8", (_name, bytes) => {
    expect(refusal(() => decodeUtf8(Uint8Array.from(bytes), "body"))).toEqual({ field: "body", message: "body is not valid UTF-8" });
  });

  it("parses a URL-encoded form, decoding + and UTF-8 percent-escapes", () => {
    const params = parseFormEncoded("q=caf%C3%A9+frames&product=&empty&q=2", FORM);
    expect([...params]).toEqual([["q", "café frames"], ["product", ""], ["empty", ""], ["q", "2"]]);
  });

  it("GIVEN a long field with its own rule THEN only that field may be longer (and multiline when its rule says so)", () => {
    const rule = { ...FORM, longFields: { body: { maxLength: 300, multiline: true } } };
    const long = encodeURIComponent(`{\n${"x".repeat(200)}\n}`);
    expect(parseFormEncoded(`body=${long}`, rule).get("body")).toHaveLength(204);
    expect(refusal(() => parseFormEncoded(`q=${long}`, rule))).toEqual({ field: "q", message: "q contains a control character" });
    expect(refusal(() => parseFormEncoded(`body=${"x".repeat(301)}`, rule))).toEqual({ field: "body", message: "body must be at most 300 characters" });
    expect(refusal(() => parseFormEncoded("body=a%00", rule))).toEqual({ field: "body", message: "body contains a control character" });
  });

  it.each([
    ["%00 in a value", "q=a%00", { field: "q", message: "q contains a control character" }],
    ["invalid percent-encoding", "q=%ZZ", { field: "q", message: "q has invalid percent-encoding" }],
    ["a lone %", "q=100%", { field: "q", message: "q has invalid percent-encoding" }],
    ["overlong UTF-8", "q=%C0%80", { field: "q", message: "q is not valid UTF-8" }],
    ["a value over the limit", `q=${"x".repeat(101)}`, { field: "q", message: "q must be at most 100 characters" }],
    ["a field name with a control character", "a%01=1", { field: "query", message: "query has a field whose name is not valid text" }],
    ["too many fields", "a=1&b=2&c=3&d=4&e=5&f=6", { field: "query", message: "query has more than 5 fields" }],
  ])("refuses %s, naming the field", (_name, text, expected) => {
    expect(refusal(() => parseFormEncoded(text, FORM))).toEqual(expected);
  });
});
