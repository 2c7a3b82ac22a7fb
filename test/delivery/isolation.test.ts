import { afterEach, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { createDeliveryQueue, enqueueNewDeliveries } from "../../app/delivery/queue.server";
import { reconcileDeliveries } from "../../app/delivery/reconciler.server";
import { getDb } from "../../app/lib/db.server";
import { createShopWithEndpoint, sampleLead, testRedis, uniqueQueue, waitFor, type TestEndpoint } from "../support/delivery";
import { startHarness, type DeliveryHarness, type HarnessOptions } from "../support/delivery-harness";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";

/**
 * One destination's trouble must stay its own. These tests run the real worker against real HTTPS receivers:
 * one that hangs (the status line, then a byte a second) and one that answers at once.
 */

const db = getDb();
let harness: DeliveryHarness | undefined;
const receivers: HttpsReceiver[] = [];
let shopCounter = 0;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const r of receivers.splice(0)) await r.close();
});

async function setUp(options: HarnessOptions) {
  const hanging = await startHttpsReceiver();
  const healthy = await startHttpsReceiver();
  receivers.push(hanging, healthy);
  hanging.setDefault(respond.trickle({ phase: "body", intervalMs: 1_000 }));
  const run = `${Date.now().toString(36)}-${++shopCounter}`;
  const shopA = await createShopWithEndpoint(`hanging-${run}.myshopify.com`, hanging.urlFor("/a"));
  const shopB = await createShopWithEndpoint(`healthy-${run}.myshopify.com`, healthy.urlFor("/b"));
  hanging.setSecrets([shopA.secret]);
  healthy.setSecrets([shopB.secret]);
  // Every test receiver shares one test CA.
  harness = await startHarness("isolation", healthy, options);
  return { hanging, healthy, shopA, shopB, harness };
}

async function capture(endpoint: TestEndpoint) {
  const recorded = await recordLeadWithDeliveries(db, sampleLead(endpoint));
  await enqueueNewDeliveries(harness!.queue, recorded.deliveries);
  return { id: recorded.deliveryIds[0], at: Date.now() };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Interleaves leads of the hanging shop A and the healthy shop B; returns B's capture→receiver latencies. */
async function interleave(env: Awaited<ReturnType<typeof setUp>>, perShop: number, gapMs: number): Promise<number[]> {
  const sentB: { id: string; at: number }[] = [];
  for (let i = 0; i < perShop; i++) {
    await capture(env.shopA);
    sentB.push(await capture(env.shopB));
    await new Promise((r) => setTimeout(r, gapMs));
  }
  const arrived = await env.healthy.waitForRequests(perShop, 30_000);
  return sentB.map((s) => {
    const request = arrived.find((r) => r.headers["webhook-id"] === s.id);
    if (!request) throw new Error(`delivery ${s.id} did not arrive`);
    return request.receivedAt.getTime() - s.at;
  });
}

describe("one destination that hangs does not slow another shop's deliveries", () => {
  // Ten attempts at once per process, as before this gate existed, so that only the gate can keep B moving;
  // the breaker is kept out of the way to show the cap alone. Each hanging attempt holds its slot 5 s.
  it("GIVEN a receiver that trickles its answer THEN a healthy shop's p99 stays well under the hanging attempts' 5 s while the hanging one holds at most its cap", async () => {
    const env = await setUp({ concurrency: 10, deadlineMs: 5_000, gate: { maxInFlight: 3, failureThreshold: 1_000 } });
    const latencies = await interleave(env, 40, 50);
    // Typically tens of milliseconds on PostgreSQL; SQLite serialises every statement, so the bound leaves room.
    expect(percentile(latencies, 99)).toBeLessThan(1_500);
    // The hanging destination never held more than its cap.
    const state = await env.harness.worker.gate.inspect(env.shopA.id);
    expect(state.inFlight).toBeLessThanOrEqual(3);
    expect(state.parked).toBeGreaterThan(0);
  });

  it("GIVEN the same load without a per-destination cap THEN the healthy shop waits behind the hanging one (the bound above is a real one)", async () => {
    const env = await setUp({ concurrency: 10, deadlineMs: 5_000, gate: { maxInFlight: 500, failureThreshold: 1_000 } });
    const latencies = await interleave(env, 40, 50);
    expect(percentile(latencies, 99)).toBeGreaterThan(3_000);
  });
});

describe("circuit breaker on a destination that keeps failing", () => {
  it("GIVEN consecutive failures THEN its deliveries wait without spending attempts, one probe goes out, and on recovery each is delivered once", async () => {
    const env = await setUp({ concurrency: 10, deadlineMs: 2_000, gate: { maxInFlight: 2, failureThreshold: 3, cooldownMs: 1_500, maxCooldownMs: 1_500 } });
    const { healthy, shopB } = env;
    healthy.setDefault(respond.status(503, "down"));
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await capture(shopB)).id);

    // The breaker opens after 3 failed attempts; the other deliveries wait with their attempts unspent.
    const opened = await waitFor(async () => {
      const row = await db.destination.findUniqueOrThrow({ where: { id: shopB.id } });
      return row.circuitOpenedAt ? row : undefined;
    }, 10_000, "the breaker to open");
    expect(opened.circuitRetryAt!.getTime()).toBeGreaterThan(opened.circuitOpenedAt!.getTime());
    await new Promise((r) => setTimeout(r, 300));
    const attemptsWhileOpen = await db.deliveryAttempt.count({ where: { deliveryId: { in: ids } } });
    expect(attemptsWhileOpen).toBeLessThanOrEqual(4);
    const untouched = await db.delivery.count({ where: { id: { in: ids }, attemptCount: 0 } });
    expect(untouched).toBeGreaterThanOrEqual(8);

    // The receiver recovers: the probe succeeds, the breaker closes, every delivery goes out.
    healthy.setDefault(respond.ok());
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: ids }, status: "delivered" } })) >= ids.length - 4, 15_000, "waiting deliveries to go out");
    const closed = await db.destination.findUniqueOrThrow({ where: { id: shopB.id } });
    expect(closed.circuitOpenedAt).toBeNull();
    // Deliveries whose own attempt failed before the breaker opened go out on their retry schedule; the rest
    // went out exactly once each, with no attempt spent while waiting.
    const delivered = await db.delivery.findMany({ where: { id: { in: ids }, status: "delivered" }, select: { id: true, attemptCount: true } });
    for (const d of delivered.filter((x) => x.attemptCount === 1)) {
      expect(healthy.requests.filter((r) => r.headers["webhook-id"] === d.id && r.answer.kind === "status" && r.answer.status === 200)).toHaveLength(1);
    }
    expect(delivered.filter((d) => d.attemptCount === 1).length).toBeGreaterThanOrEqual(8);
  });
});

describe("the retry window still applies while a breaker holds deliveries", () => {
  it("GIVEN deliveries waiting on an open breaker THEN only those past the rest of their window (plus one last probe) fail, with their attempts unspent", async () => {
    const endpoint = await createShopWithEndpoint(`window-${Date.now().toString(36)}.myshopify.com`, "https://crm.example/hook");
    const now = new Date();
    await db.destination.update({ where: { id: endpoint.id }, data: { circuitOpenedAt: new Date(now.getTime() - 40 * 3_600_000), circuitRetryAt: now } });
    const hours = (h: number) => new Date(now.getTime() - h * 3_600_000);
    const make = async (due: Date, attemptCount = 0) => {
      const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint));
      await db.delivery.update({ where: { id: deliveryIds[0] }, data: { nextAttemptAt: due, attemptCount, status: attemptCount ? "retrying" : "pending" } });
      return deliveryIds[0];
    };
    // First attempt due 34 h ago: its whole window (about 32.6 h) and the last chance are over.
    const old = await make(hours(34));
    // First attempt due 30 h ago: still inside its window.
    const young = await make(hours(30));
    // Sixth attempt due 25 h ago: only the 24 h before the last attempt was left.
    const late = await make(hours(25), 5);
    const redis = testRedis("worker");
    const queue = createDeliveryQueue(redis, uniqueQueue("window"));
    try {
      const counts = await reconcileDeliveries({ db, queue, graceMs: 0, clock: { now: () => now } });
      expect(counts.expired).toBe(2);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
    }
    const rows = await db.delivery.findMany({ where: { id: { in: [old, young, late] } } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(old)).toMatchObject({ status: "failed", attemptCount: 0 });
    expect(byId.get(old)!.lastError).toMatch(/did not answer for the whole retry window/);
    expect(byId.get(young)).toMatchObject({ status: "pending" });
    expect(byId.get(late)).toMatchObject({ status: "failed", attemptCount: 5 });
  });
});
