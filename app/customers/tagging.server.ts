import { Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "../lib/db.server";
import { buildLeadCapturedBody, serializeBody } from "../delivery/payload";
import { enqueueDeliveries, type DeliveryQueue } from "../delivery/queue.server";
import { CustomerTaggingError, tagTryOnCustomer, type AdminGraphql } from "./tag-customer.server";

/**
 * After-capture work for a lead: make the shopper a tagged Shopify customer, then release the lead's
 * webhook deliveries with `tagged_in_shopify` telling the truth. Tagging is retried with backoff and never
 * blocks or loses the lead: the deliveries are released after the first attempt whatever its outcome
 * (so the CRM hears within seconds), and if this job never runs at all the delivery reconciler sends them.
 * Jobs carry the lead id only.
 */

export const TAGGING_QUEUE_NAME = "customer-tagging";
export const TAGGING_QUEUE_PREFIX = "tryon";

export interface TaggingJobData {
  leadId: string;
}

export type TaggingQueue = Queue<TaggingJobData>;

/** Shopify may be briefly unavailable or throttling: up to 6 tries over about five minutes. */
const TAGGING_JOB_OPTIONS = {
  attempts: 6,
  backoff: { type: "exponential" as const, delay: 5_000 },
  removeOnComplete: { count: 1000, age: 24 * 3600 },
  removeOnFail: { count: 5000, age: 7 * 24 * 3600 },
};

export function createTaggingQueue(connection: Redis | Cluster, options: { name?: string; prefix?: string } = {}): TaggingQueue {
  return new Queue<TaggingJobData>(options.name ?? TAGGING_QUEUE_NAME, {
    connection,
    prefix: options.prefix ?? TAGGING_QUEUE_PREFIX,
    defaultJobOptions: TAGGING_JOB_OPTIONS,
  });
}

export async function enqueueTagging(queue: TaggingQueue, leadId: string): Promise<void> {
  await queue.add("tag", { leadId }, { jobId: `tag-${leadId}` });
}

export interface TaggingWorkerParams {
  db: Db;
  connection: Redis | Cluster;
  deliveryQueue: DeliveryQueue;
  /** The Admin GraphQL API of a shop, with its offline session. */
  graphqlFor: (shopDomain: string) => Promise<AdminGraphql>;
  logger: Logger;
  name?: string;
  prefix?: string;
  concurrency?: number;
}

export function createTaggingWorker(params: TaggingWorkerParams): Worker<TaggingJobData> {
  return new Worker<TaggingJobData>(
    params.name ?? TAGGING_QUEUE_NAME,
    (job) => processTaggingJob(params, job),
    { connection: params.connection, prefix: params.prefix ?? TAGGING_QUEUE_PREFIX, concurrency: params.concurrency ?? 4 },
  );
}

export async function processTaggingJob(
  params: Pick<TaggingWorkerParams, "db" | "deliveryQueue" | "graphqlFor" | "logger">,
  job: Pick<Job<TaggingJobData>, "data" | "attemptsMade" | "opts">,
): Promise<{ tagged: boolean }> {
  const { db, logger } = params;
  const lead = await db.lead.findUnique({ where: { id: job.data.leadId }, include: { shop: { select: { domain: true, uninstalledAt: true } } } });
  if (!lead) return { tagged: false }; // redacted since it was captured: nothing to do
  if (lead.tagged) {
    await releaseDeliveries(db, params.deliveryQueue, lead.id);
    return { tagged: true };
  }
  try {
    const graphql = await params.graphqlFor(lead.shop.domain);
    const result = await tagTryOnCustomer(graphql, { email: lead.email, consentedAt: lead.capturedAt });
    await db.lead.update({
      where: { id: lead.id },
      data: { tagged: result.tagged, taggedAt: result.tagged ? new Date() : null, customerId: result.customerId },
    });
    logger.info({ leadId: lead.id, shop: lead.shop.domain, created: result.created, tagged: result.tagged }, "shopper tagged in Shopify");
    await releaseDeliveries(db, params.deliveryQueue, lead.id);
    return { tagged: result.tagged };
  } catch (error) {
    const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    logger.warn({ leadId: lead.id, shop: lead.shop.domain, attempt: job.attemptsMade + 1, err: error }, "tagging the shopper failed");
    // The CRM should not wait for Shopify: send the lead now, marked as not tagged.
    if (job.attemptsMade === 0 || lastTry) await releaseDeliveries(db, params.deliveryQueue, lead.id);
    if (error instanceof CustomerTaggingError && !error.retryable) throw new UnrecoverableError(error.message);
    throw error;
  }
}

/**
 * Rewrites the body of the lead's not-yet-attempted deliveries from the stored lead (so `tagged_in_shopify`
 * is current), then wakes the worker for them. A delivery that was already attempted keeps its bytes.
 */
export async function releaseDeliveries(db: Db, deliveryQueue: DeliveryQueue, leadId: string): Promise<string[]> {
  const lead = await db.lead.findUnique({ where: { id: leadId }, include: { shop: { select: { domain: true } } } });
  if (!lead) return [];
  const payload = serializeBody(buildLeadCapturedBody(lead, lead.shop.domain));
  const untouched = { leadId, event: "lead_captured", status: "pending", attemptCount: 0 };
  await db.delivery.updateMany({ where: untouched, data: { payload } });
  const ids = (await db.delivery.findMany({ where: untouched, select: { id: true } })).map((d) => d.id);
  await enqueueDeliveries(deliveryQueue, ids);
  return ids;
}
