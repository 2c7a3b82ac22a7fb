import { describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import { setLeadRetention } from "../../app/retention/lead-retention-setting.server";
import { pruneOnce, type PruneParams } from "../../app/retention/pruning.server";
import { addAttempts, captureLogs, daysBefore, finishDelivery, leadCapturedAt, shopWithEndpoint } from "./support";

const db = getDb();
const logs = captureLogs();
const NOW = new Date("2026-11-20T12:00:00.000Z");

function prune(overrides: Partial<PruneParams> = {}) {
  // A long delivery retention, so only the shops' lead retentions are at work here.
  return pruneOnce({ db, logger: logs.logger, clock: { now: () => NOW }, deliveryRetentionDays: 3650, batchSize: 1000, ...overrides });
}

async function leadIdsOf(shopId: string): Promise<string[]> {
  return (await db.lead.findMany({ where: { shopId }, select: { id: true }, orderBy: { capturedAt: "asc" } })).map((l) => l.id);
}

describe("lead retention set by the merchant", () => {
  it("deletes only that shop's leads older than N months, with their deliveries and attempts; nothing when off", async () => {
    const three = await shopWithEndpoint("keeps-3-months");
    const off = await shopWithEndpoint("keeps-all");
    const year = await shopWithEndpoint("keeps-a-year");
    await setLeadRetention(db, three.shopId, 3);
    await setLeadRetention(db, year.shopId, 12);

    // 20 November less 3 months is 20 August.
    const fourMonths = await leadCapturedAt(three, new Date("2026-07-15T09:00:00Z"));
    await finishDelivery(fourMonths.deliveryId, "delivered", new Date("2026-07-15T09:00:05Z"), [500, 200]);
    const justPast = await leadCapturedAt(three, new Date("2026-08-20T11:59:59Z"));
    await finishDelivery(justPast.deliveryId, "failed", new Date("2026-08-20T12:00:00Z"), [500]);
    const justWithin = await leadCapturedAt(three, new Date("2026-08-20T12:00:01Z"));
    const recent = await leadCapturedAt(three, daysBefore(NOW, 1));
    await finishDelivery(recent.deliveryId, "delivered", daysBefore(NOW, 1), [200]);
    const offOld = await leadCapturedAt(off, new Date("2024-01-01T00:00:00Z"));
    await finishDelivery(offOld.deliveryId, "delivered", new Date("2024-01-01T00:00:00Z"), [200]);
    const yearOld = await leadCapturedAt(year, new Date("2026-07-15T09:00:00Z"));

    const counts = await prune();

    expect(counts).toMatchObject({ leads: 2, leadDeliveries: 2, leadAttempts: 3, complete: true });
    expect(await leadIdsOf(three.shopId)).toEqual([justWithin.leadId, recent.leadId]);
    const gone = [fourMonths.deliveryId, justPast.deliveryId];
    expect(await db.delivery.count({ where: { id: { in: gone } } })).toBe(0);
    expect(await db.deliveryAttempt.count({ where: { deliveryId: { in: gone } } })).toBe(0);
    expect(await db.delivery.count({ where: { id: recent.deliveryId } })).toBe(1);
    expect(await db.deliveryAttempt.count({ where: { deliveryId: recent.deliveryId } })).toBe(1);
    // Retention off, and a longer retention: nothing of theirs goes.
    expect(await leadIdsOf(off.shopId)).toEqual([offOld.leadId]);
    expect(await db.deliveryAttempt.count({ where: { deliveryId: offOld.deliveryId } })).toBe(1);
    expect(await leadIdsOf(year.shopId)).toEqual([yearOld.leadId]);
    expect(logs.text()).toContain("deleted leads past the shop's retention");
    expect(logs.text()).not.toMatch(/@example\.org/);

    // Turned off again: older leads stay from then on.
    await setLeadRetention(db, three.shopId, null);
    expect(await prune({ clock: { now: () => new Date("2027-06-01T00:00:00Z") } })).toMatchObject({ leads: 0 });
    expect(await leadIdsOf(three.shopId)).toEqual([justWithin.leadId, recent.leadId]);
  });

  it("deletes leads a bounded batch at a time", async () => {
    const shop = await shopWithEndpoint("many-old-leads");
    await setLeadRetention(db, shop.shopId, 1);
    for (let i = 0; i < 7; i++) {
      const { deliveryId } = await leadCapturedAt(shop, daysBefore(NOW, 40 + i));
      await addAttempts(deliveryId, daysBefore(NOW, 40 + i), [500, 500]);
    }
    const remaining = [await db.lead.count({ where: { shopId: shop.shopId } })];
    // A batch of 20 rows deletes 2 leads at a time: each takes its deliveries and attempts with it.
    const counts = await prune({
      batchSize: 20,
      afterBatch: async () => {
        remaining.push(await db.lead.count({ where: { shopId: shop.shopId } }));
        return true;
      },
    });
    expect(counts).toMatchObject({ leads: 7, leadDeliveries: 7, leadAttempts: 14 });
    // Snapshots after every batch of the round (other phases' too): the shop's leads went 2 at a time.
    const deletedPerBatch = remaining.slice(1).map((r, i) => remaining[i] - r).filter((n) => n > 0);
    expect(deletedPerBatch).toEqual([2, 2, 2, 1]);
  });

  it("leaves a lead whose delivery is being attempted for a later round", async () => {
    const shop = await shopWithEndpoint("in-flight");
    await setLeadRetention(db, shop.shopId, 1);
    const busy = await leadCapturedAt(shop, daysBefore(NOW, 60));
    await db.delivery.update({ where: { id: busy.deliveryId }, data: { status: "delivering", attemptCount: 1, lockedUntil: new Date(NOW.getTime() + 60_000) } });

    expect(await prune()).toMatchObject({ leads: 0 });
    expect(await leadIdsOf(shop.shopId)).toEqual([busy.leadId]);

    await finishDelivery(busy.deliveryId, "delivered", NOW, [200]);
    expect(await prune()).toMatchObject({ leads: 1, leadDeliveries: 1, leadAttempts: 1 });
    expect(await leadIdsOf(shop.shopId)).toEqual([]);
  });
});
