import { systemClock } from "../delivery/clock";
import { DEFAULT_AFTER_COMMIT_BUDGET_MS, ledgerEntry, predatesInstall, webhookLogFields, type ComplianceDeps } from "./deps";
import { claimWebhook } from "./ledger.server";
import { removeQueuedJobs, settleWithin, type QueuedWork } from "./queued-jobs.server";
import type { VerifiedWebhook } from "./verify-webhook.server";

/**
 * shop/redact (48 hours after an uninstall): everything the app holds for the shop is deleted in one
 * transaction: leads, deliveries and their payloads, attempt records, endpoints with their encrypted
 * secrets, tried products, data requests, sessions, the shop's earlier ledger entries, and the Shop row.
 * Then the shop's delivery and tagging jobs are removed from Redis. If the shop was reinstalled after
 * Shopify triggered the erasure, nothing is deleted.
 */

export interface ShopRedaction {
  outcome: "erased" | "unknown_shop" | "reinstalled";
  leads: number;
  deliveries: number;
  endpoints: number;
  sessions: number;
}

/** Finished jobs are trimmed by BullMQ after at most 7 days; older finished rows can have no job left. */
const JOB_RETENTION_MS = 7 * 24 * 3600_000;
const WAITING = ["pending", "retrying", "delivering"];
const NOTHING = { leads: 0, deliveries: 0, endpoints: 0, sessions: 0 };

export async function redactShop(deps: ComplianceDeps, webhook: VerifiedWebhook): Promise<ShopRedaction> {
  const now = (deps.clock ?? systemClock).now();
  const recent = new Date(now.getTime() - JOB_RETENTION_MS);
  const { result, work } = await deps.db.$transaction(
    async (tx): Promise<{ result: ShopRedaction; work?: QueuedWork }> => {
      await claimWebhook(tx, ledgerEntry(webhook), now);
      const shop = await tx.shop.findUnique({ where: { domain: webhook.shop }, select: { id: true, installedAt: true } });
      if (shop && predatesInstall(webhook, shop)) return { result: { ...NOTHING, outcome: "reinstalled" } };
      const sessions = await tx.session.deleteMany({ where: { shop: webhook.shop } });
      await tx.processedWebhook.deleteMany({ where: { shopDomain: webhook.shop, webhookId: { not: webhook.webhookId } } });
      if (!shop) return { result: { ...NOTHING, outcome: "unknown_shop", sessions: sessions.count } };

      const work: QueuedWork = {
        deliveries: await tx.delivery.findMany({
          where: { shopId: shop.id, OR: [{ status: { in: WAITING } }, { updatedAt: { gte: recent } }] },
          select: { id: true, attemptCount: true },
        }),
        leadIds: (
          await tx.lead.findMany({ where: { shopId: shop.id, OR: [{ tagged: false }, { capturedAt: { gte: recent } }] }, select: { id: true } })
        ).map((l) => l.id),
      };
      // Children first, so the outcome never depends on the database enforcing ON DELETE CASCADE.
      await tx.deliveryAttempt.deleteMany({ where: { delivery: { is: { shopId: shop.id } } } });
      const deliveries = await tx.delivery.deleteMany({ where: { shopId: shop.id } });
      const leads = await tx.lead.deleteMany({ where: { shopId: shop.id } });
      const endpoints = await tx.destination.deleteMany({ where: { shopId: shop.id } });
      await tx.triedProduct.deleteMany({ where: { shopId: shop.id } });
      await tx.dataRequest.deleteMany({ where: { shopId: shop.id } });
      await tx.shop.delete({ where: { id: shop.id } });
      return {
        result: { outcome: "erased", leads: leads.count, deliveries: deliveries.count, endpoints: endpoints.count, sessions: sessions.count },
        work,
      };
    },
    { timeout: 120_000, maxWait: 10_000 },
  );

  deps.logger.info({ ...webhookLogFields(webhook), ...result }, result.outcome === "reinstalled" ? "shop erasure skipped: reinstalled since" : "shop data erased");
  if (work) {
    const cleanup = removeQueuedJobs(deps.queues, work).then(
      (removed) => deps.logger.info({ shop: webhook.shop, removed }, "queued jobs of the erased shop removed"),
      (error: unknown) => deps.logger.warn({ shop: webhook.shop, err: error }, "could not remove the erased shop's queued jobs; they find nothing to do"),
    );
    await settleWithin(cleanup, deps.afterCommitBudgetMs ?? DEFAULT_AFTER_COMMIT_BUDGET_MS);
  }
  return result;
}
