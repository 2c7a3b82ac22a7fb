import type { Db, Prisma } from "../lib/db.server";
import type { BatchStep } from "./batches";

/**
 * One batch of delivery-history pruning: the rows are picked oldest first through an index on their age
 * (a range scan that stops after `limit` rows), then changed by primary key with the same conditions,
 * so a row that changed in between is left alone. The delivery rows themselves stay in the log.
 */

/** Deletes up to `limit` attempt records (with their response excerpts) started before `cutoff`. */
export async function pruneAttemptBatch(db: Db, cutoff: Date, limit: number): Promise<BatchStep> {
  const old: Prisma.DeliveryAttemptWhereInput = { startedAt: { lt: cutoff } };
  const rows = await db.deliveryAttempt.findMany({ where: old, select: { id: true }, orderBy: { startedAt: "asc" }, take: limit });
  if (rows.length === 0) return { found: 0, changed: 0 };
  const { count } = await db.deliveryAttempt.deleteMany({ where: { id: { in: rows.map((r) => r.id) }, ...old } });
  return { found: rows.length, changed: count };
}

/**
 * Delivered bodies that can be made again byte for byte in substance: a lead's (from the lead, which
 * must still be there) or a test's. Anything else (a `lead_redacted` event names a lead that is gone)
 * keeps its body.
 */
function prunablePayloads(cutoff: Date): Prisma.DeliveryWhereInput {
  return {
    payloadPrunedAt: null,
    deliveredAt: { lt: cutoff },
    status: "delivered",
    OR: [{ event: "test" }, { event: "lead_captured", lead: { isNot: null } }],
  };
}

/**
 * Empties up to `limit` stored bodies of deliveries delivered before `cutoff` and marks when. The
 * status is part of the condition of the update itself: a delivery replayed meanwhile keeps its body.
 */
export async function prunePayloadBatch(db: Db, cutoff: Date, now: Date, limit: number): Promise<BatchStep> {
  const where = prunablePayloads(cutoff);
  const rows = await db.delivery.findMany({ where, select: { id: true }, orderBy: { deliveredAt: "asc" }, take: limit });
  if (rows.length === 0) return { found: 0, changed: 0 };
  const { count } = await db.delivery.updateMany({
    where: { id: { in: rows.map((r) => r.id) }, ...where },
    data: { payload: "", payloadPrunedAt: now },
  });
  return { found: rows.length, changed: count };
}
