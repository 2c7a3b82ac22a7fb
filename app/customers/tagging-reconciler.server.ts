import type { Db, Prisma } from "../lib/db.server";
import { systemClock, type Clock } from "../delivery/clock";
import { enqueueTagging, taggingJobId, type TaggingQueue } from "./tagging.server";

/**
 * The safety net for tagging, as the delivery reconciler is for deliveries: a lead whose tagging is still
 * pending and has no live job (the process died before enqueueing it, Redis was flushed or restarted empty,
 * the job finished without recording an outcome) gets its job again. The job id is the lead's, so any
 * number of processes may run this at once and a lead is never queued twice.
 */

export interface ReconcileTaggingOptions {
  db: Db;
  queue: TaggingQueue;
  clock?: Clock;
  /** Leave a lead alone this long after capture: its own job is normally queued right after the commit. */
  graceMs?: number;
  /** Leads read per query. */
  batchSize?: number;
}

export interface TaggingReconcileCounts {
  /** Pending leads past the grace. */
  pending: number;
  /** Jobs queued for them (the others had a live job). */
  enqueued: number;
}

export const DEFAULT_TAGGING_RECONCILE_GRACE_MS = 30_000;

export async function reconcileTagging(options: ReconcileTaggingOptions): Promise<TaggingReconcileCounts> {
  const now = (options.clock ?? systemClock).now();
  const before = new Date(now.getTime() - (options.graceMs ?? DEFAULT_TAGGING_RECONCILE_GRACE_MS));
  const batchSize = options.batchSize ?? 500;
  // Leads of an uninstalled shop wait: without a session there is nothing to call, and a job would only fail.
  const where: Prisma.LeadWhereInput = { taggingState: "pending", capturedAt: { lte: before }, shop: { is: { uninstalledAt: null } } };
  const counts: TaggingReconcileCounts = { pending: 0, enqueued: 0 };
  // BullMQ writes a queue's settings (its event stream's cap) only when the queue is created, and a job added
  // to a Redis that came back empty puts its own default (10,000 events) in their place: restate them.
  await (await options.queue.client).hset(options.queue.keys.meta, options.queue.metaValues);
  let after: string | undefined;
  for (;;) {
    const rows = await options.db.lead.findMany({
      where: after ? { AND: [where, { id: { gt: after } }] } : where,
      select: { id: true },
      orderBy: { id: "asc" },
      take: batchSize,
    });
    counts.pending += rows.length;
    const added = await Promise.all(rows.map((row) => ensureTaggingJob(options.queue, row.id)));
    counts.enqueued += added.filter(Boolean).length;
    if (rows.length < batchSize) return counts;
    after = rows[rows.length - 1].id;
  }
}

/**
 * Queues the lead's tagging job unless one is live. A job's hash exists exactly as long as the job, and
 * `finishedOn` is set once it has completed or failed for good: one O(1) read, where BullMQ's state lookup
 * would scan the whole wait list for a waiting job. A finished job is removed first, since BullMQ ignores an
 * add for an id whose finished job it still keeps.
 */
async function ensureTaggingJob(queue: TaggingQueue, leadId: string): Promise<boolean> {
  const jobId = taggingJobId(leadId);
  const client = await queue.client;
  const [name, finishedOn] = await client.hmget(queue.toKey(jobId), "name", "finishedOn");
  if (name !== null && finishedOn === null) return false;
  if (name !== null) await queue.remove(jobId).catch(() => 0);
  await enqueueTagging(queue, leadId);
  return true;
}
