import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../app/lib/logger.server";
import { getDb } from "../../app/lib/db.server";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { createDeliveryQueue, enqueueDeliveries } from "../../app/delivery/queue.server";
import { reconcileDeliveries } from "../../app/delivery/reconciler.server";
import { createDeliveryWorker } from "../../app/delivery/worker.server";
import { loopbackSender } from "../support/delivery-harness";
import { createShopWithEndpoint, sampleLead, testKeyRing, waitFor, type TestEndpoint } from "../support/delivery";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";

/**
 * A Redis server of this test's own (so stopping it disturbs no other test), killed and started again empty
 * while deliveries are in flight: the database rows are the truth, and every lead still arrives.
 */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on("error", reject);
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const probe = new Redis(port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => undefined);
  try {
    await waitFor(async () => probe.connect().then(() => probe.ping()).then((pong) => pong === "PONG").catch(() => false), 10_000, "redis-server");
  } finally {
    probe.disconnect();
  }
  return child;
}

describe("Redis restarted empty in the middle of a run", () => {
  let port = 0;
  let redisServer: ChildProcess;
  let receiver: HttpsReceiver;
  let endpoint: TestEndpoint;
  const db = getDb();

  beforeAll(async () => {
    port = await freePort();
    redisServer = await startRedis(port);
    receiver = await startHttpsReceiver();
    endpoint = await createShopWithEndpoint("redis-restart.myshopify.com", receiver.urlFor("/crm"));
    receiver.setSecrets([endpoint.secret]);
  });

  afterAll(async () => {
    redisServer?.kill("SIGKILL");
    await receiver?.close();
  });

  it("delivers every lead after the server is killed with jobs waiting and comes back with nothing", async () => {
    const connection = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: null });
    connection.on("error", () => undefined);
    const queue = createDeliveryQueue(connection, { name: "restart", prefix: "rr" });
    queue.on("error", () => undefined);
    const worker = createDeliveryWorker({
      db, connection, send: loopbackSender(receiver).send, keyRing: testKeyRing(),
      logger: createLogger({ level: "silent" }), concurrency: 2, queueName: "restart", prefix: "rr", leaseMs: 5_000,
    });
    worker.worker.on("error", () => undefined);
    try {
      // The worker is paused, so every job is waiting in Redis when the server dies.
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(...(await recordLeadWithDeliveries(db, sampleLead(endpoint, { email: `restart${i}@example.com` }))).deliveryIds);
      await worker.worker.pause();
      await enqueueDeliveries(queue, ids);
      expect(await queue.count()).toBe(12);

      redisServer.kill("SIGKILL");
      await new Promise((resolve) => redisServer.once("exit", resolve));
      redisServer = await startRedis(port);
      worker.worker.resume();

      // Nothing of the queue survived; the reconciler rebuilds it from the rows.
      await waitFor(async () => (await connection.ping().catch(() => "")) === "PONG", 10_000, "reconnection");
      expect(await queue.count()).toBe(0);
      const round = await reconcileDeliveries({ db, queue, graceMs: 0 });
      expect(round.due).toBe(12);
      await waitFor(async () => (await db.delivery.count({ where: { id: { in: ids }, status: "delivered" } })) === 12, 20_000, "all delivered");
      const arrived = receiver.requests.filter((r) => ids.includes(String(r.headers["x-tryoncloud-delivery-id"])));
      expect(new Set(arrived.map((r) => r.headers["x-tryoncloud-delivery-id"])).size).toBe(12);
      expect(arrived.every((r) => r.contract.verified && r.standard.verified)).toBe(true);
    } finally {
      await worker.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
      connection.disconnect();
    }
  });
});
