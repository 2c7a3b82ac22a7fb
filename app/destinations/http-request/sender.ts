import type { DestinationSender } from "../../delivery/destination-sender";
import type { ExchangeResult, OutboundRequest } from "../../delivery/http-sender.server";
import type { LeadCapturedBody, TestBody } from "../../delivery/payload";
import { buildSignatureHeaders, buildUserAgent } from "../../delivery/signing";
import type { AttemptFailure } from "../../delivery/types";
import { attemptHttpRequest } from "./classify-answer.server";
import type { HttpRequestDefinition, SecretHeaderValues } from "./definition";
import { buildTemplateFields } from "./template-fields";

/**
 * How the worker sends to an HTTP-request destination: the merchant's template rendered for the lead, the
 * signing headers of a webhook added over the exact body bytes (so a receiver that can verify, may), sent
 * through the vetted exchange (the rendered URL is checked like any other), and the answer classified by
 * the kind's retry rules.
 */

export interface HttpRequestCredentials {
  /** Secret header values by header name. */
  headers: SecretHeaderValues;
}

export function parseDefinition(settings: string | null): HttpRequestDefinition | null {
  try {
    const value = JSON.parse(settings ?? "null") as HttpRequestDefinition | null;
    return value && typeof value.url === "string" && typeof value.body === "string" && Array.isArray(value.headers) ? value : null;
  } catch {
    return null;
  }
}

export function parseHttpCredentials(decrypted: string | null): HttpRequestCredentials {
  try {
    const value = JSON.parse(decrypted ?? "null") as Partial<HttpRequestCredentials> | null;
    return { headers: value && value.headers && typeof value.headers === "object" ? value.headers : {} };
  } catch {
    return { headers: {} };
  }
}

export function createHttpRequestSender(
  exchange: (request: OutboundRequest) => Promise<ExchangeResult>,
  options: { now?: () => Date; userAgent?: string } = {},
): DestinationSender {
  const now = options.now ?? (() => new Date());
  const userAgent = options.userAgent ?? buildUserAgent();
  return async (context) => {
    const definition = parseDefinition(context.settings);
    if (!definition) return unusable("This destination's request could not be read. Open it and save it again.");
    if (context.event === "lead_redacted") return unusable("An HTTP request destination does not take erasure events; turn that event off for it.");
    const body = JSON.parse(context.payload) as LeadCapturedBody | TestBody;
    const signed = (request: OutboundRequest): Promise<ExchangeResult> => {
      if (context.signingSecrets.length === 0) return exchange(request);
      const signature = buildSignatureHeaders({
        deliveryId: context.deliveryId, event: context.event, shop: context.shopDomain, body: request.body ?? "",
        secrets: context.signingSecrets, userAgent, timestampSeconds: Math.floor(now().getTime() / 1000),
      });
      // The template decides the content type and agent; the signature headers are added as they are on webhooks.
      const { "content-type": _type, "user-agent": _agent, ...headers } = signature;
      return exchange({ ...request, headers: { ...request.headers, ...headers } });
    };
    return attemptHttpRequest({
      exchange: signed, definition, fields: buildTemplateFields({ body, deliveryId: context.deliveryId }),
      secretValues: parseHttpCredentials(context.credentials).headers, now,
    });
  };
}

function unusable(message: string): AttemptFailure {
  return { ok: false, errorCode: "template_error", message, durationMs: 0, permanent: true, countsAgainstDestination: false };
}
