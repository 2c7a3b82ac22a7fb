import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { enqueueDeliveries, enqueueDelivery } from "../../app/delivery/queue.server";
import { getDb } from "../../app/lib/db.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { loader as leadsLoader } from "../../app/routes/app.leads._index";
import { sampleLead, waitFor } from "../support/delivery";
import { startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { adminRequest, installShop } from "../support/shopify";
import { loadWebhookPageData, LOOPBACK_DESTINATION, postWebhookForm } from "./helpers";

const db = getDb();
const SHOP = "disconnect-shop.myshopify.com";

describe("disconnecting the webhook", () => {
  let receiver: HttpsReceiver;
  let harness: DeliveryHarness;
  let shop: { id: string; domain: string };
  let destinationId: string;
  const waiting: string[] = [];
  let delivered: string;

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    harness = await startHarness("disconnect", receiver);
    shop = await installShop(SHOP);
    const connected = await connectEndpoint({ db, shop, url: receiver.urlFor("/crm"), ring: keyRingFromConfig(), destination: LOOPBACK_DESTINATION });
    destinationId = connected.endpoint.id;
    receiver.setSecrets([connected.secret]);
    const ref = { shopId: shop.id, shopDomain: shop.domain };

    // One lead delivered, two waiting for a retry after a 500, one never enqueued (still pending).
    const first = await recordLeadWithDeliveries(db, sampleLead(ref));
    await enqueueDeliveries(harness.queue, first.deliveryIds);
    delivered = first.deliveryIds[0];
    await waitFor(async () => (await db.delivery.findUnique({ where: { id: delivered } }))?.status === "delivered", 10_000, "first lead delivered");
    receiver.setDefault(respond.status(500, "down for maintenance"));
    for (let i = 0; i < 2; i++) {
      const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(ref));
      await enqueueDeliveries(harness.queue, deliveryIds);
      waiting.push(...deliveryIds);
    }
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: waiting }, status: "retrying" } })) === 2, 10_000, "two retrying");
    waiting.push(...(await recordLeadWithDeliveries(db, sampleLead(ref))).deliveryIds);
    expect(await db.delivery.findUniqueOrThrow({ where: { id: waiting[2] } })).toMatchObject({ status: "pending" });
    receiver.setDefault(respond.ok());
  });

  afterAll(async () => {
    await harness.close();
    await receiver.close();
  });

  it("GIVEN pending and retrying deliveries WHEN the merchant disconnects THEN the endpoint is disconnected at once and they are cancelled, visibly", async () => {
    const answer = await postWebhookForm(SHOP, { intent: "disconnect", destinationId });
    expect(answer).toMatchObject({ status: 200, data: { intent: "disconnect", cancelled: 3 } });
    const endpoint = await db.destination.findUniqueOrThrow({ where: { id: destinationId } });
    expect(endpoint.state).toBe("disconnected");
    expect(endpoint.disconnectedAt).toBeInstanceOf(Date);

    const statuses = await db.delivery.findMany({ where: { id: { in: [...waiting, delivered] } }, select: { id: true, status: true, lastError: true } });
    expect(statuses.filter((d) => d.status === "cancelled").map((d) => d.id).sort()).toEqual([...waiting].sort());
    expect(statuses.find((d) => d.id === delivered)?.status).toBe("delivered");

    const page = await loadWebhookPageData(SHOP);
    expect(page.endpoint).toBeNull();
    const cancelledRows = page.log.rows.filter((r) => r.status === "cancelled");
    expect(cancelledRows.map((r) => r.id).sort()).toEqual([...waiting].sort());
    expect(cancelledRows.every((r) => /disconnected/.test(r.lastError ?? "") && r.nextAttemptAt === null)).toBe(true);
    const leads = await leadsLoader({ request: await adminRequest("/app/leads", SHOP), params: {}, context: {} });
    expect(leads).toMatchObject({ destinations: { destinations: [] } });
  });

  it("GIVEN the disconnect committed WHEN jobs for its deliveries run anyway (old jobs, reconciler, replay) THEN nothing more is sent", async () => {
    const before = receiver.requests.length;
    for (const id of waiting) {
      const row = await db.delivery.findUniqueOrThrow({ where: { id } });
      await enqueueDelivery(harness.queue, id, { attempt: row.attemptCount + 1 });
    }
    await harness.reconcile();
    const replay = await postWebhookForm(SHOP, { intent: "replay", deliveryId: delivered });
    expect(replay.status).toBe(409);
    expect((replay.data as { error: string }).error).toMatch(/disconnected/);
    // Give the worker time to pick every job up.
    await waitFor(async () => (await harness.queue.getJobCounts("waiting", "active")).waiting === 0, 5_000, "jobs drained");
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests.length).toBe(before);
    const rows = await db.delivery.findMany({ where: { id: { in: waiting } } });
    expect(rows.every((d) => d.status === "cancelled")).toBe(true);
  });

  it("GIVEN the endpoint is disconnected THEN new leads create no delivery and it cannot be tested, rotated, paused or disconnected again", async () => {
    const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }));
    expect(deliveryIds).toEqual([]);
    for (const intent of ["send_test", "rotate", "pause", "resume", "disconnect"]) {
      const answer = await postWebhookForm(SHOP, { intent, destinationId });
      expect(answer.status, intent).toBe(404);
    }
    const replayCancelled = await postWebhookForm(SHOP, { intent: "replay", deliveryId: waiting[0] });
    expect(replayCancelled.status).toBe(409);
    expect(await db.delivery.count({ where: { destinationId, event: "test" } })).toBe(0);
  });

  it("GIVEN the endpoint is disconnected THEN a new one can be connected, with a new secret", async () => {
    const answer = await postWebhookForm(SHOP, { intent: "connect", url: "https://93.184.215.14/new" });
    expect(answer.status).toBe(200);
    expect((answer.data as { destinationId: string }).destinationId).not.toBe(destinationId);
    expect(await db.destination.count({ where: { shopId: shop.id, state: "active" } })).toBe(1);
  });
});
