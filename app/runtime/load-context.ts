import type { DestinationCheckOptions } from "../delivery/ssrf.server";
import type { SendWebhook } from "../delivery/process-delivery.server";

/**
 * What the HTTP server hands every request besides the request itself. The production server
 * (server.mjs) hands nothing, so routes use the production transport: public addresses only, the
 * system's trusted roots. An in-process test server may hand a transport that also reaches its loopback
 * receiver; no environment variable or setting can do that.
 */
export interface WebhookTransport {
  /** Used when a URL is checked at connect time. */
  destination?: DestinationCheckOptions;
  /** Used by "Send test webhook". */
  send?: SendWebhook;
}

declare module "@remix-run/node" {
  interface AppLoadContext {
    webhookTransport?: WebhookTransport;
  }
}

export function webhookTransportOf(context: { webhookTransport?: WebhookTransport } | undefined): WebhookTransport {
  return context?.webhookTransport ?? {};
}
