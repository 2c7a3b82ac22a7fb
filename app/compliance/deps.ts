import type { Logger } from "pino";
import type { Clock } from "../delivery/clock";
import type { Db } from "../lib/db.server";
import type { WebhookEntry } from "./ledger.server";
import type { ComplianceQueues } from "./queued-jobs.server";
import type { VerifiedWebhook } from "./verify-webhook.server";

/** What the webhook handlers work with; tests pass their own logger and clock. */
export interface ComplianceDeps {
  db: Db;
  queues: ComplianceQueues;
  logger: Logger;
  clock?: Clock;
  /** How long a webhook waits for its Redis clean-up before answering; the rest runs on. Default 3 s. */
  afterCommitBudgetMs?: number;
}

export const DEFAULT_AFTER_COMMIT_BUDGET_MS = 3_000;

export function ledgerEntry(webhook: VerifiedWebhook): WebhookEntry {
  return { webhookId: webhook.webhookId, topic: webhook.topic, eventId: webhook.eventId, shopDomain: webhook.shop };
}

/** Ids and counts only: never an email, a payload or a URL. */
export function webhookLogFields(webhook: VerifiedWebhook) {
  return { shop: webhook.shop, topic: webhook.topic, webhookId: webhook.webhookId };
}

/**
 * True when the shop was (re)installed after Shopify triggered this webhook: an uninstall or shop erasure
 * that arrives late must not undo a reinstall.
 */
export function predatesInstall(webhook: VerifiedWebhook, shop: { installedAt: Date }): boolean {
  return webhook.triggeredAt !== null && shop.installedAt.getTime() > webhook.triggeredAt.getTime();
}
