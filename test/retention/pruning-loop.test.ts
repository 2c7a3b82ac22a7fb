import { afterAll, describe, expect, it } from "vitest";
import { getConfig } from "../../app/lib/config.server";
import { getDb } from "../../app/lib/db.server";
import { acquirePruningLease } from "../../app/retention/pruning-lease.server";
import { startPruningLoop, type PruningLoopParams } from "../../app/retention/pruning.server";
import { testRedis, waitFor } from "../support/delivery";
import { captureLogs, daysBefore, finishDelivery, leadCapturedAt, shopWithEndpoint } from "./support";

const db = getDb();
const redis = testRedis("worker");
const LEASE_KEY = `${getConfig().QUEUE_PREFIX}:pruning-lease`;

afterAll(async () => {
  await redis.quit();
});

function loopParams(logger: PruningLoopParams["logger"], intervalMs = 60_000): PruningLoopParams {
  return { db, logger, deliveryRetentionDays: 90, batchSize: 100, intervalMs, lease: { redis, key: LEASE_KEY, ttlMs: 5_000 } };
}

async function oldDeliveredLead(endpoint: Awaited<ReturnType<typeof shopWithEndpoint>>) {
  const at = daysBefore(new Date(), 200);
  const { deliveryId } = await leadCapturedAt(endpoint, at);
  await finishDelivery(deliveryId, "delivered", at, [200]);
  return deliveryId;
}

const attemptsOf = (deliveryId: string) => db.deliveryAttempt.count({ where: { deliveryId } });

describe("the pruning loop", () => {
  it("does not prune while another process holds the lease, and prunes once it is free", async () => {
    const endpoint = await shopWithEndpoint("loop-lease");
    const deliveryId = await oldDeliveredLead(endpoint);
    const other = await acquirePruningLease({ redis, key: LEASE_KEY, ttlMs: 30_000 });
    expect(other).not.toBeNull();

    const blocked = captureLogs();
    const first = startPruningLoop(loopParams(blocked.logger));
    await waitFor(async () => blocked.text().includes("another process is pruning"), 5_000, "the round to be skipped");
    await first.stop();
    expect(await attemptsOf(deliveryId)).toBe(1);
    expect(await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).toMatchObject({ payloadPrunedAt: null });

    await other!.release();
    const free = captureLogs();
    const second = startPruningLoop(loopParams(free.logger));
    await waitFor(async () => (await attemptsOf(deliveryId)) === 0, 5_000, "the attempts to be pruned");
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).payloadPrunedAt !== null, 5_000, "the body to be pruned");
    await second.stop();
    // The lease is given back when the round ends, not left to expire.
    expect(await redis.exists(LEASE_KEY)).toBe(0);
    expect(free.text()).toContain("pruning round finished");
  });

  it("runs again every interval until stopped", async () => {
    const endpoint = await shopWithEndpoint("loop-interval");
    const logs = captureLogs();
    const loop = startPruningLoop(loopParams(logs.logger, 150));
    await waitFor(async () => logs.text().includes("pruning round finished"), 5_000, "a first round");
    // Rows that reach the retention after the first round are pruned by a later one.
    const later = await oldDeliveredLead(endpoint);
    await waitFor(async () => (await attemptsOf(later)) === 0, 5_000, "a later round");
    await loop.stop();

    const afterStop = await oldDeliveredLead(endpoint);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await attemptsOf(afterStop)).toBe(1);
  });

  it("keeps going after a failed round", async () => {
    const logs = captureLogs();
    // Every query fails, as when the database is unreachable.
    const broken = new Proxy({}, { get: () => ({ findMany: () => Promise.reject(new Error("database went away")) }) }) as typeof db;
    const loop = startPruningLoop({ ...loopParams(logs.logger, 100), db: broken });
    await waitFor(async () => (logs.text().match(/pruning round failed/g) ?? []).length >= 2, 5_000, "two failed rounds");
    await loop.stop();
    expect(await redis.exists(LEASE_KEY)).toBe(0);
  });
});
