import type { DestinationCheckOptions } from "../delivery/ssrf.server";
import type { SendWebhook } from "../delivery/process-delivery.server";
import type { ExchangeResult, OutboundRequest } from "../delivery/http-sender.server";

/**
 * What the HTTP server hands every request besides the request itself (server-app.mjs builds it for
 * each request). The production server hands no webhook transport, so routes use the production one:
 * public addresses only, the system's trusted roots. An in-process test server may hand a transport that
 * also reaches its loopback receiver; no environment variable or setting can do that.
 */
export interface WebhookTransport {
  /** Used when a URL is checked at connect time. */
  destination?: DestinationCheckOptions;
  /** Used by "Send test webhook". */
  send?: SendWebhook;
  /** Used for every other request to a destination's API (Klaviyo's key check and test send, HTTP requests). */
  exchange?: (request: OutboundRequest) => Promise<ExchangeResult>;
}

declare module "@remix-run/node" {
  interface AppLoadContext {
    webhookTransport?: WebhookTransport;
    /** The TCP peer of the request's connection: the client, or the nearest proxy (see clientAddress). */
    socketAddress?: string;
  }
}

export function webhookTransportOf(context: { webhookTransport?: WebhookTransport } | undefined): WebhookTransport {
  return context?.webhookTransport ?? {};
}

