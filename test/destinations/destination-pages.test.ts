import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppLoadContext } from "@remix-run/node";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { getDb } from "../../app/lib/db.server";
import { closeProducers } from "../../app/runtime/producers.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { connectKlaviyo } from "../../app/destinations/klaviyo/connect.server";
import type { DestinationActionData, NewDestinationActionData } from "../../app/destinations/ui/action-data";
import { loader as leadsLoader } from "../../app/routes/app.leads._index";
import { action as pageAction, loader as pageLoader } from "../../app/routes/app.leads.destinations.$id";
import { action as newAction, loader as newLoader } from "../../app/routes/app.leads.destinations.new";
import { action as webhookPageAction } from "../../app/routes/app.leads.integrations.webhook";
import { loader as progressLoader, type BackfillProgress } from "../../app/routes/app.leads.destinations.$id_.backfill";
import { sampleLead } from "../support/delivery";
import { ALL_SCOPES, standInExchange, startKlaviyoStandIn, type KlaviyoStandIn } from "../support/klaviyo-stand-in";
import { seedLeads } from "../support/leads";
import { adminRequest, formRequest, installShop } from "../support/shopify";

/**
 * The destination pages through their real loaders and actions, with real session tokens: the Leads tab's
 * Destinations card, Add destination (webhook and Klaviyo), and one destination's page, where every intent is
 * scoped to the session's shop.
 */

const db = getDb();
const ring = keyRingFromConfig();
const KEY = "pk_live_pages0123456789abcdefghijklmnop";
const READ_ONLY = "pk_readonly_0123456789abcdefghijklmno";
const PUBLIC_URL = "https://93.184.215.14/crm";

let standIn: KlaviyoStandIn;
let transport: ReturnType<typeof standInExchange>;
let context: AppLoadContext;

beforeAll(async () => {
  standIn = await startKlaviyoStandIn({
    keys: [{ key: KEY, scopes: ALL_SCOPES }, { key: READ_ONLY, scopes: ["accounts:read"] }],
    accounts: [{ id: "acct_pages", organizationName: "Pages Store", lists: [{ id: "LISTA", name: "Newsletter" }, { id: "LISTB", name: "Try-on leads" }] }],
  });
  transport = standInExchange(standIn);
  context = { webhookTransport: { exchange: transport.exchange, destination: { policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }) } } };
});

afterAll(async () => {
  await closeProducers();
  transport.close();
  await standIn.close();
});

interface Answer<T> {
  status: number;
  data: T | null;
  headers: Headers;
}

async function unwrap<T>(run: () => Promise<unknown>): Promise<Answer<T>> {
  try {
    const result: unknown = await run();
    if (result instanceof Response) return { status: result.status, data: null, headers: result.headers };
    if (result && typeof result === "object" && (result as { type?: string }).type === "DataWithResponseInit") {
      const { data, init } = result as { data: T; init: ResponseInit | null };
      return { status: init?.status ?? 200, data, headers: new Headers(init?.headers) };
    }
    return { status: 200, data: result as T, headers: new Headers() };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, data: null, headers: thrown.headers };
    throw thrown;
  }
}

const postPage = (shop: string, id: string, fields: Record<string, string>) =>
  unwrap<DestinationActionData>(async () =>
    pageAction({ request: await formRequest(`/app/leads/destinations/${id}`, shop, fields), params: { id }, context }));

const loadPage = (shop: string, id: string, query = "") =>
  unwrap<Awaited<ReturnType<typeof pageLoader>>>(async () =>
    pageLoader({ request: await adminRequest(`/app/leads/destinations/${id}${query}`, shop), params: { id }, context }));

const postNew = (shop: string, fields: Record<string, string>) =>
  unwrap<NewDestinationActionData>(async () => newAction({ request: await formRequest("/app/leads/destinations/new", shop, fields), params: {}, context }));

async function klaviyoOf(shop: { id: string; domain: string }, listId?: string) {
  const result = await connectKlaviyo({ db, shop, apiKey: KEY, ring, exchange: transport.exchange, listId, listName: listId ? "Newsletter" : null });
  if (!result.ok) throw new Error(result.message);
  return result.destination;
}

let counter = 0;
async function freshShop() {
  return installShop(`pages-${++counter}-${Date.now().toString(36)}.myshopify.com`);
}

describe("the Destinations card in the Leads tab", () => {
  it("GIVEN a shop with a webhook, Klaviyo and a waiting webhook THEN each is listed with its kind, name and state in plain words", async () => {
    const shop = await freshShop();
    const first = await connectEndpoint({ db, shop, url: PUBLIC_URL, ring, name: "Zapier" });
    await klaviyoOf(shop);
    const waiting = await connectEndpoint({ db, shop, url: "https://93.184.215.14/backup", ring, name: "Backup" });
    const openedAt = new Date(Date.now() - 5 * 60_000);
    const retryAt = new Date(Date.now() + 5 * 60_000);
    await db.destination.update({
      where: { id: waiting.endpoint.id },
      data: { circuitOpenedAt: openedAt, circuitRetryAt: retryAt, consecutiveFailures: 2 },
    });
    const paused = await connectEndpoint({ db, shop, url: "https://93.184.215.14/old", ring, name: "Old CRM" });
    await db.destination.update({ where: { id: paused.endpoint.id }, data: { state: "paused", pausedReason: "Paused by you." } });
    // Another shop's destination is never listed.
    await connectEndpoint({ db, shop: await freshShop(), url: PUBLIC_URL, ring, name: "Not mine" });

    const data = (await leadsLoader({ request: await adminRequest("/app/leads", shop.domain), params: {}, context })) as {
      destinations: { limit: number; destinations: { id: string; kind: string; name: string; target: string; health: string; waiting: boolean; healthLine: string | null }[] };
    };
    expect(data.destinations.limit).toBe(10);
    expect(data.destinations.destinations.map((d) => [d.name, d.kind, d.health, d.waiting])).toEqual([
      ["Zapier", "webhook", "healthy", false],
      ["Klaviyo", "klaviyo", "healthy", false],
      ["Backup", "webhook", "failing", true],
      ["Old CRM", "webhook", "paused", false],
    ]);
    expect(data.destinations.destinations[0]).toMatchObject({ id: first.endpoint.id, target: "93.184.215.14", healthLine: null });
    expect(data.destinations.destinations[1].target).toBe("Pages Store account");
    // Near midnight the times carry their date as well.
    const at = (d: Date) => (d.toISOString().slice(0, 10) === new Date().toISOString().slice(0, 10) ? "" : `${d.toISOString().slice(0, 10)} `) + `${d.toISOString().slice(11, 16)} UTC`;
    expect(data.destinations.destinations[2].healthLine).toBe(`Not answering since ${at(openedAt)}: deliveries are waiting; next try at ${at(retryAt)}.`);
    expect(data.destinations.destinations[3].healthLine).toBe("Paused by you.");
    // Only the host is shown: a path may carry a token.
    expect(JSON.stringify(data.destinations)).not.toContain("/crm");
  });
});

describe("Add destination", () => {
  it("GIVEN a name and a public URL THEN a signed webhook is connected and its secret is in this answer only, not cached", async () => {
    const shop = await freshShop();
    const answer = await postNew(shop.domain, { intent: "connect_webhook", name: "Make scenario", url: PUBLIC_URL });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("Cache-Control")).toBe("no-store");
    const data = answer.data as Extract<NewDestinationActionData, { intent: "connect_webhook" }>;
    expect(data.secret).toMatch(/^whsec_/);
    const row = await db.destination.findUniqueOrThrow({ where: { id: data.destinationId } });
    expect(row).toMatchObject({ shopId: shop.id, kind: "webhook", name: "Make scenario", url: PUBLIC_URL, state: "active" });
    expect(JSON.stringify(row)).not.toContain(data.secret);
    const page = await loadPage(shop.domain, data.destinationId);
    expect(page.status).toBe(200);
    expect(JSON.stringify(page.data)).not.toContain(data.secret);
  });

  it("GIVEN a private address THEN it is refused in plain words and nothing is saved", async () => {
    const shop = await freshShop();
    const answer = await postNew(shop.domain, { intent: "connect_webhook", name: "", url: "https://10.0.0.5/hook" });
    expect(answer.status).toBe(422);
    expect(answer.data).toMatchObject({ field: "url", error: expect.stringMatching(/public internet addresses/) });
    expect(await db.destination.count({ where: { shopId: shop.id } })).toBe(0);
  });

  it("GIVEN a valid Klaviyo key THEN it is checked, the lists can be picked, and the destination keeps the metric, list and deletion choice", async () => {
    const shop = await freshShop();
    const lists = await postNew(shop.domain, { intent: "klaviyo_lists", apiKey: KEY });
    expect(lists.status).toBe(200);
    expect(lists.data).toMatchObject({ intent: "klaviyo_lists", lists: expect.arrayContaining([expect.objectContaining({ id: "LISTB", name: "Try-on leads" })]) });
    expect(JSON.stringify(lists.data)).not.toContain(KEY);

    const answer = await postNew(shop.domain, {
      intent: "connect_klaviyo", name: "", apiKey: KEY, metricName: "", listId: "LISTB", listName: "Try-on leads", deleteOnRedaction: "on",
    });
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.data)).not.toContain(KEY);
    const data = answer.data as Extract<NewDestinationActionData, { intent: "connect_klaviyo" }>;
    expect(data.message).toMatch(/Klaviyo accepted the key for Pages Store/);
    const row = await db.destination.findUniqueOrThrow({ where: { id: data.destinationId } });
    expect(row).toMatchObject({ kind: "klaviyo", name: "Klaviyo", credentialsHint: KEY.slice(-4), events: '["lead_captured","lead_redacted"]' });
    expect(JSON.parse(row.settings!)).toMatchObject({ metricName: "Try-On Lead", listId: "LISTB", listName: "Try-on leads", accountName: "Pages Store" });
    expect(JSON.stringify(row)).not.toContain(KEY);
  });

  it("GIVEN an unknown key, a key without the lists scope, or text that is no key THEN each is refused in plain words and nothing is saved", async () => {
    const shop = await freshShop();
    const unknown = await postNew(shop.domain, { intent: "connect_klaviyo", apiKey: "pk_unknown_000000000000000000000000000" });
    expect(unknown.status).toBe(422);
    expect(unknown.data).toMatchObject({ field: "apiKey", error: expect.stringMatching(/key/i) });
    expect(JSON.stringify(unknown.data)).not.toContain("pk_unknown");

    const scopes = await postNew(shop.domain, { intent: "connect_klaviyo", apiKey: READ_ONLY, listId: "LISTA", listName: "Newsletter" });
    expect(scopes.status).toBe(422);
    expect(scopes.data).toMatchObject({ field: "apiKey", error: expect.stringContaining("lists:read") });

    const notAKey = await postNew(shop.domain, { intent: "klaviyo_lists", apiKey: "hello there" });
    expect(notAKey.status).toBe(422);
    expect(notAKey.data).toMatchObject({ field: "apiKey", error: expect.stringMatching(/not a Klaviyo private API key/) });
    expect(await db.destination.count({ where: { shopId: shop.id } })).toBe(0);
  });

  it("GIVEN ten connected destinations THEN the page says so and an eleventh is refused with 409", async () => {
    const shop = await freshShop();
    for (let i = 0; i < 10; i++) await connectEndpoint({ db, shop, url: `${PUBLIC_URL}/${i}`, ring });
    const page = await unwrap<{ connected: number; limit: number }>(async () =>
      newLoader({ request: await adminRequest("/app/leads/destinations/new", shop.domain), params: {}, context }));
    expect(page.data).toEqual({ connected: 10, limit: 10 });
    const answer = await postNew(shop.domain, { intent: "connect_webhook", url: `${PUBLIC_URL}/eleven` });
    expect(answer.status).toBe(409);
    expect(answer.data).toMatchObject({ error: expect.stringMatching(/up to 10 destinations/) });
  });
});

describe("one destination's page", () => {
  let a: { id: string; domain: string };
  let b: { id: string; domain: string };
  let webhookA: string;
  let klaviyoA: string;
  let failedA: string;
  let webhookB: string;

  async function snapshotOfA() {
    const [destinations, deliveries, backfills] = await Promise.all([
      db.destination.findMany({ where: { shopId: a.id }, orderBy: { id: "asc" } }),
      db.delivery.findMany({ where: { shopId: a.id }, orderBy: { id: "asc" } }),
      db.backfill.findMany({ where: { shopId: a.id }, orderBy: { id: "asc" } }),
    ]);
    return JSON.stringify({ destinations, deliveries, backfills });
  }

  beforeAll(async () => {
    a = await freshShop();
    b = await freshShop();
    webhookA = (await connectEndpoint({ db, shop: a, url: PUBLIC_URL, ring, name: "CRM" })).endpoint.id;
    klaviyoA = (await klaviyoOf(a)).id;
    webhookB = (await connectEndpoint({ db, shop: b, url: PUBLIC_URL, ring, name: "B's CRM" })).endpoint.id;
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: a.id, shopDomain: a.domain }));
    failedA = recorded.deliveries.find((d) => d.destinationId === webhookA)!.id;
    await db.delivery.update({ where: { id: failedA }, data: { status: "failed", attemptCount: 7 } });
    await db.backfill.create({ data: { shopId: a.id, destinationId: webhookA, since: new Date("2020-01-01"), until: new Date(), total: 5, status: "running" } });
  });

  it("GIVEN the shop's own id THEN the page loads with the state in plain words; another shop's or an unknown id is 404", async () => {
    const own = await loadPage(a.domain, webhookA);
    expect(own.status).toBe(200);
    expect(own.data).toMatchObject({ destination: { id: webhookA, name: "CRM", kind: "webhook" }, healthLine: null, disconnectedAt: null });
    expect((own.data as { guide: unknown }).guide).not.toBeNull();
    // The last 24 hours in one line: A's one lead failed there; B's webhook has sent nothing yet.
    expect(own.data).toMatchObject({ last24h: { deliveredShare: 0, line: expect.stringMatching(/^0% delivered in the last 24 hours/) } });
    expect((await loadPage(b.domain, webhookB)).data).toMatchObject({ last24h: { deliveredShare: null, line: expect.stringMatching(/^No leads sent in the last 24 hours/) } });
    expect((await loadPage(b.domain, webhookA)).status).toBe(404);
    expect((await loadPage(b.domain, klaviyoA)).status).toBe(404);
    expect((await loadPage(a.domain, "no-such-destination")).status).toBe(404);
  });

  it("answers a run's progress to its own shop only, never cached", async () => {
    const own = await unwrap<BackfillProgress>(async () =>
      progressLoader({ request: await adminRequest(`/app/leads/destinations/${webhookA}/backfill`, a.domain), params: { id: webhookA }, context }));
    expect(own.status).toBe(200);
    expect(own.headers.get("Cache-Control")).toBe("no-store");
    expect(own.data?.backfill).toMatchObject({ status: "running", total: 5, processed: 0 });
    const other = await unwrap<BackfillProgress>(async () =>
      progressLoader({ request: await adminRequest(`/app/leads/destinations/${webhookA}/backfill`, b.domain), params: { id: webhookA }, context }));
    expect(other.data).toEqual({ backfill: null });
  });

  it("GIVEN shop B posts any intent to shop A's destination THEN every one is 404 and nothing of A changes", async () => {
    const backfillA = (await db.backfill.findFirstOrThrow({ where: { destinationId: webhookA } })).id;
    const forms: Record<string, string>[] = [
      { intent: "send_test" },
      { intent: "rotate", overlapHours: "24" },
      { intent: "pause" },
      { intent: "resume" },
      { intent: "rename", name: "Taken over" },
      { intent: "filters", lead_captured: "on", productIds: "1,2" },
      { intent: "klaviyo_settings", metricName: "X" },
      { intent: "klaviyo_lists" },
      { intent: "backfill_count", since: "2020-01-01" },
      { intent: "backfill_start", since: "2020-01-01" },
      { intent: "backfill_cancel", backfillId: backfillA },
      { intent: "replay", deliveryId: failedA },
      { intent: "count_failed", since: "2020-01-01" },
      { intent: "replay_failed", since: "2020-01-01" },
      { intent: "disconnect" },
    ];
    const before = await snapshotOfA();
    for (const form of forms) {
      for (const target of [webhookA, klaviyoA]) {
        const answer = await postPage(b.domain, target, form);
        expect(answer.status, `${form.intent} on ${target}`).toBe(404);
      }
    }
    expect(await snapshotOfA()).toBe(before);
  });

  it("GIVEN shop B names A's ids in form fields on its own page THEN only B's destination is touched", async () => {
    const before = await snapshotOfA();
    const backfillA = (await db.backfill.findFirstOrThrow({ where: { destinationId: webhookA } })).id;
    expect((await postPage(b.domain, webhookB, { intent: "pause", destinationId: webhookA })).status).toBe(200);
    expect((await postPage(b.domain, webhookB, { intent: "replay", deliveryId: failedA })).status).toBe(404);
    expect((await postPage(b.domain, webhookB, { intent: "backfill_cancel", backfillId: backfillA })).status).toBe(404);
    expect(await snapshotOfA()).toBe(before);
    expect((await db.destination.findUniqueOrThrow({ where: { id: webhookB } })).state).toBe("paused");
  });

  it("GIVEN new filters THEN events and products (picker GIDs) are saved as numeric ids; impossible choices are refused", async () => {
    const saved = await postPage(a.domain, webhookA, {
      intent: "filters", lead_captured: "on", lead_redacted: "on", productIds: "gid://shopify/Product/8001,gid://shopify/Product/8002",
    });
    expect(saved.status).toBe(200);
    const row = await db.destination.findUniqueOrThrow({ where: { id: webhookA } });
    expect(row.events).toBe('["lead_captured","lead_redacted"]');
    expect(JSON.parse(row.productIds!)).toEqual(["8001", "8002"]);

    const none = await postPage(a.domain, webhookA, { intent: "filters", productIds: "" });
    expect(none.status).toBe(422);
    expect(none.data).toMatchObject({ field: "events", error: expect.stringMatching(/at least one event/) });
    const bad = await postPage(a.domain, webhookA, { intent: "filters", lead_captured: "on", productIds: "gid://shopify/Customer/1" });
    expect(bad.status).toBe(400);

    const every = await postPage(a.domain, webhookA, { intent: "filters", lead_captured: "on", productIds: "" });
    expect(every.status).toBe(200);
    expect(await db.destination.findUniqueOrThrow({ where: { id: webhookA } })).toMatchObject({ events: '["lead_captured"]', productIds: null });

    const http = await db.destination.create({
      data: { shopId: a.id, kind: "http_request", name: "HubSpot", url: "https://93.184.215.14", secretCiphertext: "", secretKeyVersion: 1 },
    });
    // Its page shows no receiver guide (that is for signed webhooks); the request itself is edited on its own page.
    expect((await loadPage(a.domain, http.id)).data).toMatchObject({ destination: { kind: "http_request", name: "HubSpot" }, guide: null, klaviyo: null });
    const erasures = await postPage(a.domain, http.id, { intent: "filters", lead_captured: "on", lead_redacted: "on" });
    expect(erasures.status).toBe(422);
    expect(erasures.data).toMatchObject({ error: expect.stringMatching(/HTTP request sends leads only/) });
    const rename = await postPage(a.domain, http.id, { intent: "rename", name: "  HubSpot   deals " });
    expect(rename.data).toMatchObject({ intent: "rename", name: "HubSpot deals" });
    await db.destination.update({ where: { id: http.id }, data: { state: "disconnected" } });
  });

  it("GIVEN Klaviyo settings THEN the metric and the list from the account are saved, the erasure choice stays the filters'; a webhook has none", async () => {
    const lists = await postPage(a.domain, klaviyoA, { intent: "klaviyo_lists" });
    expect(lists.status).toBe(200);
    expect(lists.data).toMatchObject({ lists: [expect.objectContaining({ id: expect.any(String) }), expect.anything()] });
    expect(JSON.stringify(lists.data)).not.toContain(KEY);
    // Erasures to Klaviyo are chosen in the filters card; saving the Klaviyo settings afterwards keeps that choice.
    expect((await postPage(a.domain, klaviyoA, { intent: "filters", lead_captured: "on", lead_redacted: "on" })).status).toBe(200);
    const saved = await postPage(a.domain, klaviyoA, {
      intent: "klaviyo_settings", metricName: "Virtual Try-On", listId: "LISTA", listName: "Newsletter",
    });
    expect(saved.status).toBe(200);
    const row = await db.destination.findUniqueOrThrow({ where: { id: klaviyoA } });
    expect(JSON.parse(row.settings!)).toMatchObject({ metricName: "Virtual Try-On", listId: "LISTA", listName: "Newsletter" });
    expect(row.events).toBe('["lead_captured","lead_redacted"]');

    expect((await postPage(a.domain, klaviyoA, { intent: "filters", lead_captured: "on" })).status).toBe(200);
    const off = await postPage(a.domain, klaviyoA, { intent: "klaviyo_settings", metricName: "Virtual Try-On", listId: "" });
    expect(off.status).toBe(200);
    const after = await db.destination.findUniqueOrThrow({ where: { id: klaviyoA } });
    expect(after.events).toBe('["lead_captured"]');
    expect(JSON.parse(after.settings!)).toMatchObject({ listId: null });

    expect((await postPage(a.domain, webhookA, { intent: "klaviyo_settings", metricName: "X" })).status).toBe(404);
    expect((await postPage(a.domain, klaviyoA, { intent: "rotate" })).status).toBe(409);
    // Nor through the older webhook page, which names the destination in its form.
    const before = await db.destination.findUniqueOrThrow({ where: { id: klaviyoA }, select: { secretCiphertext: true } });
    const viaOldPage = await unwrap<unknown>(async () => webhookPageAction({
      request: await formRequest("/app/leads/integrations/webhook", a.domain, { intent: "rotate", destinationId: klaviyoA }), params: {}, context,
    }));
    expect(viaOldPage.status).toBe(409);
    expect(await db.destination.findUniqueOrThrow({ where: { id: klaviyoA }, select: { secretCiphertext: true } })).toEqual(before);
  });

  it("GIVEN earlier leads THEN the backfill is counted, started, shown on reload, refused twice, and cancelled", async () => {
    const shop = await freshShop();
    await seedLeads(shop.id, [
      { email: "old@example.com", capturedAt: new Date("2026-01-02T10:00:00Z") },
      { email: "newer@example.com", capturedAt: new Date("2026-02-02T10:00:00Z") },
      { email: "newest@example.com", capturedAt: new Date("2026-03-02T10:00:00Z") },
    ]);
    const id = (await connectEndpoint({ db, shop, url: PUBLIC_URL, ring })).endpoint.id;
    const count = await postPage(shop.domain, id, { intent: "backfill_count", since: "2026-02-01" });
    expect(count.data).toEqual({ intent: "backfill_count", since: "2026-02-01", count: 2 });
    expect((await postPage(shop.domain, id, { intent: "backfill_count", since: "2026-02-31" })).status).toBe(400);

    const start = await postPage(shop.domain, id, { intent: "backfill_start", since: "2026-02-01" });
    expect(start.data).toEqual({ intent: "backfill_start", total: 2 });
    const page = await loadPage(shop.domain, id);
    expect(page.data).toMatchObject({ backfill: { status: "running", total: 2, processed: 0, since: "2026-02-01T00:00:00.000Z" } });

    const again = await postPage(shop.domain, id, { intent: "backfill_start", since: "2026-01-01" });
    expect(again.status).toBe(409);
    expect(again.data).toMatchObject({ error: expect.stringMatching(/already being sent/) });

    const backfillId = (page.data as { backfill: { id: string } }).backfill.id;
    expect((await postPage(shop.domain, id, { intent: "backfill_cancel", backfillId })).status).toBe(200);
    expect((await loadPage(shop.domain, id)).data).toMatchObject({ backfill: { status: "cancelled" } });
    expect(await db.backfill.findUniqueOrThrow({ where: { id: backfillId } })).toMatchObject({ status: "cancelled" });
  });

  it("GIVEN a Klaviyo destination THEN the test send reaches Klaviyo and the result is answered inline", async () => {
    const before = standIn.events.length;
    const answer = await postPage(a.domain, klaviyoA, { intent: "send_test" });
    expect(answer.status).toBe(200);
    expect(answer.data).toMatchObject({ intent: "send_test", result: { outcome: "delivered", statusCode: 202 } });
    expect(standIn.events.length).toBe(before + 1);
    expect(standIn.events.at(-1)).toMatchObject({ metric: "Virtual Try-On" });
  });

  it("GIVEN disconnect THEN the page shows it as disconnected with its log, and every further intent is 404", async () => {
    const answer = await postPage(a.domain, klaviyoA, { intent: "disconnect" });
    expect(answer.status).toBe(200);
    const page = await loadPage(a.domain, klaviyoA);
    expect(page.status).toBe(200);
    expect(page.data).toMatchObject({ disconnectedAt: expect.any(String) });
    expect((await postPage(a.domain, klaviyoA, { intent: "pause" })).status).toBe(404);
    expect((await postPage(a.domain, klaviyoA, { intent: "rename", name: "Back" })).status).toBe(404);
  });
});
