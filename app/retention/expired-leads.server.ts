import type { Db, Prisma } from "../lib/db.server";
import type { BatchStep } from "./batches";

/**
 * Applies the lead retention merchants set on the privacy page: a shop's leads captured before its
 * cut-off are deleted with their deliveries and attempt records, a batch of leads per transaction.
 */

export interface ShopLeadRetention {
  shopId: string;
  months: number;
}

/** Every shop with a lead retention, a page at a time in id order. */
export async function* shopsWithLeadRetention(db: Db, pageSize: number): AsyncGenerator<ShopLeadRetention> {
  let after: string | undefined;
  for (;;) {
    const shops = await db.shop.findMany({
      where: { leadRetentionMonths: { not: null }, ...(after ? { id: { gt: after } } : {}) },
      select: { id: true, leadRetentionMonths: true },
      orderBy: { id: "asc" },
      take: pageSize,
    });
    for (const shop of shops) if (shop.leadRetentionMonths !== null) yield { shopId: shop.id, months: shop.leadRetentionMonths };
    if (shops.length < pageSize) return;
    after = shops[shops.length - 1].id;
  }
}

export interface LeadBatchCounts extends BatchStep {
  deliveries: number;
  attempts: number;
}

/**
 * Deletes up to `limit` of the shop's leads captured before `cutoff`, oldest first (through the shop's
 * capture-time index), with their deliveries and attempts. A lead with an attempt in flight waits for a
 * later round, so no worker is left recording an attempt of a row that is gone.
 */
export async function pruneLeadBatch(db: Db, shopId: string, cutoff: Date, limit: number): Promise<LeadBatchCounts> {
  const expired: Prisma.LeadWhereInput = { shopId, capturedAt: { lt: cutoff }, deliveries: { none: { status: "delivering" } } };
  const rows = await db.lead.findMany({ where: expired, select: { id: true }, orderBy: { capturedAt: "asc" }, take: limit });
  if (rows.length === 0) return { found: 0, changed: 0, deliveries: 0, attempts: 0 };
  const leadIds = rows.map((r) => r.id);
  return db.$transaction(async (tx) => {
    // By key lists, each through its own index: a join in one statement lets the planner scan the table.
    const deliveries = await tx.delivery.findMany({ where: { leadId: { in: leadIds }, shopId }, select: { id: true } });
    const deliveryIds = deliveries.map((d) => d.id);
    const attempts = await tx.deliveryAttempt.deleteMany({ where: { deliveryId: { in: deliveryIds } } });
    const deleted = await tx.delivery.deleteMany({ where: { id: { in: deliveryIds } } });
    const leads = await tx.lead.deleteMany({ where: { id: { in: leadIds }, shopId } });
    return { found: rows.length, changed: leads.count, deliveries: deleted.count, attempts: attempts.count };
  });
}
