import { getDb } from "../../app/lib/db.server";

const DAY_MS = 86_400_000;

export interface ActivityPlan {
  shopId: string;
  destinationIds: string[];
  /** The moment "now" is for the seeded days: day 0 is its UTC day, day 1 the day before, and so on. */
  now: Date;
  /** Leads per day, indexed by days back from today. */
  leadsPerDay: (daysBack: number) => number;
  /** Capture to delivered for the i-th lead of a day, in ms. */
  latencyMs?: (daysBack: number, i: number) => number;
  /** Whether the i-th lead of a day failed at a destination (the others are delivered). */
  failed?: (daysBack: number, i: number, destinationIndex: number) => boolean;
}

/**
 * Leads captured over past days with one delivery per destination each, as if the worker had delivered
 * them: a delivery is made with its lead and ends delivered (deliveredAt = capture + latency) or failed.
 */
export async function seedActivity(plan: ActivityPlan): Promise<{ leads: number; deliveries: number }> {
  const db = getDb();
  const today = Date.UTC(plan.now.getUTCFullYear(), plan.now.getUTCMonth(), plan.now.getUTCDate());
  let leads = 0;
  let deliveries = 0;
  for (let back = 0; back < 40; back++) {
    const count = plan.leadsPerDay(back);
    if (count <= 0) continue;
    const dayStart = today - back * DAY_MS;
    const leadRows = Array.from({ length: count }, (_, i) => {
      const capturedAt = new Date(dayStart + 60_000 + i * Math.floor((DAY_MS / 2) / count));
      const id = `act_${plan.shopId.slice(-6)}_${back}_${i}_${Math.random().toString(36).slice(2, 8)}`;
      return {
        id, shopId: plan.shopId, email: `shopper${back}.${i}@example.com`, emailSearch: `shopper${back}.${i}@example.com`,
        productId: "p1", productTitle: "Aviator frames", productUrl: "https://store.example/products/p1", consent: true, capturedAt,
      };
    });
    await db.lead.createMany({ data: leadRows });
    leads += leadRows.length;
    const deliveryRows = leadRows.flatMap((lead, i) => plan.destinationIds.map((destinationId, di) => {
      const failed = plan.failed?.(back, i, di) ?? false;
      const latency = plan.latencyMs?.(back, i) ?? 800;
      return {
        shopId: plan.shopId, destinationId, leadId: lead.id, event: "lead_captured", payload: "{}",
        status: failed ? "failed" : "delivered", attemptCount: 1, createdAt: lead.capturedAt, nextAttemptAt: lead.capturedAt,
        deliveredAt: failed ? null : new Date(lead.capturedAt.getTime() + latency),
      };
    }));
    if (deliveryRows.length) await db.delivery.createMany({ data: deliveryRows });
    deliveries += deliveryRows.length;
  }
  return { leads, deliveries };
}
