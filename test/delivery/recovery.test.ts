import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { deliveryIdOfJob, deliveryJobId, enqueueDeliveries } from "../../app/delivery/queue.server";
import { reconcileDeliveries, startReconcilerLoop } from "../../app/delivery/reconciler.server";
import { createLogger } from "../../app/lib/logger.server";
import { getDb } from "../../app/lib/db.server";
import { createShopWithEndpoint, deleteKeysUnder, dumpKeysUnder, failInserts, ManualClock, sampleLead, waitFor, type TestEndpoint } from "../support/delivery";
import { startTsxChild } from "../support/child-process";
import { startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";

const db = getDb();
const clock = new ManualClock(new Date());
let receiver: HttpsReceiver;
let harness: DeliveryHarness;
let endpoint: TestEndpoint;

const requestsFor = (id: string) => receiver.requests.filter((r) => r.headers["webhook-id"] === id);

async function waitForStatus(ids: string[], status: string, timeoutMs = 15_000) {
  await waitFor(async () => (await db.delivery.count({ where: { id: { in: ids }, status } })) === ids.length, timeoutMs, `${ids.length} ${status}`);
}

async function captureWithoutEnqueue(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(...(await recordLeadWithDeliveries(db, sampleLead(endpoint), { clock })).deliveryIds);
  return ids;
}

describe("recovery: nothing is lost when the process, Redis or a worker goes away", () => {
  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    harness = await startHarness("recovery", receiver, { clock, deadlineMs: 5_000 });
    endpoint = await createShopWithEndpoint("recovery-shop.myshopify.com", receiver.urlFor("/hook"));
    receiver.setSecrets([endpoint.secret]);
  });

  afterAll(async () => {
    await harness.close();
    await receiver.close();
  });

  it("delivers leads committed by a process that died before enqueueing, once the grace period has passed", async () => {
    const ids = await captureWithoutEnqueue(3);
    // Still fresh: its own enqueue may be on its way, so the reconciler leaves it alone.
    const early = await reconcileDeliveries({ db, queue: harness.queue, clock, graceMs: 30_000 });
    expect(early.enqueued).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    for (const id of ids) expect(requestsFor(id)).toHaveLength(0);

    clock.advance(31_000);
    const loop = startReconcilerLoop({ db, queue: harness.queue, clock, graceMs: 30_000, intervalMs: 100, logger: createLogger({ level: "silent" }) });
    try {
      await waitForStatus(ids, "delivered");
    } finally {
      await loop.stop();
    }
    for (const id of ids) expect(requestsFor(id)).toHaveLength(1);
  });

  it("re-enqueues idempotently: repeated reconciler rounds leave one job per delivery", async () => {
    await harness.worker.worker.pause();
    try {
      const ids = await captureWithoutEnqueue(2);
      const first = await harness.reconcile();
      const second = await harness.reconcile();
      expect(first.enqueued).toBeGreaterThanOrEqual(2);
      expect(second.enqueued).toBe(0);
      const jobs = await harness.queue.getJobs(["waiting", "delayed", "prioritized"]);
      for (const id of ids) expect(jobs.filter((j) => deliveryIdOfJob(j) === id)).toHaveLength(1);
      harness.worker.worker.resume();
      await waitForStatus(ids, "delivered");
      for (const id of ids) expect(requestsFor(id)).toHaveLength(1);
    } finally {
      harness.worker.worker.resume();
    }
  });

  it("delivers everything after Redis loses the queue mid-run: waiting jobs and delayed retries alike", async () => {
    // Three deliveries fail once and wait as delayed retry jobs...
    receiver.enqueue(respond.status(500), respond.status(500), respond.status(500));
    const retrying = await captureWithoutEnqueue(3);
    await enqueueDeliveries(harness.queue, retrying);
    await waitForStatus(retrying, "retrying");
    // ...three more are enqueued while the worker is busy elsewhere...
    await harness.worker.worker.pause();
    const waiting = await captureWithoutEnqueue(3);
    await enqueueDeliveries(harness.queue, waiting);
    // ...then every key of this queue disappears (a flush, or a restart without persistence).
    expect(await deleteKeysUnder(harness.redis, harness.prefix)).toBeGreaterThan(0);
    expect(await harness.queue.getJobCountByTypes("waiting", "delayed", "active", "paused")).toBe(0);
    harness.worker.worker.resume();

    clock.advance(2 * 3600_000);
    const round = await harness.reconcile();
    expect(round.due).toBeGreaterThanOrEqual(6);
    await waitForStatus([...retrying, ...waiting], "delivered");
    for (const id of retrying) expect(requestsFor(id)).toHaveLength(2);
    for (const id of waiting) expect(requestsFor(id)).toHaveLength(1);
  });

  it("survives a database error while recording an attempt: nothing of it reaches Redis, and the delivery is taken over after its lease", async () => {
    clock.set(new Date());
    const restore = await failInserts("DeliveryAttempt", "cannot store attempt for leak.person@example.org");
    let id: string;
    try {
      [id] = await captureWithoutEnqueue(1);
      await enqueueDeliveries(harness.queue, [id]);
      // The job ends when the receiver has answered; the outcome is written after it, and that fails.
      await waitFor(async () => (await harness.queue.getJobState(deliveryJobId(id, 1))) === "completed", 10_000, "the job to finish");
      await harness.worker.recorded();
      const job = await harness.queue.getJob(deliveryJobId(id, 1));
      expect(job?.returnvalue).toBe("sent");
      expect(await dumpKeysUnder(harness.redis, harness.prefix)).not.toMatch(/leak|example\.org|cannot store/);
    } finally {
      await restore();
    }
    // The receiver got the lead but the database could not say so: the row still holds the lease.
    const held = await db.delivery.findUniqueOrThrow({ where: { id } });
    expect(held.status).toBe("delivering");
    expect(requestsFor(id)).toHaveLength(1);

    clock.set(new Date(held.lockedUntil!.getTime() + 1000));
    expect((await harness.reconcile()).stuck).toBe(1);
    await waitForStatus([id], "delivered");
    // Sent again under the same id: receivers dedupe on it.
    expect(new Set(requestsFor(id).map((r) => r.headers["webhook-id"]))).toEqual(new Set([id]));
  });

  // Worker processes apart from the web process are a PostgreSQL deployment (SQLite is single-process).
  it.runIf(process.env.TEST_DB === "postgres")("finishes a delivery whose worker process was killed mid-request: sent again under the same id, the lost attempt visible", async () => {
    const leaseMs = 1_500;
    // The child process runs on real time; bring the engine's clock back to it so the lead is due for both.
    clock.set(new Date());
    const child = await startTsxChild("test/support/delivery-worker-child.ts", {
      queueName: harness.queueName, prefix: harness.prefix, ca: receiver.ca, leaseMs, deadlineMs: 20_000,
    });
    await harness.worker.worker.pause();
    try {
      // The receiver holds the first request open, so the kill lands while it is in flight.
      receiver.enqueue(respond.hang());
      const [id] = await captureWithoutEnqueue(1);
      const before = receiver.requests.length;
      await enqueueDeliveries(harness.queue, [id]);
      await receiver.waitForRequests(before + 1, 15_000);
      const inFlight = await db.delivery.findUniqueOrThrow({ where: { id } });
      expect(inFlight).toMatchObject({ status: "delivering", attemptCount: 1 });

      process.kill(child.pid, "SIGKILL");
      await child.exited;

      // Until the lease runs out nobody may take it over; after that, the reconciler hands it to a live worker.
      harness.worker.worker.resume();
      clock.set(new Date(inFlight.lockedUntil!.getTime() - 100));
      expect((await harness.reconcile()).stuck).toBe(0);
      clock.set(new Date(inFlight.lockedUntil!.getTime() + 1000));
      expect((await harness.reconcile()).stuck).toBe(1);
      await waitForStatus([id], "delivered");

      const done = await db.delivery.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: "asc" } } } });
      expect(done.attempts.map((a) => [a.number, a.errorCode])).toEqual([[1, "timeout"], [2, null]]);
      expect(done.attempts[0].errorMessage).toMatch(/worker stopped/);
      const sent = requestsFor(id);
      expect(sent).toHaveLength(2);
      expect(sent.every((r) => r.headers["x-tryoncloud-delivery-id"] === id && r.contract.verified && r.standard.verified)).toBe(true);
      expect(sent[0].body).toBe(sent[1].body);
    } finally {
      harness.worker.worker.resume();
      child.kill();
    }
  });
});

