import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { deliveryJobId, enqueueDeliveries } from "../../app/delivery/queue.server";
import { getDb } from "../../app/lib/db.server";
import { closeProducers, getProducers } from "../../app/runtime/producers.server";
import { listDeliveries } from "../../app/destinations/delivery-log.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { replayFailedDeliveriesSince, replayOneDelivery } from "../../app/destinations/replay.server";
import { sendTestWebhook } from "../../app/destinations/test-send.server";
import { sampleLead, waitFor } from "../support/delivery";
import { startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { captureLogger, loadWebhookPageData, LOOPBACK_DESTINATION, postWebhookForm, testSendDeps } from "./helpers";

const db = getDb();
const SHOP = "log-shop.myshopify.com";

describe("the delivery log", () => {
  let receiver: HttpsReceiver;
  let harness: DeliveryHarness;
  let shop: { id: string; domain: string };
  let destinationId: string;
  const ids = { delivered: [] as string[], failedOld: "", failedNew: "", retrying: "", test: "" };
  let leadOfFailedNew = "";
  const defaultQueueJobs: string[] = [];

  /** A lead delivery that ran out of retries on `day`, as the worker leaves it. */
  async function failedDelivery(day: string, statusCodes: number[]) {
    const { lead, deliveryIds } = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }));
    const id = deliveryIds[0];
    const createdAt = new Date(`${day}T08:00:00Z`);
    await db.delivery.update({
      where: { id },
      data: { createdAt, status: "failed", attemptCount: statusCodes.length, lastStatusCode: statusCodes.at(-1), lastError: "Your endpoint answered 503 Service Unavailable" },
    });
    for (const [i, statusCode] of statusCodes.entries()) {
      await db.deliveryAttempt.create({
        data: {
          deliveryId: id, number: i + 1, startedAt: new Date(createdAt.getTime() + i * 60_000), durationMs: 120 + i, address: "127.0.0.1",
          statusCode, errorCode: "http_status", errorMessage: `Your endpoint answered ${statusCode} Service Unavailable`, responseExcerpt: "try later",
        },
      });
    }
    return { id, leadId: lead.id };
  }

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    harness = await startHarness("log", receiver);
    shop = await installShop(SHOP);
    const connected = await connectEndpoint({ db, shop, url: receiver.urlFor("/log"), ring: keyRingFromConfig(), destination: LOOPBACK_DESTINATION });
    destinationId = connected.endpoint.id;
    receiver.setSecrets([connected.secret]);

    for (let i = 0; i < 3; i++) {
      const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }));
      await enqueueDeliveries(harness.queue, deliveryIds);
      ids.delivered.push(deliveryIds[0]);
    }
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: ids.delivered }, status: "delivered" } })) === 3, 10_000, "3 delivered");
    ids.failedOld = (await failedDelivery("2026-01-10", [503, 503])).id;
    const failedNew = await failedDelivery("2026-01-20", [503, 503, 503]);
    ids.failedNew = failedNew.id;
    leadOfFailedNew = failedNew.leadId;
    const retrying = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }));
    ids.retrying = retrying.deliveryIds[0];
    await db.delivery.update({ where: { id: ids.retrying }, data: { status: "retrying", attemptCount: 1, nextAttemptAt: new Date(Date.now() + 3_600_000) } });
    receiver.enqueue(respond.status(500, "boom"));
    ids.test = (await sendTestWebhook(testSendDeps(receiver, captureLogger().logger), { shop, destinationId })).deliveryId;
  });

  afterAll(async () => {
    for (const jobId of defaultQueueJobs) await (await getProducers().deliveryQueue.getJob(jobId))?.remove();
    await closeProducers();
    await harness.close();
    await receiver.close();
  });

  it("lists the endpoint's deliveries newest first with every attempt's time, status code, duration and error, and the next retry", async () => {
    const page = await loadWebhookPageData(SHOP);
    const rows = page.log.rows;
    expect(rows).toHaveLength(7);
    const created = rows.map((r) => r.createdAt);
    expect([...created].sort().reverse()).toEqual(created);
    const failed = rows.find((r) => r.id === ids.failedNew)!;
    expect(failed).toMatchObject({ status: "failed", event: "lead_captured", attemptCount: 3, nextAttemptAt: null, lastStatusCode: 503 });
    expect(failed.attempts.map((a) => a.number)).toEqual([3, 2, 1]);
    expect(failed.attempts[2]).toEqual({
      number: 1, startedAt: "2026-01-20T08:00:00.000Z", durationMs: 120, statusCode: 503, errorCode: "http_status",
      errorMessage: "Your endpoint answered 503 Service Unavailable", responseExcerpt: "try later",
    });
    const retrying = rows.find((r) => r.id === ids.retrying)!;
    expect(retrying.status).toBe("retrying");
    expect(Date.parse(retrying.nextAttemptAt!)).toBeGreaterThan(Date.now());
    const test = rows.find((r) => r.id === ids.test)!;
    expect(test).toMatchObject({ event: "test", status: "failed", attempts: [expect.objectContaining({ statusCode: 500, errorCode: "http_status" })] });
    const delivered = rows.find((r) => r.id === ids.delivered[0])!;
    expect(delivered.attempts[0]).toMatchObject({ statusCode: 200, errorCode: null, durationMs: expect.any(Number) });
    // No payload, and so no shopper email, in the log.
    expect(JSON.stringify(page)).not.toMatch(/@example\.org|"payload"/);
  });

  it("filters by status and by UTC date, and refuses a backwards range in plain words", async () => {
    const failed = await loadWebhookPageData(SHOP, "?status=failed");
    expect(failed.log.rows.map((r) => r.id).sort()).toEqual([ids.failedOld, ids.failedNew, ids.test].sort());
    const january = await loadWebhookPageData(SHOP, "?from=2026-01-15&to=2026-01-31");
    expect(january.log.rows.map((r) => r.id)).toEqual([ids.failedNew]);
    const oneDay = await loadWebhookPageData(SHOP, "?status=failed&from=2026-01-10&to=2026-01-10");
    expect(oneDay.log.rows.map((r) => r.id)).toEqual([ids.failedOld]);
    const backwards = await loadWebhookPageData(SHOP, "?from=2026-02-01&to=2026-01-01");
    expect(backwards.filterError).toBe("The start date is after the end date");
    const unknown = await loadWebhookPageData(SHOP, "?status=lost");
    expect(unknown.filterError).toBe("Unknown delivery status");
  });

  it("shows one lead's deliveries on their own", async () => {
    const page = await loadWebhookPageData(SHOP, `?lead=${leadOfFailedNew}`);
    expect(page.log.rows.map((r) => r.id)).toEqual([ids.failedNew]);
    // Each names the destination it went to, as the Destinations card does.
    const { name } = await db.destination.findUniqueOrThrow({ where: { id: destinationId } });
    expect(page.log.rows.map((r) => r.destinationName)).toEqual([name]);
  });

  it("pages through the log by keyset without repeats or gaps", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = await listDeliveries({ db, shopId: shop.id, destinationId, filters: {}, after, pageSize: 2 });
      seen.push(...page.rows.map((r) => r.id));
      after = page.nextCursor;
    } while (after);
    const all = (await listDeliveries({ db, shopId: shop.id, destinationId, filters: {} })).rows.map((r) => r.id);
    expect(seen).toEqual(all);
  });

  it("replays one failed delivery with the same delivery id; the attempt numbers continue", async () => {
    const before = receiver.requests.length;
    const { deliveryId } = await replayOneDelivery({ db, queue: harness.queue, shopId: shop.id, deliveryId: ids.failedOld });
    expect(deliveryId).toBe(ids.failedOld);
    await waitFor(async () => (await db.delivery.findUnique({ where: { id: ids.failedOld } }))?.status === "delivered", 10_000, "replay delivered");
    const request = receiver.requests.slice(before).find((r) => r.headers["x-tryoncloud-delivery-id"] === ids.failedOld);
    expect(request?.contract.verified).toBe(true);
    expect(request?.headers["webhook-id"]).toBe(ids.failedOld);
    const attempts = await db.deliveryAttempt.findMany({ where: { deliveryId: ids.failedOld }, orderBy: { number: "asc" } });
    expect(attempts.map((a) => [a.number, a.statusCode])).toEqual([[1, 503], [2, 503], [3, 200]]);
  });

  it("refuses to replay a delivery still on its way", async () => {
    const answer = await postWebhookForm(SHOP, { intent: "replay", deliveryId: ids.retrying });
    expect(answer.status).toBe(409);
    expect((answer.data as { error: string }).error).toMatch(/already on its way/);
  });

  it("counts the failed deliveries since a day before replaying them, then replays exactly those", async () => {
    const count = await postWebhookForm(SHOP, { intent: "count_failed", destinationId, since: "2026-01-15" });
    // The January 20 lead and today's test.
    expect(count).toMatchObject({ status: 200, data: { intent: "count_failed", count: 2, since: "2026-01-15" } });
    const before = receiver.requests.length;
    const replayed = await replayFailedDeliveriesSince({ db, queue: harness.queue, shopId: shop.id, destinationId, since: "2026-01-15" });
    expect(replayed).toBe(2);
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: [ids.failedNew, ids.test] }, status: "delivered" } })) === 2, 10_000, "replays delivered");
    const resent = receiver.requests.slice(before).map((r) => r.headers["x-tryoncloud-delivery-id"]);
    expect(resent.sort()).toEqual([ids.failedNew, ids.test].sort());
    const after = await postWebhookForm(SHOP, { intent: "count_failed", destinationId, since: "2026-01-15" });
    expect(after.data).toMatchObject({ count: 0 });
  });

  it("replays from the page through the production queue, keeping the id", async () => {
    const answer = await postWebhookForm(SHOP, { intent: "replay", deliveryId: ids.delivered[1] });
    expect(answer).toMatchObject({ status: 200, data: { intent: "replay", deliveryId: ids.delivered[1] } });
    defaultQueueJobs.push(deliveryJobId(ids.delivered[1], 2));
    expect(await getProducers().deliveryQueue.getJob(deliveryJobId(ids.delivered[1], 2))).toBeTruthy();
    expect(await db.delivery.findUniqueOrThrow({ where: { id: ids.delivered[1] } })).toMatchObject({ status: "pending", attemptsBeforeReplay: 1 });

    const bulk = await postWebhookForm(SHOP, { intent: "replay_failed", destinationId, since: "2026-01-01" });
    expect(bulk).toMatchObject({ status: 200, data: { intent: "replay_failed", replayed: 0 } });
    const badDay = await postWebhookForm(SHOP, { intent: "count_failed", destinationId, since: "2026-02-30" });
    expect(badDay.status).toBe(400);
  });
});
