import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import { getConfig } from "../../app/lib/config.server";
import { getProducers } from "../../app/runtime/producers.server";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { adminGraphqlFor } from "../../app/customers/admin-graphql.server";
import { createShopPace } from "../../app/customers/shop-pace.server";
import { reconcileTagging } from "../../app/customers/tagging-reconciler.server";
import { enqueueTagging, processTaggingJob, taggingJobId } from "../../app/customers/tagging.server";
import { FakeAdminApi } from "../support/fake-admin-api";
import { installShop } from "../support/shopify";
import { addEndpoint, deleteKeysUnder, sampleLead, waitFor, type TestEndpoint } from "../support/delivery";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { startTaggingHarness, type TaggingHarness } from "../support/tagging-harness";

/**
 * Tagging is reconciled like deliveries: the lead row says whether tagging is pending, and a pending lead
 * with no live job gets one again, so a Redis that loses its data loses no tagging. A tagging that fails for
 * good is recorded as failed and left alone.
 */

const SHOPS = ["reconcile-a.myshopify.com", "reconcile-b.myshopify.com"];
const api = new FakeAdminApi({ latencyMs: 30 });
let receiver: HttpsReceiver;
let endpoints: TestEndpoint[];
let harness: TaggingHarness;

const leadState = (id: string) => getDb().lead.findUniqueOrThrow({ where: { id }, select: { tagged: true, taggingState: true, taggingError: true } });

describe("tagging reconciled like deliveries", () => {
  beforeAll(async () => {
    api.install();
    receiver = await startHttpsReceiver();
    endpoints = [];
    for (const shop of SHOPS) endpoints.push(await addEndpoint(await installShop(shop), receiver.urlFor(`/crm/${shop}`)));
    receiver.setSecrets(endpoints.map((e) => e.secret));
    harness = await startTaggingHarness("reconcile", receiver, { deadlineMs: 400, concurrency: 4 });
  });

  afterAll(async () => {
    await harness?.close();
    await receiver?.close();
  });

  it("GIVEN Redis loses every key in the middle of a run THEN the reconciler re-creates the lost taggings: no lead is left untagged and every lead is delivered", async () => {
    const leads: { leadId: string; deliveryIds: string[] }[] = [];
    for (let i = 0; i < 20; i++) leads.push(await harness.capture(endpoints[i % 2]));
    // Shopify falls behind for a moment (the taggings in flight carry on), so jobs pile up in Redis.
    await harness.tagging.pause(true);
    for (let i = 0; i < 20; i++) leads.push(await harness.capture(endpoints[i % 2]));

    // What a FLUSHALL, or a restart without persistence, does to this app's keys while work is in flight.
    await deleteKeysUnder(harness.delivery.redis, harness.prefix);
    harness.tagging.resume();
    const pendingAtFlush = await getDb().lead.count({ where: { id: { in: leads.map((l) => l.leadId) }, taggingState: "pending" } });
    expect(pendingAtFlush).toBeGreaterThanOrEqual(20);

    for (let i = 0; i < 40; i++) leads.push(await harness.capture(endpoints[i % 2]));
    let recreated = 0;
    const ids = leads.map((l) => l.leadId);
    // The reconciler loop, every half second.
    await waitFor(async () => {
      recreated += (await harness.reconcile()).tagging.enqueued;
      await sleep(500);
      return (await getDb().lead.count({ where: { id: { in: ids }, taggingState: { not: "done" } } })) === 0;
    }, 40_000, "every lead tagged");
    expect(recreated).toBeGreaterThan(0);
    // The queue's event stream is capped again, as configured, though Redis forgot the setting.
    expect(await harness.delivery.redis.hget(harness.taggingQueue.keys.meta, "opts.maxLenEvents")).toBe("50");
    expect(await getDb().lead.count({ where: { id: { in: ids }, tagged: false } })).toBe(0);
    // Every shopper became one tagged customer of the right shop.
    for (const shop of SHOPS) expect(api.customers.get(shop)!.filter((c) => c.tags.includes("tryon-lead"))).toHaveLength(40);

    const deliveryIds = leads.flatMap((l) => l.deliveryIds);
    await waitFor(async () => {
      await harness.reconcile();
      await sleep(500);
      return (await getDb().delivery.count({ where: { id: { in: deliveryIds }, status: "delivered" } })) === deliveryIds.length;
    }, 40_000, "every delivery delivered");
    const arrived = new Set(receiver.requests.map((r) => String(r.headers["x-tryoncloud-delivery-id"])));
    expect(deliveryIds.every((id) => arrived.has(id))).toBe(true);
  }, 120_000);

  it("GIVEN a lead whose tagging job already finished while the lead is still pending THEN the finished job is replaced, since BullMQ would ignore the add", async () => {
    const { leadId } = await harness.capture(endpoints[0]);
    const jobId = taggingJobId(leadId);
    await waitFor(async () => (await harness.taggingQueue.getJob(jobId))?.finishedOn, 10_000, "the job finished");
    // The outcome never reached the database (say, it was lost with a failover).
    await getDb().lead.update({ where: { id: leadId }, data: { taggingState: "pending", tagged: false, taggedAt: null } });

    await enqueueTagging(harness.taggingQueue, leadId);
    expect(await harness.taggingQueue.getJobState(jobId)).toBe("completed");
    const round = await reconcileTagging({ db: getDb(), queue: harness.taggingQueue, graceMs: 0 });
    expect(round.enqueued).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await leadState(leadId)).taggingState === "done", 10_000, "tagged again");
    // A live job is never doubled: a second round finds nothing to add for it.
    await harness.tagging.pause();
    const other = await harness.capture(endpoints[1]);
    const again = await reconcileTagging({ db: getDb(), queue: harness.taggingQueue, graceMs: 0 });
    expect(again.pending).toBeGreaterThanOrEqual(1);
    expect(await harness.taggingQueue.getJobCounts("waiting")).toMatchObject({ waiting: 1 });
    harness.tagging.resume();
    await waitFor(async () => (await leadState(other.leadId)).taggingState === "done", 10_000, "the other lead tagged");
  });

  it("GIVEN the app lost access to the shop THEN the tagging is marked failed at once, the lead is still delivered, and the reconciler leaves it alone", async () => {
    const shop = "reconcile-revoked.myshopify.com";
    const endpoint = await addEndpoint(await installShop(shop), receiver.urlFor("/crm/revoked"));
    receiver.setSecrets([...endpoints.map((e) => e.secret), endpoint.secret]);
    api.revoke(shop);
    const { leadId, deliveryIds } = await harness.capture(endpoint);
    await waitFor(async () => (await leadState(leadId)).taggingState === "failed", 10_000, "marked failed");
    expect(await leadState(leadId)).toMatchObject({ tagged: false, taggingError: expect.stringMatching(/HTTP 401/) });
    await waitFor(async () => (await harness.taggingQueue.getJobState(taggingJobId(leadId))) === "failed", 5_000, "the job failed for good");
    expect(api.calls.filter((c) => c.shop === shop)).toHaveLength(1);
    await waitFor(async () => receiver.requests.find((r) => r.headers["x-tryoncloud-delivery-id"] === deliveryIds[0]), 10_000, "delivered");

    const round = await reconcileTagging({ db: getDb(), queue: harness.taggingQueue, graceMs: 0 });
    expect(round).toEqual({ pending: 0, enqueued: 0 });
    expect(api.calls.filter((c) => c.shop === shop)).toHaveLength(1);
  });

  it("GIVEN Shopify keeps failing until the last try THEN the lead is marked failed with the reason and never re-queued", async () => {
    const shop = "reconcile-failing.myshopify.com";
    const endpoint = await addEndpoint(await installShop(shop), "https://crm.example/failing");
    const { lead } = await recordLeadWithDeliveries(getDb(), sampleLead(endpoint, { email: "last.try@example.com" }));
    const deps = {
      db: getDb(), deliveryQueue: harness.delivery.queue, graphqlFor: adminGraphqlFor, logger: pino({ level: "silent" }),
      pace: createShopPace(getProducers().redis, { prefix: getConfig().QUEUE_PREFIX }),
    };
    const job = (attemptsMade: number) => ({ id: taggingJobId(lead.id), data: { leadId: lead.id }, attemptsMade, opts: { attempts: 6 }, moveToDelayed: async () => undefined });
    api.fail(shop, "http500");
    await expect(processTaggingJob(deps, job(4))).rejects.toThrow();
    expect(await leadState(lead.id)).toMatchObject({ taggingState: "pending" });
    api.fail(shop, "http500");
    await expect(processTaggingJob(deps, job(5))).rejects.toThrow();
    const failed = await leadState(lead.id);
    expect(failed).toMatchObject({ tagged: false, taggingState: "failed", taggingError: expect.stringMatching(/Admin API call failed/) });
    expect(failed.taggingError).not.toMatch(/last\.try@example\.com/);
    expect(await reconcileTagging({ db: getDb(), queue: harness.taggingQueue, graceMs: 0 })).toEqual({ pending: 0, enqueued: 0 });
  });

  it("GIVEN the shop uninstalled the app THEN its pending leads are skipped by the reconciler and a job that still runs marks them failed", async () => {
    const shop = "reconcile-gone.myshopify.com";
    const endpoint = await addEndpoint(await installShop(shop), "https://crm.example/gone");
    const { lead } = await recordLeadWithDeliveries(getDb(), sampleLead(endpoint));
    await getDb().shop.update({ where: { domain: shop }, data: { uninstalledAt: new Date() } });
    expect(await reconcileTagging({ db: getDb(), queue: harness.taggingQueue, graceMs: 0 })).toEqual({ pending: 0, enqueued: 0 });
    await enqueueTagging(harness.taggingQueue, lead.id);
    await waitFor(async () => (await leadState(lead.id)).taggingState === "failed", 10_000, "marked failed");
    expect(api.calls.some((c) => c.shop === shop)).toBe(false);
  });
});
