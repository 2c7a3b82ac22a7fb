import { parseRetryAfter, secondsInWords, statusText } from "../../delivery/attempt-outcome.server";
import type { ExchangeResult, OutboundRequest } from "../../delivery/http-sender.server";
import type { AttemptFailure, AttemptResult } from "../../delivery/types";
import { scrubText } from "../../lib/logger.server";
import type { HttpRequestDefinition, SecretHeaderValues } from "./definition";
import { HttpRequestRenderError, renderHttpRequest } from "./render-request";
import { excerptWithoutSecrets, maskSecrets, secretPieces } from "./secret-scrub.server";
import type { TemplateFields } from "./template-fields";

/**
 * Retry rules for HTTP-request destinations. A CRM's API says clearly when a request can never succeed
 * (bad credentials, unknown list, a body it refuses), and sending it six more times over 33 hours only
 * delays the moment the merchant learns why. So: network errors, timeouts, 408, 409, 425, 429 and 5xx
 * are retried (honouring Retry-After); any other 4xx, a redirect (never followed) or a URL that cannot
 * be sent fails at once, with the receiver's excerpt and a hint in plain words. Excerpts never hold a
 * secret header value, even when the receiver echoes one.
 */

/** Answers that may succeed later. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 409, 425, 429]);

const HINTS: Readonly<Record<number, string>> = Object.freeze({
  400: "The receiver did not accept the body: open the preview and compare it with what the receiver expects",
  401: "The receiver rejected the credentials: check the API key or token in the headers",
  403: "The receiver rejected the credentials: check the API key or token in the headers, and that it may do this",
  404: "The receiver does not know this address: check the URL (and any id in it)",
  405: "The receiver does not accept this method here: check the method and the URL",
  410: "The receiver says this address is gone: check the URL",
  413: "The body is too large for the receiver: send fewer fields",
  415: "The receiver does not accept this body encoding: try the other one (JSON or form)",
  422: "The receiver did not accept the body: open the preview and compare it with what the receiver expects",
});
const OTHER_4XX_HINT = "The receiver refused the request: read its answer below, then check the URL, headers and body";

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status) || status >= 500;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The answer (or why none came) in the product's terms, for an HTTP-request destination. */
export function classifyHttpRequestAnswer(
  result: ExchangeResult,
  context: { now: Date; secretValues?: SecretHeaderValues },
): AttemptResult {
  if (!result.ok) {
    // The sender's own failures carry no secret and need no excerpt; a URL that cannot be sent will not
    // become sendable by waiting, since it renders the same every time.
    if (result.errorCode === "invalid_url") return { ...result, permanent: true, hint: "Check the URL" };
    return result;
  }
  const secrets = Object.values(context.secretValues ?? {});
  const responseExcerpt = excerptWithoutSecrets(result.body, secrets);
  const { status, durationMs, address } = result;
  const base = { ok: false as const, statusCode: status, durationMs, address, responseExcerpt };

  if (status >= 200 && status < 300) {
    if (!result.complete) {
      return {
        ...base, errorCode: "connection_failed",
        message: `The receiver answered ${statusText(status)}, but the connection closed before the answer was complete; it is sent again`,
      };
    }
    return { ok: true, statusCode: status, durationMs, address, responseExcerpt };
  }
  if (status >= 300 && status < 400) {
    return {
      ...base, errorCode: "redirect", permanent: true,
      message: `The receiver answered ${statusText(status)} and pointed elsewhere; requests never follow redirects`,
      hint: "Set the URL to the address the receiver points to",
    };
  }
  if (isRetryableStatus(status) || status < 200) {
    const retryAfterMs = parseRetryAfter(firstHeader(result.headers["retry-after"]), context.now);
    const failure: AttemptFailure = {
      ...base, errorCode: "http_status",
      message: retryAfterMs === undefined
        ? `The receiver answered ${statusText(status)}; it is sent again later`
        : `The receiver answered ${statusText(status)} and asked us to wait ${secondsInWords(retryAfterMs)} before trying again`,
    };
    return retryAfterMs === undefined ? failure : { ...failure, retryAfterMs };
  }
  return {
    ...base, errorCode: "http_status", permanent: true,
    message: `The receiver answered ${statusText(status)}; the request is not sent again`,
    hint: HINTS[status] ?? OTHER_4XX_HINT,
  };
}

/** The failed attempt recorded when a definition does not render for a lead: nothing was sent. */
export function renderFailureOutcome(error: HttpRequestRenderError, secretValues: SecretHeaderValues = {}): AttemptFailure {
  const pieces = secretPieces(Object.values(secretValues));
  return {
    ok: false,
    errorCode: "template_error",
    message: scrubText(maskSecrets(`The request could not be built for this lead: ${error.message}`, pieces)),
    durationMs: 0,
    permanent: error.permanent,
    hint: error.permanent
      ? "Open the destination, fix the template and check the preview; then replay the failed deliveries"
      : "It is tried again later",
  };
}

export interface HttpRequestAttempt {
  /** The sender's exchange (createWebhookSender(...).exchange): vets the URL, sends, reads the answer. */
  exchange: (request: OutboundRequest) => Promise<ExchangeResult>;
  definition: HttpRequestDefinition;
  fields: TemplateFields;
  secretValues: SecretHeaderValues;
  now: () => Date;
}

/** One attempt: render for this lead, send, classify. Never throws for anything a lead or receiver does. */
export async function attemptHttpRequest(attempt: HttpRequestAttempt): Promise<AttemptResult> {
  let request: OutboundRequest;
  try {
    request = renderHttpRequest(attempt.definition, attempt.fields, attempt.secretValues);
  } catch (error) {
    if (error instanceof HttpRequestRenderError) return renderFailureOutcome(error, attempt.secretValues);
    throw error;
  }
  const result = await attempt.exchange(request);
  return classifyHttpRequestAnswer(result, { now: attempt.now(), secretValues: attempt.secretValues });
}
