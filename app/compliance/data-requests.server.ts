import { systemClock, type Clock } from "../delivery/clock";
import type { Db } from "../lib/db.server";
import { ledgerEntry, webhookLogFields, type ComplianceDeps } from "./deps";
import { DataRequestClosedError, DataRequestNotFoundError } from "./errors";
import { claimWebhook } from "./ledger.server";
import { parseCustomersDataRequest, type ShopperRef } from "./payloads";
import { leadsOfShopper, normalizeEmail } from "./shopper-match";
import type { VerifiedWebhook } from "./verify-webhook.server";

/**
 * customers/data_request: the request is recorded for the merchant, who downloads the shopper's data from
 * the app's Privacy page and passes it on. The data is assembled at download time from what is held then,
 * so the request stores the shopper's (lower-cased) email and Shopify customer id, nothing else; the email
 * only when the shop holds leads for them at request time. Marking the request done erases both and keeps
 * the fact that it was answered. A customers/redact for the same shopper deletes the request.
 */

export interface RecordedDataRequest {
  outcome: "recorded" | "unknown_shop";
  /** Leads held about the shopper when the request arrived. */
  leads: number;
}

export async function recordDataRequest(deps: ComplianceDeps, webhook: VerifiedWebhook): Promise<RecordedDataRequest> {
  const { shopifyRequestId, shopper } = parseCustomersDataRequest(webhook.payload);
  const now = (deps.clock ?? systemClock).now();
  const result = await deps.db.$transaction(async (tx): Promise<RecordedDataRequest> => {
    await claimWebhook(tx, ledgerEntry(webhook), now);
    const shop = await tx.shop.findUnique({ where: { domain: webhook.shop }, select: { id: true } });
    if (!shop) return { outcome: "unknown_shop", leads: 0 };
    const leads = await tx.lead.count({ where: leadsOfShopper(shop.id, shopper) });
    await tx.dataRequest.upsert({
      where: { shopId_shopifyRequestId: { shopId: shop.id, shopifyRequestId } },
      create: {
        shopId: shop.id,
        shopifyRequestId,
        customerId: shopper.customerId,
        customerEmail: leads > 0 && shopper.email ? normalizeEmail(shopper.email) : null,
        createdAt: now,
      },
      update: {},
    });
    return { outcome: "recorded", leads };
  });
  deps.logger.info({ ...webhookLogFields(webhook), ...result }, "shopper data request recorded");
  return result;
}

export interface DataRequestRow {
  id: string;
  shopifyRequestId: string;
  customerId: string | null;
  customerEmail: string | null;
  createdAt: Date;
  /** Leads held about the shopper now. */
  leads: number;
}

export interface DataRequestList {
  open: DataRequestRow[];
  completed: number;
}

/** The shop's open requests, newest first, with what is held about each shopper now. */
export async function listDataRequests(db: Db, shopId: string): Promise<DataRequestList> {
  const [rows, completed] = await Promise.all([
    db.dataRequest.findMany({
      where: { shopId, fulfilledAt: null },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: 200,
      select: { id: true, shopifyRequestId: true, customerId: true, customerEmail: true, createdAt: true },
    }),
    db.dataRequest.count({ where: { shopId, fulfilledAt: { not: null } } }),
  ]);
  const open: DataRequestRow[] = [];
  for (const row of rows) open.push({ ...row, leads: await db.lead.count({ where: leadsOfShopper(shopId, shopperOf(row)) }) });
  return { open, completed };
}

/** Marks a request answered and erases its copy of the shopper's email and customer id. */
export async function completeDataRequest(db: Db, input: { shopId: string; requestId: string; clock?: Clock }): Promise<void> {
  const now = (input.clock ?? systemClock).now();
  const { count } = await db.dataRequest.updateMany({
    where: { id: input.requestId, shopId: input.shopId, fulfilledAt: null },
    data: { fulfilledAt: now, customerEmail: null, customerId: null },
  });
  if (count === 1) return;
  const exists = await db.dataRequest.count({ where: { id: input.requestId, shopId: input.shopId } });
  if (!exists) throw new DataRequestNotFoundError();
  // Already done: marking it again changes nothing.
}

/** The open request of this shop, or why there is none. */
export async function findOpenDataRequest(db: Db, shopId: string, requestId: string) {
  const row = await db.dataRequest.findFirst({
    where: { id: requestId, shopId },
    select: { id: true, shopifyRequestId: true, customerId: true, customerEmail: true, createdAt: true, fulfilledAt: true },
  });
  if (!row) throw new DataRequestNotFoundError();
  if (row.fulfilledAt) throw new DataRequestClosedError();
  return row;
}

export function shopperOf(row: { customerId: string | null; customerEmail: string | null }): ShopperRef {
  return { customerId: row.customerId, email: row.customerEmail };
}
