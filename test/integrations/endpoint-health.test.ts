import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { deliveryJobId, enqueueDeliveries } from "../../app/delivery/queue.server";
import { getDb } from "../../app/lib/db.server";
import { closeProducers, getProducers } from "../../app/runtime/producers.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { resumeEndpoint } from "../../app/destinations/endpoint-lifecycle.server";
import { FAILING_AFTER_CONSECUTIVE_FAILURES } from "../../app/destinations/health";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { countFailedDeliveriesSince, replayFailedDeliveriesSince } from "../../app/destinations/replay.server";
import { loader as leadsLoader } from "../../app/routes/app.leads._index";
import type { DestinationsSummary } from "../../app/destinations/summary.server";
import { sampleLead, waitFor } from "../support/delivery";
import { startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { adminRequest, installShop } from "../support/shopify";
import { loadWebhookPageData, LOOPBACK_DESTINATION, postWebhookForm } from "./helpers";

const db = getDb();
const SHOP = "health-shop.myshopify.com";

describe("endpoint health in the Leads tab", () => {
  let receiver: HttpsReceiver;
  let harness: DeliveryHarness;
  let shop: { id: string; domain: string };
  let destinationId: string;
  const defaultQueueJobs: string[] = [];

  async function leadsSummary() {
    const data = await leadsLoader({ request: await adminRequest("/app/leads", SHOP), params: {}, context: {} });
    // The shop has one destination here: the Destinations card lists it.
    const { destinations } = (data as { destinations: DestinationsSummary }).destinations;
    expect(destinations).toHaveLength(1);
    return destinations[0];
  }

  /** Records `count` leads, enqueues them, and waits until each has had its first attempt. */
  async function deliverLeads(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(...(await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }))).deliveryIds);
    await enqueueDeliveries(harness.queue, ids);
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: ids }, attemptCount: { gte: 1 }, status: { not: "delivering" } } })) === ids.length, 10_000, `${count} attempts`);
    return ids;
  }

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    harness = await startHarness("health", receiver);
    shop = await installShop(SHOP);
    const connected = await connectEndpoint({ db, shop, url: receiver.urlFor("/crm"), ring: keyRingFromConfig(), destination: LOOPBACK_DESTINATION });
    destinationId = connected.endpoint.id;
    receiver.setSecrets([connected.secret]);
  });

  afterAll(async () => {
    for (const jobId of defaultQueueJobs) await (await getProducers().deliveryQueue.getJob(jobId))?.remove();
    await closeProducers();
    await harness.close();
    await receiver.close();
  });

  it("GIVEN fewer failures in a row than the threshold THEN the webhook is still healthy", async () => {
    expect(FAILING_AFTER_CONSECUTIVE_FAILURES).toBe(5);
    expect(await leadsSummary()).toMatchObject({ health: "healthy", consecutiveFailures: 0 });
    receiver.setDefault(respond.status(502, "bad gateway"));
    await deliverLeads(4);
    expect(await leadsSummary()).toMatchObject({ health: "healthy", consecutiveFailures: 4 });
  });

  it("GIVEN a fifth failure in a row THEN the row turns failing and the Leads tab says so; one success clears it", async () => {
    await deliverLeads(1);
    expect(await leadsSummary()).toMatchObject({ health: "failing", consecutiveFailures: 5 });
    const page = await loadWebhookPageData(SHOP);
    expect(page.endpoint).toMatchObject({ health: "failing", consecutiveFailures: 5, lastFailureAt: expect.any(String) });

    receiver.setDefault(respond.ok());
    const [id] = await deliverLeads(1);
    expect(await db.delivery.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "delivered" });
    expect(await leadsSummary()).toMatchObject({ health: "healthy", consecutiveFailures: 0 });
  });

  it("GIVEN the endpoint answers 410 Gone THEN it is paused with the reason shown, and leads wait instead of being sent", async () => {
    receiver.setDefault(respond.gone());
    const [gone] = await deliverLeads(1);
    expect(await leadsSummary()).toMatchObject({ health: "paused", pausedReason: expect.stringMatching(/410 Gone/) });
    expect(await db.delivery.findUniqueOrThrow({ where: { id: gone } })).toMatchObject({ status: "retrying" });

    receiver.setDefault(respond.ok());
    const before = receiver.requests.length;
    const waiting = (await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }))).deliveryIds;
    await enqueueDeliveries(harness.queue, waiting);
    await harness.reconcile();
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests.length).toBe(before);
    expect(await db.delivery.findUniqueOrThrow({ where: { id: waiting[0] } })).toMatchObject({ status: "pending", attemptCount: 0 });

    // Resuming wakes what waited: the 410'd delivery and the lead that arrived while paused.
    const { endpoint, woken } = await resumeEndpoint({ db, shop, destinationId, queue: harness.queue });
    expect(endpoint).toMatchObject({ state: "active", health: "healthy", pausedReason: null, consecutiveFailures: 0 });
    expect(woken).toBe(2);
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: [gone, ...waiting] }, status: "delivered" } })) === 2, 10_000, "waiting deliveries delivered");
  });

  it("GIVEN the merchant pauses THEN nothing is sent until they resume, and deliveries that failed meanwhile can be replayed", async () => {
    const pause = await postWebhookForm(SHOP, { intent: "pause", destinationId });
    expect(pause.status).toBe(200);
    expect(await leadsSummary()).toMatchObject({ health: "paused", pausedReason: expect.stringMatching(/Paused by you/) });
    const again = await postWebhookForm(SHOP, { intent: "pause", destinationId });
    expect(again.status).toBe(409);

    const before = receiver.requests.length;
    const waiting = (await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }))).deliveryIds;
    await enqueueDeliveries(harness.queue, waiting);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.length).toBe(before);
    // One that had run out of retries before the pause.
    const exhausted = (await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }))).deliveryIds[0];
    await db.delivery.update({ where: { id: exhausted }, data: { status: "failed", attemptCount: 7, lastError: "Your endpoint answered 503 Service Unavailable" } });

    // Resumed from the page: the waiting lead is woken on the production queue; here the reconciler hands it to
    // this file's worker, as it would after a lost job.
    const resume = await postWebhookForm(SHOP, { intent: "resume", destinationId });
    expect(resume).toMatchObject({ status: 200, data: { intent: "resume", woken: 1 } });
    for (const id of waiting) defaultQueueJobs.push(deliveryJobId(id, 1));
    await harness.reconcile();
    const today = new Date().toISOString().slice(0, 10);
    expect(await countFailedDeliveriesSince({ db, shopId: shop.id, destinationId, since: today })).toBe(1);
    expect(await replayFailedDeliveriesSince({ db, queue: harness.queue, shopId: shop.id, destinationId, since: today })).toBe(1);
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: [...waiting, exhausted] }, status: "delivered" } })) === 2, 10_000, "delivered after resume");
    expect(await leadsSummary()).toMatchObject({ health: "healthy" });
  });
});
