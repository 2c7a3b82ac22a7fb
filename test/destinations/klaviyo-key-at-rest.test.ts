import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { enqueueDeliveries } from "../../app/delivery/queue.server";
import { createDeliveryWorker, type DeliveryWorker } from "../../app/delivery/worker.server";
import { connectKlaviyo } from "../../app/destinations/klaviyo/connect.server";
import { createKlaviyoSender } from "../../app/destinations/klaviyo/sender";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { getDb } from "../../app/lib/db.server";
import { dumpKeysUnder, sampleLead, testKeyRing, waitFor } from "../support/delivery";
import { loopbackSender, startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { ALL_SCOPES, standInExchange, startKlaviyoStandIn, type KlaviyoStandIn } from "../support/klaviyo-stand-in";
import { installShop } from "../support/shopify";
import { captureLogger } from "../integrations/helpers";

/**
 * A merchant's Klaviyo private key on the worker's path: stored encrypted, it reaches Klaviyo in the
 * Authorization header and nowhere else: not the database in clear, not a queue job or any other key in Redis,
 * not a log line at the most detailed level, not the delivery's recorded attempt.
 */

const db = getDb();
const KEY = "pk_live_atrest_0123456789abcdefghijklmnopq";

describe("a Klaviyo key at rest and in flight", () => {
  let standIn: KlaviyoStandIn;
  let transport: ReturnType<typeof standInExchange>;
  let receiver: HttpsReceiver;
  let harness: DeliveryHarness;
  let worker: DeliveryWorker | undefined;
  let sender: ReturnType<typeof loopbackSender>;
  const logs = captureLogger();

  beforeAll(async () => {
    standIn = await startKlaviyoStandIn({
      keys: [{ key: KEY, scopes: ALL_SCOPES }],
      accounts: [{ id: "acct_at_rest", organizationName: "At Rest Store", lists: [{ id: "LISTR", name: "Try-on" }] }],
    });
    transport = standInExchange(standIn);
    receiver = await startHttpsReceiver();
    harness = await startHarness("klaviyo-at-rest", receiver);
    await harness.worker.close();
    sender = loopbackSender(receiver);
    worker = createDeliveryWorker({
      db, connection: harness.redis, send: sender.send, keyRing: testKeyRing(), logger: logs.logger,
      queueName: harness.queueName, prefix: harness.prefix, concurrency: 2,
      senders: { klaviyo: createKlaviyoSender(transport.exchange) },
    });
  });

  afterAll(async () => {
    await worker?.close();
    await sender.close();
    await harness.close();
    await receiver.close();
    transport.close();
    await standIn.close();
  });

  it("reaches Klaviyo in the Authorization header only, and is in no row in clear, no Redis key, no log line and no attempt", async () => {
    const shop = await installShop(`klaviyo-at-rest-${Date.now()}.myshopify.com`);
    const connected = await connectKlaviyo({ db, shop, apiKey: KEY, ring: keyRingFromConfig(), exchange: transport.exchange, listId: "LISTR", listName: "Try-on" });
    if (!connected.ok) throw new Error(connected.message);

    const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }));
    await enqueueDeliveries(harness.queue, deliveryIds);
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: deliveryIds }, status: "delivered" } })) === 1, 15_000, "the lead to reach Klaviyo");
    await worker!.recorded();

    // It did go out, as Klaviyo wants it.
    const sent = standIn.requests.filter((r) => r.path.startsWith("/api/events"));
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent.every((r) => r.headers.authorization === `Klaviyo-API-Key ${KEY}`)).toBe(true);

    // And nowhere else.
    const row = await db.destination.findUniqueOrThrow({ where: { id: connected.destination.id } });
    expect(JSON.stringify(row)).not.toContain(KEY);
    const attempts = await db.deliveryAttempt.findMany({ where: { deliveryId: { in: deliveryIds } } });
    expect(attempts).toHaveLength(1);
    expect(JSON.stringify(attempts)).not.toContain(KEY);
    expect(await dumpKeysUnder(harness.redis, harness.prefix)).not.toContain(KEY);
    expect(logs.output()).toContain(deliveryIds[0]); // the worker did log the attempt
    expect(logs.output()).not.toContain(KEY);
    expect(logs.output()).not.toContain(KEY.slice(-12));
  });
});
