import { Worker } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../app/delivery/clock";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { deliveryJobId, enqueueDeliveries, enqueueDelivery } from "../../app/delivery/queue.server";
import { processDelivery } from "../../app/delivery/process-delivery.server";
import { cancelPendingForEndpoint } from "../../app/delivery/replay.server";
import { generateSigningSecret } from "../../app/delivery/signing";
import { getDb } from "../../app/lib/db.server";
import { encryptSecret } from "../../app/lib/secret-box.server";
import { createShopWithEndpoint, dumpKeysUnder, sampleLead, testKeyRing, waitFor, type TestEndpoint } from "../support/delivery";
import { loopbackSender, startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";

const db = getDb();
let receiver: HttpsReceiver;
let harness: DeliveryHarness;
let endpoint: TestEndpoint;

async function statusOf(id: string) {
  return (await db.delivery.findUniqueOrThrow({ where: { id } })).status;
}

async function waitForStatus(ids: string[], status: string, timeoutMs = 15_000) {
  await waitFor(async () => (await db.delivery.count({ where: { id: { in: ids }, status } })) === ids.length, timeoutMs, `${ids.length} ${status}`);
}

describe("delivery end to end (real Redis, database and HTTPS receiver)", () => {
  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    harness = await startHarness("e2e", receiver, { concurrency: 5 });
    endpoint = await createShopWithEndpoint("e2e-shop.myshopify.com", receiver.urlFor("/crm/leads?token=abc"));
    receiver.setSecrets([endpoint.secret]);
  });

  afterAll(async () => {
    await harness.close();
    await receiver.close();
  });

  it("delivers every captured lead once, signed so that both recipes verify, with the stored bytes", async () => {
    const leads = [];
    for (let i = 0; i < 20; i++) leads.push(await recordLeadWithDeliveries(db, sampleLead(endpoint)));
    const ids = leads.flatMap((l) => l.deliveryIds);
    expect(ids).toHaveLength(20);
    for (const l of leads) await enqueueDeliveries(harness.queue, l.deliveryIds);

    await waitForStatus(ids, "delivered");
    const requests = receiver.requests.filter((r) => ids.includes(String(r.headers["webhook-id"])));
    expect(requests).toHaveLength(20);
    for (const request of requests) {
      expect(request.contract.verified).toBe(true);
      expect(request.standard.verified).toBe(true);
      expect(request.svix.verified).toBe(true);
      expect(request.path).toBe("/crm/leads?token=abc");
      const id = String(request.headers["x-tryoncloud-delivery-id"]);
      const stored = await db.delivery.findUniqueOrThrow({ where: { id }, include: { attempts: true } });
      expect(request.body).toBe(stored.payload);
      expect(request.headers["x-tryoncloud-event"]).toBe("lead_captured");
      expect(stored.attempts).toHaveLength(1);
      expect(stored.attempts[0]).toMatchObject({ number: 1, statusCode: 200, errorCode: null, address: "127.0.0.1" });
      expect(stored.deliveredAt).not.toBeNull();
    }
    const health = await db.destination.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(health.consecutiveFailures).toBe(0);
    expect(health.lastSuccessAt).not.toBeNull();
  });

  it("sends nothing for a duplicated or replayed job of a delivered delivery", async () => {
    const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint));
    await enqueueDeliveries(harness.queue, deliveryIds);
    await waitForStatus(deliveryIds, "delivered");
    // The job itself ends a moment after the row says delivered (it gives its destination slot back first).
    await waitFor(async () => (await harness.queue.getJobState(deliveryJobId(deliveryIds[0], 1))) === "completed", 10_000, "the first job to finish");
    const before = receiver.requests.length;

    // The same job again (BullMQ kept the finished one; it is replaced), and a job for a later attempt.
    await enqueueDelivery(harness.queue, deliveryIds[0], { attempt: 1 });
    await enqueueDelivery(harness.queue, deliveryIds[0], { attempt: 2 });
    for (const attempt of [1, 2]) {
      const jobId = deliveryJobId(deliveryIds[0], attempt);
      await waitFor(async () => (await harness.queue.getJobState(jobId)) === "completed", 10_000, `job for attempt ${attempt} to finish`);
      expect((await harness.queue.getJob(jobId))?.returnvalue).toBe("finished");
    }
    expect(receiver.requests.length).toBe(before);
    expect(await db.deliveryAttempt.count({ where: { deliveryId: deliveryIds[0] } })).toBe(1);
  });

  it("GIVEN BullMQ failed a delivery's job for stalling before the row was claimed THEN the reconciler replaces it and the lead is sent once", async () => {
    await harness.worker.close();
    const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint));
    await enqueueDeliveries(harness.queue, deliveryIds);
    const jobId = deliveryJobId(deliveryIds[0], 1);
    // A worker takes the job and is gone before claiming the row; BullMQ's stall check gives the job up.
    const vanished = new Worker(harness.queueName, null, { connection: harness.redis, prefix: harness.prefix, autorun: false });
    try {
      const job = await vanished.getNextJob("vanished-worker");
      expect(job?.id).toBe(jobId);
      await job!.moveToFailed(new Error("job stalled more than allowable limit"), "vanished-worker", false);
    } finally {
      await vanished.close();
    }
    expect(await harness.queue.getJobState(jobId)).toBe("failed");
    expect(await statusOf(deliveryIds[0])).toBe("pending");

    await harness.restartWorker();
    const before = receiver.requests.length;
    expect((await harness.reconcile()).enqueued).toBeGreaterThanOrEqual(1);
    await waitForStatus(deliveryIds, "delivered");
    expect(receiver.requests.slice(before).filter((r) => r.headers["webhook-id"] === deliveryIds[0])).toHaveLength(1);
    expect(await db.deliveryAttempt.count({ where: { deliveryId: deliveryIds[0] } })).toBe(1);
  });

  it("signs with the new and the previous secret during a rotation overlap, and with the new one only after it", async () => {
    const rotated = await createShopWithEndpoint("rotation-shop.myshopify.com", receiver.urlFor("/rotation"));
    const newer = generateSigningSecret();
    const binding = { shopId: rotated.shopId, destinationId: rotated.id, purpose: "webhook-signing" } as const;
    const encrypted = encryptSecret(newer, testKeyRing(), binding);
    const previous = encryptSecret(rotated.secret, testKeyRing(), binding);
    await db.destination.update({
      where: { id: rotated.id },
      data: {
        secretCiphertext: encrypted.stored, secretKeyVersion: encrypted.keyVersion,
        previousSecretCiphertext: previous.stored, previousSecretKeyVersion: previous.keyVersion,
        previousSecretUntil: new Date(Date.now() + 3600_000),
      },
    });
    // A receiver that has not switched yet still verifies.
    receiver.setSecrets([rotated.secret]);
    const first = await recordLeadWithDeliveries(db, sampleLead(rotated));
    await enqueueDeliveries(harness.queue, first.deliveryIds);
    await waitForStatus(first.deliveryIds, "delivered");
    const during = receiver.requests.find((r) => r.headers["webhook-id"] === first.deliveryIds[0])!;
    expect(String(during.headers["x-tryoncloud-signature"]).split(",")).toHaveLength(2);
    expect(during.contract.verified && during.standard.verified).toBe(true);

    await db.destination.update({ where: { id: rotated.id }, data: { previousSecretUntil: new Date(Date.now() - 1000) } });
    receiver.setSecrets([newer]);
    const second = await recordLeadWithDeliveries(db, sampleLead(rotated));
    await enqueueDeliveries(harness.queue, second.deliveryIds);
    await waitForStatus(second.deliveryIds, "delivered");
    const after = receiver.requests.find((r) => r.headers["webhook-id"] === second.deliveryIds[0])!;
    expect(String(after.headers["x-tryoncloud-signature"]).split(",")).toHaveLength(1);
    expect(after.contract.verified && after.standard.verified && after.svix.verified).toBe(true);
    receiver.setSecrets([endpoint.secret]);
  });

  it("sends nothing more once an endpoint is disconnected, even for jobs already queued", async () => {
    const leaving = await createShopWithEndpoint("leaving-shop.myshopify.com", receiver.urlFor("/leaving"));
    await harness.worker.worker.pause();
    try {
      const recorded = [];
      for (let i = 0; i < 3; i++) recorded.push(await recordLeadWithDeliveries(db, sampleLead(leaving)));
      const ids = recorded.flatMap((r) => r.deliveryIds);
      for (const r of recorded) await enqueueDeliveries(harness.queue, r.deliveryIds);

      const cancelled = await db.$transaction(async (tx) => {
        await tx.destination.update({ where: { id: leaving.id }, data: { state: "disconnected", disconnectedAt: new Date() } });
        return cancelPendingForEndpoint(tx, leaving.id);
      });
      expect(cancelled).toBe(3);
      harness.worker.worker.resume();
      await harness.reconcile();

      // Every queued job runs and finds nothing to send.
      await waitFor(async () => {
        const jobs = await Promise.all(ids.map((id) => harness.queue.getJob(deliveryJobId(id, 1))));
        return jobs.every((j) => j?.finishedOn) ? true : undefined;
      }, 10_000, "queued jobs to finish");
      expect(receiver.requests.filter((r) => r.path === "/leaving")).toHaveLength(0);
      for (const id of ids) expect(await statusOf(id)).toBe("cancelled");
      expect(await db.deliveryAttempt.count({ where: { deliveryId: { in: ids } } })).toBe(0);
    } finally {
      harness.worker.worker.resume();
    }
  });

  it("sends a delivery once when several looks at it start at the same moment (one claim wins, the rest are busy)", async () => {
    const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint));
    const deps = {
      db, send: loopbackSender(receiver).send, keyRing: testKeyRing(), clock: systemClock, logger: pino({ level: "silent" }),
      leaseMs: 10_000, scheduleAttempt: async () => undefined,
    };
    const outcomes = await Promise.all(Array.from({ length: 4 }, () => processDelivery(deps, deliveryIds[0])));
    expect(outcomes.filter((o) => o === "delivered")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "busy")).toHaveLength(3);
    expect(receiver.requests.filter((r) => r.headers["webhook-id"] === deliveryIds[0])).toHaveLength(1);
    expect(await db.deliveryAttempt.count({ where: { deliveryId: deliveryIds[0] } })).toBe(1);
  });

  it("has the outcome written once the worker says its attempts are recorded, though the job ended at the answer", async () => {
    const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint));
    await enqueueDeliveries(harness.queue, deliveryIds);
    const jobId = deliveryJobId(deliveryIds[0], 1);
    await waitFor(async () => (await harness.queue.getJobState(jobId)) === "completed", 10_000, "the job to finish");
    expect((await harness.queue.getJob(jobId))?.returnvalue).toBe("sent");
    await harness.worker.recorded();
    expect(await statusOf(deliveryIds[0])).toBe("delivered");
    expect(await db.deliveryAttempt.count({ where: { deliveryId: deliveryIds[0], statusCode: 200 } })).toBe(1);
  });

  it("leaves no email, secret, signature or endpoint URL in Redis after a full run", async () => {
    const email = "redis.check@example.net";
    const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint, { email }));
    await enqueueDeliveries(harness.queue, deliveryIds);
    await waitForStatus(deliveryIds, "delivered");
    const stored = await dumpKeysUnder(harness.redis, harness.prefix);
    expect(stored).toContain(deliveryIds[0]);
    expect(stored).not.toContain(email);
    expect(stored).not.toContain(endpoint.secret);
    expect(stored).not.toContain("sha256=");
    expect(stored).not.toContain("/crm/leads");
  });
});
