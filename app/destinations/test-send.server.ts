import type { Logger } from "pino";
import type { Db } from "../lib/db.server";
import type { KeyRing } from "../lib/secret-box.server";
import type { ShopRef } from "../shops/shops.server";
import { systemClock, type Clock } from "../delivery/clock";
import { createTestDelivery } from "../delivery/outbox.server";
import { DEFAULT_LEASE_MS } from "../delivery/worker.server";
import { processDelivery, type ProcessOutcome, type SendWebhook } from "../delivery/process-delivery.server";
import type { DeliveryErrorCode } from "../delivery/types";
import type { DestinationSenders } from "../delivery/destination-sender";
import { requireLiveEndpoint } from "./endpoints.server";
import { EndpointStateError } from "./errors";

/**
 * "Send test webhook": a clearly marked `test` event with a made-up shopper, recorded as a delivery and sent
 * through the worker's own attempt (`processDelivery`: the state check, the SSRF guard in the sender, signing,
 * the attempt record), run inline so the merchant sees the result at once. Test events are tried once.
 */

/** How long the button waits for the attempt before pointing the merchant at the delivery log. */
export const TEST_SEND_WAIT_MS = 30_000;

export type TestSendResult =
  | { outcome: "delivered"; deliveryId: string; durationMs: number; statusCode: number }
  | {
    outcome: "failed";
    deliveryId: string;
    errorCode: DeliveryErrorCode | "not_sent";
    message: string;
    statusCode: number | null;
    responseExcerpt: string | null;
    durationMs: number | null;
  }
  | { outcome: "still_sending"; deliveryId: string; message: string };

export interface TestSendDeps {
  db: Db;
  send: SendWebhook;
  /** How destinations of other kinds are sent (Klaviyo, HTTP requests). */
  senders?: DestinationSenders;
  keyRing: KeyRing;
  logger: Logger;
  clock?: Clock;
  /** @defaultValue TEST_SEND_WAIT_MS */
  waitMs?: number;
}

export async function sendTestWebhook(deps: TestSendDeps, input: { shop: ShopRef; destinationId: string }): Promise<TestSendResult> {
  const { db } = deps;
  const clock = deps.clock ?? systemClock;
  const endpoint = await requireLiveEndpoint(db, input.shop.id, input.destinationId, clock.now());
  if (endpoint.state === "paused") throw new EndpointStateError("This destination is paused. Resume it to send a test.");
  const deliveryId = await createTestDelivery(db, { id: endpoint.id, shopId: input.shop.id }, { clock });

  const waitMs = deps.waitMs ?? TEST_SEND_WAIT_MS;
  let timer: NodeJS.Timeout | undefined;
  const attempt = processDelivery(
    {
      db, send: deps.send, senders: deps.senders, keyRing: deps.keyRing, clock, logger: deps.logger, leaseMs: DEFAULT_LEASE_MS,
      // Test events are never retried, so there is no later attempt to schedule.
      scheduleAttempt: async () => undefined,
    },
    deliveryId,
  );
  const outcome = await Promise.race<ProcessOutcome | "waited">([
    attempt,
    new Promise((resolve) => { timer = setTimeout(() => resolve("waited"), waitMs); }),
  ]).finally(() => clearTimeout(timer));
  if (outcome === "waited") {
    attempt.catch((error: unknown) => deps.logger.error({ deliveryId, err: error }, "test webhook attempt failed"));
    return {
      outcome: "still_sending",
      deliveryId,
      message: `No answer within ${Math.round(waitMs / 1000)} seconds; the result will appear in the delivery log.`,
    };
  }
  return resultOf(db, deliveryId, outcome);
}

async function resultOf(db: Db, deliveryId: string, outcome: ProcessOutcome): Promise<TestSendResult> {
  const last = await db.deliveryAttempt.findFirst({
    where: { deliveryId },
    orderBy: { number: "desc" },
    select: { durationMs: true, statusCode: true, errorCode: true, errorMessage: true, responseExcerpt: true },
  });
  if (outcome === "delivered" && last) {
    return { outcome: "delivered", deliveryId, durationMs: last.durationMs, statusCode: last.statusCode ?? 200 };
  }
  if (last && (outcome === "failed" || outcome === "retrying" || outcome === "endpoint_paused")) {
    if (outcome === "endpoint_paused") {
      // A 410 pauses the endpoint and leaves lead deliveries waiting for it; a test is tried once, so it fails.
      await db.delivery.updateMany({ where: { id: deliveryId, status: "retrying" }, data: { status: "failed" } });
    }
    return {
      outcome: "failed",
      deliveryId,
      errorCode: (last.errorCode as DeliveryErrorCode | null) ?? "http_status",
      message: last.errorMessage ?? "The test webhook was not delivered.",
      statusCode: last.statusCode,
      responseExcerpt: last.responseExcerpt,
      durationMs: last.durationMs,
    };
  }
  const message = NOT_SENT[outcome] ?? "The test webhook was not sent.";
  if (outcome !== "busy") {
    // A test the merchant was told did not go must not go later either (the reconciler would otherwise pick it up).
    await db.delivery.updateMany({ where: { id: deliveryId, status: { in: ["pending", "retrying"] } }, data: { status: "cancelled", lastError: message } });
  }
  return { outcome: "failed", deliveryId, errorCode: "not_sent", message, statusCode: null, responseExcerpt: null, durationMs: null };
}

const NOT_SENT: Partial<Record<ProcessOutcome, string>> = {
  endpoint_inactive: "The test webhook was not sent: the endpoint was paused or disconnected meanwhile.",
  secret_unreadable: "The test webhook was not sent: the signing secret could not be read. Rotate the secret and try again.",
  busy: "The test webhook is being sent by the delivery worker; its result will appear in the delivery log.",
};
