import { parseRetryAfter, RESPONSE_EXCERPT_BYTES, secondsInWords, statusText } from "../../delivery/attempt-outcome.server";
import type { ExchangeResult } from "../../delivery/http-sender.server";
import type { AttemptFailure, AttemptResult } from "../../delivery/types";
import { KLAVIYO_OPERATION_SCOPES, type KlaviyoOperation } from "./klaviyo-api";
import { klaviyoErrorsOf, klaviyoErrorText, scrubKlaviyoText, type KnownSecrets } from "./klaviyo-text";

/**
 * What Klaviyo's answer means for a delivery, in the delivery engine's words:
 *
 * | answer                                   | result                                                        |
 * |------------------------------------------|---------------------------------------------------------------|
 * | complete 2xx (Klaviyo's writes say 202)   | delivered                                                     |
 * | 401; 403 with a Klaviyo error document    | `credentials_rejected`: pause the destination ("Klaviyo rejected the key") |
 * | 429                                       | `rate_limited`, with Retry-After: wait, never the lead's fault |
 * | 5xx, 408, 425, 403 without Klaviyo's body | `http_status`: retried on the schedule (503's Retry-After kept) |
 * | 3xx                                       | `redirect`: retried (Klaviyo's API never redirects)            |
 * | any other 4xx                             | `request_rejected`: failed at once with Klaviyo's own text     |
 * | no answer (network, TLS, deadline)        | as the sender reported it, retried                            |
 *
 * A 403 that is not Klaviyo's JSON:API error (a bot-protection page in front of the API, for example) says
 * nothing about the key, so it does not pause the destination. No message or excerpt ever holds the key or
 * an email address.
 */

export interface KlaviyoAnswerContext {
  operation: KlaviyoOperation;
  /** The key the request carried: masked wherever Klaviyo's answer might quote it. */
  apiKey: string;
  /** The shopper's email the request carried, masked the same way. */
  email?: string;
  now: Date;
}

/** The retryable 4xx: the request itself may be fine, the moment was not. */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 425]);

/** The answer as text the merchant may see: scrubbed whole, then cut, so nothing is half-masked. */
function excerptOf(body: Buffer, secrets: KnownSecrets): string {
  const scrubbed = scrubKlaviyoText(new TextDecoder("utf-8").decode(body), secrets);
  return scrubbed.length > RESPONSE_EXCERPT_BYTES ? scrubbed.slice(0, RESPONSE_EXCERPT_BYTES) : scrubbed;
}

function withKlaviyoText(message: string, text: string): string {
  return text ? `${message}: ${text}` : message;
}

export function classifyKlaviyoResult(result: ExchangeResult, context: KlaviyoAnswerContext): AttemptResult {
  if (!result.ok) return failureWithoutAnswer(result, context);

  const { status, durationMs, address } = result;
  const responseExcerpt = excerptOf(result.body, context);
  const base = { ok: false as const, statusCode: status, durationMs, address, responseExcerpt };
  const errors = klaviyoErrorsOf(result.body);
  const klaviyoText = klaviyoErrorText(errors, context);
  const retryAfterHeader = result.headers["retry-after"];
  const retryAfterMs = parseRetryAfter(Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader, context.now);

  if (status >= 200 && status < 300) {
    if (!result.complete) {
      return {
        ...base,
        errorCode: "connection_failed",
        message: `Klaviyo answered ${statusText(status)}, but the connection closed before the answer was complete; it is sent again`,
      };
    }
    return { ok: true, statusCode: status, durationMs, address, responseExcerpt };
  }
  if (status === 401) {
    return {
      ...base,
      errorCode: "credentials_rejected",
      message: `Klaviyo rejected the key (${statusText(status)}): it is not a valid private API key, or it was deleted in Klaviyo. Deliveries to this destination are paused until you connect a new key`,
    };
  }
  if (status === 403 && errors) {
    const scopes = KLAVIYO_OPERATION_SCOPES[context.operation].join(", ");
    return {
      ...base,
      errorCode: "credentials_rejected",
      message: `Klaviyo rejected the key (${statusText(status)}): it lacks a permission this needs (${scopes}). Deliveries to this destination are paused until you connect a key with these scopes`,
    };
  }
  if (status === 429) {
    return {
      ...base,
      errorCode: "rate_limited",
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      message: retryAfterMs !== undefined
        ? `Klaviyo's rate limit for this account was reached (${statusText(status)}); it is sent again in ${secondsInWords(retryAfterMs)}`
        : `Klaviyo's rate limit for this account was reached (${statusText(status)}); it is sent again later`,
    };
  }
  if (status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status)) {
    return {
      ...base,
      errorCode: "http_status",
      ...(status === 503 && retryAfterMs !== undefined ? { retryAfterMs } : {}),
      message: withKlaviyoText(`Klaviyo could not take it right now (${statusText(status)}); it is sent again later`, klaviyoText),
    };
  }
  if (status === 403) {
    return {
      ...base,
      errorCode: "http_status",
      message: `Klaviyo's network refused the request (${statusText(status)}) without an error from Klaviyo itself; this is not a problem with your key, and it is sent again later`,
    };
  }
  if (status >= 300 && status < 400) {
    return { ...base, errorCode: "redirect", message: `Klaviyo answered ${statusText(status)} and pointed elsewhere; requests to Klaviyo are never redirected, and it is sent again later` };
  }
  return {
    ...base,
    errorCode: "request_rejected",
    // Sending the same request again cannot help, and one refused body says nothing about Klaviyo's health.
    permanent: true,
    countsAgainstDestination: false,
    message: withKlaviyoText(`Klaviyo refused it (${statusText(status)}); sending it again cannot help, so it is not retried`, klaviyoText),
  };
}

/** The sender's words, about Klaviyo rather than "your endpoint", and scrubbed like everything else. */
function failureWithoutAnswer(failure: AttemptFailure, context: KlaviyoAnswerContext): AttemptFailure {
  const message = failure.errorCode === "timeout"
    ? "Klaviyo did not answer in time; it is sent again later"
    : `Klaviyo could not be reached: ${failure.message.charAt(0).toLowerCase()}${failure.message.slice(1)}`;
  return { ...failure, message: scrubKlaviyoText(message, context) };
}
