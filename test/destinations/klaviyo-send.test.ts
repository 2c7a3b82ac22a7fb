import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildTestBody } from "../../app/delivery/payload";
import type { AttemptFailure } from "../../app/delivery/types";
import { requestKlaviyoProfileDeletion, sendLeadToKlaviyo, type KlaviyoExchange, type KlaviyoLeadDelivery } from "../../app/destinations/klaviyo";
import { sampleLead, SHOP } from "../support/klaviyo-leads";
import { ALL_SCOPES, standInExchange, startKlaviyoStandIn, type KlaviyoStandIn, type KlaviyoStandInOptions } from "../support/klaviyo-stand-in";

/** Lead deliveries and profile deletions against the Klaviyo stand-in over real HTTPS on loopback. */

const FULL = "pk_full_1111111111111111111111111111111111";
const EVENTS_ONLY = "pk_events_2222222222222222222222222222222";
const NO_EVENTS = "pk_noevents_33333333333333333333333333333";

let standIn: KlaviyoStandIn;
let transport: { exchange: KlaviyoExchange; close(): void };
const cleanups: (() => unknown)[] = [];

async function start(options: Partial<KlaviyoStandInOptions> = {}) {
  standIn = await startKlaviyoStandIn({
    keys: [
      { key: FULL, scopes: ALL_SCOPES },
      { key: EVENTS_ONLY, scopes: ["accounts:read", "events:write", "lists:read"] },
      { key: NO_EVENTS, scopes: ["accounts:read", "lists:read", "lists:write", "profiles:write", "subscriptions:write"] },
    ],
    accounts: [{ id: "acct_demo", organizationName: "Demo Store", lists: [{ id: "Y6nRLr", name: "Try-on leads" }] }],
    ...options,
  });
  transport = standInExchange(standIn);
  cleanups.push(() => transport.close(), () => standIn.close());
}

beforeEach(() => start());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function send(overrides: Partial<KlaviyoLeadDelivery> = {}) {
  return sendLeadToKlaviyo({ apiKey: FULL, exchange: transport.exchange, lead: sampleLead(), deliveryId: "dlv_0001", listId: "Y6nRLr", ...overrides });
}

describe("a lead reaches Klaviyo", () => {
  it("GIVEN a consenting shopper and a chosen list THEN Klaviyo records one Try-On Lead event and one list subscription", async () => {
    const result = await send();
    expect(result).toMatchObject({ ok: true, statusCode: 202, address: "127.0.0.1" });
    expect(standIn.events).toEqual([{
      account: "acct_demo",
      metric: "Try-On Lead",
      profileKey: "email:shopper@example.com",
      email: "shopper@example.com",
      uniqueId: "dlv_0001",
      time: "2026-11-02T10:15:30.123Z",
      backfill: false,
      properties: expect.objectContaining({ lead_id: "lead_01HZX", product_id: "gid://shopify/Product/1001", variant_title: "Gold / 54 mm", utm_campaign: "fall-frames", try_on: expect.objectContaining({ vendor: "acme-tryon" }) }),
    }]);
    expect(standIn.subscriptions).toEqual([{
      account: "acct_demo", listId: "Y6nRLr", emails: ["shopper@example.com"], consentedAt: [null], historicalImport: false, customSource: "Virtual try-on lead form",
    }]);
    expect(standIn.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ["POST", "/api/events", 202],
      ["POST", "/api/profile-subscription-bulk-create-jobs", 202],
    ]);
    for (const request of standIn.requests) {
      expect(request.headers).toMatchObject({ "content-type": "application/vnd.api+json", revision: "2026-10-15" });
      expect(request.rawBody.toString("utf8")).not.toContain(FULL);
    }
  });

  it("GIVEN the same delivery sent again (a retry or a replay) THEN Klaviyo still has one event", async () => {
    expect((await send()).ok).toBe(true);
    expect((await send()).ok).toBe(true);
    expect(standIn.requests.filter((r) => r.path === "/api/events")).toHaveLength(2);
    expect(standIn.events).toHaveLength(1);
  });

  it("GIVEN two deliveries of the same lead (two destinations, or a backfill after a live send) THEN they are two events", async () => {
    await send({ deliveryId: "dlv_a" });
    await send({ deliveryId: "dlv_b" });
    expect(standIn.events.map((e) => e.uniqueId)).toEqual(["dlv_a", "dlv_b"]);
  });

  it("GIVEN no list chosen THEN only the event is sent", async () => {
    expect((await send({ listId: null })).ok).toBe(true);
    expect(standIn.requests.map((r) => r.path)).toEqual(["/api/events"]);
    expect(standIn.subscriptions).toHaveLength(0);
  });

  it("GIVEN a shopper without marketing consent THEN the event is sent but nobody is subscribed", async () => {
    const lead = { ...sampleLead(), consent: { given: false, captured_at: "2026-11-02T10:15:30.123Z" } };
    expect((await send({ lead })).ok).toBe(true);
    expect(standIn.events).toHaveLength(1);
    expect(standIn.subscriptions).toHaveLength(0);
  });

  it("GIVEN a test send THEN the event is marked as test and backfill (no flow runs) and nobody is subscribed", async () => {
    expect((await send({ lead: buildTestBody(SHOP, new Date("2026-11-02T10:00:00Z")), deliveryId: "dlv_test" })).ok).toBe(true);
    expect(standIn.events).toMatchObject([{ email: "test@example.com", backfill: true, properties: { test: true } }]);
    expect(standIn.subscriptions).toHaveLength(0);
  });

  it("GIVEN a backfilled lead and the merchant's own event name THEN the event starts no flow and the consent keeps its time", async () => {
    expect((await send({ backfill: true, metricName: "Virtual Try-On" })).ok).toBe(true);
    expect(standIn.events).toMatchObject([{ metric: "Virtual Try-On", backfill: true }]);
    expect(standIn.subscriptions).toMatchObject([{ historicalImport: true, consentedAt: ["2026-11-02T10:15:30.123Z"] }]);
  });
});

describe("Klaviyo's limits and refusals", () => {
  it("GIVEN Klaviyo's rate limit is reached THEN the attempt is rate_limited with Retry-After, and after that wait the lead goes through once", async () => {
    await start({ rateLimit: { burstPerSecond: 1, steadyPerMinute: 100 } });
    expect((await send({ deliveryId: "dlv_1", listId: null })).ok).toBe(true);
    const limited = await send({ deliveryId: "dlv_2", listId: null }) as AttemptFailure;
    expect(limited).toMatchObject({ ok: false, errorCode: "rate_limited", statusCode: 429, retryAfterMs: 1_000 });
    expect(limited.message).toContain("sent again in 1 second");
    await new Promise((resolve) => setTimeout(resolve, limited.retryAfterMs));
    expect((await send({ deliveryId: "dlv_2", listId: null })).ok).toBe(true);
    expect(standIn.events.map((e) => e.uniqueId)).toEqual(["dlv_1", "dlv_2"]);
  });

  it("GIVEN a key without events:write THEN Klaviyo rejected the key, the destination is to be paused, and nothing was recorded", async () => {
    const result = await send({ apiKey: NO_EVENTS }) as AttemptFailure;
    expect(result).toMatchObject({ ok: false, errorCode: "credentials_rejected", statusCode: 403 });
    expect(result.message).toMatch(/^Klaviyo rejected the key \(403 Forbidden\).*events:write/);
    expect(standIn.events).toHaveLength(0);
    expect(standIn.requests).toHaveLength(1);
  });

  it("GIVEN a key that may send events but not subscribe THEN the attempt fails as a rejected key, saying the event got through", async () => {
    const result = await send({ apiKey: EVENTS_ONLY }) as AttemptFailure;
    expect(result).toMatchObject({ ok: false, errorCode: "credentials_rejected" });
    expect(result.message).toContain("The event reached Klaviyo, but subscribing the shopper to the list did not.");
    expect(result.message).toContain("lists:write, profiles:write, subscriptions:write");
    expect(standIn.events).toHaveLength(1);
  });

  it("GIVEN a list that no longer exists THEN it fails at once with Klaviyo's words", async () => {
    const result = await send({ listId: "GONE42" }) as AttemptFailure;
    expect(result).toMatchObject({ ok: false, errorCode: "request_rejected", statusCode: 404 });
    expect(result.message).toContain("A list with id GONE42 does not exist.");
  });

  it("GIVEN an unknown key THEN it is a rejected key, and neither message nor excerpt holds it", async () => {
    const unknown = "pk_revoked_999999999999999999999999999999";
    const result = await send({ apiKey: unknown }) as AttemptFailure;
    expect(result).toMatchObject({ ok: false, errorCode: "credentials_rejected", statusCode: 401 });
    expect(JSON.stringify(result)).not.toContain(unknown);
  });

  it("GIVEN Klaviyo refuses a request and quotes the shopper's email and the key THEN the merchant sees Klaviyo's reason without either", async () => {
    standIn.failNext({
      status: 400,
      headers: { "content-type": "application/vnd.api+json" },
      body: JSON.stringify({ errors: [{ id: "x", status: 400, code: "invalid", title: "Invalid input.", detail: `Profile shopper@example.com cannot be updated with key ${FULL}` }] }),
    });
    const result = await send() as AttemptFailure;
    expect(result).toMatchObject({ ok: false, errorCode: "request_rejected", statusCode: 400 });
    expect(result.message).toContain("Profile [email] cannot be updated with key [key]");
    expect(JSON.stringify(result)).not.toMatch(/shopper@example\.com|pk_full/);
  });

  it("GIVEN Klaviyo fails after the event was taken THEN it is retried later, and the retry of the whole delivery still makes one event", async () => {
    standIn.failNextOn("/api/profile-subscription-bulk-create-jobs", { status: 503, headers: { "retry-after": "30" } });
    const failed = await send() as AttemptFailure;
    expect(failed).toMatchObject({ ok: false, errorCode: "http_status", statusCode: 503, retryAfterMs: 30_000 });
    expect(failed.message).toContain("The event reached Klaviyo, but subscribing the shopper to the list did not.");
    expect(standIn.events).toHaveLength(1);
    expect((await send()).ok).toBe(true);
    expect(standIn.requests.map((r) => [r.path, r.status])).toEqual([
      ["/api/events", 202], ["/api/profile-subscription-bulk-create-jobs", 503],
      ["/api/events", 202], ["/api/profile-subscription-bulk-create-jobs", 202],
    ]);
    expect(standIn.events).toHaveLength(1);
    expect(standIn.subscriptions).toHaveLength(1);
  });

  it("GIVEN Klaviyo does not answer THEN the attempt times out at the sender's deadline, in words about Klaviyo", async () => {
    const slow = standInExchange(standIn, { deadlineMs: 300 });
    cleanups.push(() => slow.close());
    standIn.failNext({ hang: true });
    const result = await send({ exchange: slow.exchange });
    expect(result).toMatchObject({ ok: false, errorCode: "timeout", message: "Klaviyo did not answer in time; it is sent again later" });
  });
});

describe("a shopper's erasure reaches Klaviyo", () => {
  it("GIVEN profile deletion THEN Klaviyo gets a deletion job for that email only", async () => {
    const result = await requestKlaviyoProfileDeletion({ apiKey: FULL, exchange: transport.exchange, email: "shopper@example.com" });
    expect(result).toMatchObject({ ok: true, statusCode: 202 });
    expect(standIn.deletions).toEqual([{ account: "acct_demo", email: "shopper@example.com", phoneNumber: null, profileId: null }]);
  });

  it("GIVEN a key without data-privacy:write THEN Klaviyo rejected the key, naming that scope", async () => {
    const result = await requestKlaviyoProfileDeletion({ apiKey: EVENTS_ONLY, exchange: transport.exchange, email: "shopper@example.com" }) as AttemptFailure;
    expect(result).toMatchObject({ ok: false, errorCode: "credentials_rejected", statusCode: 403 });
    expect(result.message).toContain("data-privacy:write");
    expect(standIn.deletions).toHaveLength(0);
  });
});
