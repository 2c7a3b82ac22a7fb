import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { enqueueNewDeliveries } from "../../app/delivery/queue.server";
import { replayDelivery } from "../../app/delivery/replay.server";
import { connectKlaviyo, updateKlaviyo } from "../../app/destinations/klaviyo/connect.server";
import { createKlaviyoSender } from "../../app/destinations/klaviyo/sender";
import { createDestinationLimits } from "../../app/destinations/limits.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { sendTestWebhook } from "../../app/destinations/test-send.server";
import { getDb } from "../../app/lib/db.server";
import { createLogger } from "../../app/lib/logger.server";
import { ensureShop } from "../../app/shops/shops.server";
import { sampleLead, testKeyRing, waitFor } from "../support/delivery";
import { loopbackSender, startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { ALL_SCOPES, standInExchange, startKlaviyoStandIn, type KlaviyoStandIn } from "../support/klaviyo-stand-in";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { deliver, shopifyWebhook, tablesContaining, testDeps } from "../compliance/support";

/**
 * A Klaviyo destination end to end: connected with a checked key, fed by the outbox next to a webhook, sent by
 * the real worker through the gate with Klaviyo's limits, answered by a local stand-in that checks what
 * Klaviyo checks (auth, revision, JSON:API shape, unique_id) and rate-limits as Klaviyo does.
 */

const db = getDb();
const KEY = "pk_live_abcdefghijklmnopqrstuvwxyz012345";
const LIMITED = "pk_limited_0123456789abcdefghijklmnopqr";
let standIn: KlaviyoStandIn;
let transport: ReturnType<typeof standInExchange>;
let receiver: HttpsReceiver;
let harness: DeliveryHarness;
let counter = 0;

beforeAll(async () => {
  standIn = await startKlaviyoStandIn({
    keys: [{ key: KEY, scopes: ALL_SCOPES }, { key: LIMITED, scopes: ["accounts:read"] }],
    accounts: [{ id: "acct_demo", organizationName: "Demo Store", lists: [{ id: "LIST01", name: "Try-on leads" }] }],
  });
  transport = standInExchange(standIn);
  receiver = await startHttpsReceiver();
  harness = await startHarness("klaviyo", receiver, {
    senders: { klaviyo: createKlaviyoSender(transport.exchange) },
    limitsFor: createDestinationLimits(db),
  });
});

afterAll(async () => {
  await harness.close();
  transport.close();
  await standIn.close();
  await receiver.close();
});

async function shop() {
  return ensureShop(db, `klaviyo-${++counter}-${Date.now().toString(36)}.myshopify.com`);
}

async function klaviyoFor(s: { id: string; domain: string }, options: { listId?: string; events?: ("lead_captured" | "lead_redacted")[] } = {}) {
  const result = await connectKlaviyo({ db, shop: s, apiKey: ` ${KEY} `, ring: testKeyRing(), exchange: transport.exchange, ...options });
  if (!result.ok) throw new Error(result.message);
  return result.destination;
}

describe("connecting Klaviyo", () => {
  it("GIVEN a valid key THEN it is checked with a harmless read, stored only encrypted, and shown by its last four characters", async () => {
    const s = await shop();
    const before = standIn.requests.length;
    const destination = await klaviyoFor(s, { listId: "LIST01" });
    expect(standIn.requests.slice(before).map((r) => [r.method, r.path])).toEqual([["GET", "/api/accounts"], ["GET", "/api/lists"]]);
    expect(destination).toMatchObject({ kind: "klaviyo", name: "Klaviyo", state: "active", credentialsHint: KEY.slice(-4) });
    expect(destination.settings).toMatchObject({ metricName: "Try-On Lead", listId: "LIST01", accountName: "Demo Store" });
    const row = await db.destination.findUniqueOrThrow({ where: { id: destination.id } });
    expect(JSON.stringify(row)).not.toContain(KEY);
    expect(row.credentialsCiphertext).toMatch(/^v\d+\./);
  });

  it("GIVEN a key Klaviyo does not know THEN it says so plainly and stores nothing", async () => {
    const s = await shop();
    const result = await connectKlaviyo({ db, shop: s, apiKey: "pk_unknown_00000000000000000000000000", ring: testKeyRing(), exchange: transport.exchange });
    expect(result).toMatchObject({ ok: false, field: "apiKey" });
    expect(result.ok || result.message).toMatch(/key/i);
    expect(result.ok || result.message).not.toContain("pk_unknown");
    expect(await db.destination.count({ where: { shopId: s.id } })).toBe(0);
  });

  it("GIVEN a key without the lists scope while a list is chosen THEN the missing scope is named", async () => {
    const s = await shop();
    const result = await connectKlaviyo({ db, shop: s, apiKey: LIMITED, ring: testKeyRing(), exchange: transport.exchange, listId: "LIST01" });
    expect(result.ok).toBe(false);
    expect(result.ok || result.message).toContain("lists:read");
  });
});

describe("a lead reaches Klaviyo and a webhook at once", () => {
  it("GIVEN a shop with a webhook and Klaviyo THEN one capture makes two deliveries and each lands once, the event keyed by its delivery id", async () => {
    const s = await shop();
    const destination = await klaviyoFor(s, { listId: "LIST01" });
    const { endpoint, secret } = await connectEndpoint({
      db, shop: s, url: receiver.urlFor("/both"), ring: testKeyRing(), destination: { policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }) },
    });
    receiver.setSecrets([secret]);
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: s.id, shopDomain: s.domain }));
    expect(recorded.deliveries.map((d) => d.destinationId).sort()).toEqual([destination.id, endpoint.id].sort());
    await enqueueNewDeliveries(harness.queue, recorded.deliveries);
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: recorded.deliveryIds }, status: "delivered" } })) === 2, 15_000, "both delivered");

    const klaviyoDelivery = recorded.deliveries.find((d) => d.destinationId === destination.id)!;
    const event = standIn.events.find((e) => e.uniqueId === klaviyoDelivery.id);
    expect(event).toMatchObject({ metric: "Try-On Lead", email: recorded.lead.email, properties: expect.objectContaining({ lead_id: recorded.lead.id }) });
    expect(standIn.subscriptions.some((sub) => sub.emails.includes(recorded.lead.email))).toBe(true);
    expect(receiver.requests.filter((r) => r.headers["webhook-id"] === recorded.deliveries.find((d) => d.destinationId === endpoint.id)!.id)).toHaveLength(1);
  });

  it("WHEN the same delivery is sent again (a replay) THEN Klaviyo still holds one event for it", async () => {
    const s = await shop();
    await klaviyoFor(s);
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: s.id, shopDomain: s.domain }));
    await enqueueNewDeliveries(harness.queue, recorded.deliveries);
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: recorded.deliveryIds[0] } })).status === "delivered", 10_000, "delivered");
    await replayDelivery(db, harness.queue, { shopId: s.id, deliveryId: recorded.deliveryIds[0] });
    await waitFor(async () => {
      const row = await db.delivery.findUniqueOrThrow({ where: { id: recorded.deliveryIds[0] } });
      return row.status === "delivered" && row.attemptCount === 2;
    }, 10_000, "replayed");
    expect(standIn.events.filter((e) => e.uniqueId === recorded.deliveryIds[0])).toHaveLength(1);
    expect(standIn.requests.filter((r) => r.path === "/api/events" && r.rawBody.toString().includes(recorded.deliveryIds[0]))).toHaveLength(2);
  });
});

describe("Klaviyo's answers", () => {
  it("GIVEN Klaviyo answers 429 with Retry-After THEN the lead waits as asked and is delivered, its schedule untouched, nothing failed", async () => {
    const s = await shop();
    await klaviyoFor(s);
    standIn.failNextOn("/api/events", { status: 429, headers: { "retry-after": "1" }, body: '{"errors":[{"status":429,"code":"throttled","title":"Request was throttled.","detail":"Request was throttled. Expected available in 1 second."}]}' });
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: s.id, shopDomain: s.domain }));
    await enqueueNewDeliveries(harness.queue, recorded.deliveries);
    const done = await waitFor(async () => {
      const row = await db.delivery.findUniqueOrThrow({ where: { id: recorded.deliveryIds[0] }, include: { attempts: { orderBy: { number: "asc" } } } });
      return row.status === "delivered" ? row : undefined;
    }, 15_000, "delivered after the 429");
    expect(done.attempts.map((a) => a.statusCode)).toEqual([429, 202]);
    // The 429 did not use up a place in the retry schedule.
    expect(done.attemptCount - done.attemptsBeforeReplay).toBe(1);
    expect(done.attempts[1].startedAt.getTime() - done.attempts[0].startedAt.getTime()).toBeGreaterThanOrEqual(900);
  });

  it("GIVEN Klaviyo rejects the key (401) THEN the destination is paused with words the merchant can act on, and its leads wait", async () => {
    const s = await shop();
    const destination = await klaviyoFor(s);
    standIn.failNextOn("/api/events", { status: 401, body: '{"errors":[{"status":401,"code":"not_authenticated","title":"Authentication credentials were not provided.","detail":"Missing or invalid private key."}]}' });
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: s.id, shopDomain: s.domain }));
    await enqueueNewDeliveries(harness.queue, recorded.deliveries);
    const paused = await waitFor(async () => {
      const row = await db.destination.findUniqueOrThrow({ where: { id: destination.id } });
      return row.state === "paused" ? row : undefined;
    }, 10_000, "paused");
    expect(paused.pausedReason).toMatch(/Klaviyo rejected the key/);
    expect((await db.delivery.findUniqueOrThrow({ where: { id: recorded.deliveryIds[0] } })).status).toBe("retrying");
  });

  it("GIVEN Klaviyo refuses the request (400) THEN the delivery fails at once with Klaviyo's words, no retry cycle", async () => {
    const s = await shop();
    await klaviyoFor(s);
    standIn.failNextOn("/api/events", { status: 400, body: '{"errors":[{"status":400,"code":"invalid","title":"Invalid input.","detail":"The metric name is not allowed."}]}' });
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: s.id, shopDomain: s.domain }));
    await enqueueNewDeliveries(harness.queue, recorded.deliveries);
    const failed = await waitFor(async () => {
      const row = await db.delivery.findUniqueOrThrow({ where: { id: recorded.deliveryIds[0] } });
      return row.status === "failed" ? row : undefined;
    }, 10_000, "failed");
    expect(failed.attemptCount).toBe(1);
    expect(failed.lastError).toContain("The metric name is not allowed.");
  });
});

describe("Klaviyo's limits are kept by the gate", () => {
  it("GIVEN a burst of leads THEN the worker keeps to Klaviyo's rate and every lead is delivered", async () => {
    const s = await shop();
    const destination = await klaviyoFor(s);
    const limits = await createDestinationLimits(db)(destination.id);
    expect(limits?.ratePerSecond).toBeGreaterThan(0);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: s.id, shopDomain: s.domain }));
      await enqueueNewDeliveries(harness.queue, recorded.deliveries);
      ids.push(...recorded.deliveryIds);
    }
    await waitFor(async () => (await db.delivery.count({ where: { id: { in: ids }, status: "delivered" } })) === ids.length, 20_000, "all delivered");
    expect(await db.delivery.count({ where: { id: { in: ids }, status: "failed" } })).toBe(0);
  });
});

describe("sending a test to Klaviyo", () => {
  it("GIVEN the test button THEN Klaviyo records a test event that starts no flow, and the result is shown inline", async () => {
    const s = await shop();
    const destination = await klaviyoFor(s);
    const before = standIn.events.length;
    const sender = loopbackSender(receiver);
    const result = await sendTestWebhook(
      { db, send: sender.send, senders: { klaviyo: createKlaviyoSender(transport.exchange) }, keyRing: testKeyRing(), logger: createLogger({ level: "silent" }) },
      { shop: s, destinationId: destination.id },
    );
    sender.close();
    expect(result).toMatchObject({ outcome: "delivered", statusCode: 202 });
    const [event] = standIn.events.slice(before);
    expect(event).toMatchObject({ backfill: true, properties: expect.objectContaining({ test: true }) });
  });
});

describe("changing Klaviyo's settings", () => {
  it("GIVEN a new key THEN it is checked and replaces the stored one; a bad one changes nothing", async () => {
    const s = await shop();
    const destination = await klaviyoFor(s);
    const before = await db.destination.findUniqueOrThrow({ where: { id: destination.id } });
    const refused = await updateKlaviyo({ db, shop: s, destinationId: destination.id, apiKey: "pk_nope_000000000000000000000000000000", ring: testKeyRing(), exchange: transport.exchange });
    expect(refused.ok).toBe(false);
    expect((await db.destination.findUniqueOrThrow({ where: { id: destination.id } })).credentialsCiphertext).toBe(before.credentialsCiphertext);
    const renamed = await updateKlaviyo({ db, shop: s, destinationId: destination.id, metricName: "Tried it on", ring: testKeyRing(), exchange: transport.exchange });
    expect(renamed.ok && renamed.destination.settings).toMatchObject({ metricName: "Tried it on" });
  });
});

describe("an erasure reaches Klaviyo", () => {
  async function erase(s: { domain: string }, email: string) {
    const request = shopifyWebhook("customers/redact", { shop_id: 1, shop_domain: s.domain, customer: { id: null, email, phone: null }, orders_to_redact: [] }, { shop: s.domain });
    return deliver("customers/redact", request, testDeps(createLogger({ level: "silent" })));
  }

  it("GIVEN Klaviyo takes erasures and received the lead THEN Klaviyo is asked to delete the profile by email, and the email is then gone from our side", async () => {
    const s = await shop();
    const destination = await klaviyoFor(s, { events: ["lead_captured", "lead_redacted"] });
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: s.id, shopDomain: s.domain }));
    expect((await erase(s, recorded.lead.email)).status).toBe(200);

    const erasure = await db.delivery.findFirstOrThrow({ where: { destinationId: destination.id, event: "lead_redacted" } });
    expect(JSON.parse(erasure.payload)).toMatchObject({ event: "lead_redacted", email: recorded.lead.email, lead_ids: [recorded.lead.id] });
    await enqueueNewDeliveries(harness.queue, [{ id: erasure.id, destinationId: destination.id }]);
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: erasure.id } })).status === "delivered", 10_000, "erasure delivered");
    expect(standIn.deletions.filter((d) => d.email === recorded.lead.email)).toHaveLength(1);
    // Klaviyo has it: the one row that held the email no longer does.
    expect((await db.delivery.findUniqueOrThrow({ where: { id: erasure.id } })).payload).toBe("");
    expect(await tablesContaining(recorded.lead.email)).toEqual([]);
  });

  it("GIVEN a Klaviyo destination that does not take erasures THEN nothing is asked of it", async () => {
    const s = await shop();
    const destination = await klaviyoFor(s);
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: s.id, shopDomain: s.domain }));
    expect((await erase(s, recorded.lead.email)).status).toBe(200);
    expect(await db.delivery.count({ where: { destinationId: destination.id, event: "lead_redacted" } })).toBe(0);
  });
});
