import { enqueueNewDeliveries, type DeliveryQueue } from "../delivery/queue.server";
import { enqueueTagging, type TaggingQueue } from "./tagging.server";

export interface AfterCaptureDeps {
  deliveryQueue: DeliveryQueue;
  taggingQueue: TaggingQueue;
  /** How long the lead's deliveries wait for the shopper to be tagged in Shopify (TAGGING_DEADLINE). */
  taggingDeadlineMs: number;
}

/**
 * What follows a lead's commit: its first delivery attempts, queued to run at the tagging deadline, and the
 * tagging job, which brings them forward as soon as the shopper is tagged. So a slow or throttling Shopify
 * delays a lead by the deadline at most, and it then goes out with `tagged_in_shopify: false`. If Redis
 * refuses either, the other is still queued and the reconcilers make up for the missing one.
 */
export async function afterCapture(
  deps: AfterCaptureDeps,
  leadId: string,
  deliveries: readonly { id: string; destinationId: string }[],
): Promise<void> {
  const [queued, tagging] = await Promise.allSettled([
    enqueueNewDeliveries(deps.deliveryQueue, deliveries, { delayMs: deps.taggingDeadlineMs }),
    enqueueTagging(deps.taggingQueue, leadId),
  ]);
  if (queued.status === "rejected") throw queued.reason;
  if (tagging.status === "rejected") throw tagging.reason;
}
