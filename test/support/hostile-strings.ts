import { textProblem } from "../../app/lib/input-policy";

/**
 * Strings that break naive handling of text: what attackers and careless clients send. Each has a name
 * (for test titles) and whether the app's input policy must refuse it in a single-line field.
 */
export const HOSTILE_STRINGS: [name: string, value: string][] = [
  ["NUL", "a\u0000b"],
  ["a trailing NUL", "product\u0000"],
  ["a C0 control", "a\u0001b"],
  ["an ANSI escape sequence", "\u001b[31mred\u001b[0m"],
  ["DEL", "a\u007f"],
  ["a C1 control (NEL)", "a\u0085b"],
  ["a C1 control (CSI)", "\u009b31m"],
  ["a vertical tab", "a\u000bb"],
  ["a line feed", "two\nlines"],
  ["a carriage return before a formula", "\r=1+1"],
  ["a tab before a formula", "\t=1+1"],
  ["a lone high surrogate", "a\ud800b"],
  ["a lone low surrogate", "\udc00"],
  ["a right-to-left override", "\u202eexe.txt"],
  ["bidi isolates", "\u2067abc\u2069"],
  ["zero-width characters", "a\u200b\u200d\u2060b"],
  ["a byte order mark", "\ufeffhello"],
  ["noncharacters", "\ufffe\uffff"],
  ["a line separator", "a\u2028b"],
  ["an emoji and a combining accent", "Lunettes 👓 cafe\u0301"],
  ["a spreadsheet formula", "=HYPERLINK(\"http://evil.example\",\"click\")"],
  ["a plus formula", "+SUM(A1:A9)"],
  ["a minus formula", "-2+3"],
  ["an at formula", "@cmd"],
  ["a literal %00", "%00"],
  ["invalid percent-encoding as text", "%ZZ%"],
  ["a backslash escape as text", "\\u0000"],
  ["SQL", "'; DROP TABLE \"Lead\"; --"],
  ["markup", "<img src=x onerror=alert(1)>"],
  ["a 300-character value", "x".repeat(300)],
];

/** Raw percent-encoded query values whose bytes are not valid UTF-8 or not valid percent-encoding. */
export const HOSTILE_PERCENT_ENCODINGS: [name: string, encoded: string][] = [
  ["percent-encoded NUL", "%00"],
  ["an overlong NUL", "%C0%80"],
  ["an encoded surrogate", "%ED%A0%80"],
  ["a stray continuation byte", "%80"],
  ["a truncated sequence", "%E2%82"],
  ["invalid percent-encoding", "%ZZ"],
  ["a lone percent sign", "%"],
];

/** True when the input policy must refuse `value` whatever the field's length limit (line breaks only where allowed). */
export function refusedByPolicy(value: string, options: { multiline?: boolean } = {}): boolean {
  return textProblem(value, { maxLength: Number.MAX_SAFE_INTEGER, multiline: options.multiline }) !== null;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** True when text holds a character no stored row may hold. */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}
