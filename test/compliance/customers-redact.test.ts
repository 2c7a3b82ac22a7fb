import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueTagging } from "../../app/customers/tagging.server";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { deliveryJobId, enqueueDeliveries } from "../../app/delivery/queue.server";
import { getDb } from "../../app/lib/db.server";
import { getProducers } from "../../app/runtime/producers.server";
import { addEndpoint, sampleLead, type TestEndpoint } from "../support/delivery";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { captureLogs, deliver, processOnce, redisText, shopifyWebhook, tablesContaining, testDeps, uniqueShop } from "./support";

const db = getDb();
const logs = captureLogs();
let receiver: HttpsReceiver;
const secrets: string[] = [];

const ANN = "Ann.Redact@Example.org";
const ANN_AT_WORK = "ann.at-work@example.net";
const ANN_CUSTOMER_ID = 4242;

async function shopWithEndpoint(label: string): Promise<TestEndpoint> {
  const shop = await installShop(uniqueShop(label));
  const endpoint = await addEndpoint(shop, receiver.urlFor(`/crm/${label}`));
  secrets.push(endpoint.secret);
  receiver.setSecrets(secrets);
  return endpoint;
}

/** A lead captured as the storefront captures one, its delivery and tagging jobs waiting in Redis. */
async function capture(endpoint: TestEndpoint, email: string, extra: { customerId?: string } = {}) {
  const recorded = await recordLeadWithDeliveries(db, sampleLead(endpoint, { email, customerId: extra.customerId ?? null }));
  const { deliveryQueue, taggingQueue } = getProducers();
  await enqueueDeliveries(deliveryQueue, recorded.deliveryIds);
  await enqueueTagging(taggingQueue, recorded.lead.id);
  return { leadId: recorded.lead.id, deliveryIds: recorded.deliveryIds };
}

function redactRequest(shop: string, customer: { id: number | null; email: string | null }, ids: { webhookId?: string; eventId?: string } = {}) {
  return shopifyWebhook(
    "customers/redact",
    { shop_id: 1, shop_domain: shop, customer: { ...customer, phone: null }, orders_to_redact: [] },
    { shop, ...ids },
  );
}

async function jobExists(queue: "delivery" | "tagging", jobId: string) {
  const { deliveryQueue, taggingQueue } = getProducers();
  return Boolean(await (queue === "delivery" ? deliveryQueue : taggingQueue).getJob(jobId));
}

describe("customers/redact", () => {
  beforeAll(async () => {
    receiver = await startHttpsReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });

  it("erases the shopper's leads, stored payloads, attempt records and queued jobs in that shop, and nothing else", async () => {
    const shopA = await shopWithEndpoint("redact-a");
    const shopB = await shopWithEndpoint("redact-b");
    const byEmail = await capture(shopA, ANN);
    const byEmailOtherCase = await capture(shopA, ANN.toLowerCase());
    const byCustomerId = await capture(shopA, ANN_AT_WORK, { customerId: `gid://shopify/Customer/${ANN_CUSTOMER_ID}` });
    const otherShopper = await capture(shopA, "bob.keeps@example.org");
    const sameEmailOtherShop = await capture(shopB, ANN);

    // The CRM refused the first attempt: there is an attempt record, and the retry waits in Redis as a
    // delayed job. The stored payload carries the email.
    receiver.enqueue(respond.status(500, `{"error":"contact ${ANN} is locked"}`));
    expect(await processOnce(byEmail.deliveryIds[0], receiver, logs.logger)).toBe("retrying");
    expect(await db.deliveryAttempt.count({ where: { deliveryId: byEmail.deliveryIds[0] } })).toBe(1);
    expect((await db.delivery.findUniqueOrThrow({ where: { id: byEmail.deliveryIds[0] } })).payload).toContain(ANN);
    expect(await jobExists("delivery", deliveryJobId(byEmail.deliveryIds[0], 2))).toBe(true);

    const response = await deliver("customers/redact", redactRequest(shopA.shopDomain, { id: ANN_CUSTOMER_ID, email: "ANN.REDACT@example.org" }), testDeps(logs.logger));
    expect(response.status).toBe(200);

    const erased = [byEmail, byEmailOtherCase, byCustomerId];
    const erasedLeadIds = erased.map((l) => l.leadId);
    const erasedDeliveryIds = erased.flatMap((l) => l.deliveryIds);
    expect(await db.lead.count({ where: { id: { in: erasedLeadIds } } })).toBe(0);
    expect(await db.delivery.count({ where: { id: { in: erasedDeliveryIds } } })).toBe(0);
    expect(await db.deliveryAttempt.count({ where: { deliveryId: { in: erasedDeliveryIds } } })).toBe(0);
    for (const l of erased) {
      expect(await jobExists("tagging", `tag-${l.leadId}`)).toBe(false);
      for (const d of l.deliveryIds) expect(await jobExists("delivery", deliveryJobId(d, 1))).toBe(false);
    }
    expect(await jobExists("delivery", deliveryJobId(byEmail.deliveryIds[0], 2))).toBe(false);

    // Another shopper of the shop, and the same email in another shop, are untouched.
    for (const kept of [otherShopper, sameEmailOtherShop]) {
      expect(await db.lead.count({ where: { id: kept.leadId } })).toBe(1);
      expect(await db.delivery.count({ where: { id: { in: kept.deliveryIds } } })).toBe(kept.deliveryIds.length);
      expect(await jobExists("tagging", `tag-${kept.leadId}`)).toBe(true);
      expect(await jobExists("delivery", deliveryJobId(kept.deliveryIds[0], 1))).toBe(true);
    }
    // No destination takes redaction events: none is created.
    expect(await db.delivery.count({ where: { shopId: shopA.shopId, event: "lead_redacted" } })).toBe(0);
  });

  it("delivers a lead_redacted event per erased lead, with the lead id and no email, to a destination that takes that event", async () => {
    const shop = await shopWithEndpoint("redact-events");
    await db.destination.update({ where: { id: shop.id }, data: { events: '["lead_captured","lead_redacted"]' } });
    const lead = await capture(shop, ANN);
    await db.destination.update({ where: { id: shop.id }, data: { state: "paused" } });
    const paused = await addEndpoint({ id: shop.shopId, domain: shop.shopDomain }, receiver.urlFor("/crm/second"));
    await db.destination.update({ where: { id: paused.id }, data: { state: "disconnected" } });
    await db.destination.update({ where: { id: shop.id }, data: { state: "active" } });

    const response = await deliver("customers/redact", redactRequest(shop.shopDomain, { id: null, email: ANN }), testDeps(logs.logger));
    expect(response.status).toBe(200);

    const events = await db.delivery.findMany({ where: { shopId: shop.shopId, event: "lead_redacted" } });
    expect(events).toHaveLength(1); // the disconnected endpoint gets nothing
    expect(events[0]).toMatchObject({ destinationId: shop.id, leadId: null, status: "pending" });
    const body = JSON.parse(events[0].payload);
    expect(body).toEqual({ version: 1, event: "lead_redacted", lead_id: lead.leadId, shop: shop.shopDomain, redacted_at: expect.any(String) });
    expect(events[0].payload.toLowerCase()).not.toContain(ANN.toLowerCase());
    expect(await jobExists("delivery", deliveryJobId(events[0].id, 1))).toBe(true);

    const before = receiver.requests.length;
    expect(await processOnce(events[0].id, receiver, logs.logger)).toBe("delivered");
    const sent = receiver.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].body).toBe(events[0].payload);
    expect(sent[0].headers["x-tryoncloud-event"]).toBe("lead_redacted");
    expect(sent[0].standard.verified).toBe(true);
  });

  it("handles a redelivery of the same webhook (same webhook id, or same event id) without a second effect", async () => {
    const shop = await shopWithEndpoint("redact-replay");
    await capture(shop, ANN);
    const first = redactRequest(shop.shopDomain, { id: null, email: ANN }, { webhookId: "wh-replay-1", eventId: "evt-replay-1" });
    expect((await deliver("customers/redact", first, testDeps(logs.logger))).status).toBe(200);
    expect(await db.lead.count({ where: { shopId: shop.shopId } })).toBe(0);

    // The shopper comes back and consents again; the old request, delivered again, must not erase that.
    const returning = await capture(shop, ANN);
    const again = redactRequest(shop.shopDomain, { id: null, email: ANN }, { webhookId: "wh-replay-1", eventId: "evt-replay-1" });
    expect((await deliver("customers/redact", again, testDeps(logs.logger))).status).toBe(200);
    const sameEvent = redactRequest(shop.shopDomain, { id: null, email: ANN }, { webhookId: "wh-replay-2", eventId: "evt-replay-1" });
    expect((await deliver("customers/redact", sameEvent, testDeps(logs.logger))).status).toBe(200);
    expect(await db.lead.count({ where: { id: returning.leadId } })).toBe(1);
    expect(await jobExists("tagging", `tag-${returning.leadId}`)).toBe(true);

    // A new request does erase it.
    const fresh = redactRequest(shop.shopDomain, { id: null, email: ANN });
    expect((await deliver("customers/redact", fresh, testDeps(logs.logger))).status).toBe(200);
    expect(await db.lead.count({ where: { id: returning.leadId } })).toBe(0);
  });

  it("lets exactly one of two simultaneous deliveries of the same webhook do the work", async () => {
    const shop = await shopWithEndpoint("redact-race");
    await db.destination.update({ where: { id: shop.id }, data: { events: '["lead_captured","lead_redacted"]' } });
    await capture(shop, ANN);
    const race = captureLogs();
    const same = () => redactRequest(shop.shopDomain, { id: null, email: ANN }, { webhookId: "wh-race", eventId: "evt-race" });
    const statuses = await Promise.all([deliver("customers/redact", same(), testDeps(race.logger)), deliver("customers/redact", same(), testDeps(race.logger))]);
    expect(statuses.map((r) => r.status)).toEqual([200, 200]);
    expect(race.text().match(/shopper data erased/g)).toHaveLength(1);
    expect(race.text().match(/webhook already handled/g)).toHaveLength(1);
    expect(await db.delivery.count({ where: { shopId: shop.shopId, event: "lead_redacted" } })).toBe(1);
  });

  it("answers 200 and changes nothing for a shop the app does not know", async () => {
    const before = await db.lead.count();
    const response = await deliver("customers/redact", redactRequest(uniqueShop("unknown"), { id: 1, email: ANN }), testDeps(logs.logger));
    expect(response.status).toBe(200);
    expect(await db.lead.count()).toBe(before);
  });

  it("once erased in every shop, leaves the email nowhere in the database, in Redis or in the logs", async () => {
    const remaining = await db.lead.findMany({ where: { emailSearch: { in: [ANN.toLowerCase(), ANN_AT_WORK] } }, select: { shop: { select: { domain: true } } } });
    expect(remaining.length).toBeGreaterThan(0); // the other shop still has it, and the scan finds it there
    expect(await tablesContaining(ANN)).toEqual(expect.arrayContaining(["Lead", "Delivery"]));
    for (const { shop } of remaining) {
      expect((await deliver("customers/redact", redactRequest(shop.domain, { id: ANN_CUSTOMER_ID, email: ANN }), testDeps(logs.logger))).status).toBe(200);
    }

    for (const email of [ANN, ANN_AT_WORK]) {
      expect(await tablesContaining(email)).toEqual([]);
      expect((await redisText()).toLowerCase()).not.toContain(email.toLowerCase());
      expect(logs.text().toLowerCase()).not.toContain(email.toLowerCase());
    }
    // The scans do see data: the other shopper's email is still stored, and the run did log.
    expect(await tablesContaining("bob.keeps@example.org")).toContain("Lead");
    expect(await redisText()).toContain("tag-");
    expect(logs.text()).toContain("shopper data erased");
  });
});
