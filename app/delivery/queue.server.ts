import { Queue } from "bullmq";
import type { Cluster, Redis } from "ioredis";

/**
 * The BullMQ queue that wakes the delivery worker. Redis only ever holds a delivery id: the payload,
 * the shopper's email and the signing secret stay in the database, so losing or leaking Redis loses no
 * lead and exposes nothing. The Delivery row is the truth; a job is just "look at this row now".
 */

export const DELIVERY_QUEUE_NAME = "webhook-deliveries";
export const DELIVERY_QUEUE_PREFIX = "tryon";
/** The name of a job whose destination the enqueuer did not know; the worker looks it up. */
export const DELIVERY_JOB_NAME = "deliver";

/**
 * A job's data is empty: the delivery id is in the job id (deliveryJobId), and storing it twice would
 * double what Redis holds per job. Jobs queued by earlier versions carried it here; they are still read.
 */
export interface DeliveryJobData {
  deliveryId?: string;
}

/**
 * A job's name is the id of the destination it goes to (or DELIVERY_JOB_NAME when unknown): the worker
 * checks the destination's gate (slots, breaker, rate) from Redis alone, before it touches the database,
 * so a delivery that must wait costs no query. The hash stores a name anyway.
 */
export type DeliveryQueue = Queue<DeliveryJobData, unknown, string, DeliveryJobData, unknown, string>;

/** A delivery to wake, with its destination when known. */
export type QueuedDelivery = string | { id: string; destinationId: string };

const idOf = (d: QueuedDelivery) => (typeof d === "string" ? d : d.id);
const nameOf = (d: QueuedDelivery) => (typeof d === "string" ? DELIVERY_JOB_NAME : d.destinationId);

export interface DeliveryQueueOptions {
  name?: string;
  prefix?: string;
  /** Entries kept in the queue's event stream. Default 100. */
  eventsMaxLen?: number;
}


/**
 * What Redis keeps per job is the point of the design: nothing but the delivery id. So a job carries no
 * options of its own (each would be stored in its hash) and the queue's settings live on the Queue and
 * the Worker instead:
 * - BullMQ's own retries stay off (its default of one attempt): the retry schedule lives on the Delivery
 *   row (nextAttemptAt), so a flushed Redis cannot lose a pending retry.
 * - Finished jobs are trimmed by the worker (DELIVERY_JOB_RETENTION): a few recent ones stay for a look.
 * - The queue's event stream, which nothing of ours reads, is capped at a few entries rather than
 *   BullMQ's 10,000 (about 70 bytes each, two or more per job).
 */
export const DELIVERY_JOB_RETENTION = {
  removeOnComplete: { count: 100 },
  removeOnFail: { count: 1000, age: 7 * 24 * 3600 },
} as const;
export const DEFAULT_EVENT_STREAM_MAX_LENGTH = 100;

export function createDeliveryQueue(connection: Redis | Cluster, options: DeliveryQueueOptions = {}): DeliveryQueue {
  return new Queue<DeliveryJobData, unknown, string, DeliveryJobData, unknown, string>(options.name ?? DELIVERY_QUEUE_NAME, {
    connection,
    prefix: options.prefix ?? DELIVERY_QUEUE_PREFIX,
    streams: { events: { maxLen: options.eventsMaxLen ?? DEFAULT_EVENT_STREAM_MAX_LENGTH } },
  });
}

/**
 * One job id per (delivery, attempt): however many times the same attempt is enqueued (after commit, by
 * the reconciler, by a replay click), BullMQ keeps a single job. BullMQ refuses ":" in custom ids.
 */
export function deliveryJobId(deliveryId: string, attemptNumber: number): string {
  return `${deliveryId}-a${attemptNumber}`;
}

/** The destination a job goes to, when its enqueuer knew it. */
export function destinationIdOfJob(job: { name: string }): string | null {
  return job.name && job.name !== DELIVERY_JOB_NAME ? job.name : null;
}

/** The delivery a job is about. */
export function deliveryIdOfJob(job: { id?: string; data: DeliveryJobData }): string {
  if (job.data?.deliveryId) return job.data.deliveryId;
  const match = /^(.+)-a\d+$/.exec(job.id ?? "");
  if (!match) throw new Error("Not a delivery job id");
  return match[1];
}

export interface EnqueueOptions {
  /** The attempt this job is for (default 1): part of the job id. */
  attempt?: number;
  /** The delivery's destination, which becomes the job's name (see DeliveryQueue). */
  destinationId?: string;
  /** Wait this long before the worker looks at the row (default 0). */
  delayMs?: number;
}

export type EnqueueResult = "added" | "already_queued" | "promoted";

/**
 * Asks the worker to look at a delivery. Idempotent: a job already waiting for the same attempt is kept;
 * a delayed one is brought forward when the row is due now; a finished or failed job with the same id
 * (kept for a while by the trimming options) is replaced, since BullMQ would otherwise ignore the new one.
 */
export async function enqueueDelivery(queue: DeliveryQueue, deliveryId: string, options: EnqueueOptions = {}): Promise<EnqueueResult> {
  const jobId = deliveryJobId(deliveryId, options.attempt ?? 1);
  const delay = Math.max(0, Math.round(options.delayMs ?? 0));
  // A job's hash (which always holds its name) exists exactly as long as the job does. Checking it first
  // spares a new id BullMQ's state lookup, which looks for an id it cannot find with LPOS over the whole
  // wait list: a scan as long as the backlog, in Redis's one thread, for every lead captured meanwhile.
  const client = await queue.client;
  const state = (await client.hexists(queue.toKey(jobId), "name")) ? await queue.getJobState(jobId) : "unknown";
  if (state === "delayed" && delay === 0) return (await promote(queue, jobId)) ? "promoted" : "already_queued";
  if (state === "completed" || state === "failed") {
    await (await queue.getJob(jobId))?.remove().catch(() => undefined);
  } else if (state !== "unknown") {
    return "already_queued";
  }
  await queue.add(options.destinationId ?? DELIVERY_JOB_NAME, {}, delay > 0 ? { jobId, delay } : { jobId });
  // Someone may have added the same job with a delay between our check and our add (a worker scheduling
  // the retry while the reconciler finds the row due): the earlier time wins.
  if (delay === 0 && (await client.zscore(queue.toKey("delayed"), jobId)) !== null) await promote(queue, jobId);
  return "added";
}

async function promote(queue: DeliveryQueue, jobId: string): Promise<boolean> {
  const job = await queue.getJob(jobId);
  // It may start between the check and the promotion; then there is nothing left to promote.
  return job ? job.promote().then(() => true, () => false) : false;
}

/** Enqueues the first attempt of deliveries that may have been enqueued before (see enqueueDelivery). */
export async function enqueueDeliveries(queue: DeliveryQueue, deliveries: readonly QueuedDelivery[]): Promise<void> {
  for (const d of deliveries) await enqueueDelivery(queue, idOf(d), typeof d === "string" ? {} : { destinationId: d.destinationId });
}

/**
 * Enqueues the first attempt of deliveries committed a moment ago by this caller: no job can exist for
 * them yet, so there is nothing to look up first. One job is one script call; several go in one round
 * trip. (Grouping the jobs of concurrent captures does not pay: each ioredis pipeline copies every
 * BullMQ script onto itself, which costs more than the round trips it saves.)
 */
export async function enqueueNewDeliveries(
  queue: DeliveryQueue,
  deliveries: readonly QueuedDelivery[],
  options: { delayMs?: number } = {},
): Promise<void> {
  if (deliveries.length === 0) return;
  const delay = Math.max(0, Math.round(options.delayMs ?? 0));
  const opts = (d: QueuedDelivery) => (delay > 0 ? { jobId: deliveryJobId(idOf(d), 1), delay } : { jobId: deliveryJobId(idOf(d), 1) });
  if (deliveries.length === 1) {
    await queue.add(nameOf(deliveries[0]), {}, opts(deliveries[0]));
    return;
  }
  await queue.addBulk(deliveries.map((d) => ({ name: nameOf(d), data: {}, opts: opts(d) })));
}

/**
 * Brings waiting jobs forward: the first attempts of a lead's deliveries, queued with a delay at capture,
 * once the shopper is tagged; parked jobs a destination can take now. A job that is not waiting with a
 * delay (already running, finished, gone) is left as it is; false then.
 */
export async function promoteDeliveryJob(queue: DeliveryQueue, jobId: string): Promise<boolean> {
  return promote(queue, jobId);
}
