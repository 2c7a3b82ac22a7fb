import { createHash } from "node:crypto";
import type { CaptureInput } from "./capture-input";

/**
 * What an idempotency key is bound to: a SHA-256 of the submission as validated (text already NFC and
 * trimmed), without the key itself, serialised with object keys in sorted order so that two bodies that
 * say the same thing hash the same whatever their key order or spacing.
 */
export function submissionHash(input: CaptureInput): string {
  const { idempotencyKey: _key, ...submission } = input;
  return createHash("sha256").update(canonicalJson(submission)).digest("base64url");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
