import { HTTP_REQUEST_LIMITS, IDEMPOTENCY_KEY_HEADER } from "./definition";

/**
 * Which headers a merchant may set, and what a header value may contain. A value is sent on one line as
 * plain ASCII: a CR or LF would let a template (or a shopper's input inside it) add headers or a second
 * request, and Node refuses anything else outside printable ASCII and tab with an exception.
 */

/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Printable ASCII and horizontal tab. */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

/**
 * Connection-level headers (RFC 9110 §7.6.1 and the ones Node manages), which describe one hop and
 * would desynchronise the connection; and headers the product sets itself.
 */
const REFUSED: Readonly<Record<string, string>> = Object.freeze({
  connection: "it controls the connection, which the app manages",
  "keep-alive": "it controls the connection, which the app manages",
  "proxy-connection": "it controls the connection, which the app manages",
  "transfer-encoding": "the app sets how the body is sent",
  te: "it controls the connection, which the app manages",
  trailer: "the app sends no trailers",
  upgrade: "it controls the connection, which the app manages",
  "proxy-authorization": "it is meant for proxies, not the receiver",
  "proxy-authenticate": "it is meant for proxies, not the receiver",
  expect: "the app sends the body at once",
  host: "the host comes from the URL",
  "content-length": "the app sets it from the body",
  "content-type": "it follows the body encoding you choose (JSON or form)",
  [IDEMPOTENCY_KEY_HEADER]: "the app sets it to the delivery id, so the receiver can ignore a repeated delivery",
});

/** Header name prefixes the product reserves for its own signing headers. */
const RESERVED_PREFIXES = ["x-tryoncloud-", "webhook-"];

/** Why this header name cannot be used, or undefined when it can. */
export function headerNameProblem(name: string): string | undefined {
  if (name.length === 0) return "Enter a header name";
  if (name.length > HTTP_REQUEST_LIMITS.maxHeaderNameChars) {
    return `A header name can be at most ${HTTP_REQUEST_LIMITS.maxHeaderNameChars} characters`;
  }
  if (!TOKEN.test(name)) {
    return "A header name can only use letters, digits and ! # $ % & ' * + - . ^ _ ` | ~ (no spaces or colons)";
  }
  const lower = name.toLowerCase();
  const refused = REFUSED[lower];
  if (refused) return `The ${name} header cannot be set here: ${refused}`;
  if (RESERVED_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
    return `Headers starting with ${RESERVED_PREFIXES.join(" or ")} are reserved for the app's signature headers`;
  }
  return undefined;
}

/** Why this (rendered or secret) header value cannot be sent, or undefined when it can. */
export function headerValueProblem(value: string): string | undefined {
  if (value.length > HTTP_REQUEST_LIMITS.maxHeaderValueChars) {
    return `A header value can be at most ${HTTP_REQUEST_LIMITS.maxHeaderValueChars.toLocaleString("en-US")} characters`;
  }
  if (/[\r\n]/.test(value)) return "A header value must be on one line (it contains a line break)";
  if (!FIELD_VALUE.test(value)) {
    return "A header value can only contain plain ASCII text (letters, digits, punctuation and spaces)";
  }
  return undefined;
}
