import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import type { TsxChild } from "../support/child-process";
import { addEndpoint, waitFor, type TestEndpoint } from "../support/delivery";
import { FakeAdminApi } from "../support/fake-admin-api";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { labelValues, scrape } from "../support/prometheus";
import { freePort, redisToolsMissing, startRedisServer, type RedisServer } from "../support/redis-servers";
import { installShop } from "../support/shopify";
import { postCapture, startServerMjs, type WebProcess } from "../support/web-process";
import { startWorkerProcess } from "../support/worker-processes";

/**
 * What an operator scrapes and probes, on the real processes: `node server.mjs` (the production build, web only)
 * and a worker process as `npm run worker` runs it, on their own private Redis. A lead captured through the web
 * process's signed app-proxy route and delivered by the worker to a real HTTPS receiver moves the web process's
 * capture counters and the worker's delivery counters and histograms by one; /metrics wants the bearer token on
 * both; readiness fails while Redis is down and comes back with it, while liveness never fails. Separate
 * processes share a database, so this runs on PostgreSQL.
 */

const TOKEN = "ops-test-token-0123456789abcdef";
const SHOP = "ops-shop.myshopify.com";
const missing = redisToolsMissing();
if (missing) console.warn(`Process readiness skipped: ${missing}`);

describe.runIf(process.env.TEST_DB === "postgres" && !missing)("health, readiness and metrics of the web and worker processes", () => {
  const db = getDb();
  const api = new FakeAdminApi();
  let adminApi: { url: string; close(): Promise<void> };
  let receiver: HttpsReceiver;
  let endpoint: TestEndpoint;
  let redis: RedisServer & { stop(): Promise<void> };
  let web: WebProcess;
  let openWeb: WebProcess;
  let worker: TsxChild;
  let workerUrl: string;

  beforeAll(async () => {
    adminApi = await api.serve();
    receiver = await startHttpsReceiver();
    endpoint = await addEndpoint(await installShop(SHOP), receiver.urlFor("/crm/ops"));
    receiver.setSecrets([endpoint.secret]);
    redis = await startRedisServer();
    const port = await freePort();
    workerUrl = `http://127.0.0.1:${port}`;
    const env = { REDIS_URL: redis.url, METRICS_TOKEN: TOKEN, RUN_WORKER_IN_PROCESS: "false", LOG_LEVEL: "warn" };
    [web, openWeb, worker] = await Promise.all([
      startServerMjs(env),
      // No token configured: /metrics is not there at all.
      startServerMjs({ ...env, METRICS_TOKEN: "" }),
      startWorkerProcess({ loopbackCa: receiver.ca, adminApiUrl: adminApi.url }, { ...env, WORKER_HTTP_PORT: String(port), RECONCILE_INTERVAL: "1s" }),
    ]);
  }, 180_000);

  afterAll(async () => {
    worker?.kill();
    web?.kill();
    openWeb?.kill();
    await Promise.all([worker?.exited, web?.exited, openWeb?.exited]);
    await redis?.stop();
    await receiver?.close();
    await adminApi?.close();
  });

  const status = async (url: string, headers: Record<string, string> = {}) => (await fetch(url, { headers, signal: AbortSignal.timeout(15_000) })).status;
  const readiness = async (base: string) => {
    const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(15_000) });
    return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string> } };
  };

  it("counts a lead captured by the web process and delivered by the worker, each on its own /metrics", async () => {
    const [webBefore, workerBefore] = await Promise.all([scrape(`${web.url}/metrics`, TOKEN), scrape(`${workerUrl}/metrics`, TOKEN)]);
    const captured = await postCapture(web.url, SHOP);
    expect(captured.status).toBe(201);
    const delivery = await waitFor(
      async () => db.delivery.findFirst({ where: { leadId: captured.leadId, status: "delivered" }, include: { attempts: true } }),
      30_000,
      "the lead delivered",
    );
    expect(receiver.requests.filter((r) => r.headers["x-tryoncloud-delivery-id"] === delivery.id)).toHaveLength(1);
    await waitFor(async () => (await db.lead.findUniqueOrThrow({ where: { id: captured.leadId } })).taggingState === "done", 15_000, "tagging");
    const [webAfter, workerAfter] = await Promise.all([scrape(`${web.url}/metrics`, TOKEN), scrape(`${workerUrl}/metrics`, TOKEN)]);

    const webMoved = (name: string, labels: Record<string, string> = {}) => webAfter.value(name, labels) - webBefore.value(name, labels);
    const workerMoved = (name: string, labels: Record<string, string> = {}) => workerAfter.value(name, labels) - workerBefore.value(name, labels);
    expect(webMoved("tryon_leads_captured_total")).toBe(1);
    expect(webMoved("tryon_capture_responses_total", { status: "201" })).toBe(1);
    expect(workerMoved("tryon_leads_captured_total")).toBe(0);
    expect(workerMoved("tryon_deliveries_total", { kind: "webhook", outcome: "delivered" })).toBe(1);
    expect(workerMoved("tryon_delivery_attempt_duration_seconds_count", { kind: "webhook" })).toBe(1);
    expect(workerMoved("tryon_delivery_attempt_duration_seconds_sum", { kind: "webhook" })).toBeCloseTo(delivery.attempts[0].durationMs / 1000, 2);
    expect(workerMoved("tryon_lead_delivery_latency_seconds_count", { kind: "webhook" })).toBe(1);
    expect(workerMoved("tryon_lead_delivery_latency_seconds_sum", { kind: "webhook" })).toBeGreaterThan(0);
    expect(workerMoved("tryon_taggings_total", { outcome: "tagged" })).toBe(1);
    expect(webMoved("tryon_deliveries_total", { kind: "webhook", outcome: "delivered" })).toBe(0);

    // The worker reports its queues (read from Redis at the scrape); both report readiness.
    for (const queue of ["deliveries", "tagging"]) expect(workerAfter.has("tryon_queue_jobs", { queue, state: "waiting" })).toBe(true);
    for (const scraped of [webAfter, workerAfter]) {
      expect(scraped.value("tryon_ready", { check: "redis" })).toBe(1);
      expect(scraped.has("process_cpu_user_seconds_total")).toBe(true);
      for (const text of [SHOP, captured.email, endpoint.id, delivery.id, captured.leadId!, "/crm/ops"]) expect(scraped.text).not.toContain(text);
      for (const value of labelValues(scraped)) expect(value).toMatch(/^[a-z0-9_.+-]{1,40}$/i);
    }
  }, 60_000);

  it("refuses /metrics without the bearer token or with a wrong one, on both; a web process without a token has none", async () => {
    for (const base of [web.url, workerUrl]) {
      expect(await status(`${base}/metrics`)).toBe(401);
      expect(await status(`${base}/metrics`, { Authorization: `Bearer ${TOKEN}0` })).toBe(401);
      expect(await status(`${base}/metrics`, { Authorization: `Bearer ${TOKEN}` })).toBe(200);
    }
    expect(await status(`${openWeb.url}/metrics`)).toBe(404);
    expect(await status(`${openWeb.url}/metrics`, { Authorization: `Bearer ${TOKEN}` })).toBe(404);
    expect(await status(`${openWeb.url}/healthz`)).toBe(200);
    expect(await status(`${workerUrl}/nothing-here`)).toBe(404);
  });

  it("stops a second worker at start, naming the setting, when its port is taken", async () => {
    const port = new URL(workerUrl).port;
    const second = startWorkerProcess({}, { REDIS_URL: redis.url, WORKER_HTTP_PORT: port });
    await expect(second).rejects.toThrow(new RegExp(`WORKER_HTTP_PORT ${port} is already in use`));
    // The first one still answers.
    expect(await status(`${workerUrl}/healthz`)).toBe(200);
  }, 120_000);

  it("is not ready while Redis is down (503, naming the check), alive throughout, and ready again once Redis is back", async () => {
    for (const base of [web.url, workerUrl]) {
      expect(await status(`${base}/healthz`)).toBe(200);
      expect(await readiness(base)).toEqual({ status: 200, body: { status: "ready", checks: { database: "ok", redis: "ok", migrations: "ok" } } });
    }
    await redis.kill();
    for (const base of [web.url, workerUrl]) {
      const { status: code, body } = await readiness(base);
      expect(code).toBe(503);
      expect(body.status).toBe("not ready");
      expect(body.checks.database).toBe("ok");
      expect(body.checks.migrations).toBe("ok");
      expect(["failed", "timeout"]).toContain(body.checks.redis);
      expect(JSON.stringify(body)).not.toContain(String(redis.port));
      expect(await status(`${base}/healthz`)).toBe(200);
    }
    const down = await scrape(`${workerUrl}/metrics`, TOKEN);
    expect(down.value("tryon_ready", { check: "redis" })).toBe(0);
    expect(down.value("tryon_ready", { check: "database" })).toBe(1);

    await redis.restart();
    for (const base of [web.url, workerUrl]) {
      await waitFor(async () => (await readiness(base)).status === 200, 30_000, `${base} ready again`);
    }
    expect((await scrape(`${workerUrl}/metrics`, TOKEN)).value("tryon_ready", { check: "redis" })).toBe(1);
  }, 90_000);
});
