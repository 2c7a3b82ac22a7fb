import type { Worker } from "bullmq";
import { createLogger } from "../../app/lib/logger.server";
import { getDb } from "../../app/lib/db.server";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { adminGraphqlFor } from "../../app/customers/admin-graphql.server";
import { afterCapture } from "../../app/customers/after-capture.server";
import { reconcileTagging } from "../../app/customers/tagging-reconciler.server";
import { createTaggingQueue, createTaggingWorker, type TaggingJobData, type TaggingQueue } from "../../app/customers/tagging.server";
import { startHarness, type DeliveryHarness } from "./delivery-harness";
import { deleteKeysUnder, sampleLead, testRedis, type TestEndpoint } from "./delivery";
import type { HttpsReceiver } from "./https-receiver";

/**
 * Capture → tagging → delivery as production wires it, on queues and keys of the test's own: leads are
 * recorded and handed to the same `afterCapture` the capture route calls, a tagging worker tags them against
 * the Admin API stand-in (installed in this process by the test), and a delivery worker sends them to a
 * loopback receiver. Both reconcilers run on demand with no grace.
 */
export interface TaggingHarness {
  delivery: DeliveryHarness;
  taggingQueue: TaggingQueue;
  tagging: Worker<TaggingJobData>;
  prefix: string;
  /** Records a lead for the endpoint's shop and starts its after-capture work; resolves to its ids. */
  capture(endpoint: TestEndpoint, email?: string): Promise<{ leadId: string; deliveryIds: string[]; capturedAt: number }>;
  reconcile(): Promise<{ tagging: Awaited<ReturnType<typeof reconcileTagging>>; deliveries: Awaited<ReturnType<DeliveryHarness["reconcile"]>> }>;
  close(): Promise<void>;
}

export async function startTaggingHarness(
  label: string,
  receiver: Pick<HttpsReceiver, "ca">,
  options: { deadlineMs: number; concurrency?: number },
): Promise<TaggingHarness> {
  const db = getDb();
  // A generous attempt deadline: these tests are about tagging, on a machine that may be busy.
  const delivery = await startHarness(label, receiver, { concurrency: 8, deadlineMs: 8_000, leaseMs: 20_000 });
  const { redis, prefix } = delivery;
  const taggingQueue = createTaggingQueue(redis, { prefix, eventsMaxLen: 50 });
  const tagging = createTaggingWorker({
    db, connection: redis, deliveryQueue: delivery.queue, graphqlFor: adminGraphqlFor,
    logger: createLogger({ level: process.env.DELIVERY_TEST_LOG ?? "silent" }), prefix, concurrency: options.concurrency ?? 8,
  });
  tagging.on("error", () => undefined);
  return {
    delivery,
    taggingQueue,
    tagging,
    prefix,
    async capture(endpoint, email) {
      const recorded = await recordLeadWithDeliveries(db, sampleLead(endpoint, email ? { email } : {}));
      const capturedAt = Date.now();
      await afterCapture({ deliveryQueue: delivery.queue, taggingQueue, taggingDeadlineMs: options.deadlineMs }, recorded.lead.id, recorded.deliveries);
      return { leadId: recorded.lead.id, deliveryIds: recorded.deliveryIds, capturedAt };
    },
    async reconcile() {
      const tagged = await reconcileTagging({ db, queue: taggingQueue, graceMs: 0 });
      return { tagging: tagged, deliveries: await delivery.reconcile() };
    },
    async close() {
      await tagging.close();
      await taggingQueue.obliterate({ force: true }).catch(() => undefined);
      await taggingQueue.close();
      await delivery.close();
      // The shops' pace state, and whatever a test's flush left half-written.
      const cleaner = testRedis("worker");
      await deleteKeysUnder(cleaner, prefix).finally(() => cleaner.disconnect());
    },
  };
}
