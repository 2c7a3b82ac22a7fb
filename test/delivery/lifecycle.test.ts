import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { createDeliveryQueue, enqueueDeliveries } from "../../app/delivery/queue.server";
import { getConfig } from "../../app/lib/config.server";
import { queueLayout } from "../../app/runtime/queues.server";
import { getDb } from "../../app/lib/db.server";
import { startTsxChild } from "../support/child-process";
import { createShopWithEndpoint, sampleLead, testRedis, uniqueQueue, waitFor, type TestEndpoint } from "../support/delivery";
import { startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";

const db = getDb();
const DEADLINE_MS = 1_000;
let receiver: HttpsReceiver;
let harness: DeliveryHarness;
let endpoint: TestEndpoint;

describe("worker lifecycle", () => {
  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    harness = await startHarness("lifecycle", receiver, { deadlineMs: DEADLINE_MS });
    endpoint = await createShopWithEndpoint("lifecycle-shop.myshopify.com", receiver.urlFor("/hook"));
    receiver.setSecrets([endpoint.secret]);
  });

  afterAll(async () => {
    await harness.close();
    await receiver.close();
  });

  it("close() waits for the attempt in flight to be recorded, then takes no more jobs", async () => {
    receiver.enqueue(respond.hang());
    const { deliveryIds: [inFlight] } = await recordLeadWithDeliveries(db, sampleLead(endpoint));
    const before = receiver.requests.length;
    await enqueueDeliveries(harness.queue, [inFlight]);
    await receiver.waitForRequests(before + 1);

    await harness.worker.close();
    // Already recorded when close() resolves, and run to its deadline rather than abandoned mid-way.
    const row = await db.delivery.findUniqueOrThrow({ where: { id: inFlight }, include: { attempts: true } });
    expect(row.status).toBe("retrying");
    expect(row.attempts.map((a) => a.errorCode)).toEqual(["timeout"]);
    expect(row.attempts[0].durationMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);

    const { deliveryIds: [later] } = await recordLeadWithDeliveries(db, sampleLead(endpoint));
    await enqueueDeliveries(harness.queue, [later]);
    await new Promise((r) => setTimeout(r, 500));
    expect((await db.delivery.findUniqueOrThrow({ where: { id: later } })).status).toBe("pending");
    expect(receiver.requests.length).toBe(before + 1);

    // A new worker picks up where the closed one stopped.
    await harness.restartWorker();
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: later } })).status === "delivered", 10_000, "delivery by the new worker");
  });

  // SQLite is single-process in this product (see app/runtime/processes.server.ts): `npm run worker` refuses it.
  it.runIf(process.env.TEST_DB === "sqlite")("refuses to run as a separate process on SQLite, naming PostgreSQL", async () => {
    const { queueName, prefix } = uniqueQueue("process-sqlite");
    const started = startTsxChild("test/support/worker-process-child.ts", { queueName, prefix });
    await expect(started).rejects.toThrow(/exited early \(1\)[\s\S]*Separate worker processes need PostgreSQL/);
  });

  it.runIf(process.env.TEST_DB === "postgres")("runs as its own process from the configuration: public addresses only, and SIGTERM exits 0", async () => {
    const { queueName, prefix } = uniqueQueue("process");
    const child = await startTsxChild("test/support/worker-process-child.ts", { queueName, prefix });
    const redis = testRedis("worker");
    // Where the worker process looks, as the web process would compute it from the same settings.
    const queue = createDeliveryQueue(redis, queueLayout(getConfig(), { deliveryQueueName: queueName, prefix }).delivery);
    try {
      const { deliveryIds: [id] } = await recordLeadWithDeliveries(db, sampleLead(endpoint));
      const before = receiver.requests.length;
      await enqueueDeliveries(queue, [id]);
      // The production sender refuses the loopback receiver: the attempt is recorded, nothing is sent.
      const row = await waitFor(async () => {
        const r = await db.delivery.findUniqueOrThrow({ where: { id }, include: { attempts: true } });
        return r.attempts.length === 1 && r.status !== "delivering" ? r : undefined;
      }, 15_000, "the worker process's attempt");
      expect(row.status).toBe("retrying");
      expect(row.attempts[0].errorCode).toBe("address_refused");
      expect(receiver.requests.length).toBe(before);

      process.kill(child.pid, "SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.kill();
      await queue.obliterate({ force: true });
      await queue.close();
      await redis.quit();
    }
  });
});
