import type { Logger } from "pino";
import type { Db } from "../lib/db.server";
import { getDb } from "../lib/db.server";
import { getLogger } from "../lib/logger.server";
import { getProducers } from "../runtime/producers.server";
import type { KeyRing } from "../lib/secret-box.server";
import { createWebhookSender, type WebhookSender } from "../delivery/http-sender.server";
import type { DeliveryQueue } from "../delivery/queue.server";
import type { DestinationSenders } from "../delivery/destination-sender";
import { keyRingFromConfig } from "./key-ring.server";
import { createHttpRequestSender } from "./http-request/sender";
import { createKlaviyoSender } from "./klaviyo/sender";

/**
 * What the webhook routes run with in production: the shared database client, the delivery queue, the master
 * keys, and the HTTPS sender with its production defaults (public addresses only, the system's trusted roots).
 * Tests call the domain functions with their own sender (loopback allow-list, test CA) instead.
 */
export interface WebhookServices {
  db: Db;
  keyRing: KeyRing;
  logger: Logger;
  send: WebhookSender["send"];
  /** Any other request to a destination's API, with a deadline a page can wait for. */
  exchange: WebhookSender["exchange"];
  /** How a test is sent to destinations of the other kinds (over `exchange`). */
  senders: DestinationSenders;
  /** Created on first use: only replays and resumes touch Redis. */
  queue(): DeliveryQueue;
}

let sender: WebhookSender | undefined;
const ADMIN_DEADLINE_MS = 8_000;

/** Senders of the kinds other than the signed webhook, over one exchange (a test passes its own in). */
export function sendersOver(exchange: WebhookSender["exchange"]): DestinationSenders {
  return { klaviyo: createKlaviyoSender(exchange), http_request: createHttpRequestSender(exchange) };
}

export function getWebhookServices(): WebhookServices {
  const logger = getLogger();
  // Requests made while the merchant waits on the page (a test send, a key check) get a short deadline.
  sender ??= createWebhookSender({ logger, deadlineMs: ADMIN_DEADLINE_MS });
  const current = sender;
  return {
    db: getDb(),
    keyRing: keyRingFromConfig(),
    logger,
    send: (request) => current.send(request),
    exchange: (request) => current.exchange(request),
    senders: sendersOver((request) => current.exchange(request)),
    queue: () => getProducers().deliveryQueue,
  };
}
