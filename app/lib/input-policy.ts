import { z } from "zod";

/**
 * The one policy for text that enters the app from outside (storefront capture fields, admin query
 * parameters, form fields, filters, ids, route parameters, the filters inside an export ticket): valid
 * UTF-8, well-formed Unicode, no NUL or other C0/C1 control character (tab, CR and LF only where a field
 * allows line breaks), and a length limit per field. PostgreSQL refuses NUL outright and silently
 * replaces lone surrogates, and control characters corrupt logs, CSV cells and CRM records, so such
 * text is refused with the field's name before it reaches any query, never stored altered.
 *
 * Everything else (accents, emoji, right-to-left marks, spreadsheet formula prefixes, quotes, markup)
 * is stored as typed and encoded where it is output.
 */

export interface TextRule {
  /** In UTF-16 code units, as JavaScript and zod count. */
  maxLength: number;
  /** Tab, CR and LF are allowed (free text); every other control character is still refused. */
  multiline?: boolean;
}

/** A text that breaks the policy; `field` names where it was found (a form field, a JSON path, "body"). */
export class InputRefusedError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "InputRefusedError";
  }
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_EXCEPT_LINE_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with `value` under `rule`, as the end of a sentence ("contains …"), or null when nothing is. */
export function textProblem(value: string, rule: TextRule): string | null {
  if (LONE_SURROGATE.test(value)) return "is not valid Unicode text";
  if ((rule.multiline ? CONTROL_EXCEPT_LINE_BREAKS : CONTROL).test(value)) return "contains a control character";
  if (value.length > rule.maxLength) return `must be at most ${rule.maxLength} characters`;
  return null;
}

/** Returns `value` when it passes `rule`; throws InputRefusedError naming `field` otherwise. */
export function checkText(field: string, value: string, rule: TextRule): string {
  const problem = textProblem(value, rule);
  if (problem) throw new InputRefusedError(field, `${field} ${problem}`);
  return value;
}

/** The policy as a zod refinement, for schemas that validate a field among others. */
export function policyText(rule: TextRule) {
  return z.string().superRefine((value, ctx) => {
    const problem = textProblem(value, rule);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  });
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Bytes as UTF-8 text; invalid sequences (overlong forms, stray continuation bytes, encoded surrogates) are refused. */
export function decodeUtf8(bytes: Uint8Array, field: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new InputRefusedError(field, `${field} is not valid UTF-8`);
  }
}

/** Limits for `application/x-www-form-urlencoded` text (admin query strings and form bodies). */
export interface FormRule {
  /** Longest value of any field; the field's own schema may allow less. */
  maxValueLength: number;
  maxFields: number;
  /** Named in errors about the whole text, and for a field whose own name is unreadable. */
  source: "query" | "body";
  /** Fields allowed more than `maxValueLength` (a template, a list as JSON), by name: their own rule. */
  longFields?: Readonly<Record<string, TextRule>>;
}

export const ADMIN_FORM_RULE: Omit<FormRule, "source"> = { maxValueLength: 4096, maxFields: 50 };
const FIELD_NAME_RULE: TextRule = { maxLength: 100 };

/**
 * Parses URL-encoded text strictly: a `%` not followed by two hex digits, or percent-encoded bytes that are
 * not UTF-8, is refused rather than passed through literally or replaced with U+FFFD as URLSearchParams
 * does; then every name and value is held to the text policy.
 */
export function parseFormEncoded(text: string, rule: FormRule): URLSearchParams {
  const params = new URLSearchParams();
  const pairs = text.split("&").filter((pair) => pair !== "");
  if (pairs.length > rule.maxFields) throw new InputRefusedError(rule.source, `${rule.source} has more than ${rule.maxFields} fields`);
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? "" : pair.slice(eq + 1);
    let name: string;
    try {
      name = checkText("name", percentDecode(rawName, "name"), FIELD_NAME_RULE);
    } catch {
      throw new InputRefusedError(rule.source, `${rule.source} has a field whose name is not valid text`);
    }
    const value = percentDecode(rawValue, name);
    const own = rule.longFields && Object.hasOwn(rule.longFields, name) ? rule.longFields[name] : undefined;
    params.append(name, checkText(name, value, own ?? { maxLength: rule.maxValueLength }));
  }
  return params;
}

function percentDecode(raw: string, field: string): string {
  const plus = raw.replaceAll("+", " ");
  if (!plus.includes("%")) return plus;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < plus.length; i++) {
    const ch = plus[i];
    if (ch === "%") {
      const hex = plus.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new InputRefusedError(field, `${field} has invalid percent-encoding`);
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      // A character typed as is (a browser may send non-ASCII unencoded); its own UTF-8 bytes.
      const code = plus.codePointAt(i)!;
      const char = String.fromCodePoint(code);
      bytes.push(...encoder.encode(char));
      i += char.length - 1;
    }
  }
  return decodeUtf8(Uint8Array.from(bytes), field);
}
