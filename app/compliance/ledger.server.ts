import type { Prisma } from "../lib/db.server";
import { DuplicateWebhookError } from "./errors";

/**
 * The ledger of handled webhooks. A handler writes its entry first, inside the transaction that does its
 * work: the entry and the effect commit together or not at all. A redelivery (same X-Shopify-Webhook-Id,
 * or the same topic and X-Shopify-Event-Id) hits the unique key, its transaction rolls back, and the
 * handler answers 200 having changed nothing. Two deliveries racing are settled by the same key.
 */

/** Shopify retries a webhook for up to two days; entries are kept well past that. */
export const LEDGER_RETENTION_MS = 30 * 24 * 3600_000;

export interface WebhookEntry {
  webhookId: string;
  topic: string;
  eventId: string | null;
  shopDomain: string;
}

type LedgerClient = Pick<Prisma.TransactionClient, "processedWebhook">;

export async function claimWebhook(tx: LedgerClient, entry: WebhookEntry, now: Date): Promise<void> {
  try {
    await tx.processedWebhook.create({
      data: { webhookId: entry.webhookId, topic: entry.topic, eventId: entry.eventId, shopDomain: entry.shopDomain, processedAt: now },
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DuplicateWebhookError(entry.webhookId);
    throw error;
  }
  await tx.processedWebhook.deleteMany({ where: { processedAt: { lt: new Date(now.getTime() - LEDGER_RETENTION_MS) } } });
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2002";
}
