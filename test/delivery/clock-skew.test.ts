import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock } from "../../app/delivery/clock";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { deliveryJobId, enqueueDeliveries } from "../../app/delivery/queue.server";
import { reconcileDeliveries } from "../../app/delivery/reconciler.server";
import { createDeliveryWorker, type DeliveryWorker } from "../../app/delivery/worker.server";
import { getDb } from "../../app/lib/db.server";
import { createLogger } from "../../app/lib/logger.server";
import { createShopWithEndpoint, sampleLead, testKeyRing, waitFor, type TestEndpoint } from "../support/delivery";
import { loopbackSender, startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";

/**
 * Processes whose clocks disagree. Leases and due times are written with the writing process's clock and read
 * with the reader's, so a worker whose clock runs behind looks, to a reconciler on the right time, as if its
 * lease had run out while its attempt is still going. The lead must still arrive, under one delivery id that
 * every request carries, and end delivered; nothing may be left "delivering".
 */

const db = getDb();
const LEASE_MS = 10_000;

/** A clock that runs, `offsetMs` away from the machine's. */
const skewed = (offsetMs: number): Clock => ({ now: () => new Date(Date.now() + offsetMs) });

/** Reconciler rounds on the right time (as its loop runs them, only more often) until the delivery is delivered. */
async function reconcileUntilDelivered(queue: DeliveryHarness["queue"], deliveryId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await reconcileDeliveries({ db, queue, graceMs: 0 });
    if ((await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).status === "delivered") return;
    if (Date.now() > deadline) throw new Error(`not delivered within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe("clock skew between processes", () => {
  let receiver: HttpsReceiver;
  let harness: DeliveryHarness;
  let endpoint: TestEndpoint;
  let behind: DeliveryWorker | undefined;
  const sender = { current: undefined as ReturnType<typeof loopbackSender> | undefined };

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    harness = await startHarness("clock-skew", receiver, { leaseMs: LEASE_MS, deadlineMs: 5_000 });
    endpoint = await createShopWithEndpoint(`clock-skew-${Date.now()}.myshopify.com`, receiver.urlFor("/skew"));
    receiver.setSecrets([endpoint.secret]);
  });

  afterAll(async () => {
    await behind?.close();
    await sender.current?.close();
    await harness.close();
    await receiver.close();
  });

  it("GIVEN a worker whose clock is behind the one that wrote the lead THEN the worker holds the job for the difference and delivers it, no attempt spent", async () => {
    const SKEW_MS = 3_000;
    await harness.worker.close();
    const lagging = loopbackSender(receiver);
    const worker = createDeliveryWorker({
      db, connection: harness.redis, send: lagging.send, keyRing: testKeyRing(), logger: createLogger({ level: "silent" }),
      clock: skewed(-SKEW_MS), concurrency: 2, queueName: harness.queueName, prefix: harness.prefix, leaseMs: LEASE_MS,
      gate: { cooldownMs: 200, maxCooldownMs: 1_000 },
    });
    try {
      const started = Date.now();
      const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint));
      await enqueueDeliveries(harness.queue, deliveryIds);
      // To the lagging worker the lead is not due yet: it puts the job off until its own clock reaches the
      // lead's due time, without spending an attempt and without waiting for a reconciler round (none runs here).
      await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: deliveryIds[0] } })).status === "delivered", 15_000, "the lead to be delivered");
      expect(Date.now() - started).toBeGreaterThanOrEqual(SKEW_MS - 500);
      const row = await db.delivery.findUniqueOrThrow({ where: { id: deliveryIds[0] }, include: { attempts: true } });
      expect(row.attempts).toHaveLength(1);
      expect(receiver.requests.filter((r) => r.headers["webhook-id"] === deliveryIds[0])).toHaveLength(1);
    } finally {
      await worker.close();
      await lagging.close();
      await harness.restartWorker();
    }
  }, 30_000);

  it("GIVEN a worker whose clock is behind by more than the lease THEN a lead it is sending may be taken over and sent again, always under the same id, and ends delivered", async () => {
    // Only the worker that is behind is running when the lead comes in.
    await harness.worker.close();
    sender.current = loopbackSender(receiver, 5_000);
    behind = createDeliveryWorker({
      db, connection: harness.redis, send: sender.current.send, keyRing: testKeyRing(), logger: createLogger({ level: "silent" }),
      clock: skewed(-3 * LEASE_MS), concurrency: 2, queueName: harness.queueName, prefix: harness.prefix, leaseMs: LEASE_MS,
      gate: { cooldownMs: 200, maxCooldownMs: 1_000 },
    });
    receiver.enqueue(respond.delayed(4_000));
    const before = receiver.requests.length;
    // The storefront's capture was written on the same machine as that worker, with its clock.
    const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint), { clock: skewed(-3 * LEASE_MS) });
    const [deliveryId] = deliveryIds;
    await enqueueDeliveries(harness.queue, deliveryIds);
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).status === "delivering", 10_000, "the attempt to start");

    // The reconciler, on the right time, finds the lease run out while the slow answer is still coming; a worker
    // on the right time is there to take the job.
    const round = await reconcileDeliveries({ db, queue: harness.queue, graceMs: 0 });
    expect(round.stuck).toBe(1);
    await harness.restartWorker();
    await reconcileUntilDelivered(harness.queue, deliveryId, 20_000);
    // The slow first attempt has had its answer too; whatever it recorded, the delivery stays delivered.
    await waitFor(async () => (await harness.queue.getJobState(deliveryJobId(deliveryId, 1))) === "completed", 10_000, "the first attempt's job to end");
    await behind.recorded();
    await harness.worker.recorded();

    const row = await db.delivery.findUniqueOrThrow({ where: { id: deliveryId }, include: { attempts: true } });
    expect(row.status).toBe("delivered");
    const sent = receiver.requests.slice(before);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    // At least once, and deduplicable: however many takeovers the skew caused, every request names the same delivery.
    expect(new Set(sent.map((r) => r.headers["webhook-id"]))).toEqual(new Set([deliveryId]));
    expect(new Set(row.attempts.map((a) => a.number)).size).toBe(row.attempts.length);
    expect(await db.delivery.count({ where: { status: "delivering" } })).toBe(0);
  }, 60_000);
});
