import type { Db, Prisma } from "../lib/db.server";

export interface DeliveryRef {
  id: string;
  attemptCount: number;
  /** The destination (endpoint) it goes to. */
  destinationId: string;
}

/**
 * Walks every delivery matching `where` in id order, a batch at a time (keyset on id), so that a
 * reconciler round or a bulk replay over many rows never loads them all at once.
 */
export async function forEachDeliveryBatch(
  db: Db,
  where: Prisma.DeliveryWhereInput,
  batchSize: number,
  visit: (rows: DeliveryRef[]) => Promise<void>,
): Promise<void> {
  let after: string | undefined;
  for (;;) {
    const rows = await db.delivery.findMany({
      where: after ? { AND: [where, { id: { gt: after } }] } : where,
      select: { id: true, attemptCount: true, destinationId: true },
      orderBy: { id: "asc" },
      take: batchSize,
    });
    if (rows.length) await visit(rows);
    if (rows.length < batchSize) return;
    after = rows[rows.length - 1].id;
  }
}
