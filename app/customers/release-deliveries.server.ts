import type { Db } from "../lib/db.server";
import { buildLeadCapturedBody, serializeBody } from "../delivery/payload";
import { deliveryJobId, enqueueDelivery, promoteDeliveryJob, type DeliveryQueue } from "../delivery/queue.server";

/**
 * Lets a lead's deliveries go now rather than at the tagging deadline: rewrites the body of those not yet
 * attempted from the stored lead (so `tagged_in_shopify` is current), then brings forward the delayed first
 * attempts queued at capture, or queues them afresh if Redis lost them. A delivery already attempted keeps
 * its bytes. Returns the ids of the deliveries released.
 */
export async function releaseDeliveries(db: Db, deliveryQueue: DeliveryQueue, leadId: string): Promise<string[]> {
  const lead = await db.lead.findUnique({ where: { id: leadId }, include: { shop: { select: { domain: true } } } });
  if (!lead) return [];
  const payload = serializeBody(buildLeadCapturedBody(lead, lead.shop.domain));
  const untouched = { leadId, event: "lead_captured", status: "pending", attemptCount: 0 };
  await db.delivery.updateMany({ where: untouched, data: { payload } });
  const deliveries = await db.delivery.findMany({ where: untouched, select: { id: true, destinationId: true } });
  await Promise.all(
    deliveries.map(async (d) => {
      if (await promoteDeliveryJob(deliveryQueue, deliveryJobId(d.id, 1))) return;
      // Gone (Redis lost it), already running or finished: enqueueDelivery adds it only where needed.
      await enqueueDelivery(deliveryQueue, d.id, { destinationId: d.destinationId });
    }),
  );
  return deliveries.map((d) => d.id);
}
