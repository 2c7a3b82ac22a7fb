import { systemClock } from "../delivery/clock";
import { enqueueNewDeliveries, type QueuedDelivery } from "../delivery/queue.server";
import { receives, RECEIVING_STATES } from "../delivery/destination-rules";
import type { Prisma } from "../lib/db.server";
import { DEFAULT_AFTER_COMMIT_BUDGET_MS, ledgerEntry, webhookLogFields, type ComplianceDeps } from "./deps";
import { claimWebhook } from "./ledger.server";
import { parseCustomersRedact } from "./payloads";
import { removeQueuedJobs, settleWithin, type QueuedWork } from "./queued-jobs.server";
import { buildLeadRedactedBody, buildProfileErasureBody, serializeRedactedBody } from "./redaction-event";
import { dataRequestsOfShopper, leadsOfShopper } from "./shopper-match";
import type { VerifiedWebhook } from "./verify-webhook.server";

/**
 * customers/redact: one shopper's data in one shop is deleted, not anonymised. Their leads go, and with them
 * every delivery that carries a lead (its stored payload) and every attempt record (response excerpts may
 * echo the email), plus any open data request about them. One transaction, together with the ledger entry.
 * Afterwards the Redis jobs that pointed at those rows are removed, and every destination that received one
 * of the leads and takes `lead_redacted` events is told, so the merchant's tools can erase too: a webhook gets
 * one event per lead (the id only), Klaviyo one profile deletion per email.
 * Other shoppers and other shops are untouched.
 */

export interface CustomerRedaction {
  leads: number;
  deliveries: number;
  dataRequests: number;
  /** lead_redacted deliveries created. */
  redactionEvents: number;
}


export async function redactCustomer(deps: ComplianceDeps, webhook: VerifiedWebhook): Promise<CustomerRedaction> {
  const shopper = parseCustomersRedact(webhook.payload);
  const now = (deps.clock ?? systemClock).now();
  const done = await deps.db.$transaction(
    async (tx) => {
      await claimWebhook(tx, ledgerEntry(webhook), now);
      const shop = await tx.shop.findUnique({ where: { domain: webhook.shop }, select: { id: true, domain: true } });
      if (!shop) return null;
      const leads = await tx.lead.findMany({
        where: leadsOfShopper(shop.id, shopper),
        select: { id: true, email: true, deliveries: { select: { id: true, attemptCount: true, destinationId: true } } },
      });
      const leadIds = leads.map((l) => l.id);
      const deliveries = leads.flatMap((l) => l.deliveries);
      const deliveryIds = deliveries.map((d) => d.id);
      const requests = await tx.dataRequest.deleteMany({ where: dataRequestsOfShopper(shop.id, shopper) });
      await tx.deliveryAttempt.deleteMany({ where: { deliveryId: { in: deliveryIds } } });
      await tx.delivery.deleteMany({ where: { id: { in: deliveryIds } } });
      await tx.lead.deleteMany({ where: { id: { in: leadIds } } });
      const eventIds = await createRedactionDeliveries(tx, shop, leads, now);
      return { work: { deliveries, leadIds } satisfies QueuedWork, dataRequests: requests.count, eventIds };
    },
    { timeout: 20_000 },
  );

  const result: CustomerRedaction = {
    leads: done?.work.leadIds.length ?? 0,
    deliveries: done?.work.deliveries.length ?? 0,
    dataRequests: done?.dataRequests ?? 0,
    redactionEvents: done?.eventIds.length ?? 0,
  };
  deps.logger.info({ ...webhookLogFields(webhook), ...result, shopKnown: done !== null }, "shopper data erased");
  if (done) {
    await settleWithin(afterCommit(deps, done.work, done.eventIds), deps.afterCommitBudgetMs ?? DEFAULT_AFTER_COMMIT_BUDGET_MS);
  }
  return result;
}

async function createRedactionDeliveries(
  tx: Prisma.TransactionClient,
  shop: { id: string; domain: string },
  leads: { id: string; email: string; deliveries: { destinationId: string }[] }[],
  now: Date,
): Promise<QueuedDelivery[]> {
  if (leads.length === 0) return [];
  const destinations = await tx.destination.findMany({
    where: { shopId: shop.id, state: { in: [...RECEIVING_STATES] } },
    select: { id: true, kind: true, events: true, productIds: true },
    orderBy: { createdAt: "asc" },
  });
  const told = destinations.filter((d) => receives(d, "lead_redacted"));
  const rows: { destinationId: string; payload: string }[] = [];
  for (const destination of told) {
    // Only what the destination was sent: a lead it never received is not its to erase.
    const received = leads.filter((l) => l.deliveries.some((d) => d.destinationId === destination.id));
    if (destination.kind === "klaviyo") {
      for (const email of new Set(received.map((l) => l.email))) {
        const leadIds = received.filter((l) => l.email === email).map((l) => l.id);
        rows.push({ destinationId: destination.id, payload: JSON.stringify(buildProfileErasureBody(email, leadIds, shop.domain, now)) });
      }
    } else {
      for (const lead of received) {
        rows.push({ destinationId: destination.id, payload: serializeRedactedBody(buildLeadRedactedBody(lead.id, shop.domain, now)) });
      }
    }
  }
  const created: QueuedDelivery[] = [];
  for (const row of rows) {
    // No lead link: the lead is gone, and the event must outlive it.
    const delivery = await tx.delivery.create({
      data: { shopId: shop.id, destinationId: row.destinationId, leadId: null, event: "lead_redacted", payload: row.payload, status: "pending", nextAttemptAt: now },
      select: { id: true },
    });
    created.push({ id: delivery.id, destinationId: row.destinationId });
  }
  return created;
}

async function afterCommit(deps: ComplianceDeps, work: QueuedWork, eventIds: QueuedDelivery[]): Promise<void> {
  try {
    await removeQueuedJobs(deps.queues, work);
  } catch (error) {
    deps.logger.warn({ err: error }, "could not remove queued jobs of erased leads; they find nothing to do");
  }
  try {
    await enqueueNewDeliveries(deps.queues.deliveryQueue, eventIds);
  } catch (error) {
    deps.logger.warn({ err: error, deliveries: eventIds.length }, "could not enqueue lead_redacted deliveries; the reconciler will");
  }
}
