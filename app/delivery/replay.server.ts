import type { Db, Prisma } from "../lib/db.server";
import { systemClock, type Clock } from "./clock";
import { DeliveryNotFoundError, DeliveryNotReplayableError } from "./errors";
import { forEachDeliveryBatch } from "./delivery-batches.server";
import { rebuildPayload } from "./rebuild-payload.server";
import { enqueueDelivery, type DeliveryQueue } from "./queue.server";
import type { DeliveryStatus } from "./types";

/**
 * Merchant actions on deliveries: send again (one, or every failure since a date) and cancel what is
 * still waiting when an endpoint is disconnected. A replay keeps the delivery id, so a receiver that
 * already has the lead recognises it as the same webhook; the retry schedule starts over.
 */

const REPLAYABLE: DeliveryStatus[] = ["failed", "delivered"];
const WAITING: DeliveryStatus[] = ["pending", "retrying", "delivering"];

export async function replayDelivery(
  db: Db,
  queue: DeliveryQueue,
  input: { shopId: string; deliveryId: string; clock?: Clock },
): Promise<{ deliveryId: string }> {
  const now = (input.clock ?? systemClock).now();
  // A second look only when the row changed between reading and updating it, e.g. the pruning job
  // emptied its body in between: the replay then rebuilds it rather than failing.
  for (let look = 1; ; look++) {
    const replayed = await tryReplay(db, input.shopId, input.deliveryId, now);
    if (replayed) {
      await enqueueDelivery(queue, replayed.id, { attempt: replayed.attemptCount + 1 });
      return { deliveryId: replayed.id };
    }
    // Someone else replayed it (or it changed) in between: it is already on its way.
    if (look === 2) throw new DeliveryNotReplayableError("in_progress");
  }
}

/** Puts the delivery back to pending (with its body rebuilt if it was pruned); null if the row changed meanwhile. */
async function tryReplay(db: Db, shopId: string, deliveryId: string, now: Date): Promise<{ id: string; attemptCount: number } | null> {
  // Scoped by shop: an id from another shop is "not found", never a hint that it exists.
  const row = await db.delivery.findFirst({
    where: { id: deliveryId, shopId },
    select: {
      id: true, status: true, attemptCount: true, event: true, leadId: true, shopId: true, payloadPrunedAt: true,
      destination: { select: { state: true } },
    },
  });
  if (!row) throw new DeliveryNotFoundError();
  if (row.destination.state === "disconnected") throw new DeliveryNotReplayableError("endpoint_disconnected");
  if (!REPLAYABLE.includes(row.status as DeliveryStatus)) {
    throw new DeliveryNotReplayableError(row.status === "cancelled" ? "cancelled" : "in_progress");
  }
  // Stored with the status change, so the worker that picks the delivery up always finds a body.
  const body = row.payloadPrunedAt ? { payload: await rebuildPayload(db, row, now), payloadPrunedAt: null } : {};
  const { count } = await db.delivery.updateMany({
    where: {
      id: row.id, shopId, status: row.status, attemptCount: row.attemptCount,
      payloadPrunedAt: row.payloadPrunedAt ? { not: null } : null,
    },
    data: { ...replayData(row.attemptCount, now), ...body },
  });
  return count === 1 ? row : null;
}

export interface FailedSinceFilter {
  shopId: string;
  destinationId?: string;
  /** Deliveries created at or after this time. */
  since: Date;
}

function failedSinceWhere(filter: FailedSinceFilter): Prisma.DeliveryWhereInput {
  return {
    shopId: filter.shopId,
    ...(filter.destinationId ? { destinationId: filter.destinationId } : {}),
    status: "failed",
    createdAt: { gte: filter.since },
    destination: { is: { state: { not: "disconnected" } } },
  };
}

/** How many deliveries `replayFailedSince` would send again (for the confirmation dialog). */
export function countFailedSince(db: Db, filter: FailedSinceFilter): Promise<number> {
  return db.delivery.count({ where: failedSinceWhere(filter) });
}

/** Replays every failed delivery of the shop (optionally of one endpoint) created since `since`. */
export async function replayFailedSince(db: Db, queue: DeliveryQueue, filter: FailedSinceFilter & { clock?: Clock }): Promise<number> {
  const now = (filter.clock ?? systemClock).now();
  const where = failedSinceWhere(filter);
  let replayed = 0;
  await forEachDeliveryBatch(db, where, 500, async (rows) => {
    // One update per distinct attempt count (a handful), each guarded like a single replay.
    const byCount = new Map<number, string[]>();
    for (const row of rows) byCount.set(row.attemptCount, [...(byCount.get(row.attemptCount) ?? []), row.id]);
    for (const [attemptCount, ids] of byCount) {
      // Pruning empties delivered bodies only, and a replay stores a body again before a delivery can
      // fail, so a failed delivery always has its body; the condition keeps it that way regardless.
      const { count } = await db.delivery.updateMany({
        where: { id: { in: ids }, shopId: filter.shopId, status: "failed", attemptCount, payloadPrunedAt: null },
        data: replayData(attemptCount, now),
      });
      replayed += count;
      // A row that changed meanwhile gets a job that finds nothing to do.
      for (const id of ids) await enqueueDelivery(queue, id, { attempt: attemptCount + 1 });
    }
  });
  return replayed;
}

function replayData(attemptCount: number, now: Date): Prisma.DeliveryUpdateManyMutationInput {
  return {
    status: "pending",
    nextAttemptAt: now,
    attemptsBeforeReplay: attemptCount,
    lockedUntil: null,
    deliveredAt: null,
    lastError: null,
  };
}

/**
 * Cancels everything still waiting for an endpoint; called by disconnect, ideally inside the same
 * transaction that marks the endpoint disconnected. A worker checks the row again after claiming it and
 * sends nothing once this has committed.
 */
export async function cancelPendingForEndpoint(db: Pick<Prisma.TransactionClient, "delivery">, destinationId: string): Promise<number> {
  const { count } = await db.delivery.updateMany({
    where: { destinationId, status: { in: WAITING } },
    data: { status: "cancelled", lockedUntil: null, lastError: "Cancelled: the endpoint was disconnected." },
  });
  return count;
}

