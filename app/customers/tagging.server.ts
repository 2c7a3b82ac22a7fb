import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "../lib/db.server";
import { scrubText } from "../lib/logger.server";
import { recordShopifyThrottle, recordTagging } from "../lib/metrics.server";
import { systemClock, type Clock } from "../delivery/clock";
import { DEFAULT_EVENT_STREAM_MAX_LENGTH, type DeliveryQueue } from "../delivery/queue.server";
import type { AdminGraphqlOptions } from "./admin-graphql.server";
import { readLeadForTagging } from "./lead-for-tagging.server";
import { recordTaggedAndRelease, releaseDeliveries } from "./release-deliveries.server";
import { createShopPace, type ShopPace } from "./shop-pace.server";
import { msUntilAvailable, ShopifyThrottledError, waitAfterThrottle, type QueryCost } from "./shopify-cost";
import { CustomerTaggingError, MAX_TAGGING_COST_POINTS, tagTryOnCustomer, USUAL_TAGGING_COST_POINTS, type AdminGraphql } from "./tag-customer.server";

/**
 * After-capture work for a lead: make the shopper a tagged Shopify customer, then release the lead's
 * webhook deliveries with `tagged_in_shopify` telling the truth. The deliveries never wait on this job past
 * the tagging deadline (their jobs are queued with it at capture), and the lead row records where tagging
 * stands (`taggingState`), so the tagging reconciler can give a pending lead a job again whenever Redis lost
 * it. A shop Shopify throttles is paced (see ShopPace): its jobs wait without spending attempts, and no other
 * shop's tagging waits with them. Jobs carry the lead id only.
 */

export const TAGGING_QUEUE_NAME = "customer-tagging";
export const TAGGING_QUEUE_PREFIX = "tryon";

export interface TaggingJobData {
  leadId: string;
}

export type TaggingQueue = Queue<TaggingJobData>;

export type TaggingState = "pending" | "done" | "failed";

/** Shopify may be briefly unavailable: up to 6 tries over about five minutes. Throttling spends none of them. */
const TAGGING_JOB_OPTIONS = {
  attempts: 6,
  backoff: { type: "exponential" as const, delay: 5_000 },
  removeOnComplete: { count: 1000, age: 24 * 3600 },
  removeOnFail: { count: 5000, age: 7 * 24 * 3600 },
};

/**
 * Below this many points in a shop's bucket (a few taggings' worth), its next taggings wait for the bucket to
 * refill rather than run into THROTTLED answers.
 */
const LOW_BUCKET_POINTS = 4 * MAX_TAGGING_COST_POINTS;

export interface TaggingQueueOptions {
  name?: string;
  prefix?: string;
  /** Entries kept in the queue's event stream (nothing of the app reads it). @defaultValue 100 */
  eventsMaxLen?: number;
}

export function createTaggingQueue(connection: Redis | Cluster, options: TaggingQueueOptions = {}): TaggingQueue {
  return new Queue<TaggingJobData>(options.name ?? TAGGING_QUEUE_NAME, {
    connection,
    prefix: options.prefix ?? TAGGING_QUEUE_PREFIX,
    defaultJobOptions: TAGGING_JOB_OPTIONS,
    streams: { events: { maxLen: options.eventsMaxLen ?? DEFAULT_EVENT_STREAM_MAX_LENGTH } },
  });
}

/** One job id per lead, so capture, the reconciler and any number of processes never queue a lead twice. */
export function taggingJobId(leadId: string): string {
  return `tag-${leadId}`;
}

export async function enqueueTagging(queue: TaggingQueue, leadId: string): Promise<void> {
  await queue.add("tag", { leadId }, { jobId: taggingJobId(leadId) });
}

export interface TaggingWorkerParams {
  db: Db;
  /** A connection made with `maxRetriesPerRequest: null`, as BullMQ requires for workers. */
  connection: Redis | Cluster;
  deliveryQueue: DeliveryQueue;
  /** The Admin GraphQL API of a shop, with its offline session; told the cost of every answer. */
  graphqlFor: (shopDomain: string, options?: AdminGraphqlOptions) => Promise<AdminGraphql>;
  logger: Logger;
  name?: string;
  /** Key prefix of the queue and of the shops' pace state. @defaultValue "tryon" */
  prefix?: string;
  /** Taggings in flight at once in this process (each waits on Shopify). @defaultValue 50 */
  concurrency?: number;
  /** Where the shops' pace state lives. @defaultValue connection */
  redis?: Redis | Cluster;
  clock?: Clock;
}

export type TaggingJob = Pick<Job<TaggingJobData>, "id" | "data" | "attemptsMade" | "opts" | "moveToDelayed">;

export interface TaggingDeps {
  db: Db;
  deliveryQueue: DeliveryQueue;
  graphqlFor: TaggingWorkerParams["graphqlFor"];
  logger: Logger;
  pace: ShopPace;
  clock?: Clock;
}

export function createTaggingWorker(params: TaggingWorkerParams): Worker<TaggingJobData> {
  const prefix = params.prefix ?? TAGGING_QUEUE_PREFIX;
  const deps: TaggingDeps = { ...params, pace: createShopPace(params.redis ?? params.connection, { prefix }) };
  return new Worker<TaggingJobData>(
    params.name ?? TAGGING_QUEUE_NAME,
    (job, token) => processTaggingJob(deps, job, token),
    { connection: params.connection, prefix, concurrency: params.concurrency ?? 50 },
  );
}

/** Thrown to BullMQ, which keeps a failed job's reason in Redis: the details go to the log and the lead row. */
export class TaggingJobError extends Error {
  constructor() {
    super("tagging the shopper failed (details in the worker log and on the lead)");
    this.name = "TaggingJobError";
  }
}

export async function processTaggingJob(deps: TaggingDeps, job: TaggingJob, token?: string): Promise<{ tagged: boolean }> {
  const { db, logger } = deps;
  const clock = deps.clock ?? systemClock;
  // With every field of the body: the deliveries' body is built from it once the shopper is tagged.
  const lead = await readLeadForTagging(db, job.data.leadId);
  if (!lead) {
    recordTagging("skipped");
    return { tagged: false }; // redacted since it was captured: nothing to do
  }
  const shop = lead.shop.domain;
  if (lead.taggingState === "done") {
    await releaseDeliveries(db, deps.deliveryQueue, lead.id, lead);
    return { tagged: true };
  }
  if (lead.taggingState === "failed") return { tagged: false };
  if (lead.shop.uninstalledAt) {
    await markFailed(db, lead.id, "The app was uninstalled from the shop");
    recordTagging("skipped");
    return { tagged: false };
  }

  const jobId = job.id ?? taggingJobId(lead.id);
  const wait = await deps.pace.turn(shop, jobId);
  if (wait > 0) return park(job, token, wait);
  try {
    const graphql = await deps.graphqlFor(shop, { onCost: (cost) => slowDownWhenLow(deps, shop, cost) });
    const result = await tagTryOnCustomer(graphql, { email: lead.email, consentedAt: lead.capturedAt });
    if (!result.tagged) throw new CustomerTaggingError("Shopify did not confirm the tag on the customer", false);
    await recordTaggedAndRelease(db, deps.deliveryQueue, lead, { taggedAt: clock.now(), customerId: result.customerId });
    logger.info({ leadId: lead.id, shop, created: result.created }, "shopper tagged in Shopify");
    recordTagging("tagged");
    return { tagged: true };
  } catch (error) {
    if (error instanceof ShopifyThrottledError) {
      // Not a failure: Shopify will take the call once the shop's bucket has refilled.
      recordShopifyThrottle("throttled");
      recordTagging("throttled");
      const holdMs = waitAfterThrottle(error, MAX_TAGGING_COST_POINTS);
      const turn = await deps.pace.hold(shop, holdMs, spacingFor(error.cost), { turnFor: jobId });
      logger.info({ leadId: lead.id, shop, waitMs: turn }, "Shopify is throttling this shop; tagging waits for its turn");
      return park(job, token, Math.max(turn, holdMs));
    }
    const retryable = !(error instanceof CustomerTaggingError) || error.retryable;
    const lastTry = !retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    logger.warn({ leadId: lead.id, shop, attempt: job.attemptsMade + 1, lastTry, err: error }, "tagging the shopper failed");
    recordTagging(lastTry ? "failed" : "retry");
    if (lastTry) await markFailed(db, lead.id, error instanceof Error ? error.message : String(error));
    // The CRM should not wait for Shopify: send the lead now, marked as not tagged.
    if (job.attemptsMade === 0 || lastTry) await releaseDeliveries(db, deps.deliveryQueue, lead.id);
    if (!retryable) throw new UnrecoverableError(new TaggingJobError().message);
    throw new TaggingJobError();
  }
}

/** Parks the job until `waitMs` from now, without spending an attempt or holding a worker slot. */
async function park(job: TaggingJob, token: string | undefined, waitMs: number): Promise<never> {
  await job.moveToDelayed(Date.now() + waitMs, token);
  throw new DelayedError();
}

async function markFailed(db: Db, leadId: string, reason: string): Promise<void> {
  await db.lead.updateMany({
    where: { id: leadId, taggingState: "pending" },
    data: { taggingState: "failed", taggingError: scrubText(reason).slice(0, 500) },
  });
}

/**
 * The time the shop's bucket takes to restore a usual tagging's points: the spacing that keeps its backlog
 * within Shopify's pace (a costlier tagging now and then is caught by the low-bucket hold).
 */
function spacingFor(cost: QueryCost | null): number {
  const rate = cost?.throttleStatus?.restoreRate;
  // Without figures (a 429), assume the smallest plan's 100 points a second.
  return (USUAL_TAGGING_COST_POINTS / (rate && rate > 0 ? rate : 100)) * 1000;
}

/** A successful answer that leaves the bucket low holds the shop's next taggings until it has refilled a little. */
async function slowDownWhenLow(deps: TaggingDeps, shop: string, cost: QueryCost): Promise<void> {
  const status = cost.throttleStatus;
  if (!status) return;
  const holdMs = msUntilAvailable(status, Math.min(LOW_BUCKET_POINTS, status.maximumAvailable / 2));
  if (holdMs <= 0) return;
  recordShopifyThrottle("low_bucket");
  await deps.pace.hold(shop, holdMs, spacingFor(cost)).catch((error: unknown) => {
    deps.logger.warn({ err: error, shop }, "could not record a shop's Shopify pace; its next taggings may be throttled");
  });
}
