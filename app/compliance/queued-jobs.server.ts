import { deliveryJobId, type DeliveryQueue } from "../delivery/queue.server";
import { taggingJobId, type TaggingQueue } from "../customers/tagging.server";

/**
 * Removes the Redis jobs that point at erased rows. Jobs carry ids only (a delivery id, a lead id) and a
 * job whose row is gone does nothing, so this is tidiness rather than safety: it runs after the database
 * commit and a Redis failure is logged, never turned into a failed webhook.
 */

export interface ComplianceQueues {
  deliveryQueue: DeliveryQueue;
  taggingQueue: TaggingQueue;
}

export interface QueuedWork {
  /** Every attempt of a delivery may have a job (`<id>-a<n>`), plus the next one if it was scheduled. */
  deliveries: { id: string; attemptCount: number }[];
  /** The lead's customer-tagging job. */
  leadIds: string[];
}

const BATCH = 200;

export async function removeQueuedJobs(queues: ComplianceQueues, work: QueuedWork): Promise<number> {
  const removals: (() => Promise<number>)[] = [];
  for (const d of work.deliveries) {
    for (let n = 1; n <= d.attemptCount + 1; n++) removals.push(() => queues.deliveryQueue.remove(deliveryJobId(d.id, n)));
  }
  for (const leadId of work.leadIds) removals.push(() => queues.taggingQueue.remove(taggingJobId(leadId)));
  let removed = 0;
  for (let i = 0; i < removals.length; i += BATCH) {
    const results = await Promise.all(removals.slice(i, i + BATCH).map((remove) => remove()));
    removed += results.reduce((sum, r) => sum + r, 0);
  }
  return removed;
}

/**
 * Waits for after-commit work for up to `budgetMs`, so a webhook is answered quickly even for a large shop;
 * past that the work carries on in the background. `work` must handle its own failures.
 */
export async function settleWithin(work: Promise<void>, budgetMs: number): Promise<"done" | "continuing"> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"continuing">((resolve) => {
    timer = setTimeout(() => resolve("continuing"), budgetMs);
  });
  const outcome = await Promise.race([work.then(() => "done" as const), late]);
  clearTimeout(timer);
  return outcome;
}
