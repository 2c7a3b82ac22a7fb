import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueDeliveries } from "../../app/delivery/queue.server";
import { replayDelivery } from "../../app/delivery/replay.server";
import { getDb } from "../../app/lib/db.server";
import { closeProducers, getProducers } from "../../app/runtime/producers.server";
import { replayOneDelivery } from "../../app/destinations/replay.server";
import { pruneOnce } from "../../app/retention/pruning.server";
import { addEndpoint, waitFor, type TestEndpoint } from "../support/delivery";
import { startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { postWebhookForm } from "../integrations/helpers";
import { captureLogs, DAY_MS, leadCapturedAt, testDeliveryAt, uniqueShop } from "./support";

const db = getDb();
const logs = captureLogs();

describe("replaying a delivery whose stored body was pruned", () => {
  let receiver: HttpsReceiver;
  let harness: DeliveryHarness;
  let endpoint: TestEndpoint;

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    harness = await startHarness("replay-pruned", receiver);
    const shop = await installShop(uniqueShop("replay-pruned"));
    endpoint = await addEndpoint(shop, receiver.urlFor("/crm"));
    receiver.setSecrets([endpoint.secret]);
  });

  afterAll(async () => {
    // The page's replay opened the app's own queue: closed once it is up, so no command is cut off.
    await getProducers().deliveryQueue.waitUntilReady();
    await closeProducers();
    await harness.close();
    await receiver.close();
  });

  /** Sends the deliveries through the worker and waits until each is delivered. */
  async function deliver(ids: string[]) {
    await enqueueDeliveries(harness.queue, ids);
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: ids }, status: "delivered" } })) === ids.length, 10_000, "delivered");
  }

  /** The pruning job as it runs 100 days from now, with the default 90-day retention. */
  function pruneIn100Days() {
    return pruneOnce({ db, logger: logs.logger, clock: { now: () => new Date(Date.now() + 100 * DAY_MS) }, deliveryRetentionDays: 90, batchSize: 100 });
  }

  function requestsFor(deliveryId: string) {
    return receiver.requests.filter((r) => r.headers["x-tryoncloud-delivery-id"] === deliveryId);
  }

  it("rebuilds the body from the lead, stores it, and the receiver gets the lead's data under the same delivery id", async () => {
    const { lead, deliveryId } = await leadCapturedAt(endpoint, new Date(), {
      email: "Pruned.Replay@Example.org", utm: { source: "newsletter" }, resultContext: { fit: "snug" },
    });
    await deliver([deliveryId]);
    const original = JSON.parse(requestsFor(deliveryId)[0].body);

    await pruneIn100Days();
    expect(await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).toMatchObject({ payload: "", status: "delivered" });
    // Since the first send, tagging in Shopify finished.
    await db.lead.update({ where: { id: lead.id }, data: { tagged: true } });

    await replayOneDelivery({ db, queue: harness.queue, shopId: endpoint.shopId, deliveryId });
    const stored = await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } });
    expect(stored.payloadPrunedAt).toBeNull();
    await receiver.waitForRequests(receiver.requests.length + 1);
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).status === "delivered", 10_000, "replay delivered");

    const [, replayed] = requestsFor(deliveryId);
    expect(replayed.contract.verified).toBe(true);
    expect(replayed.body).toBe(stored.payload);
    const body = JSON.parse(replayed.body);
    expect(body).toEqual({ ...original, tagged_in_shopify: true });
    expect(body).toMatchObject({
      event: "lead_captured", lead_id: lead.id, shop: endpoint.shopDomain, email: "Pruned.Replay@Example.org",
      product: { id: "gid://shopify/Product/1001", title: "Aviator frames" }, try_on: { fit: "snug" }, utm: { source: "newsletter" },
    });
  });

  it("rebuilds a pruned test delivery as a test", async () => {
    const deliveryId = await testDeliveryAt(endpoint, new Date());
    await deliver([deliveryId]);
    await pruneIn100Days();
    expect(await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).toMatchObject({ payload: "", status: "delivered" });

    await replayDelivery(db, harness.queue, { shopId: endpoint.shopId, deliveryId });
    await waitFor(async () => requestsFor(deliveryId).length === 2, 10_000, "replayed test");
    const body = JSON.parse(requestsFor(deliveryId)[1].body);
    expect(body).toMatchObject({ event: "test", test: true, shop: endpoint.shopDomain, email: "test@example.com" });
    expect(requestsFor(deliveryId)[1].headers["x-tryoncloud-event"]).toBe("test");
  });

  it("leaves a body that was not pruned exactly as it was", async () => {
    const { deliveryId } = await leadCapturedAt(endpoint, new Date());
    await deliver([deliveryId]);
    const before = await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } });
    await replayDelivery(db, harness.queue, { shopId: endpoint.shopId, deliveryId });
    await waitFor(async () => requestsFor(deliveryId).length === 2, 10_000, "replayed");
    expect(requestsFor(deliveryId)[1].body).toBe(before.payload);
    expect((await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).payload).toBe(before.payload);
  });

  it("answers 409 in plain words when a pruned body cannot be made again", async () => {
    // A lead_redacted event is never pruned; one marked so anyway has nothing to be rebuilt from.
    const orphan = await db.delivery.create({
      data: {
        shopId: endpoint.shopId, destinationId: endpoint.id, event: "lead_redacted", status: "delivered", payload: "",
        payloadPrunedAt: new Date(), deliveredAt: new Date(), attemptCount: 1,
      },
    });
    const answer = await postWebhookForm(endpoint.shopDomain, { intent: "replay", deliveryId: orphan.id });
    expect(answer).toMatchObject({ status: 409, data: { error: expect.stringMatching(/too old to send again/) } });
    expect(await db.delivery.findUniqueOrThrow({ where: { id: orphan.id } })).toMatchObject({ status: "delivered", payload: "" });
  });
});
