import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { getConfig } from "../../app/lib/config.server";
import { getDb } from "../../app/lib/db.server";
import { answerOps } from "../../app/lib/ops-http.server";
import { startBackgroundWork, type BackgroundWork } from "../../app/runtime/background.server";
import { action as captureAction } from "../../app/routes/proxy.capture";
import { loader as healthzLoader } from "../../app/routes/healthz";
import { loader as metricsLoader } from "../../app/routes/metrics";
import { loader as readyzLoader } from "../../app/routes/readyz";
import { captureBody, proxyRequest } from "../support/app-proxy";
import { addEndpoint, waitFor, type TestEndpoint } from "../support/delivery";
import { FakeAdminApi } from "../support/fake-admin-api";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { labelValues, parseMetrics, type Scrape } from "../support/prometheus";
import { installShop } from "../support/shopify";

/**
 * The web process's /metrics, /healthz and /readyz routes and what the app records: a lead captured through the
 * signed app-proxy route, tagged against the Admin API stand-in and delivered by the background work (in this
 * process, as the single-machine default runs it) to a real HTTPS receiver moves exactly the counters and
 * histograms it should, and no label ever holds the shop, the shopper's email, the endpoint or an id.
 */

// Set before the modules below load: the Shopify setup reads the configuration as it loads.
const TOKEN = vi.hoisted(() => {
  const token = `metrics-${Math.random().toString(36).slice(2)}-${Date.now()}-token`;
  process.env.METRICS_TOKEN = token;
  return token;
});

const SHOP = "metrics-shop.myshopify.com";
const api = new FakeAdminApi();
const db = getDb();
let receiver: HttpsReceiver;
let endpoint: TestEndpoint;
let work: BackgroundWork;

const args = (request: Request) => ({ request, params: {}, context: {} });

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  const request = new Request(`https://app.example.com${path}`, { headers });
  const loader = { "/metrics": metricsLoader, "/healthz": healthzLoader, "/readyz": readyzLoader }[path]!;
  return loader(args(request));
}

async function scrapeRoute(): Promise<Scrape> {
  const response = await get("/metrics", { Authorization: `Bearer ${TOKEN}` });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await response.text());
}

async function capture(body = captureBody({ idempotencyKey: randomUUID() })): Promise<{ status: number; leadId?: string }> {
  const response = await captureAction(args(proxyRequest(SHOP, body)));
  return { status: response.status, leadId: ((await response.json()) as { leadId?: string }).leadId };
}

async function deliveredFor(leadId: string) {
  return waitFor(async () => {
    const rows = await db.delivery.findMany({ where: { leadId }, include: { attempts: true } });
    return rows.length === 1 && rows[0].status === "delivered" ? rows[0] : null;
  }, 20_000, `the delivery of ${leadId}`);
}

describe("metrics, health and readiness of the web process", () => {
  beforeAll(async () => {
    api.install();
    receiver = await startHttpsReceiver();
    endpoint = await addEndpoint(await installShop(SHOP), receiver.urlFor("/crm/metrics-hook"));
    receiver.setSecrets([endpoint.secret]);
    work = await startBackgroundWork({
      config: { ...getConfig(), RETRY_SCHEDULE: [1_000], RECONCILE_INTERVAL: 60_000 },
      logger: pino({ level: "silent" }),
      transport: { policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }), extraCa: receiver.ca },
    });
  });

  afterAll(async () => {
    await work?.stop();
    await receiver?.close();
  });

  it("counts a captured, tagged and delivered lead exactly once in each counter and histogram", async () => {
    const before = await scrapeRoute();
    const started = Date.now();
    const body = captureBody({ idempotencyKey: randomUUID() });
    const first = await capture(body);
    expect(first.status).toBe(201);
    const delivery = await deliveredFor(first.leadId!);
    expect(delivery.attempts).toHaveLength(1);
    expect(receiver.requests.filter((r) => r.headers["x-tryoncloud-delivery-id"] === delivery.id)).toHaveLength(1);
    // The same submission again: answered 200 with the same lead, not captured twice.
    expect(await capture(body)).toEqual({ status: 200, leadId: first.leadId });
    const elapsed = (Date.now() - started) / 1000;
    await waitFor(async () => (await db.lead.findUniqueOrThrow({ where: { id: first.leadId } })).taggingState === "done", 10_000, "tagging");
    const after = await scrapeRoute();

    const moved = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);
    expect(moved("tryon_leads_captured_total")).toBe(1);
    expect(moved("tryon_capture_responses_total", { status: "201" })).toBe(1);
    expect(moved("tryon_capture_responses_total", { status: "200" })).toBe(1);
    expect(moved("tryon_deliveries_total", { kind: "webhook", outcome: "delivered" })).toBe(1);
    expect(moved("tryon_deliveries_total", { kind: "webhook", outcome: "retry" })).toBe(0);
    expect(moved("tryon_delivery_attempt_duration_seconds_count", { kind: "webhook" })).toBe(1);
    const attemptSeconds = moved("tryon_delivery_attempt_duration_seconds_sum", { kind: "webhook" });
    expect(attemptSeconds).toBeCloseTo(delivery.attempts[0].durationMs / 1000, 2);
    expect(moved("tryon_lead_delivery_latency_seconds_count", { kind: "webhook" })).toBe(1);
    expect(moved("tryon_lead_delivery_latency_seconds_bucket", { kind: "webhook", le: "+Inf" })).toBe(1);
    const latency = moved("tryon_lead_delivery_latency_seconds_sum", { kind: "webhook" });
    expect(latency).toBeGreaterThan(0);
    expect(latency).toBeLessThanOrEqual(elapsed);
    expect(moved("tryon_taggings_total", { outcome: "tagged" })).toBe(1);

    // Queues and readiness, read at the scrape.
    for (const queue of ["deliveries", "tagging"]) {
      for (const state of ["waiting", "delayed", "active"]) expect(after.has("tryon_queue_jobs", { queue, state })).toBe(true);
      expect(after.value("tryon_queue_oldest_waiting_age_seconds", { queue })).toBeGreaterThanOrEqual(0);
      expect(after.has("tryon_queue_oldest_waiting_age_seconds", { queue })).toBe(true);
    }
    for (const check of ["database", "redis", "migrations"]) expect(after.value("tryon_ready", { check })).toBe(1);

    // No label holds the shop, the shopper, the endpoint or an id; none is free text.
    const forbidden = [SHOP, body.email as string, receiver.urlFor("/crm/metrics-hook"), "127.0.0.1", endpoint.id, delivery.id, first.leadId!];
    for (const text of forbidden) expect(after.text).not.toContain(text);
    for (const value of labelValues(after)) expect(value).toMatch(/^[a-z0-9_.+-]{1,40}$/i);
  });

  it("counts a failed attempt as a retry, then the delivery, each with its duration", async () => {
    receiver.enqueue(respond.status(500, "down"));
    const before = await scrapeRoute();
    const { status, leadId } = await capture();
    expect(status).toBe(201);
    const delivery = await deliveredFor(leadId!);
    expect(delivery.attempts.map((a) => a.statusCode).sort()).toEqual([200, 500]);
    const after = await scrapeRoute();
    const moved = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);
    expect(moved("tryon_deliveries_total", { kind: "webhook", outcome: "retry" })).toBe(1);
    expect(moved("tryon_deliveries_total", { kind: "webhook", outcome: "delivered" })).toBe(1);
    expect(moved("tryon_delivery_attempt_duration_seconds_count", { kind: "webhook" })).toBe(2);
    expect(moved("tryon_lead_delivery_latency_seconds_count", { kind: "webhook" })).toBe(1);
  });

  it("counts refused captures by their status", async () => {
    const before = await scrapeRoute();
    const bad = await captureAction(args(proxyRequest(SHOP, captureBody(), { signature: "0".repeat(64) })));
    expect(bad.status).toBe(401);
    const invalid = await captureAction(args(proxyRequest(SHOP, { ...captureBody(), email: "not an email" })));
    expect(invalid.status).toBe(422);
    const after = await scrapeRoute();
    expect(after.value("tryon_capture_responses_total", { status: "401" }) - before.value("tryon_capture_responses_total", { status: "401" })).toBe(1);
    expect(after.value("tryon_capture_responses_total", { status: "422" }) - before.value("tryon_capture_responses_total", { status: "422" })).toBe(1);
    expect(after.value("tryon_leads_captured_total") - before.value("tryon_leads_captured_total")).toBe(0);
  });

  it("refuses /metrics without the token or with a wrong one (401), and answers 404 when no token is configured", async () => {
    for (const headers of [{} as Record<string, string>, { Authorization: `Bearer ${TOKEN}x` }, { Authorization: `Bearer ${TOKEN.slice(1)}` }, { Authorization: TOKEN }, { Authorization: `Basic ${TOKEN}` }]) {
      const response = await get("/metrics", headers);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
      expect(await response.text()).not.toContain("tryon_");
    }
    const ready = async () => ({ ready: true, checks: { database: "ok", redis: "ok", migrations: "ok" } as const });
    const web = await answerOps("/metrics", `Bearer ${TOKEN}`, { readiness: ready, metricsNeedToken: true });
    expect(web?.status).toBe(404);
    const worker = await answerOps("/metrics", null, { readiness: ready, metricsNeedToken: false });
    expect(worker?.status).toBe(200);
    expect(await worker?.text()).toContain("tryon_leads_captured_total");
  });

  it("answers /healthz and /readyz without any credentials", async () => {
    const health = await get("/healthz");
    expect(health.status).toBe(200);
    expect(await health.text()).toBe("ok\n");
    const ready = await get("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { database: "ok", redis: "ok", migrations: "ok" } });
  });

  it("is not ready while a committed migration has not been applied, and names that check only", async () => {
    const [last] = await db.$queryRawUnsafe<{ name: string }[]>('SELECT "name" FROM "_app_migrations" ORDER BY "name" DESC LIMIT 1');
    await db.$executeRawUnsafe(`DELETE FROM "_app_migrations" WHERE "name" = '${last.name}'`);
    try {
      const response = await get("/readyz");
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: "not ready", checks: { database: "ok", redis: "ok", migrations: "pending" } });
    } finally {
      await db.$executeRawUnsafe(`INSERT INTO "_app_migrations" ("name", "appliedAt") VALUES ('${last.name}', '${new Date().toISOString()}')`);
    }
    expect((await get("/readyz")).status).toBe(200);
  });
});
