/**
 * CSV per RFC 4180 (CRLF line ends, fields with a quote, comma, CR or LF quoted, quotes doubled), with
 * spreadsheet formula injection neutralised: a cell that starts with = + - @ tab or CR gets a leading
 * apostrophe, so Excel, Sheets and Numbers show it as text instead of running it.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  let text = typeof value === "string" ? value : String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(values: ReadonlyArray<string | number | boolean | null | undefined>): string {
  return values.map(csvCell).join(",") + "\r\n";
}
