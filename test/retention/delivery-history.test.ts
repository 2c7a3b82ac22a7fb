import { describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import { pruneOnce, type PruneParams } from "../../app/retention/pruning.server";
import { captureLogs, daysBefore, finishDelivery, leadCapturedAt, shopWithEndpoint, testDeliveryAt } from "./support";

const db = getDb();
const logs = captureLogs();
const NOW = new Date("2026-11-20T12:00:00.000Z");

function prune(overrides: Partial<PruneParams> = {}) {
  return pruneOnce({ db, logger: logs.logger, clock: { now: () => NOW }, deliveryRetentionDays: 90, batchSize: 1000, ...overrides });
}

describe("delivery history retention", () => {
  it("prunes attempt records and delivered bodies past the retention, keeps recent and undelivered ones, and keeps every delivery", async () => {
    const endpoint = await shopWithEndpoint("history");
    const old = daysBefore(NOW, 100);

    const oldDelivered = await leadCapturedAt(endpoint, old);
    await finishDelivery(oldDelivered.deliveryId, "delivered", old, [503, 200]);
    const recentDelivered = await leadCapturedAt(endpoint, daysBefore(NOW, 10));
    await finishDelivery(recentDelivered.deliveryId, "delivered", daysBefore(NOW, 10), [200]);
    // Delivered 89 days ago: one day short of the retention.
    const almostOld = await leadCapturedAt(endpoint, daysBefore(NOW, 89));
    await finishDelivery(almostOld.deliveryId, "delivered", daysBefore(NOW, 89), [200]);
    const oldFailed = await leadCapturedAt(endpoint, old);
    await finishDelivery(oldFailed.deliveryId, "failed", old, [500, 500]);
    // Captured while the endpoint was paused: still waiting, never attempted.
    const oldWaiting = await leadCapturedAt(endpoint, old);
    const oldTest = await testDeliveryAt(endpoint, old);
    await finishDelivery(oldTest, "delivered", old, [200]);
    // A lead_redacted event names a lead that is gone: its body could not be made again.
    const redactionEvent = await db.delivery.create({
      data: {
        shopId: endpoint.shopId, destinationId: endpoint.id, leadId: null, event: "lead_redacted", status: "delivered",
        payload: '{"version":1,"event":"lead_redacted","lead_id":"gone"}', createdAt: old, deliveredAt: old, attemptCount: 1,
      },
    });

    const before = new Map((await db.delivery.findMany({ where: { shopId: endpoint.shopId } })).map((d) => [d.id, d]));
    const counts = await prune();

    expect(counts).toEqual({ leads: 0, leadDeliveries: 0, leadAttempts: 0, attempts: 5, payloads: 2, complete: true });
    const after = new Map((await db.delivery.findMany({ where: { shopId: endpoint.shopId } })).map((d) => [d.id, d]));
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());

    for (const id of [oldDelivered.deliveryId, oldTest]) {
      expect(after.get(id)).toMatchObject({ payload: "", payloadPrunedAt: NOW, status: "delivered", attemptCount: before.get(id)!.attemptCount });
    }
    for (const id of [recentDelivered.deliveryId, almostOld.deliveryId, oldFailed.deliveryId, oldWaiting.deliveryId, redactionEvent.id]) {
      expect(after.get(id)).toMatchObject({ payload: before.get(id)!.payload, payloadPrunedAt: null });
      expect(after.get(id)!.payload.length).toBeGreaterThan(20);
    }
    const attemptsLeft = await db.deliveryAttempt.findMany({ where: { delivery: { shopId: endpoint.shopId } }, select: { deliveryId: true } });
    expect(attemptsLeft.map((a) => a.deliveryId).sort()).toEqual([recentDelivered.deliveryId, almostOld.deliveryId].sort());
    // The lead behind a pruned body stays.
    expect(await db.lead.count({ where: { id: oldDelivered.leadId } })).toBe(1);

    expect(await prune()).toMatchObject({ attempts: 0, payloads: 0, complete: true });
  });

  it("prunes a batch at a time, never more rows per statement than the batch size", async () => {
    const endpoint = await shopWithEndpoint("batches");
    const old = daysBefore(NOW, 120);
    for (let i = 0; i < 23; i++) {
      const { deliveryId } = await leadCapturedAt(endpoint, old);
      // 23 delivered bodies and 46 attempt records past the retention.
      await finishDelivery(deliveryId, "delivered", old, [500, 200]);
    }
    const mine = { delivery: { shopId: endpoint.shopId } };
    const remaining: { attempts: number; payloads: number }[] = [];
    const snapshot = async () => ({
      attempts: await db.deliveryAttempt.count({ where: mine }),
      payloads: await db.delivery.count({ where: { shopId: endpoint.shopId, payloadPrunedAt: null } }),
    });
    remaining.push(await snapshot());

    const counts = await prune({
      batchSize: 10,
      afterBatch: async () => {
        remaining.push(await snapshot());
        return true;
      },
    });

    expect(counts).toMatchObject({ attempts: 46, payloads: 23, complete: true });
    const steps = remaining.slice(1).map((r, i) => ({ attempts: remaining[i].attempts - r.attempts, payloads: remaining[i].payloads - r.payloads }));
    expect(steps.every((s) => s.attempts <= 10 && s.payloads <= 10)).toBe(true);
    expect(steps.filter((s) => s.attempts > 0)).toHaveLength(5);
    expect(steps.filter((s) => s.payloads > 0)).toHaveLength(3);
    expect(remaining.at(-1)).toEqual({ attempts: 0, payloads: 0 });
  });

  it("ends the round after the batch in which the lease was lost, and does nothing once stopping", async () => {
    const endpoint = await shopWithEndpoint("lease-lost");
    const old = daysBefore(NOW, 95);
    for (let i = 0; i < 6; i++) {
      const { deliveryId } = await leadCapturedAt(endpoint, old);
      await finishDelivery(deliveryId, "delivered", old, [200, 200]);
    }
    const stopping = new AbortController();
    stopping.abort();
    expect(await prune({ batchSize: 5, signal: stopping.signal })).toMatchObject({ attempts: 0, payloads: 0, complete: false });
    expect(await db.deliveryAttempt.count({ where: { delivery: { shopId: endpoint.shopId } } })).toBe(12);

    const counts = await prune({ batchSize: 5, afterBatch: async () => false });
    expect(counts).toMatchObject({ attempts: 5, payloads: 0, complete: false });
    expect(await db.deliveryAttempt.count({ where: { delivery: { shopId: endpoint.shopId } } })).toBe(7);

    expect(await prune({ batchSize: 5 })).toMatchObject({ attempts: 7, payloads: 6, complete: true });
  });
});
