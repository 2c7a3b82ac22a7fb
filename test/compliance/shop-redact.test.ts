import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueTagging } from "../../app/customers/tagging.server";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { deliveryJobId, enqueueDeliveries } from "../../app/delivery/queue.server";
import { getDb } from "../../app/lib/db.server";
import { getProducers } from "../../app/runtime/producers.server";
import { addEndpoint, sampleLead, type TestEndpoint } from "../support/delivery";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { captureLogs, deliver, processOnce, redisJobsText, redisText, shopifyWebhook, tablesContaining, testDeps, uniqueShop } from "./support";

const db = getDb();
const logs = captureLogs();
let receiver: HttpsReceiver;

interface SeededShop {
  endpoint: TestEndpoint;
  emails: string[];
  leadIds: string[];
  deliveryIds: string[];
}

/** A shop as it looks after some use: a session, an endpoint, leads with deliveries and attempts, a data request, queued jobs. */
async function seedShop(label: string, leads: number): Promise<SeededShop> {
  const shop = await installShop(uniqueShop(label));
  const endpoint = await addEndpoint(shop, receiver.urlFor(`/crm/${label}?token=secret-${label}`));
  receiver.setSecrets([endpoint.secret]);
  const seeded: SeededShop = { endpoint, emails: [], leadIds: [], deliveryIds: [] };
  const { deliveryQueue, taggingQueue } = getProducers();
  for (let i = 0; i < leads; i++) {
    const email = `${label}.shopper${i}@example.org`;
    const recorded = await recordLeadWithDeliveries(db, sampleLead(endpoint, { email }));
    await enqueueDeliveries(deliveryQueue, recorded.deliveryIds);
    await enqueueTagging(taggingQueue, recorded.lead.id);
    seeded.emails.push(email);
    seeded.leadIds.push(recorded.lead.id);
    seeded.deliveryIds.push(...recorded.deliveryIds);
  }
  receiver.enqueue(respond.status(503));
  expect(await processOnce(seeded.deliveryIds[0], receiver, logs.logger)).toBe("retrying");
  const request = shopifyWebhook(
    "customers/data_request",
    { shop_id: 1, shop_domain: shop.domain, orders_requested: [], customer: { id: 5, email: seeded.emails[0], phone: null }, data_request: { id: 77 } },
    { shop: shop.domain },
  );
  expect((await deliver("customers/data_request", request, testDeps(logs.logger))).status).toBe(200);
  return seeded;
}

function shopRedact(shop: string, options: { webhookId?: string; triggeredAt?: Date } = {}) {
  return shopifyWebhook("shop/redact", { shop_id: 1, shop_domain: shop }, { shop, ...options });
}

async function heldFor(shopId: string, domain: string) {
  return {
    shop: await db.shop.count({ where: { id: shopId } }),
    sessions: await db.session.count({ where: { shop: domain } }),
    leads: await db.lead.count({ where: { shopId } }),
    deliveries: await db.delivery.count({ where: { shopId } }),
    attempts: await db.deliveryAttempt.count({ where: { delivery: { is: { shopId } } } }),
    endpoints: await db.destination.count({ where: { shopId } }),
    products: await db.triedProduct.count({ where: { shopId } }),
    dataRequests: await db.dataRequest.count({ where: { shopId } }),
  };
}

async function queuedJobs(seeded: SeededShop) {
  const { deliveryQueue, taggingQueue } = getProducers();
  const jobs = [
    ...seeded.deliveryIds.map((id) => deliveryQueue.getJob(deliveryJobId(id, 1))),
    deliveryQueue.getJob(deliveryJobId(seeded.deliveryIds[0], 2)),
    ...seeded.leadIds.map((id) => taggingQueue.getJob(`tag-${id}`)),
  ];
  return (await Promise.all(jobs)).filter(Boolean).length;
}

describe("shop/redact", () => {
  beforeAll(async () => {
    receiver = await startHttpsReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });

  it("erases everything of the shop, its queued jobs included, and leaves other shops alone", async () => {
    const a = await seedShop("erased", 3);
    const b = await seedShop("kept", 2);
    const domainA = a.endpoint.shopDomain;
    expect(await heldFor(a.endpoint.shopId, domainA)).toEqual({ shop: 1, sessions: 1, leads: 3, deliveries: 3, attempts: 1, endpoints: 1, products: 1, dataRequests: 1 });
    expect(await queuedJobs(a)).toBe(3 + 1 + 3);
    const keptBefore = await heldFor(b.endpoint.shopId, b.endpoint.shopDomain);

    const response = await deliver("shop/redact", shopRedact(domainA), testDeps(logs.logger));
    expect(response.status).toBe(200);

    expect(await heldFor(a.endpoint.shopId, domainA)).toEqual({ shop: 0, sessions: 0, leads: 0, deliveries: 0, attempts: 0, endpoints: 0, products: 0, dataRequests: 0 });
    expect(await queuedJobs(a)).toBe(0);
    expect(await heldFor(b.endpoint.shopId, b.endpoint.shopDomain)).toEqual(keptBefore);
    expect(await queuedJobs(b)).toBe(2 + 1 + 2);

    // Nothing of the shop is left anywhere but the ledger entry that makes a redelivery harmless.
    expect(await tablesContaining(domainA)).toEqual(["ProcessedWebhook"]);
    for (const text of [...a.emails, a.endpoint.id, `secret-erased`]) expect(await tablesContaining(text)).toEqual([]);
    const jobs = await redisJobsText();
    for (const id of [...a.leadIds, ...a.deliveryIds]) expect(jobs).not.toContain(id);
    expect(jobs).toContain(b.leadIds[0]);
    for (const email of [...a.emails, ...b.emails]) expect(await redisText()).not.toContain(email);
    for (const email of [...a.emails, ...b.emails]) expect(logs.text()).not.toContain(email);
    expect(logs.text()).toContain("shop data erased");
  });

  it("does nothing more when the same webhook is delivered again after a reinstall", async () => {
    const domain = uniqueShop("replayed");
    await installShop(domain);
    expect((await deliver("shop/redact", shopRedact(domain, { webhookId: "shop-redact-replay" }), testDeps(logs.logger))).status).toBe(200);
    expect(await db.shop.count({ where: { domain } })).toBe(0);

    const reinstalled = await installShop(domain);
    expect((await deliver("shop/redact", shopRedact(domain, { webhookId: "shop-redact-replay" }), testDeps(logs.logger))).status).toBe(200);
    expect(await heldFor(reinstalled.id, domain)).toMatchObject({ shop: 1, sessions: 1 });
  });

  it("keeps a shop that was reinstalled after Shopify triggered the erasure", async () => {
    const domain = uniqueShop("reinstalled");
    const shop = await installShop(domain);
    const triggeredAt = new Date(Date.now() - 60_000);
    await db.shop.update({ where: { id: shop.id }, data: { installedAt: new Date() } });
    expect((await deliver("shop/redact", shopRedact(domain, { triggeredAt }), testDeps(logs.logger))).status).toBe(200);
    expect(await heldFor(shop.id, domain)).toMatchObject({ shop: 1, sessions: 1 });
  });

  it("answers 200 for a shop the app never stored", async () => {
    expect((await deliver("shop/redact", shopRedact(uniqueShop("never")), testDeps(logs.logger))).status).toBe(200);
  });
});
