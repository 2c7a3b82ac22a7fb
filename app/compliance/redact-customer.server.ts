import { systemClock } from "../delivery/clock";
import { enqueueNewDeliveries } from "../delivery/queue.server";
import type { Prisma } from "../lib/db.server";
import { DEFAULT_AFTER_COMMIT_BUDGET_MS, ledgerEntry, webhookLogFields, type ComplianceDeps } from "./deps";
import { claimWebhook } from "./ledger.server";
import { parseCustomersRedact } from "./payloads";
import { removeQueuedJobs, settleWithin, type QueuedWork } from "./queued-jobs.server";
import { buildLeadRedactedBody, serializeRedactedBody } from "./redaction-event";
import { dataRequestsOfShopper, leadsOfShopper } from "./shopper-match";
import type { VerifiedWebhook } from "./verify-webhook.server";

/**
 * customers/redact: one shopper's data in one shop is deleted, not anonymised. Their leads go, and with them
 * every delivery that carries a lead (its stored payload) and every attempt record (response excerpts may
 * echo the email), plus any open data request about them. One transaction, together with the ledger entry.
 * Afterwards the Redis jobs that pointed at those rows are removed, and, when the merchant turned it on, a
 * `lead_redacted` event per lead (id only) goes to each connected endpoint so their CRM can erase too.
 * Other shoppers and other shops are untouched.
 */

export interface CustomerRedaction {
  leads: number;
  deliveries: number;
  dataRequests: number;
  /** lead_redacted deliveries created. */
  redactionEvents: number;
}

/** Endpoints that get a new delivery: the same as for a new lead (a paused one keeps it until resumed). */
const RECEIVING_STATES = ["active", "paused"];

export async function redactCustomer(deps: ComplianceDeps, webhook: VerifiedWebhook): Promise<CustomerRedaction> {
  const shopper = parseCustomersRedact(webhook.payload);
  const now = (deps.clock ?? systemClock).now();
  const done = await deps.db.$transaction(
    async (tx) => {
      await claimWebhook(tx, ledgerEntry(webhook), now);
      const shop = await tx.shop.findUnique({ where: { domain: webhook.shop }, select: { id: true, domain: true, sendRedactionEvents: true } });
      if (!shop) return null;
      const leads = await tx.lead.findMany({
        where: leadsOfShopper(shop.id, shopper),
        select: { id: true, deliveries: { select: { id: true, attemptCount: true } } },
      });
      const leadIds = leads.map((l) => l.id);
      const deliveries = leads.flatMap((l) => l.deliveries);
      const deliveryIds = deliveries.map((d) => d.id);
      const requests = await tx.dataRequest.deleteMany({ where: dataRequestsOfShopper(shop.id, shopper) });
      await tx.deliveryAttempt.deleteMany({ where: { deliveryId: { in: deliveryIds } } });
      await tx.delivery.deleteMany({ where: { id: { in: deliveryIds } } });
      await tx.lead.deleteMany({ where: { id: { in: leadIds } } });
      const eventIds = shop.sendRedactionEvents ? await createRedactionDeliveries(tx, shop, leadIds, now) : [];
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
  leadIds: string[],
  now: Date,
): Promise<string[]> {
  if (leadIds.length === 0) return [];
  const endpoints = await tx.webhookEndpoint.findMany({
    where: { shopId: shop.id, state: { in: RECEIVING_STATES } },
    select: { id: true },
    orderBy: { createdAt: "asc" },
  });
  const ids: string[] = [];
  for (const leadId of leadIds) {
    const payload = serializeRedactedBody(buildLeadRedactedBody(leadId, shop.domain, now));
    for (const endpoint of endpoints) {
      // No lead link: the lead is gone, and the event must outlive it.
      const delivery = await tx.delivery.create({
        data: { shopId: shop.id, endpointId: endpoint.id, leadId: null, event: "lead_redacted", payload, status: "pending", nextAttemptAt: now },
        select: { id: true },
      });
      ids.push(delivery.id);
    }
  }
  return ids;
}

async function afterCommit(deps: ComplianceDeps, work: QueuedWork, eventIds: string[]): Promise<void> {
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
