/**
 * Shared vocabulary of the delivery engine: the closed set of delivery states, the product's own error
 * codes for a failed attempt, and the shape of one attempt's outcome.
 */

export const DELIVERY_STATUSES = ["pending", "delivering", "retrying", "delivered", "failed", "cancelled"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const WEBHOOK_EVENTS = ["lead_captured", "test", "lead_redacted"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Why an attempt failed, in the product's words. Each has a plain-language explanation for the merchant. */
export const DELIVERY_ERROR_CODES = [
  "invalid_url",        // not https:, has credentials, unparsable
  "address_refused",    // resolves to (or is) a private, loopback, link-local, reserved... address
  "dns_failure",        // the host name does not resolve
  "connection_failed",  // refused, reset, unreachable
  "tls_error",          // certificate or handshake failure
  "timeout",            // the overall per-attempt deadline passed
  "redirect",           // a 3xx answer; redirects are never followed
  "http_status",        // any other non-2xx answer
  "endpoint_gone",      // 410 Gone: the endpoint is paused
  "credentials_rejected", // the destination refused the stored credentials (an API key: 401/403): it is paused
  "request_rejected",   // the destination refused this request as invalid (other 4xx): it fails at once, no retries
  "rate_limited",       // 429: the destination asked us to slow down; retried after Retry-After, never a fault of the lead
  "template_error",     // an HTTP-request destination's templates do not render for this lead
] as const;
export type DeliveryErrorCode = (typeof DELIVERY_ERROR_CODES)[number];

export interface AttemptSuccess {
  ok: true;
  statusCode: number;
  durationMs: number;
  /** The IP address that was dialled (after the SSRF check). */
  address: string;
  responseExcerpt: string;
}

export interface AttemptFailure {
  ok: false;
  errorCode: DeliveryErrorCode;
  /** Plain words for the merchant, never containing secrets or the shopper's email. */
  message: string;
  statusCode?: number;
  durationMs: number;
  address?: string;
  responseExcerpt?: string;
  /** From a Retry-After header on 429/503, in milliseconds. */
  retryAfterMs?: number;
  /**
   * False when the failure says nothing about the destination's health (a receiver refusing one body),
   * so the circuit breaker does not count it. Counted when absent.
   */
  countsAgainstDestination?: boolean;
  /**
   * Sending the same request again cannot succeed (the receiver refused it for good, or it could not be
   * built): the delivery fails now instead of going through the retry schedule.
   */
  permanent?: boolean;
  /** What the merchant can do about it, in plain words ("check the URL"). */
  hint?: string;
}

export type AttemptResult = AttemptSuccess | AttemptFailure;
