import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { destinationHealth24h, healthLine24h } from "../../app/destinations/health-24h.server";
import { getDb } from "../../app/lib/db.server";
import { ensureShop } from "../../app/shops/shops.server";
import { addEndpoint } from "../support/delivery";

/** A destination's last 24 hours in one line, on both databases. */

const db = getDb();
const NOW = new Date("2026-05-20T15:00:00.000Z");
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const H = 3_600_000;

async function setup() {
  const shop = await ensureShop(db, `health24-${randomBytes(4).toString("hex")}.myshopify.com`);
  const destination = await addEndpoint(shop, "https://crm.example/hook");
  return { shop, destination };
}

let n = 0;
/** A lead captured at `capturedAt` with its delivery to `destinationId`. */
async function delivery(shopId: string, destinationId: string, d: {
  capturedAt: Date; status: string; latencyMs?: number; createdAt?: Date; nextAttemptAt?: Date; backfill?: boolean;
}) {
  n++;
  const lead = await db.lead.create({
    data: { shopId, email: `s${n}@example.com`, emailSearch: `s${n}@example.com`, productId: "p1", productTitle: "T", productUrl: "https://s.example/p", consent: true, capturedAt: d.capturedAt },
  });
  const createdAt = d.createdAt ?? d.capturedAt;
  return db.delivery.create({
    data: {
      shopId, destinationId, leadId: lead.id, event: "lead_captured", payload: "{}", status: d.status, createdAt,
      nextAttemptAt: d.nextAttemptAt ?? createdAt, backfillId: d.backfill ? "bf_1" : null,
      deliveredAt: d.status === "delivered" ? new Date(d.capturedAt.getTime() + (d.latencyMs ?? 500)) : null,
    },
  });
}

describe("a destination's health over the last 24 hours", () => {
  it("GIVEN delivered, failed and retrying leads THEN the share, the p95 and the oldest waiting lead's retry time, in one line", async () => {
    const { shop, destination } = await setup();
    // 47 delivered with latencies 100..4700 ms, 1 failed, 2 retrying (one of them the oldest waiting lead).
    for (let i = 1; i <= 47; i++) await delivery(shop.id, destination.id, { capturedAt: ago(i * 60_000), status: "delivered", latencyMs: i * 100 });
    await delivery(shop.id, destination.id, { capturedAt: ago(2 * H), status: "failed" });
    await delivery(shop.id, destination.id, { capturedAt: ago(5 * H), status: "retrying", nextAttemptAt: new Date("2026-05-20T15:07:30Z") });
    await delivery(shop.id, destination.id, { capturedAt: ago(1 * H), status: "retrying", nextAttemptAt: new Date("2026-05-20T15:01:00Z") });
    // Outside the window, a backfill and a later send: they count nowhere in the share or the p95.
    await delivery(shop.id, destination.id, { capturedAt: ago(30 * H), status: "failed" });
    await delivery(shop.id, destination.id, { capturedAt: ago(3 * H), status: "delivered", latencyMs: 60_000_000, backfill: true });
    await delivery(shop.id, destination.id, { capturedAt: ago(90 * H), createdAt: ago(H), status: "delivered", latencyMs: 90 * H });

    const health = await destinationHealth24h({ db, shopId: shop.id, destinationId: destination.id, now: NOW });
    // The backfill and the later send are delivered leads of the window, so they count in the share.
    expect(health).toMatchObject({ delivered: 49, failed: 1, retrying: 2, settled: 52, waiting: 2 });
    expect(health.oldestWaitingRetryAt).toBe("2026-05-20T15:07:30.000Z");
    // percentile_cont over 100..4700 step 100: rank 0.95 * 46 = 43.7 -> 4400 + 0.7 * 100 = 4470.
    expect(health.p95Ms).toBe(4470);
    expect(health.line).toBe("94% delivered in the last 24 hours · 95% within 4.5 s · oldest waiting lead retries at 15:07 UTC");
  });

  it("GIVEN nothing sent THEN it says so; GIVEN all delivered and none waiting THEN 100% and no lead waiting", async () => {
    const { shop, destination } = await setup();
    expect((await destinationHealth24h({ db, shopId: shop.id, destinationId: destination.id, now: NOW })).line).toBe("No leads sent in the last 24 hours");
    await delivery(shop.id, destination.id, { capturedAt: ago(H), status: "delivered", latencyMs: 850 });
    await delivery(shop.id, destination.id, { capturedAt: ago(2 * H), status: "delivered", latencyMs: 850 });
    expect((await destinationHealth24h({ db, shopId: shop.id, destinationId: destination.id, now: NOW })).line)
      .toBe("100% delivered in the last 24 hours · 95% within 850 ms · no lead waiting");
  });

  it("GIVEN the receiver stopped answering THEN the waiting lead's time is the receiver's next probe, with the date when not today", async () => {
    const { shop, destination } = await setup();
    await delivery(shop.id, destination.id, { capturedAt: ago(H), status: "retrying", nextAttemptAt: ago(60_000) });
    const due = await destinationHealth24h({ db, shopId: shop.id, destinationId: destination.id, now: NOW });
    expect(due.line).toBe("0% delivered in the last 24 hours · oldest waiting lead is being sent now");
    await db.destination.update({ where: { id: destination.id }, data: { circuitOpenedAt: ago(H), circuitRetryAt: new Date("2026-05-21T02:05:00Z") } });
    const held = await destinationHealth24h({ db, shopId: shop.id, destinationId: destination.id, now: NOW });
    expect(held.line).toBe("0% delivered in the last 24 hours · oldest waiting lead retries at May 21, 02:05 UTC");
  });

  it("refuses another shop's destination as not found", async () => {
    const { destination } = await setup();
    const { shop: other } = await setup();
    await expect(destinationHealth24h({ db, shopId: other.id, destinationId: destination.id, now: NOW })).rejects.toThrow(/does not exist/);
  });

  it("never rounds a failure up to 100%", () => {
    const base = { destinationId: "d", failed: 1, retrying: 0, p95Ms: null, waiting: 0, oldestWaitingRetryAt: null };
    expect(healthLine24h({ ...base, delivered: 999, settled: 1000, deliveredShare: 0.999 }, NOW)).toBe("99% delivered in the last 24 hours · no lead waiting");
  });
});
