import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkKlaviyoKey, fetchKlaviyoLists, type KlaviyoExchange } from "../../app/destinations/klaviyo";
import { ALL_SCOPES, standInExchange, startKlaviyoStandIn, type KlaviyoStandIn, type StandInList } from "../support/klaviyo-stand-in";

/** The key check and the list picker against the Klaviyo stand-in over real HTTPS on loopback. */

const FULL = "pk_full_1111111111111111111111111111111111";
const READ_ACCOUNT_ONLY = "pk_acct_2222222222222222222222222222222222";
const NO_ACCOUNTS_READ = "pk_noacct_333333333333333333333333333333333";
const UNKNOWN = "pk_unknown_44444444444444444444444444444444";

const lists = (n: number): StandInList[] => Array.from({ length: n }, (_, i) => ({ id: `L${String(i + 1).padStart(3, "0")}`, name: `List ${i + 1}`, optInProcess: i % 2 ? "double_opt_in" : "single_opt_in" }));

let standIn: KlaviyoStandIn;
let transport: { exchange: KlaviyoExchange; close(): void };
const cleanups: (() => unknown)[] = [];

async function start(options: Partial<Parameters<typeof startKlaviyoStandIn>[0]> = {}, deadlineMs?: number) {
  standIn = await startKlaviyoStandIn({
    keys: [
      { key: FULL, scopes: ALL_SCOPES },
      { key: READ_ACCOUNT_ONLY, scopes: ["accounts:read", "events:write"] },
      { key: NO_ACCOUNTS_READ, scopes: ["events:write", "lists:read"] },
    ],
    accounts: [{ id: "acct_demo", organizationName: "Demo Store", lists: lists(25) }],
    ...options,
  });
  transport = standInExchange(standIn, { deadlineMs });
  cleanups.push(() => transport.close(), () => standIn.close());
}

beforeEach(() => start());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const both = { listSubscription: true, profileDeletion: true };
const eventsOnly = { listSubscription: false, profileDeletion: false };

describe("key check before saving", () => {
  it("GIVEN a key with every scope THEN it is accepted for the account, reads are confirmed and write scopes are named as unconfirmed", async () => {
    const result = await checkKlaviyoKey({ apiKey: `  ${FULL}\n`, features: both, exchange: transport.exchange });
    expect(result).toMatchObject({
      ok: true,
      apiKey: FULL,
      keyLastFour: FULL.slice(-4),
      account: { id: "acct_demo", organizationName: "Demo Store", testAccount: false },
      confirmedScopes: ["accounts:read", "lists:read"],
      unconfirmedScopes: ["events:write", "lists:write", "profiles:write", "subscriptions:write", "data-privacy:write"],
    });
    expect(result.message).toContain("Klaviyo accepted the key for Demo Store");
    expect(result.message).toContain("events:write");
    const [accounts, listsRead] = standIn.requests;
    expect(accounts).toMatchObject({ method: "GET", path: "/api/accounts", status: 200 });
    expect(accounts.headers).toMatchObject({ authorization: `Klaviyo-API-Key ${FULL}`, revision: "2026-10-15", accept: "application/vnd.api+json" });
    expect(accounts.headers).not.toHaveProperty("content-type");
    expect(listsRead).toMatchObject({ method: "GET", path: "/api/lists", status: 200 });
    expect(standIn.events).toHaveLength(0);
  });

  it("GIVEN list subscription off THEN lists are not read and the key needs no lists scope", async () => {
    const result = await checkKlaviyoKey({ apiKey: READ_ACCOUNT_ONLY, features: eventsOnly, exchange: transport.exchange });
    expect(result).toMatchObject({ ok: true, confirmedScopes: ["accounts:read"], unconfirmedScopes: ["events:write"] });
    expect(standIn.requests.map((r) => r.path)).toEqual(["/api/accounts"]);
  });

  it("GIVEN a key Klaviyo does not know THEN it is an invalid key, said plainly, without the key", async () => {
    const result = await checkKlaviyoKey({ apiKey: UNKNOWN, features: both, exchange: transport.exchange });
    expect(result).toMatchObject({ ok: false, problem: "invalid_key" });
    expect(result.message).toContain("Klaviyo did not accept this key");
    expect(JSON.stringify(result)).not.toContain(UNKNOWN);
    expect(standIn.requests[0].status).toBe(401);
  });

  it("GIVEN the six-character public key THEN the answer explains that a private key starts with pk_", async () => {
    const result = await checkKlaviyoKey({ apiKey: "AbC123", features: eventsOnly, exchange: transport.exchange });
    expect(result).toMatchObject({ ok: false, problem: "invalid_key" });
    expect(result.message).toContain("public key (site ID) does not work here");
  });

  it("GIVEN a key without accounts:read THEN the missing scope is named with every scope to create the key with", async () => {
    const result = await checkKlaviyoKey({ apiKey: NO_ACCOUNTS_READ, features: both, exchange: transport.exchange });
    expect(result).toMatchObject({ ok: false, problem: "missing_scope", missingScopes: ["accounts:read"] });
    expect(result.message).toContain("accounts:read, events:write, lists:read, lists:write, profiles:write, subscriptions:write, data-privacy:write");
    expect(standIn.requests[0].status).toBe(403);
  });

  it("GIVEN list subscription on and a key that cannot read lists THEN lists:read is named as missing", async () => {
    const result = await checkKlaviyoKey({ apiKey: READ_ACCOUNT_ONLY, features: both, exchange: transport.exchange });
    expect(result).toMatchObject({ ok: false, problem: "missing_scope", missingScopes: ["lists:read"] });
  });

  it("GIVEN nothing or a key with spaces THEN nothing is sent to Klaviyo", async () => {
    for (const pasted of ["", "   ", "pk_abc def"]) {
      expect(await checkKlaviyoKey({ apiKey: pasted, features: both, exchange: transport.exchange })).toMatchObject({ ok: false, problem: "invalid_key" });
    }
    expect(standIn.requests).toHaveLength(0);
  });

  it("GIVEN Klaviyo cannot be reached THEN it says so and that nothing was saved", async () => {
    await transport.close();
    await standIn.close();
    const result = await checkKlaviyoKey({ apiKey: FULL, features: both, exchange: transport.exchange });
    expect(result).toMatchObject({ ok: false, problem: "unreachable" });
    expect(result.message).toBe("We could not connect to Klaviyo. Try again in a minute; nothing was saved.");
  });

  it("GIVEN Klaviyo answers too slowly THEN the check gives up at the deadline and says so", async () => {
    await start({}, 400);
    standIn.failNext({ hang: true });
    const started = Date.now();
    const result = await checkKlaviyoKey({ apiKey: FULL, features: both, exchange: transport.exchange });
    expect(result).toMatchObject({ ok: false, problem: "unreachable", message: "Klaviyo did not answer in time. Try again in a minute; nothing was saved." });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("GIVEN a Klaviyo outage (503) THEN it is unreachable, not an invalid key", async () => {
    standIn.failNext({ status: 503, body: "upstream unavailable" });
    expect(await checkKlaviyoKey({ apiKey: FULL, features: both, exchange: transport.exchange })).toMatchObject({ ok: false, problem: "unreachable" });
  });

  it("GIVEN checks faster than Klaviyo's one per second THEN the second is rate_limited with Klaviyo's wait", async () => {
    await start({ rateLimit: { burstPerSecond: 1, steadyPerMinute: 15 } });
    const first = await checkKlaviyoKey({ apiKey: FULL, features: eventsOnly, exchange: transport.exchange });
    const second = await checkKlaviyoKey({ apiKey: FULL, features: eventsOnly, exchange: transport.exchange });
    expect(first.ok).toBe(true);
    expect(second).toMatchObject({ ok: false, problem: "rate_limited", retryAfterMs: 1_000 });
    expect(standIn.requests.map((r) => r.status)).toEqual([200, 429]);
  });
});

describe("the account's lists", () => {
  it("GIVEN 25 lists THEN all come back newest first over three pages, each asked for with Klaviyo's cursor", async () => {
    const result = await fetchKlaviyoLists({ apiKey: FULL, exchange: transport.exchange });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.truncated).toBe(false);
    expect(result.lists).toHaveLength(25);
    expect(result.lists[0]).toEqual({ id: "L025", name: "List 25", optInProcess: "single_opt_in" });
    expect(result.lists[24]).toEqual({ id: "L001", name: "List 1", optInProcess: "single_opt_in" });
    expect(result.lists[1].optInProcess).toBe("double_opt_in");
    expect(standIn.requests.map((r) => r.query.get("page[size]"))).toEqual(["10", "10", "10"]);
    expect(standIn.requests[0].query.has("page[cursor]")).toBe(false);
    expect(standIn.requests[1].query.get("page[cursor]")).toBe(Buffer.from("offset:10").toString("base64url"));
    expect(standIn.requests.every((r) => r.status === 200)).toBe(true);
  });

  it("GIVEN more lists than the cap THEN it stops there and says the list is incomplete", async () => {
    const result = await fetchKlaviyoLists({ apiKey: FULL, exchange: transport.exchange, maxLists: 12 });
    expect(result).toMatchObject({ ok: true, truncated: true });
    if (result.ok) expect(result.lists.map((l) => l.id)).toEqual(["L025", "L024", "L023", "L022", "L021", "L020", "L019", "L018", "L017", "L016", "L015", "L014"]);
    expect(standIn.requests).toHaveLength(2);
  });

  it("GIVEN exactly the cap THEN no page more is read, and nothing is said missing", async () => {
    const result = await fetchKlaviyoLists({ apiKey: FULL, exchange: transport.exchange, maxLists: 25 });
    expect(result).toMatchObject({ ok: true, truncated: false });
    expect(standIn.requests).toHaveLength(3);
  });

  it("GIVEN an answer whose next link points away from Klaviyo THEN it is not followed", async () => {
    standIn.failNext({
      status: 200,
      headers: { "content-type": "application/vnd.api+json" },
      body: JSON.stringify({
        data: [{ type: "list", id: "L1", attributes: { name: "Newsletter", opt_in_process: "single_opt_in" } }],
        links: { self: "https://a.klaviyo.com/api/lists/", next: "https://collector.example/api/lists/?page%5Bcursor%5D=abc" },
      }),
    });
    const result = await fetchKlaviyoLists({ apiKey: FULL, exchange: transport.exchange });
    expect(result).toEqual({ ok: true, lists: [{ id: "L1", name: "Newsletter", optInProcess: "single_opt_in" }], truncated: false });
    expect(standIn.requests).toHaveLength(1);
  });

  it("GIVEN a key that may not read lists THEN the key is reported rejected with the scopes to add", async () => {
    const result = await fetchKlaviyoLists({ apiKey: READ_ACCOUNT_ONLY, exchange: transport.exchange });
    expect(result).toMatchObject({ ok: false, keyRejected: true });
    if (!result.ok) expect(result.message).toContain("lists:read, lists:write, profiles:write, subscriptions:write");
  });
});
