import { STATUS_CODES } from "node:http";
import { scrubText } from "../lib/logger.server";
import type { AttemptFailure, AttemptResult, DeliveryErrorCode } from "./types";

/**
 * Turning what happened on the wire into an AttemptResult with words the merchant can act on: the answer's
 * status, or the network or TLS error that prevented one. No message carries a secret, a signature or the
 * payload; the response excerpt is scrubbed of anything that looks like an email or a signature.
 */

/** How much of the endpoint's answer is kept to show the merchant. */
export const RESPONSE_EXCERPT_BYTES = 1024;

/**
 * Retry-After as milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Anything else
 * is ignored. A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse accepts numbers and many loose shapes; an HTTP date always starts with a day name.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

export function excerptOf(bytes: Buffer): string {
  // Streaming decode drops a multi-byte character cut in half by the byte limit instead of mangling it.
  const text = new TextDecoder("utf-8").decode(bytes.subarray(0, RESPONSE_EXCERPT_BYTES), { stream: true });
  return scrubText(text);
}

/** `404 Not Found`, or the bare number for a status Node has no reason phrase for. */
export function statusText(status: number): string {
  const reason = STATUS_CODES[status];
  return reason ? `${status} ${reason}` : String(status);
}

/** `1 second`, `30 seconds`: a wait in words, rounded up. */
export function secondsInWords(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s === 1 ? "1 second" : `${s} seconds`;
}

export interface AnswerFacts {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  excerpt: string;
  durationMs: number;
  address: string;
  now: Date;
  /** False when the connection closed after the status line, before the answer ended. */
  complete?: boolean;
}

/**
 * A complete 2xx succeeds; 3xx is never followed; 410 pauses the endpoint; anything else is retried later.
 * A 2xx whose connection closed before the answer ended is a failure: the receiver may have died before
 * it finished with the lead, and a lead must never be counted delivered on a guess.
 */
export function outcomeOfAnswer(facts: AnswerFacts): AttemptResult {
  const { status, excerpt: responseExcerpt, durationMs, address } = facts;
  const base = { ok: false as const, statusCode: status, durationMs, address, responseExcerpt };
  if (status >= 200 && status < 300) {
    if (facts.complete === false) {
      return {
        ...base,
        errorCode: "connection_failed",
        message: `Your endpoint answered ${statusText(status)}, but the connection closed before the answer was complete; it is sent again`,
      };
    }
    return { ok: true, statusCode: status, durationMs, address, responseExcerpt };
  }

  if (status >= 300 && status < 400) {
    return {
      ...base,
      errorCode: "redirect",
      message: `Your endpoint answered ${statusText(status)} and pointed elsewhere; webhooks never follow redirects, so set the endpoint URL to the final address`,
    };
  }
  if (status === 410) {
    return {
      ...base,
      errorCode: "endpoint_gone",
      message: `Your endpoint answered ${statusText(status)}; deliveries to it are paused until you turn it back on`,
    };
  }
  if (status === 429 || status === 503) {
    const header = facts.headers["retry-after"];
    const retryAfterMs = parseRetryAfter(Array.isArray(header) ? header[0] : header, facts.now);
    if (retryAfterMs !== undefined) {
      return {
        ...base,
        errorCode: "http_status",
        retryAfterMs,
        message: `Your endpoint answered ${statusText(status)} and asked us to wait ${secondsInWords(retryAfterMs)} before trying again`,
      };
    }
  }
  if (status === 401 || status === 403) {
    // A receiver that checks the signature and finds it wrong usually answers this way.
    return {
      ...base,
      errorCode: "http_status",
      message: `Your endpoint answered ${statusText(status)}: check the signing secret it verifies with, and that it verifies the raw body as received`,
    };
  }
  return { ...base, errorCode: "http_status", message: `Your endpoint answered ${statusText(status)}` };
}

const UNTRUSTED_CERT = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_UNTRUSTED", "CERT_SIGNATURE_FAILURE",
]);

function isTlsError(code: string): boolean {
  return (
    UNTRUSTED_CERT.has(code) ||
    code.startsWith("CERT_") ||
    code.startsWith("ERR_TLS_") ||
    code.startsWith("ERR_SSL_") ||
    code === "EPROTO" ||
    code === "HOSTNAME_MISMATCH" ||
    code === "INVALID_PURPOSE"
  );
}

function tlsMessage(code: string, host: string): string {
  if (UNTRUSTED_CERT.has(code)) return `The certificate of ${host} is not signed by a trusted certificate authority`;
  if (code === "CERT_HAS_EXPIRED") return `The certificate of ${host} has expired`;
  if (code === "CERT_NOT_YET_VALID") return `The certificate of ${host} is not valid yet`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || code === "HOSTNAME_MISMATCH") return `The certificate presented is not valid for ${host}`;
  return `The secure connection to ${host} could not be set up (${code})`;
}

function connectionMessage(code: string, host: string, address: string | undefined): string {
  const where = address && address !== host ? `${host} (${address})` : host;
  switch (code) {
    case "ECONNREFUSED": return `We could not connect to ${where}: the connection was refused`;
    case "ECONNRESET":
    case "EPIPE": return `The connection to ${where} was closed before your endpoint answered`;
    case "EHOSTUNREACH":
    case "ENETUNREACH": return `We could not reach ${where}: there is no network route to it`;
    case "ETIMEDOUT": return `We could not connect to ${where}: the connection attempt timed out`;
    default:
      if (code.startsWith("HPE_")) return `Your endpoint at ${where} sent an answer that is not valid HTTP`;
      return `We could not connect to ${where} (${code})`;
  }
}

/** The first error code found on an error or, for Node's multi-address connects, on the errors inside it. */
function errorCodeOf(error: unknown): { code: string; address?: string } {
  const e = error as { code?: unknown; address?: unknown; errors?: unknown[] } | null;
  const inner = Array.isArray(e?.errors) ? e.errors.map(errorCodeOf).find((x) => x.code !== "UNKNOWN") : undefined;
  if (inner) return inner;
  return {
    code: typeof e?.code === "string" ? e.code : "UNKNOWN",
    address: typeof e?.address === "string" ? e.address : undefined,
  };
}

export function outcomeOfNetworkError(
  error: unknown,
  context: { host: string; address: string | undefined; durationMs: number },
): AttemptFailure {
  const { code, address: failedAddress } = errorCodeOf(error);
  const address = context.address ?? failedAddress;
  const errorCode: DeliveryErrorCode = isTlsError(code) ? "tls_error" : "connection_failed";
  const message = errorCode === "tls_error" ? tlsMessage(code, context.host) : connectionMessage(code, context.host, address);
  return { ok: false, errorCode, message, durationMs: context.durationMs, ...(address ? { address } : {}) };
}

export function outcomeOfTimeout(context: { deadlineMs: number; durationMs: number; address?: string; statusCode?: number }): AttemptFailure {
  return {
    ok: false,
    errorCode: "timeout",
    message: `Your endpoint did not answer completely within ${secondsInWords(context.deadlineMs)}`,
    durationMs: context.durationMs,
    ...(context.address ? { address: context.address } : {}),
    ...(context.statusCode ? { statusCode: context.statusCode } : {}),
  };
}
