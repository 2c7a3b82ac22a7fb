import { describe, expect, it } from "vitest";
import { csvCell, csvRow } from "../../app/leads/csv";
import { parseCsv } from "../support/csv";

describe("CSV cells", () => {
  it.each([
    ["=HYPERLINK(\"http://evil\",\"x\")", "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""],
    ["+1 555 0100", "'+1 555 0100"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tcmd", "'\tcmd"],
    ["\rcmd", "\"'\rcmd\""],
  ])("neutralises a formula-looking cell %j", (input, expected) => {
    expect(csvCell(input)).toBe(expected);
  });

  it.each([
    ["plain", "plain"],
    ["a,b", "\"a,b\""],
    ["say \"hi\"", "\"say \"\"hi\"\"\""],
    ["line\nbreak", "\"line\nbreak\""],
    ["Zoë Ångström 👓", "Zoë Ångström 👓"],
    ["", ""],
  ])("quotes %j per RFC 4180 only when needed", (input, expected) => {
    expect(csvCell(input)).toBe(expected);
  });

  it("writes null as an empty cell, booleans and numbers as text, and ends rows with CRLF", () => {
    expect(csvRow([null, undefined, true, 3, "x"])).toBe(",,true,3,x\r\n");
  });

  it("round-trips through a strict reader", () => {
    const values = ["a,b", "q\"uote", "=1+1", "multi\r\nline", "ünïcode"];
    const [row] = parseCsv(csvRow(values));
    expect(row).toEqual(["a,b", "q\"uote", "'=1+1", "multi\r\nline", "ünïcode"]);
  });
});
