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
 * Delivered bodies that can be made again in substance: a lead's (from the lead, which the foreign key
 * keeps alive as long as the delivery names it) or a test's. A `lead_redacted` event names a lead that is
 * gone, so it keeps its body. Only these cheap column tests pick the batch, so that PostgreSQL walks the
 * age index in order and stops after `limit` rows (a test on the status or a join to the lead lets it
 * prefer collecting every old row and sorting them, for every batch).
 */
function prunableBodies(cutoff: Date): Prisma.DeliveryWhereInput {
  return {
    payloadPrunedAt: null,
    deliveredAt: { lt: cutoff },
    OR: [{ event: "test" }, { event: "lead_captured", leadId: { not: null } }],
  };
}

/**
 * Empties up to `limit` stored bodies of deliveries delivered before `cutoff` and marks when. The update
 * itself checks the status and the lead again: a delivery replayed meanwhile keeps its body.
 */
export async function prunePayloadBatch(db: Db, cutoff: Date, now: Date, limit: number): Promise<BatchStep> {
  const where = prunableBodies(cutoff);
  // Ordered as the index is, leading column included: PostgreSQL does not see `IS NULL` as fixing a column,
  // so ordering by the delivery time alone would make it sort every old row first.
  const rows = await db.delivery.findMany({
    where, select: { id: true }, orderBy: [{ payloadPrunedAt: "asc" }, { deliveredAt: "asc" }], take: limit,
  });
  if (rows.length === 0) return { found: 0, changed: 0 };
  const { count } = await db.delivery.updateMany({
    where: {
      id: { in: rows.map((r) => r.id) }, ...where, status: "delivered",
      AND: [{ OR: [{ event: "test" }, { lead: { isNot: null } }] }],
    },
    data: { payload: "", payloadPrunedAt: now },
  });
  return { found: rows.length, changed: count };
}
