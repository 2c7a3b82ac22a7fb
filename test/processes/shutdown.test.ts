import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { createDeliveryQueue, deliveryJobId, enqueueNewDeliveries, type DeliveryQueue } from "../../app/delivery/queue.server";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { getConfig, type AppConfig } from "../../app/lib/config.server";
import { getDb } from "../../app/lib/db.server";
import { createLogger } from "../../app/lib/logger.server";
import { createRedis } from "../../app/lib/redis.server";
import { startBackgroundWork, type BackgroundWork } from "../../app/runtime/background.server";
import { getProducers } from "../../app/runtime/producers.server";
import { queueLayout } from "../../app/runtime/queues.server";
import { hasExited, startTsxChild, type TsxChild } from "../support/child-process";
import { addEndpoint, sampleLead, waitFor, type TestEndpoint } from "../support/delivery";
import { FakeAdminApi } from "../support/fake-admin-api";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { redisToolsMissing, startRedisServer } from "../support/redis-servers";
import { installShop } from "../support/shopify";
import { startTcpProxy, throughProxy } from "../support/tcp-proxy";
import { slowCapture } from "../support/web-process";
import { startWorkerProcess } from "../support/worker-processes";

/**
 * SIGTERM stops a process within SHUTDOWN_TIMEOUT whatever is gone: a worker process whose Redis has died, one
 * whose database no longer answers, and the web process (the production build, with the background work
 * inside) with requests and attempts in flight. What was in flight either finishes before the exit or is
 * taken over after its lease by the next worker (same delivery id): no lead is lost. Worker processes apart
 * from the web process share a database, so this runs on PostgreSQL.
 */

const SHUTDOWN_MS = 2_000;
/** How late a process may exit past the limit on a busy machine. */
const EXIT_MARGIN_MS = 1_000;
const LEASE_MS = 4_000;
const STOPPED = /worker stopped before this attempt finished/;

const missing = redisToolsMissing();
if (missing) console.warn(`Shutdown with Redis gone skipped: ${missing}`);

/** Settings of the processes under test: short limits, so that waiting for them stays short. */
const ENV = {
  SHUTDOWN_TIMEOUT: `${SHUTDOWN_MS}ms`,
  // Longer than the stop: an attempt held by the receiver is cut by the exit, not ended by its deadline.
  ATTEMPT_TIMEOUT: "3s",
  DELIVERY_LEASE: `${LEASE_MS}ms`,
  RETRY_SCHEDULE: "1s",
  RECONCILE_INTERVAL: "500ms",
  RECONCILE_GRACE: "1s",
  TAGGING_DEADLINE: "1s",
};

describe.runIf(process.env.TEST_DB === "postgres")("a bounded stop on SIGTERM", () => {
  const db = getDb();
  const api = new FakeAdminApi();
  let adminApi: { url: string; close(): Promise<void> };
  let receiver: HttpsReceiver;
  let endpoint: TestEndpoint;
  const shop = "shutdown-shop.myshopify.com";
  /** What a test started, stopped after it (a worker left running would take the next test's jobs). */
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    api.install();
    adminApi = await api.serve();
    receiver = await startHttpsReceiver();
    endpoint = await addEndpoint(await installShop(shop), receiver.urlFor("/crm"));
    receiver.setSecrets([endpoint.secret]);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await receiver?.close();
    await adminApi?.close();
  });

  /** A receiver answer the test lets go when it wants; each call holds the next request. */
  function holdNextAnswer(): () => void {
    let release!: () => void;
    receiver.enqueue(respond.heldUntil(new Promise<void>((resolve) => (release = resolve))));
    cleanups.push(() => release());
    return release;
  }

  /** A lead with its delivery stored, as the capture route stores it. */
  async function storeLead() {
    const recorded = await recordLeadWithDeliveries(db, sampleLead(endpoint));
    return { leadId: recorded.lead.id, delivery: recorded.deliveries[0] };
  }

  /** SIGTERM, then how long the process itself took to end, and its exit code. */
  async function stopAndTime(child: TsxChild): Promise<{ ms: number; code: number | null }> {
    const started = Date.now();
    process.kill(child.pid, "SIGTERM");
    while (!hasExited(child.pid)) {
      if (Date.now() - started > SHUTDOWN_MS + 15_000) throw new Error(`still running ${SHUTDOWN_MS + 15_000} ms after SIGTERM:\n${child.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = Date.now() - started;
    return { ms, code: await child.exited };
  }

  /** The next worker, in this process: the background work as a worker process runs it, with the same short limits. */
  async function restartWorker(overrides: Partial<AppConfig> = {}): Promise<BackgroundWork> {
    const config: AppConfig = {
      ...getConfig(),
      ATTEMPT_TIMEOUT: 3_000, DELIVERY_LEASE: LEASE_MS, RETRY_SCHEDULE: [1_000], RECONCILE_INTERVAL: 500, RECONCILE_GRACE: 1_000,
      ...overrides,
    };
    const work = await startBackgroundWork({
      config,
      logger: createLogger({ level: "silent" }),
      transport: { policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }), extraCa: receiver.ca },
    });
    cleanups.push(() => work.stop());
    return work;
  }

  const requestsFor = (deliveryId: string) => receiver.requests.filter((r) => r.headers["x-tryoncloud-delivery-id"] === deliveryId);
  const statusOf = async (deliveryId: string) => (await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).status;
  async function attemptsOf(deliveryId: string) {
    const attempts = await db.deliveryAttempt.findMany({ where: { deliveryId }, orderBy: { number: "asc" } });
    return attempts.map((a) => (a.errorMessage && STOPPED.test(a.errorMessage) ? "cut short" : a.errorCode ?? "ok"));
  }

  it.skipIf(!!missing)("a worker whose Redis died exits within the limit; the attempt answered meanwhile is kept, the one cut short is taken over", async () => {
    const redis = await startRedisServer();
    cleanups.push(() => redis.stop());
    const producer = createRedis({ REDIS_URL: redis.url }, "producer");
    producer.on("error", () => undefined);
    const queue: DeliveryQueue = createDeliveryQueue(producer, queueLayout(getConfig()).delivery);
    queue.on("error", () => undefined);
    cleanups.push(() => producer.disconnect());
    const worker = await startWorkerProcess({ loopbackCa: receiver.ca, adminApiUrl: adminApi.url }, { ...ENV, REDIS_URL: redis.url });
    cleanups.push(() => worker.kill());

    const answerFinishing = holdNextAnswer();
    holdNextAnswer(); // the other is never answered: the exit cuts it short
    const first = await storeLead();
    const second = await storeLead();
    const before = receiver.requests.length;
    await enqueueNewDeliveries(queue, [first.delivery, second.delivery]);
    const [finishing, cut] = (await receiver.waitForRequests(before + 2, 20_000)).slice(before).map((r) => String(r.headers["x-tryoncloud-delivery-id"]));

    await redis.kill();
    const stopping = stopAndTime(worker);
    // Answered after the stop began: the worker still records it, though Redis is gone.
    setTimeout(answerFinishing, 500);
    const { ms, code } = await stopping;
    expect(ms).toBeLessThan(SHUTDOWN_MS + EXIT_MARGIN_MS);
    expect([0, 1]).toContain(code);
    expect(await statusOf(finishing)).toBe("delivered");
    expect(await statusOf(cut)).toBe("delivering");

    // Redis comes back empty; the next worker takes the cut attempt over once its lease has ended.
    await redis.restart();
    await restartWorker({ REDIS_URL: redis.url });
    await waitFor(async () => (await statusOf(cut)) === "delivered", 20_000, "the cut attempt taken over");
    expect(await attemptsOf(cut)).toEqual(["cut short", "ok"]);
    expect(await attemptsOf(finishing)).toEqual(["ok"]);
    expect(requestsFor(finishing)).toHaveLength(1);
    expect(requestsFor(cut)).toHaveLength(2);
  }, 90_000);

  it("a worker whose database stopped answering exits within the limit; its answered and its half-claimed deliveries go out after their lease", async () => {
    const url = new URL(getConfig().DATABASE_URL);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    cleanups.push(() => proxy.close());
    const worker = await startWorkerProcess(
      { loopbackCa: receiver.ca, adminApiUrl: adminApi.url },
      { ...ENV, DATABASE_URL: throughProxy(getConfig().DATABASE_URL, proxy) },
    );
    cleanups.push(() => worker.kill());
    const { deliveryQueue } = getProducers();

    const answer = holdNextAnswer();
    const answered = await storeLead();
    const before = receiver.requests.length;
    await enqueueNewDeliveries(deliveryQueue, [answered.delivery]);
    await receiver.waitForRequests(before + 1, 20_000);
    proxy.blackhole();
    // The receiver takes the lead, but the worker cannot write that down.
    answer();
    // This one the worker takes from the queue and through its destination's gate, then waits on the database.
    const halfClaimed = await storeLead();
    await enqueueNewDeliveries(deliveryQueue, [halfClaimed.delivery]);
    await waitFor(async () => (await deliveryQueue.getJobState(deliveryJobId(halfClaimed.delivery.id, 1))) === "active", 10_000, "the job taken");

    const { ms, code } = await stopAndTime(worker);
    expect(ms).toBeLessThan(SHUTDOWN_MS + EXIT_MARGIN_MS);
    expect([0, 1]).toContain(code);
    expect(await statusOf(answered.delivery.id)).toBe("delivering");
    expect(await statusOf(halfClaimed.delivery.id)).toBe("pending");

    // The next worker: the delivery the receiver answered goes again (same id) after its lease; the one that
    // never got past its claim goes once its job's lock, which follows the lease too, has run out.
    const restarted = Date.now();
    await restartWorker();
    await waitFor(
      async () => (await statusOf(answered.delivery.id)) === "delivered" && (await statusOf(halfClaimed.delivery.id)) === "delivered",
      20_000,
      "both delivered by the next worker",
    );
    expect(Date.now() - restarted).toBeLessThan(4 * LEASE_MS);
    expect(await attemptsOf(answered.delivery.id)).toEqual(["cut short", "ok"]);
    expect(requestsFor(answered.delivery.id)).toHaveLength(2);
    expect(await attemptsOf(halfClaimed.delivery.id)).toEqual(["ok"]);
    expect(requestsFor(halfClaimed.delivery.id)).toHaveLength(1);
  }, 90_000);

  it("the web process with requests and an attempt in flight exits within the limit; a request finishing in the grace is answered and its lead delivered", async () => {
    // An attempt deadline well past the limit: the stop cannot end by the held attempt timing out.
    const web = await startTsxChild(
      "test/support/web-process-child.ts",
      { loopbackCa: receiver.ca, adminApiUrl: adminApi.url },
      { env: { ...ENV, ATTEMPT_TIMEOUT: "6s", DELIVERY_LEASE: "7s", RUN_WORKER_IN_PROCESS: "true" }, timeoutMs: 90_000 },
    );
    cleanups.push(() => web.kill());
    const base = `http://127.0.0.1:${/ready \d+ (\d+)/.exec(web.stdout())![1]}`;

    // A lead whose delivery is in flight (held by the receiver) when the stop begins.
    holdNextAnswer();
    const before = receiver.requests.length;
    const inFlight = await slowCapture(base, shop);
    const inFlightAnswer = await inFlight.finish();
    expect(inFlightAnswer.status).toBe(201);
    await receiver.waitForRequests(before + 1, 20_000);
    const inFlightDelivery = String(receiver.requests[before].headers["x-tryoncloud-delivery-id"]);

    // Two captures whose bodies are still on their way: one completes during the grace, one never does.
    const finishing = await slowCapture(base, shop);
    const abandoned = await slowCapture(base, shop);
    const stopping = stopAndTime(web);
    await new Promise((r) => setTimeout(r, 300));
    const finished = await finishing.finish();
    const { ms, code } = await stopping;
    expect(ms).toBeLessThan(SHUTDOWN_MS + EXIT_MARGIN_MS);
    expect([0, 1]).toContain(code);
    expect(finished.status).toBe(201);
    await expect(abandoned.response).rejects.toThrow();

    // The next worker delivers the lead captured during the stop, tagged, and takes the cut attempt over.
    await restartWorker();
    const [delivery] = await db.delivery.findMany({ where: { leadId: finished.leadId } });
    await waitFor(
      async () => (await statusOf(delivery.id)) === "delivered" && (await statusOf(inFlightDelivery)) === "delivered",
      20_000,
      "the captured lead delivered and the cut attempt taken over",
    );
    expect((await db.lead.findUniqueOrThrow({ where: { id: finished.leadId } })).taggingState).toBe("done");
    expect(requestsFor(delivery.id)).toHaveLength(1);
    expect(await attemptsOf(inFlightDelivery)).toEqual(["cut short", "ok"]);
  }, 120_000);
});
