import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { activityDays, cachedLeadsActivity, clearLeadsActivityCache, leadsActivity } from "../../app/leads/activity.server";
import { getDb } from "../../app/lib/db.server";
import { ensureShop } from "../../app/shops/shops.server";
import { TtlCache } from "../../app/lib/ttl-cache";
import { percentileCont } from "../../app/lib/sql-dialect";
import { seedActivity } from "../support/activity";
import { addEndpoint } from "../support/delivery";

/** The figures behind the Leads tab's chart, on both databases. */

const db = getDb();
const NOW = new Date("2026-03-31T18:00:00.000Z");

async function newShop() {
  return ensureShop(db, `activity-${randomBytes(4).toString("hex")}.myshopify.com`);
}

describe("the Leads tab's 30-day activity", () => {
  it("GIVEN a shop without leads THEN every day is zero and there is no destination or latency", async () => {
    const shop = await newShop();
    const activity = await leadsActivity(db, shop.id, NOW);
    expect(activity.days).toHaveLength(30);
    expect(activity.days[0]).toBe("2026-03-02");
    expect(activity.days[29]).toBe("2026-03-31");
    expect(activity.totalLeads).toBe(0);
    expect(activity.activeDays).toBe(0);
    expect(activity.destinations).toEqual([]);
    expect(activity.latencyP95.every((v) => v === null)).toBe(true);
  });

  it("GIVEN leads and deliveries over 35 days THEN it counts per UTC day within the 30, per destination, with p50 and p95 latency", async () => {
    const shop = await newShop();
    const crm = await addEndpoint(shop, "https://crm.example/hook");
    const sheet = await addEndpoint(shop, "https://sheet.example/hook");
    await db.destination.update({ where: { id: crm.id }, data: { name: "CRM" } });
    await db.destination.update({ where: { id: sheet.id }, data: { name: "Sheet" } });
    await seedActivity({
      shopId: shop.id, destinationIds: [crm.id, sheet.id], now: NOW,
      leadsPerDay: (back) => (back === 3 ? 0 : back < 35 ? 1 + (back % 4) : 0),
      // Latencies 100, 200, … ms by position in the day.
      latencyMs: (_back, i) => 100 * (i + 1),
      failed: (_back, i, d) => d === 1 && i === 0,
    });
    // Another shop's leads on the same days count nowhere here.
    const other = await newShop();
    await seedActivity({ shopId: other.id, destinationIds: [], now: NOW, leadsPerDay: () => 5 });

    const activity = await leadsActivity(db, shop.id, NOW);
    const expected = activityDays(NOW).map((_, i) => {
      const back = 29 - i;
      return back === 3 ? 0 : 1 + (back % 4);
    });
    expect(activity.leads).toEqual(expected);
    expect(activity.totalLeads).toBe(expected.reduce((a, b) => a + b, 0));
    expect(activity.activeDays).toBe(29);
    expect(activity.destinations.map((d) => d.name)).toEqual(["CRM", "Sheet"]);
    const [crmSeries, sheetSeries] = activity.destinations;
    expect(crmSeries.delivered).toEqual(expected);
    expect(crmSeries.failed.every((n) => n === 0)).toBe(true);
    expect(sheetSeries.failed).toEqual(expected.map((n) => (n > 0 ? 1 : 0)));
    expect(sheetSeries.delivered).toEqual(expected.map((n) => Math.max(0, n - 1)));
    // Today (back 0) has 1 lead: 100 ms at CRM only (Sheet failed it) -> p50 = p95 = 100.
    expect(activity.latencyP50[29]).toBe(100);
    expect(activity.latencyP95[29]).toBe(100);
    // Back 2 has 3 leads: CRM 100, 200, 300; Sheet 200, 300 -> [100, 200, 200, 300, 300].
    const i = 27;
    expect(activity.leads[i]).toBe(3);
    expect(activity.latencyP50[i]).toBe(200);
    expect(activity.latencyP95[i]).toBe(300);
    // The day without leads has no latency.
    expect(activity.latencyP50[26]).toBeNull();
  });

  it("leaves a delivery made long after its lead's capture (a later send) out of the latency", async () => {
    const shop = await newShop();
    const crm = await addEndpoint(shop, "https://crm.example/hook");
    await seedActivity({ shopId: shop.id, destinationIds: [crm.id], now: NOW, leadsPerDay: (back) => (back === 0 ? 1 : 0), latencyMs: () => 500 });
    const lead = await db.lead.create({
      data: { shopId: shop.id, email: "old@example.com", emailSearch: "old@example.com", productId: "p1", productTitle: "T", productUrl: "https://s.example/p", consent: true, capturedAt: new Date("2026-02-01T10:00:00Z") },
    });
    const late = await addEndpoint(shop, "https://late.example/hook");
    await db.delivery.create({
      data: { shopId: shop.id, destinationId: late.id, leadId: lead.id, event: "lead_captured", payload: "{}", status: "delivered", createdAt: new Date("2026-03-31T09:00:00Z"), deliveredAt: new Date("2026-03-31T09:00:01Z") },
    });
    const activity = await leadsActivity(db, shop.id, NOW);
    expect(activity.latencyP95[29]).toBe(500);
    // The later send still counts as a delivery of its day.
    expect(activity.destinations.find((d) => d.id === late.id)?.delivered[29]).toBe(1);
  });

  it("serves a shop's figures from the cache until it is cleared", async () => {
    clearLeadsActivityCache();
    const shop = await newShop();
    const first = await cachedLeadsActivity(db, shop.id);
    await seedActivity({ shopId: shop.id, destinationIds: [], now: new Date(), leadsPerDay: (back) => (back === 0 ? 2 : 0) });
    expect((await cachedLeadsActivity(db, shop.id)).totalLeads).toBe(first.totalLeads);
    clearLeadsActivityCache();
    expect((await cachedLeadsActivity(db, shop.id)).totalLeads).toBe(first.totalLeads + 2);
  });
});

describe("TtlCache", () => {
  it("expires entries after the TTL, drops the least recently used past the limit, and forgets failed loads", async () => {
    let now = 0;
    const cache = new TtlCache<number>({ ttlMs: 100, maxEntries: 2, now: () => now });
    let loads = 0;
    const load = (v: number) => () => { loads++; return Promise.resolve(v); };
    expect(await cache.getOrLoad("a", load(1))).toBe(1);
    expect(await cache.getOrLoad("a", load(2))).toBe(1);
    now = 101;
    expect(await cache.getOrLoad("a", load(3))).toBe(3);
    await cache.getOrLoad("b", load(4));
    await cache.getOrLoad("a", load(0)); // a is now the most recent
    await cache.getOrLoad("c", load(5)); // b goes
    expect(cache.size).toBe(2);
    expect(await cache.getOrLoad("b", load(6))).toBe(6);
    await expect(cache.getOrLoad("x", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    await Promise.resolve();
    expect(await cache.getOrLoad("x", load(7))).toBe(7);
    expect(loads).toBe(6);
  });

  it("interpolates percentiles as percentile_cont does", () => {
    expect(percentileCont([], 0.5)).toBeNull();
    expect(percentileCont([300, 100, 200, 200, 300], 0.95)).toBe(300);
    expect(percentileCont([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentileCont([10, 20], 0.95)).toBeCloseTo(19.5);
  });
});
