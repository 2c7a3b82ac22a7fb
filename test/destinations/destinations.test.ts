import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { createDeliveryQueue, type DeliveryQueue } from "../../app/delivery/queue.server";
import { advanceBackfills, cancelBackfill, countBackfill, latestBackfill, startBackfill } from "../../app/destinations/backfill.server";
import { BackfillAlreadyRunningError } from "../../app/destinations/errors";
import { updateDestination } from "../../app/destinations/destination-settings.server";
import { sendLeadToDestination } from "../../app/destinations/send-lead.server";
import { TooManyDestinationsError } from "../../app/destinations/errors";
import { getDb } from "../../app/lib/db.server";
import { ensureShop } from "../../app/shops/shops.server";
import { MAX_DESTINATIONS_PER_SHOP } from "../../app/delivery/destination-rules";
import { addEndpoint, ManualClock, sampleLead, testRedis, uniqueQueue, type TestEndpoint } from "../support/delivery";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { testKeyRing } from "../support/delivery";

/** Several destinations per shop: which leads each receives, the cap, "send earlier leads" and "send to". */

const db = getDb();
const redis = testRedis("worker");
let queue: DeliveryQueue;

beforeAll(() => {
  queue = createDeliveryQueue(redis, uniqueQueue("destinations"));
});
afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  redis.disconnect();
});

async function shopWith(count: number) {
  const shop = await ensureShop(db, `dest-${randomBytes(4).toString("hex")}.myshopify.com`);
  const destinations: TestEndpoint[] = [];
  for (let i = 0; i < count; i++) destinations.push(await addEndpoint(shop, `https://crm-${i}.example/hook`));
  return { shop, destinations };
}

const lead = (shop: { id: string; domain: string }, productId = "8001", at?: Date) =>
  recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }, { productId }), at ? { clock: { now: () => at } } : {});

describe("which destinations receive a lead", () => {
  it("GIVEN a destination limited to some products THEN only leads for those products reach it (numeric or GID ids alike)", async () => {
    const { shop, destinations: [all, some] } = await shopWith(2);
    await updateDestination({ db, shop, destinationId: some.id, changes: { productIds: ["gid://shopify/Product/8001", "9002"] } });
    const tried = await lead(shop, "8001");
    const other = await lead(shop, "7777");
    const gid = await lead(shop, "gid://shopify/Product/9002");
    expect(tried.deliveries.map((d) => d.destinationId).sort()).toEqual([all.id, some.id].sort());
    expect(other.deliveries.map((d) => d.destinationId)).toEqual([all.id]);
    expect(gid.deliveries.map((d) => d.destinationId).sort()).toEqual([all.id, some.id].sort());
  });

  it("GIVEN a destination that takes only erasure events THEN new leads do not reach it", async () => {
    const { shop, destinations: [a, erasuresOnly] } = await shopWith(2);
    await updateDestination({ db, shop, destinationId: erasuresOnly.id, changes: { events: ["lead_redacted"] } });
    expect((await lead(shop)).deliveries.map((d) => d.destinationId)).toEqual([a.id]);
  });

  it("refuses a change that leaves no event, and an id that is not a product", async () => {
    const { shop, destinations: [a] } = await shopWith(1);
    await expect(updateDestination({ db, shop, destinationId: a.id, changes: { events: [] } })).rejects.toThrow(/at least one event/);
    await expect(updateDestination({ db, shop, destinationId: a.id, changes: { productIds: ["gid://shopify/Collection/1"] } })).rejects.toThrow(/not a Shopify product/);
  });

  it("GIVEN a shop at its limit of destinations THEN another is refused, saying what to do", async () => {
    const { shop } = await shopWith(MAX_DESTINATIONS_PER_SHOP);
    await expect(connectEndpoint({
      db, shop, url: "https://127.0.0.1:9/x", ring: testKeyRing(), destination: { policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }) },
    })).rejects.toBeInstanceOf(TooManyDestinationsError);
  });
});

describe("sending earlier leads (backfill)", () => {
  async function earlierLeads(shop: { id: string; domain: string }, n: number, from: Date) {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await lead(shop, "8001", new Date(from.getTime() + i * 60_000))).lead.id);
    return ids;
  }

  it("GIVEN a destination added after leads came in THEN the leads since the chosen date reach it once each, in batches, with progress", async () => {
    const { shop } = await shopWith(0);
    const weekAgo = new Date(Date.now() - 7 * 86_400_000);
    const older = await earlierLeads(shop, 3, new Date(weekAgo.getTime() - 86_400_000));
    const recent = await earlierLeads(shop, 7, weekAgo);
    const late = await addEndpoint(shop, "https://late.example/hook");
    expect(await countBackfill({ db, shop, destinationId: late.id, since: weekAgo })).toBe(7);
    const run = await startBackfill({ db, shop, destinationId: late.id, since: weekAgo });
    expect(run).toMatchObject({ status: "running", total: 7, processed: 0 });

    await advanceBackfills({ db, queue, batchSize: 3 });
    expect(await latestBackfill(db, shop.id, late.id)).toMatchObject({ status: "running", processed: 3 });
    await advanceBackfills({ db, queue, batchSize: 3 });
    await advanceBackfills({ db, queue, batchSize: 3 });
    expect(await latestBackfill(db, shop.id, late.id)).toMatchObject({ status: "done", processed: 7, total: 7 });

    const sent = await db.delivery.findMany({ where: { destinationId: late.id }, select: { leadId: true, backfillId: true, status: true } });
    expect(sent.map((d) => d.leadId).sort()).toEqual([...recent].sort());
    expect(sent.every((d) => d.backfillId === run.id && d.status === "pending")).toBe(true);
    expect(sent.some((d) => older.includes(d.leadId!))).toBe(false);
    // Their jobs are queued, under the destination.
    const jobs = await queue.getJobs(["waiting", "delayed", "prioritized"]);
    expect(jobs.filter((j) => j.name === late.id)).toHaveLength(7);
  });

  it("GIVEN two runs racing, and a lead the destination already had THEN no lead is sent twice", async () => {
    const { shop, destinations: [existing] } = await shopWith(1);
    const since = new Date(Date.now() - 3_600_000);
    await earlierLeads(shop, 6, since);
    const hadOne = await db.delivery.findMany({ where: { destinationId: existing.id } });
    expect(hadOne).toHaveLength(6);
    // The first run, and a second started by another tab after the first finished its first pass.
    const first = await startBackfill({ db, shop, destinationId: existing.id, since });
    await expect(startBackfill({ db, shop, destinationId: existing.id, since })).rejects.toBeInstanceOf(BackfillAlreadyRunningError);
    await Promise.all([advanceBackfills({ db, queue }), advanceBackfills({ db, queue }), advanceBackfills({ db, queue })]);
    expect(await db.delivery.count({ where: { destinationId: existing.id } })).toBe(6);
    expect((await latestBackfill(db, shop.id, existing.id))!.id).toBe(first.id);
    expect((await latestBackfill(db, shop.id, existing.id))!.status).toBe("done");

    const other = await addEndpoint(shop, "https://other.example/hook");
    await startBackfill({ db, shop, destinationId: other.id, since });
    // Several processes move the same run at once.
    await Promise.all(Array.from({ length: 4 }, () => advanceBackfills({ db, queue, batchSize: 2 })));
    for (let i = 0; i < 4; i++) await advanceBackfills({ db, queue, batchSize: 2 });
    const perLead = await db.delivery.groupBy({ by: ["leadId"], where: { destinationId: other.id }, _count: { _all: true } });
    expect(perLead).toHaveLength(6);
    expect(perLead.every((g) => g._count._all === 1)).toBe(true);
  });

  it("WHEN a run is cancelled THEN no more leads are added and its untried deliveries are cancelled", async () => {
    const { shop } = await shopWith(0);
    const since = new Date(Date.now() - 3_600_000);
    await earlierLeads(shop, 5, since);
    const target = await addEndpoint(shop, "https://cancel.example/hook");
    const run = await startBackfill({ db, shop, destinationId: target.id, since });
    await advanceBackfills({ db, queue, batchSize: 2 });
    const stopped = await cancelBackfill({ db, shop, backfillId: run.id });
    expect(stopped.status).toBe("cancelled");
    await advanceBackfills({ db, queue, batchSize: 2 });
    const rows = await db.delivery.findMany({ where: { destinationId: target.id } });
    expect(rows).toHaveLength(2);
    expect(rows.every((d) => d.status === "cancelled")).toBe(true);
  });

  it("refuses a run for another shop's destination, and a start date in the future", async () => {
    const { shop } = await shopWith(0);
    const { destinations: [theirs] } = await shopWith(1);
    await expect(startBackfill({ db, shop, destinationId: theirs.id, since: new Date(0) })).rejects.toThrow(/does not exist/);
    const mine = await addEndpoint(shop, "https://mine.example/hook");
    const clock = new ManualClock(new Date());
    await expect(startBackfill({ db, shop, destinationId: mine.id, since: new Date(Date.now() + 86_400_000), clock })).rejects.toThrow(/in the past/);
  });
});

describe("sending one lead to a destination", () => {
  it("GIVEN a lead the destination never had THEN it gets one delivery; again THEN it is already on its way", async () => {
    const { shop } = await shopWith(0);
    const { lead: captured } = await lead(shop);
    const later = await addEndpoint(shop, "https://later.example/hook");
    const first = await sendLeadToDestination({ db, queue, shop, leadId: captured.id, destinationId: later.id });
    expect(first.outcome).toBe("queued");
    const second = await sendLeadToDestination({ db, queue, shop, leadId: captured.id, destinationId: later.id });
    expect(second).toEqual({ outcome: "already_on_its_way", deliveryId: first.deliveryId });
    expect(await db.delivery.count({ where: { leadId: captured.id, destinationId: later.id } })).toBe(1);
  });

  it("GIVEN a lead already delivered THEN it is sent again under the same delivery id", async () => {
    const { shop, destinations: [d] } = await shopWith(1);
    const recorded = await lead(shop);
    await db.delivery.update({ where: { id: recorded.deliveryIds[0] }, data: { status: "delivered", attemptCount: 1 } });
    const result = await sendLeadToDestination({ db, queue, shop, leadId: recorded.lead.id, destinationId: d.id });
    expect(result).toEqual({ outcome: "replayed", deliveryId: recorded.deliveryIds[0] });
    expect(await db.delivery.findUniqueOrThrow({ where: { id: recorded.deliveryIds[0] } })).toMatchObject({ status: "pending", attemptsBeforeReplay: 1 });
  });

  it("refuses another shop's lead or destination as not found", async () => {
    const { shop, destinations: [mine] } = await shopWith(1);
    const { shop: other, destinations: [theirs] } = await shopWith(1);
    const { lead: theirLead } = await lead(other);
    const { lead: myLead } = await lead(shop);
    await expect(sendLeadToDestination({ db, queue, shop, leadId: theirLead.id, destinationId: mine.id })).rejects.toThrow(/lead does not exist/);
    await expect(sendLeadToDestination({ db, queue, shop, leadId: myLead.id, destinationId: theirs.id })).rejects.toThrow(/does not exist/);
  });
});
