import { scrubText } from "../../lib/logger.server";

/**
 * Making what Klaviyo sends back safe to keep and show: its error texts can quote what we sent (the
 * shopper's email) and, in principle, the key. Everything that leaves this folder as a message or an
 * excerpt passes through `scrubKlaviyoText` with the key in use.
 */

/** Klaviyo private keys are `pk_` and an alphanumeric string; any such token is masked, ours or not. */
const PRIVATE_KEY_PATTERN = /\bpk_[A-Za-z0-9_-]{6,}/g;

/** What a request carried that Klaviyo's answer must never be allowed to repeat to us. */
export interface KnownSecrets {
  apiKey?: string;
  /** The shopper's email: masked even when it is malformed enough to escape the email pattern. */
  email?: string;
}

export function scrubKlaviyoText(text: string, secrets: KnownSecrets): string {
  let out = text;
  // The exact values first: the key may not look like `pk_...`, the email may not look like an email.
  if (secrets.apiKey && secrets.apiKey.length >= 4) out = out.split(secrets.apiKey).join("[key]");
  if (secrets.email && secrets.email.length >= 3) out = out.split(secrets.email).join("[email]");
  return scrubText(out.replace(PRIVATE_KEY_PATTERN, "[key]"));
}

/** One item of a JSON:API error document, as Klaviyo sends them (`errors[]`). */
export interface KlaviyoErrorItem {
  code?: string;
  title?: string;
  detail?: string;
}

/** A Klaviyo answer's JSON document, or undefined when the body is not JSON (or was cut short). */
export function jsonDocumentOf(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The `errors[]` of a Klaviyo answer, or null when the body is not a JSON:API error document. */
export function klaviyoErrorsOf(body: Buffer): KlaviyoErrorItem[] | null {
  const errors = (jsonDocumentOf(body) as { errors?: unknown } | null | undefined)?.errors;
  if (!Array.isArray(errors)) return null;
  return errors
    .filter((e): e is Record<string, unknown> => typeof e === "object" && e !== null)
    .map((e) => ({
      code: typeof e.code === "string" ? e.code : undefined,
      title: typeof e.title === "string" ? e.title : undefined,
      detail: typeof e.detail === "string" ? e.detail : undefined,
    }));
}

const MAX_DETAILS = 3;
const MAX_DETAIL_CHARS = 300;

/**
 * Klaviyo's own words for what went wrong (`errors[].detail`, else the title), scrubbed, at most three,
 * each cut short; empty when it gave none.
 */
export function klaviyoErrorText(errors: readonly KlaviyoErrorItem[] | null, secrets: KnownSecrets): string {
  if (!errors) return "";
  // Scrubbed before it is cut: half an email or half a key would no longer be recognised.
  const texts = errors
    .map((e) => scrubKlaviyoText((e.detail ?? e.title ?? "").replace(/\s+/g, " ").trim(), secrets))
    .filter((t) => t.length > 0);
  return [...new Set(texts)]
    .slice(0, MAX_DETAILS)
    .map((t) => (t.length > MAX_DETAIL_CHARS ? `${t.slice(0, MAX_DETAIL_CHARS - 1)}…` : t))
    .join("; ");
}
