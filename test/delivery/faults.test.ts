import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDelivery, recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { deliveryJobId, enqueueDeliveries } from "../../app/delivery/queue.server";
import { cancelPendingForEndpoint, replayDelivery } from "../../app/delivery/replay.server";
import { JITTER_RATIO, MAX_ATTEMPTS, RETRY_DELAYS_MS } from "../../app/delivery/retry-schedule";
import { getDb } from "../../app/lib/db.server";
import { createShopWithEndpoint, ManualClock, sampleLead, waitFor, type TestEndpoint } from "../support/delivery";
import { startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { respond, startHttpsReceiver, type HttpsReceiver, type ScriptedResponse } from "../support/https-receiver";

const db = getDb();
const DEADLINE_MS = 800;
// The engine runs on a clock the test moves; the sender still signs with real time so receivers verify.
const clock = new ManualClock(new Date());
let receiver: HttpsReceiver;
let harness: DeliveryHarness;
let endpoints: TestEndpoint[] = [];
let shopCounter = 0;

async function freshEndpoint(path = "/hook"): Promise<TestEndpoint> {
  const endpoint = await createShopWithEndpoint(`faults-${++shopCounter}.myshopify.com`, receiver.urlFor(path));
  receiver.setSecrets([endpoint.secret]);
  endpoints.push(endpoint);
  return endpoint;
}

/** Captures a lead for the endpoint with the receiver's next answers scripted, and enqueues it. */
async function capture(endpoint: TestEndpoint, ...answers: ScriptedResponse[]): Promise<string> {
  receiver.enqueue(...answers);
  const { deliveryIds } = await recordLeadWithDeliveries(db, sampleLead(endpoint), { clock });
  await enqueueDeliveries(harness.queue, deliveryIds);
  return deliveryIds[0];
}

/** Waits until attempt `n` of a delivery has been recorded and the row has left "delivering". */
async function afterAttempt(id: string, n: number) {
  return waitFor(async () => {
    const row = await db.delivery.findUniqueOrThrow({ where: { id }, include: { attempts: { orderBy: { number: "asc" } } } });
    return row.attempts.length >= n && row.status !== "delivering" ? row : undefined;
  }, 10_000, `attempt ${n} of ${id}`);
}

/** Moves the engine's clock to the delivery's next attempt time and lets the reconciler release it. */
async function timeForNextAttempt(id: string) {
  const row = await db.delivery.findUniqueOrThrow({ where: { id } });
  clock.set(row.nextAttemptAt);
  await harness.reconcile();
}

const requestsFor = (id: string) => receiver.requests.filter((r) => r.headers["webhook-id"] === id);

describe("delivery under receiver faults (manual clock)", () => {
  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    harness = await startHarness("faults", receiver, { clock, deadlineMs: DEADLINE_MS });
  });

  afterEach(async () => {
    // Leftover retries must not answer a later test's scripted responses when the clock jumps ahead.
    for (const e of endpoints) await cancelPendingForEndpoint(db, e.id);
    endpoints = [];
  });

  afterAll(async () => {
    await harness.close();
    await receiver.close();
  });

  it("retries a 500 one minute later (within jitter) and then delivers, with the same id and bytes", async () => {
    const endpoint = await freshEndpoint();
    const id = await capture(endpoint, respond.status(500, "oops"));
    const failed = await afterAttempt(id, 1);
    expect(failed.status).toBe("retrying");
    expect(failed.attempts[0]).toMatchObject({ number: 1, statusCode: 500, errorCode: "http_status", responseExcerpt: "oops" });
    const wait = failed.nextAttemptAt.getTime() - failed.attempts[0].startedAt.getTime();
    expect(wait).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[0] * (1 - JITTER_RATIO));
    expect(wait).toBeLessThanOrEqual(RETRY_DELAYS_MS[0] * (1 + JITTER_RATIO));
    // The retry waits as a delayed job, and the row knows when it is due even if that job is lost.
    await waitFor(async () => (await harness.queue.getJobState(deliveryJobId(id, 2))) === "delayed", 5_000, "the delayed retry job");
    expect((await db.destination.findUniqueOrThrow({ where: { id: endpoint.id } })).consecutiveFailures).toBe(1);

    await timeForNextAttempt(id);
    const done = await afterAttempt(id, 2);
    expect(done.status).toBe("delivered");
    expect(done.attempts[1]).toMatchObject({ number: 2, statusCode: 200, errorCode: null });
    const sent = requestsFor(id);
    expect(sent).toHaveLength(2);
    expect(sent[0].body).toBe(sent[1].body);
    expect(sent.every((r) => r.contract.verified && r.standard.verified)).toBe(true);
    const health = await db.destination.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(health).toMatchObject({ consecutiveFailures: 0, state: "active" });
    expect(health.lastFailureAt).not.toBeNull();
  });

  it("waits as long as a 429's Retry-After asks when that is longer than the schedule", async () => {
    const endpoint = await freshEndpoint();
    const id = await capture(endpoint, respond.retryAfter(429, "7200"));
    const failed = await afterAttempt(id, 1);
    expect(failed.status).toBe("retrying");
    expect(failed.nextAttemptAt.getTime() - failed.attempts[0].startedAt.getTime()).toBe(7200_000);

    // Not a moment early: just before the time, the reconciler leaves it alone.
    clock.set(new Date(failed.nextAttemptAt.getTime() - 1000));
    await harness.reconcile();
    await new Promise((r) => setTimeout(r, 300));
    expect(requestsFor(id)).toHaveLength(1);

    await timeForNextAttempt(id);
    expect((await afterAttempt(id, 2)).status).toBe("delivered");
  });

  it("pauses the endpoint on 410 Gone; its deliveries wait, unsent and not failed, until it is resumed", async () => {
    const endpoint = await freshEndpoint();
    const first = await capture(endpoint, respond.gone());
    const paused = await afterAttempt(first, 1);
    expect(paused.status).toBe("retrying");
    expect(paused.attempts[0].errorCode).toBe("endpoint_gone");
    const row = await db.destination.findUniqueOrThrow({ where: { id: endpoint.id } });
    expect(row.state).toBe("paused");
    expect(row.pausedReason).toMatch(/410/);

    // A lead captured while paused waits too, and nothing goes out however often the reconciler runs.
    const second = await capture(endpoint);
    clock.advance(24 * 3600_000);
    await harness.reconcile();
    await new Promise((r) => setTimeout(r, 300));
    expect(requestsFor(first)).toHaveLength(1);
    expect(requestsFor(second)).toHaveLength(0);
    expect((await db.delivery.findUniqueOrThrow({ where: { id: second } })).status).toBe("pending");

    // Resumed (as the settings page does it): the reconciler's next round sends both.
    await db.destination.update({ where: { id: endpoint.id }, data: { state: "active", pausedReason: null } });
    const round = await harness.reconcile();
    expect(round.enqueued).toBe(2);
    expect((await afterAttempt(first, 2)).status).toBe("delivered");
    expect((await afterAttempt(second, 1)).status).toBe("delivered");
  });

  it("does not follow a redirect: the attempt fails with the redirect code and is retried later", async () => {
    const endpoint = await freshEndpoint();
    const id = await capture(endpoint, respond.redirect(302, receiver.urlFor("/elsewhere")));
    const row = await afterAttempt(id, 1);
    expect(row.status).toBe("retrying");
    expect(row.attempts[0]).toMatchObject({ errorCode: "redirect", statusCode: 302 });
    expect(receiver.requests.filter((r) => r.path === "/elsewhere")).toHaveLength(0);
  });

  it("retries after the connection is reset before any answer, then delivers", async () => {
    const endpoint = await freshEndpoint();
    const id = await capture(endpoint, respond.reset());
    const row = await afterAttempt(id, 1);
    expect(row.status).toBe("retrying");
    expect(row.attempts[0].errorCode).toBe("connection_failed");
    await timeForNextAttempt(id);
    expect((await afterAttempt(id, 2)).status).toBe("delivered");
  });

  it("gives up on an endpoint that trickles its answer once the attempt deadline passes", async () => {
    const endpoint = await freshEndpoint();
    const id = await capture(endpoint, respond.trickle({ phase: "headers", intervalMs: 50 }));
    const row = await afterAttempt(id, 1);
    expect(row.status).toBe("retrying");
    expect(row.attempts[0].errorCode).toBe("timeout");
    expect(row.attempts[0].durationMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(row.attempts[0].durationMs).toBeLessThan(DEADLINE_MS + 1000);
  });

  it("follows the retry schedule through the worker, fails after the last attempt, and replays under the same id", async () => {
    const endpoint = await freshEndpoint();
    const id = await capture(endpoint, ...Array.from({ length: MAX_ATTEMPTS }, () => respond.status(503)));
    for (let n = 1; n < MAX_ATTEMPTS; n++) {
      expect((await afterAttempt(id, n)).status).toBe("retrying");
      await timeForNextAttempt(id);
    }
    const failed = await afterAttempt(id, MAX_ATTEMPTS);
    expect(failed.status).toBe("failed");
    expect(failed.attempts.map((a) => a.number)).toEqual(Array.from({ length: MAX_ATTEMPTS }, (_, i) => i + 1));
    for (let n = 1; n < MAX_ATTEMPTS; n++) {
      const gap = failed.attempts[n].startedAt.getTime() - failed.attempts[n - 1].startedAt.getTime();
      expect(gap).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[n - 1] * (1 - JITTER_RATIO));
      expect(gap).toBeLessThanOrEqual(RETRY_DELAYS_MS[n - 1] * (1 + JITTER_RATIO));
    }
    expect(failed.lastError).toMatch(/503/);
    // No further attempt however far the clock moves.
    clock.advance(7 * 24 * 3600_000);
    await harness.reconcile();
    await new Promise((r) => setTimeout(r, 300));
    expect(requestsFor(id)).toHaveLength(MAX_ATTEMPTS);

    await replayDelivery(db, harness.queue, { shopId: endpoint.shopId, deliveryId: id, clock });
    const replayed = await afterAttempt(id, MAX_ATTEMPTS + 1);
    expect(replayed).toMatchObject({ id, status: "delivered", attemptsBeforeReplay: MAX_ATTEMPTS });
    const sent = requestsFor(id);
    expect(sent).toHaveLength(MAX_ATTEMPTS + 1);
    expect(new Set(sent.map((r) => r.headers["x-tryoncloud-delivery-id"]))).toEqual(new Set([id]));
  });

  it("tries a test webhook once: the merchant is waiting for the answer", async () => {
    const endpoint = await freshEndpoint();
    receiver.enqueue(respond.status(500));
    const id = await createTestDelivery(db, { id: endpoint.id, shopId: endpoint.shopId }, { clock });
    await enqueueDeliveries(harness.queue, [id]);
    const row = await afterAttempt(id, 1);
    expect(row.status).toBe("failed");
    const request = requestsFor(id)[0];
    expect(request.headers["x-tryoncloud-event"]).toBe("test");
    expect(JSON.parse(request.body)).toMatchObject({ test: true, email: "test@example.com" });
  });
});
