import type { DestinationKind } from "./destination-rules";
import type { WebhookRequest } from "./http-sender.server";
import type { AttemptResult, WebhookEvent } from "./types";

/**
 * What one attempt hands the code of its destination's kind: the delivery, its stored body, and the
 * destination's settings and secrets already decrypted. The engine (claim, gate, retry schedule, records)
 * is the same for every kind; only this step differs, so a kind is one function.
 */
export interface AttemptContext {
  deliveryId: string;
  destinationId: string;
  shopId: string;
  shopDomain: string;
  kind: DestinationKind;
  event: WebhookEvent;
  /** The stored body: the exact bytes a webhook sends, the lead fields other kinds send from. */
  payload: string;
  url: string;
  /** Newest first; two during a rotation overlap; none for a kind that does not sign. */
  signingSecrets: readonly string[];
  /** The kind's decrypted credentials (JSON), when it has any. */
  credentials: string | null;
  /** The kind's settings (JSON), when it has any. */
  settings: string | null;
  /** Made by "Send earlier leads": sent as a past event where the kind tells the difference. */
  backfill: boolean;
}

export type DestinationSender = (context: AttemptContext) => Promise<AttemptResult>;

/** The kinds other than the signed webhook, which the engine sends itself; the wiring passes these in. */
export type DestinationSenders = Partial<Record<DestinationKind, DestinationSender>>;

/** A signed webhook: the stored bytes, signed and POSTed as the contract says. */
export function webhookSender(send: (request: WebhookRequest) => Promise<AttemptResult>): DestinationSender {
  return (c) => send({ url: c.url, body: c.payload, deliveryId: c.deliveryId, event: c.event, shop: c.shopDomain, secrets: c.signingSecrets });
}
