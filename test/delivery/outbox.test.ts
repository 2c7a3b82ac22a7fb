import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDelivery, recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { createDeliveryQueue, deliveryIdOfJob, deliveryJobId, enqueueDeliveries, type DeliveryQueue } from "../../app/delivery/queue.server";
import { getDb } from "../../app/lib/db.server";
import { ensureShop } from "../../app/shops/shops.server";
import { addEndpoint, createShopWithEndpoint, dumpKeysUnder, failInserts, sampleLead, testRedis, uniqueQueue, type TestEndpoint } from "../support/delivery";

const db = getDb();
const { queueName, prefix } = uniqueQueue("outbox");
const redis = testRedis();
let queue: DeliveryQueue;
let endpoint: TestEndpoint;
let second: TestEndpoint;
let paused: TestEndpoint;

describe("transactional outbox", () => {
  beforeAll(async () => {
    queue = createDeliveryQueue(redis, { name: queueName, prefix });
    endpoint = await createShopWithEndpoint("outbox-shop.myshopify.com", "https://crm.example.com/hooks/a");
    second = await addEndpoint({ id: endpoint.shopId, domain: endpoint.shopDomain }, "https://crm.example.com/hooks/b");
    paused = await addEndpoint({ id: endpoint.shopId, domain: endpoint.shopDomain }, "https://crm.example.com/hooks/paused", { state: "paused" });
    await addEndpoint({ id: endpoint.shopId, domain: endpoint.shopDomain }, "https://crm.example.com/hooks/gone", { state: "disconnected" });
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    await redis.quit();
  });

  it("stores the lead, its tried product and one pending delivery per connected endpoint (paused ones wait), all with the same body", async () => {
    const { lead, deliveryIds, duplicate } = await recordLeadWithDeliveries(db, sampleLead(endpoint, { email: "Ada@Example.org" }));
    expect(duplicate).toBe(false);
    expect(lead.emailSearch).toBe("ada@example.org");
    const deliveries = await db.delivery.findMany({ where: { leadId: lead.id }, orderBy: { createdAt: "asc" } });
    expect(deliveries.map((d) => d.id).sort()).toEqual([...deliveryIds].sort());
    expect(deliveries.map((d) => d.destinationId).sort()).toEqual([endpoint.id, second.id, paused.id].sort());
    expect(new Set(deliveries.map((d) => d.status))).toEqual(new Set(["pending"]));
    expect(new Set(deliveries.map((d) => d.payload)).size).toBe(1);
    const body = JSON.parse(deliveries[0].payload);
    expect(body).toMatchObject({ version: 1, event: "lead_captured", lead_id: lead.id, email: "Ada@Example.org", shop: endpoint.shopDomain });
    expect(body).not.toHaveProperty("delivery_id");
    const product = await db.triedProduct.findUnique({ where: { shopId_productId: { shopId: endpoint.shopId, productId: lead.productId } } });
    expect(product?.title).toBe("Aviator frames");
  });

  it("writes neither the lead nor any delivery when the transaction fails part-way", async () => {
    const before = { leads: await db.lead.count(), deliveries: await db.delivery.count() };
    const restore = await failInserts("Delivery", "forced failure");
    try {
      await expect(recordLeadWithDeliveries(db, sampleLead(endpoint, { email: "rollback@example.org" }))).rejects.toThrow();
    } finally {
      await restore();
    }
    expect(await db.lead.count({ where: { email: "rollback@example.org" } })).toBe(0);
    expect({ leads: await db.lead.count(), deliveries: await db.delivery.count() }).toEqual(before);
    // And the same call succeeds once the database accepts deliveries again.
    const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint, { email: "rollback@example.org" }));
    expect(deliveryIds).toHaveLength(3);
  });

  it("stores a lead once for a repeated idempotency key and creates no second set of deliveries", async () => {
    const input = sampleLead(endpoint, { idempotencyKey: "capture-key-1" });
    const first = await recordLeadWithDeliveries(db, input);
    const again = await recordLeadWithDeliveries(db, input);
    expect(again.duplicate).toBe(true);
    expect(again.lead.id).toBe(first.lead.id);
    expect(again.deliveryIds).toEqual([]);
    expect(await db.delivery.count({ where: { leadId: first.lead.id } })).toBe(3);
  });

  it("stores a lead once when captures with one idempotency key arrive together, and every caller gets that lead", async () => {
    const input = sampleLead(endpoint, { idempotencyKey: "capture-key-together", email: "together@example.org" });
    const results = await Promise.all(Array.from({ length: 6 }, () => recordLeadWithDeliveries(db, input)));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.lead.id)).size).toBe(1);
    expect(results.flatMap((r) => r.deliveryIds)).toHaveLength(3);
    expect(await db.lead.count({ where: { email: "together@example.org" } })).toBe(1);
    expect(await db.delivery.count({ where: { leadId: results[0].lead.id } })).toBe(3);
  });

  it("stores each of many leads captured at the same moment with its own deliveries and body", async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => sampleLead(endpoint, { email: `burst${i}@example.org` }));
    const results = await Promise.all(inputs.map((input) => recordLeadWithDeliveries(db, input)));
    expect(new Set(results.map((r) => r.lead.id)).size).toBe(40);
    for (const [i, { lead, deliveryIds }] of results.entries()) {
      expect(lead.email).toBe(`burst${i}@example.org`);
      const rows = await db.delivery.findMany({ where: { leadId: lead.id } });
      expect(rows.map((d) => d.id).sort()).toEqual([...deliveryIds].sort());
      expect(rows).toHaveLength(3);
      for (const row of rows) expect(JSON.parse(row.payload)).toMatchObject({ lead_id: lead.id, email: `burst${i}@example.org` });
    }
  });

  it("creates no delivery for a shop without a connected endpoint, yet keeps the lead", async () => {
    const shop = await ensureShop(db, "no-endpoint.myshopify.com");
    const { lead, deliveryIds } = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }));
    expect(deliveryIds).toEqual([]);
    expect(await db.lead.findUnique({ where: { id: lead.id } })).not.toBeNull();
  });

  it("puts only the delivery id in Redis: no email, body, URL or secret in any of the queue's keys", async () => {
    const input = sampleLead(endpoint, { email: "private.person@example.org" });
    const { deliveryIds } = await recordLeadWithDeliveries(db, input);
    await enqueueDeliveries(queue, deliveryIds);
    const job = await queue.getJob(deliveryJobId(deliveryIds[0], 1));
    expect(job?.data).toEqual({});
    expect(job && deliveryIdOfJob(job)).toBe(deliveryIds[0]);

    const stored = await dumpKeysUnder(redis, prefix);
    for (const id of deliveryIds) expect(stored).toContain(id);
    const payload = (await db.delivery.findUniqueOrThrow({ where: { id: deliveryIds[0] } })).payload;
    for (const forbidden of ["private.person", "example.org", payload, "crm.example.com", endpoint.secret, second.secret, "Aviator", "instagram"]) {
      expect(stored).not.toContain(forbidden);
    }
  });

  it("collapses repeated enqueues of the same attempt into one job", async () => {
    const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint));
    await enqueueDeliveries(queue, deliveryIds);
    await enqueueDeliveries(queue, deliveryIds);
    await enqueueDeliveries(queue, deliveryIds);
    const jobs = await queue.getJobs(["waiting", "delayed", "active"]);
    for (const id of deliveryIds) expect(jobs.filter((j) => deliveryIdOfJob(j) === id)).toHaveLength(1);
  });

  it("creates a clearly marked test delivery with a made-up shopper for the send-test button", async () => {
    const id = await createTestDelivery(db, { id: endpoint.id, shopId: endpoint.shopId });
    const delivery = await db.delivery.findUniqueOrThrow({ where: { id } });
    expect(delivery).toMatchObject({ event: "test", status: "pending", leadId: null, destinationId: endpoint.id });
    const body = JSON.parse(delivery.payload);
    expect(body).toMatchObject({ event: "test", test: true, email: "test@example.com", shop: endpoint.shopDomain, version: 1 });
  });

  it("refuses a test delivery for another shop's endpoint", async () => {
    const other = await ensureShop(db, "other-shop.myshopify.com");
    await expect(createTestDelivery(db, { id: endpoint.id, shopId: other.id })).rejects.toThrow(/not found/);
  });
});
