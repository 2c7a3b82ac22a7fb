/**
 * What a merchant saves for an "HTTP request" destination: one HTTPS request per lead, built from Liquid
 * templates over the lead's fields. This is data only; the rules live in validate-definition.ts and the
 * rendering in render-request.ts.
 */

export const HTTP_REQUEST_METHODS = ["POST", "PUT", "PATCH"] as const;
export type HttpRequestMethod = (typeof HTTP_REQUEST_METHODS)[number];

/** `json` sends `application/json`; `form` sends `application/x-www-form-urlencoded`. */
export const BODY_ENCODINGS = ["json", "form"] as const;
export type BodyEncoding = (typeof BODY_ENCODINGS)[number];

export const CONTENT_TYPES: Readonly<Record<BodyEncoding, string>> = Object.freeze({
  json: "application/json",
  form: "application/x-www-form-urlencoded",
});

/** A header whose value is a Liquid template, stored and shown as typed. */
export interface PlainHeader {
  name: string;
  secret: false;
  /** Liquid template; rendered per lead. */
  value: string;
}

/**
 * A header whose value is a credential (an API key, a Bearer token, Basic auth). The value is not part of
 * the definition: it is stored encrypted apart from it and handed to the renderer already decrypted, by
 * header name. It is sent as given (never a template) and shown masked everywhere.
 */
export interface SecretHeader {
  name: string;
  secret: true;
}

export type HeaderDefinition = PlainHeader | SecretHeader;

export interface HttpRequestDefinition {
  method: HttpRequestMethod;
  /**
   * `https://host[:port]/path?query`. The scheme, host and port are literal and fixed when saved (they
   * are what the address check vets); the path and query may use Liquid.
   */
  url: string;
  headers: HeaderDefinition[];
  bodyEncoding: BodyEncoding;
  /** Liquid template of the request body. */
  body: string;
}

/** Decrypted secret header values, keyed by header name (matched without regard to case). */
export type SecretHeaderValues = Readonly<Record<string, string>>;

/**
 * Limits on what a merchant may save and on what one render may produce. Every one of them is checked
 * by counting (characters, bytes, render steps, allocations), so a template that passes at save passes
 * at every send for leads of the same shape; only the time limit depends on the machine, and it is a
 * backstop well above what the step limit allows.
 */
export const HTTP_REQUEST_LIMITS = Object.freeze({
  /** Characters of the URL as saved, Liquid included. */
  maxUrlTemplateChars: 2_048,
  /** Characters of the URL after rendering. */
  maxRenderedUrlChars: 4_096,
  maxHeaders: 20,
  maxHeaderNameChars: 100,
  /** Characters of one header value template. */
  maxHeaderTemplateChars: 2_048,
  /** Characters of one header value after rendering, or of one secret value. */
  maxHeaderValueChars: 4_096,
  /** Characters of the body template. */
  maxBodyTemplateChars: 20_000,
  /** Bytes of the body after rendering. */
  maxBodyBytes: 64 * 1024,
  /** Tags, outputs and loop turns one render may go through. */
  maxRenderSteps: 10_000,
  /** Units of work counted by liquidjs's memoryLimit (characters and items built by filters and ranges). */
  maxRenderAllocations: 1_000_000,
  /** Wall-clock backstop for one render, in milliseconds. */
  maxRenderMs: 250,
});

/**
 * How much of a receiver's answer is read: more than the excerpt keeps (1 KiB), so that a secret value
 * the receiver echoes across the excerpt's end is still found whole and masked.
 */
export const RESPONSE_READ_BYTES = 2 * 1024;

/** Headers the receiver gets on every request of this kind, whatever the merchant configured. */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

/** How a secret header value is shown: always the same, so its length is not given away either. */
export const SECRET_MASK = "••••••••";
