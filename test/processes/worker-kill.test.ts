import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateKeys } from "../../app/delivery/destination-gate.server";
import { getConfig } from "../../app/lib/config.server";
import { getDb } from "../../app/lib/db.server";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { enqueueNewDeliveries } from "../../app/delivery/queue.server";
import { getProducers } from "../../app/runtime/producers.server";
import { queueLayout } from "../../app/runtime/queues.server";
import type { TsxChild } from "../support/child-process";
import { addEndpoint, sampleLead, testRedis, waitFor, type TestEndpoint } from "../support/delivery";
import { FakeAdminApi } from "../support/fake-admin-api";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { attemptsLogged, startWorkerProcess } from "../support/worker-processes";

/**
 * Two worker processes share the queues (separate OS processes, as `npm run worker` runs them); one is
 * SIGKILLed while it has deliveries in flight. Every lead is still delivered; a delivery reaches its receiver
 * twice only if its attempt was in flight in the killed process (and then under the same delivery id); the
 * slots the killed process held at its destinations count against their caps until their lease ends, and
 * no longer after. Separate processes share a database, so this runs on PostgreSQL.
 */

const SHOPS = ["kill-a.myshopify.com", "kill-b.myshopify.com", "kill-c.myshopify.com"];
const LEADS_PER_SHOP = 20;
const CONCURRENCY = 4;
const LEASE_MS = 5_000;
const STOPPED = /worker stopped before this attempt finished/;

describe.runIf(process.env.TEST_DB === "postgres")("worker processes sharing the queues, one killed mid-run", () => {
  const db = getDb();
  const api = new FakeAdminApi();
  let adminApi: { url: string; close(): Promise<void> };
  let receiver: HttpsReceiver;
  const endpoints: TestEndpoint[] = [];
  let victim: TsxChild | undefined;
  let survivor: TsxChild | undefined;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));

  beforeAll(async () => {
    adminApi = await api.serve();
    receiver = await startHttpsReceiver();
    // The first attempts are answered once the test says so: with both processes' every slot taken by them,
    // each process has exactly CONCURRENCY attempts in flight when the kill lands. The rest go promptly.
    receiver.enqueue(...Array.from({ length: 2 * CONCURRENCY }, () => respond.heldUntil(released)));
    receiver.setDefault(respond.delayed(50));
    for (const shop of SHOPS) endpoints.push(await addEndpoint(await installShop(shop), receiver.urlFor(`/crm/${shop}`)));
    receiver.setSecrets(endpoints.map((e) => e.secret));
    const env = {
      DELIVERY_CONCURRENCY: String(CONCURRENCY),
      // Three destinations take the two processes' eight attempts together, and no more than three each.
      DESTINATION_MAX_IN_FLIGHT: "3",
      ATTEMPT_TIMEOUT: "4s",
      DELIVERY_LEASE: `${LEASE_MS}ms`,
      RETRY_SCHEDULE: "1s",
      RECONCILE_INTERVAL: "500ms",
      RECONCILE_GRACE: "2s",
      LOG_LEVEL: "info",
    };
    const options = { loopbackCa: receiver.ca, adminApiUrl: adminApi.url };
    [victim, survivor] = await Promise.all([startWorkerProcess(options, env), startWorkerProcess(options, env)]);
  }, 180_000);

  afterAll(async () => {
    release();
    for (const worker of [victim, survivor]) worker?.kill();
    await Promise.all([victim?.exited, survivor?.exited]);
    await receiver?.close();
    await adminApi?.close();
  });

  it("delivers every lead; repeats only what the killed process had in flight, under the same id; its slots free after their lease", async () => {
    // A backlog both idle processes find at once: leads stored, their first attempts queued to go now.
    const leadIds: string[] = [];
    const queued: { id: string; destinationId: string }[] = [];
    for (let i = 0; i < LEADS_PER_SHOP; i++) {
      for (const endpoint of endpoints) {
        const recorded = await recordLeadWithDeliveries(db, sampleLead(endpoint));
        leadIds.push(recorded.lead.id);
        queued.push(...recorded.deliveries);
      }
    }
    await enqueueNewDeliveries(getProducers().deliveryQueue, queued);

    // Both processes' slots are all waiting on the receiver: the victim has CONCURRENCY attempts in flight.
    await receiver.waitForRequests(2 * CONCURRENCY, 30_000);
    process.kill(victim!.pid, "SIGKILL");
    await victim!.exited;
    const killedAt = Date.now();
    release();
    const heldAtKill = receiver.requests.slice(0, 2 * CONCURRENCY).map((r) => String(r.headers["x-tryoncloud-delivery-id"]));
    const redis = testRedis("producer");
    const prefix = queueLayout(getConfig()).gatePrefix;
    const slotsAtKill = new Map<string, number>();
    for (const endpoint of endpoints) {
      const flat = await redis.zrange(gateKeys(prefix, endpoint.id).slots, 0, -1, "WITHSCORES");
      for (let i = 0; i < flat.length; i += 2) slotsAtKill.set(flat[i], Number(flat[i + 1]));
    }

    await waitFor(
      async () => (await db.delivery.count({ where: { leadId: { in: leadIds }, status: "delivered" } })) === leadIds.length,
      60_000,
      "every lead delivered",
    );
    const rows = await db.delivery.findMany({
      where: { leadId: { in: leadIds } },
      select: { id: true, destinationId: true, attempts: { select: { number: true, errorCode: true, errorMessage: true }, orderBy: { number: "asc" } } },
    });
    expect(rows).toHaveLength(leadIds.length);

    // The killed process's attempts were taken over once their lease ended (the takeover writes the cut attempt
    // down) and finished by the survivor: exactly the ones it had in flight.
    const takenOver = rows.filter((r) => r.attempts.some((a) => a.errorMessage && STOPPED.test(a.errorMessage)));
    expect(takenOver).toHaveLength(CONCURRENCY);
    const survivorDelivered = new Set(attemptsLogged(survivor!.stdout()).filter((a) => a.outcome === "delivered").map((a) => a.deliveryId));
    for (const row of takenOver) {
      expect(heldAtKill, `${row.id} was in flight at the kill`).toContain(row.id);
      expect(row.attempts.map((a) => a.errorCode)).toEqual(["timeout", null]);
      expect(survivorDelivered.has(row.id), `${row.id} finished by the survivor`).toBe(true);
    }

    // At least once each, signed, under its own id; a second time only for an attempt in flight at the kill.
    const repeated = new Set(takenOver.map((r) => r.id));
    for (const row of rows) {
      const arrived = receiver.requests.filter((r) => r.headers["x-tryoncloud-delivery-id"] === row.id);
      expect(arrived.length, `requests for ${row.id}`).toBe(repeated.has(row.id) ? 2 : 1);
      expect(arrived.every((r) => r.contract.verified && r.standard.verified && r.headers["webhook-id"] === row.id)).toBe(true);
      if (!repeated.has(row.id)) expect(row.attempts.map((a) => a.errorCode)).toEqual([null]);
    }

    // Each cut attempt held its destination's slot at the kill, until the end of its lease at most...
    for (const row of takenOver) {
      const cut = row.attempts.find((a) => a.errorMessage && STOPPED.test(a.errorMessage))!;
      const slot = [...slotsAtKill].find(([token]) => token.startsWith(`${row.id}-a${cut.number}#`));
      expect(slot, `the slot of ${row.id} at the kill`).toBeDefined();
      expect(slot![1]).toBeGreaterThan(killedAt);
      expect(slot![1]).toBeLessThanOrEqual(killedAt + LEASE_MS);
    }
    // ...and none counts now: nothing is in flight anywhere.
    const time = await redis.time();
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    for (const endpoint of endpoints) expect(await redis.zcount(gateKeys(prefix, endpoint.id).slots, now, "+inf")).toBe(0);
    redis.disconnect();
  }, 120_000);
});
