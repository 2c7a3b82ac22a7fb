import { postgresPoolsOf, sqlTimestamp, type Db } from "../lib/db.server";
import { buildLeadCapturedBody, serializeBody, type LeadBodySource } from "../delivery/payload";
import { deliveryJobId, enqueueDelivery, promoteDeliveryJob, type DeliveryQueue } from "../delivery/queue.server";

/** A lead as its body is built, with its shop's domain: what the caller may already hold. */
export type ReleasableLead = LeadBodySource & { shop: { domain: string } };

/** What tagging writes on the lead. */
export interface TaggedFields {
  taggedAt: Date;
  customerId: string;
}

interface Released {
  id: string;
  destinationId: string;
}

/** The deliveries of a lead that no attempt has touched: their body may still be rewritten. */
const untouchedOf = (leadId: string) => ({ leadId, event: "lead_captured", status: "pending", attemptCount: 0 });

/**
 * Lets a lead's deliveries go now rather than at the tagging deadline: rewrites the body of those not yet
 * attempted from the lead (so `tagged_in_shopify` is current), then brings forward the delayed first
 * attempts queued at capture, or queues them afresh if Redis lost them. A delivery already attempted keeps
 * its bytes. Returns the ids of the deliveries released.
 *
 * `current` is the lead as the caller has just read it, which spares reading it again; without it the
 * stored lead is read.
 */
export async function releaseDeliveries(db: Db, deliveryQueue: DeliveryQueue, leadId: string, current?: ReleasableLead): Promise<string[]> {
  const lead = current ?? (await db.lead.findUnique({ where: { id: leadId }, include: { shop: { select: { domain: true } } } }));
  if (!lead) return [];
  const payload = serializeBody(buildLeadCapturedBody(lead, lead.shop.domain));
  // One statement: the bodies are rewritten and the rows so released are returned.
  const deliveries = await db.delivery.updateManyAndReturn({
    where: untouchedOf(leadId),
    data: { payload },
    select: { id: true, destinationId: true },
  });
  return queueReleased(deliveryQueue, deliveries);
}

/**
 * Records that the lead's shopper is tagged (only if its tagging is still pending: another process may have
 * finished or given it up meanwhile) and releases its deliveries with a body that says so. On PostgreSQL
 * both writes are one statement; a lead that was no longer pending is released from its stored row.
 */
export async function recordTaggedAndRelease(db: Db, deliveryQueue: DeliveryQueue, lead: ReleasableLead, tagged: TaggedFields): Promise<string[]> {
  const fields = { tagged: true, taggedAt: tagged.taggedAt, customerId: tagged.customerId, taggingState: "done", taggingError: null };
  const pool = postgresPoolsOf(db)?.durable;
  if (!pool) {
    const { count } = await db.lead.updateMany({ where: { id: lead.id, taggingState: "pending" }, data: fields });
    return releaseDeliveries(db, deliveryQueue, lead.id, count === 1 ? { ...lead, tagged: true } : undefined);
  }
  const payload = serializeBody(buildLeadCapturedBody({ ...lead, tagged: true }, lead.shop.domain));
  const { rows } = await pool.query<{ tagged: number; id: string | null; destinationId: string | null }>({
    name: "tryon_record_tagged_and_release",
    text: `
      WITH lead AS (
        UPDATE "Lead" SET "tagged" = true, "taggedAt" = $2::timestamp(3), "customerId" = $3, "taggingState" = 'done', "taggingError" = NULL
        WHERE "id" = $1 AND ("taggingState" = 'pending') IS TRUE
        RETURNING "id"
      ), released AS (
        UPDATE "Delivery" AS d SET "payload" = $4, "updatedAt" = $2::timestamp(3)
        WHERE d."leadId" = $1 AND EXISTS (SELECT 1 FROM lead)
          AND (d."event" = 'lead_captured' AND d."status" = 'pending' AND d."attemptCount" = 0) IS TRUE
        RETURNING d."id", d."destinationId"
      )
      SELECT c."n" AS "tagged", r."id", r."destinationId"
      FROM (SELECT count(*)::int AS "n" FROM lead) AS c LEFT JOIN released AS r ON true`,
    values: [lead.id, sqlTimestamp(tagged.taggedAt), tagged.customerId, payload],
  });
  if (rows[0]?.tagged !== 1) return releaseDeliveries(db, deliveryQueue, lead.id);
  return queueReleased(deliveryQueue, rows.flatMap((r) => (r.id && r.destinationId ? [{ id: r.id, destinationId: r.destinationId }] : [])));
}

async function queueReleased(deliveryQueue: DeliveryQueue, deliveries: Released[]): Promise<string[]> {
  await Promise.all(
    deliveries.map(async (d) => {
      if (await promoteDeliveryJob(deliveryQueue, deliveryJobId(d.id, 1))) return;
      // Gone (Redis lost it), already running or finished: enqueueDelivery adds it only where needed.
      await enqueueDelivery(deliveryQueue, d.id, { destinationId: d.destinationId });
    }),
  );
  return deliveries.map((d) => d.id);
}
