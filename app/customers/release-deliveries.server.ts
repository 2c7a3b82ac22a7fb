import type { Db } from "../lib/db.server";
import { buildLeadCapturedBody, serializeBody, type LeadBodySource } from "../delivery/payload";
import { deliveryJobId, enqueueDelivery, promoteDeliveryJob, type DeliveryQueue } from "../delivery/queue.server";

/** A lead as its body is built, with its shop's domain: what the caller may already hold. */
export type ReleasableLead = LeadBodySource & { shop: { domain: string } };

/**
 * Lets a lead's deliveries go now rather than at the tagging deadline: rewrites the body of those not yet
 * attempted from the lead (so `tagged_in_shopify` is current), then brings forward the delayed first
 * attempts queued at capture, or queues them afresh if Redis lost them. A delivery already attempted keeps
 * its bytes. Returns the ids of the deliveries released.
 *
 * `current` is the lead as the caller has just read or written it (the tagging job does both), which
 * spares reading it again; without it the stored lead is read.
 */
export async function releaseDeliveries(db: Db, deliveryQueue: DeliveryQueue, leadId: string, current?: ReleasableLead): Promise<string[]> {
  const lead = current ?? (await db.lead.findUnique({ where: { id: leadId }, include: { shop: { select: { domain: true } } } }));
  if (!lead) return [];
  const payload = serializeBody(buildLeadCapturedBody(lead, lead.shop.domain));
  // One statement: the bodies are rewritten and the rows so released are returned.
  const deliveries = await db.delivery.updateManyAndReturn({
    where: { leadId, event: "lead_captured", status: "pending", attemptCount: 0 },
    data: { payload },
    select: { id: true, destinationId: true },
  });
  await Promise.all(
    deliveries.map(async (d) => {
      if (await promoteDeliveryJob(deliveryQueue, deliveryJobId(d.id, 1))) return;
      // Gone (Redis lost it), already running or finished: enqueueDelivery adds it only where needed.
      await enqueueDelivery(deliveryQueue, d.id, { destinationId: d.destinationId });
    }),
  );
  return deliveries.map((d) => d.id);
}
