import type { Db, Prisma } from "../lib/db.server";
import type { DeliveryErrorCode, DeliveryStatus, WebhookEvent } from "../delivery/types";
import { textProblem } from "../lib/input-policy";
import { endOfDay, startOfDay, type DeliveryLogFilters } from "./delivery-log-filters";

/**
 * The delivery log the merchant reads: each delivery with its attempts, newest first, paged by keyset.
 * Never the payload (it holds the shopper's email), never a signature or a secret.
 */

export const DELIVERY_LOG_PAGE_SIZE = 25;
/** How much of an endpoint's answer the log shows per attempt. */
export const LOG_EXCERPT_CHARS = 200;

export interface AttemptView {
  number: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  errorCode: DeliveryErrorCode | null;
  errorMessage: string | null;
  responseExcerpt: string | null;
}

export interface DeliveryView {
  id: string;
  event: WebhookEvent;
  status: DeliveryStatus;
  leadId: string | null;
  destinationId: string;
  /** The destination's name as the merchant sees it in the Destinations card. */
  destinationName: string;
  createdAt: string;
  deliveredAt: string | null;
  /** When the next attempt is due, for deliveries still waiting. */
  nextAttemptAt: string | null;
  attemptCount: number;
  lastError: string | null;
  lastStatusCode: number | null;
  attempts: AttemptView[];
}

export interface DeliveryLogPage {
  rows: DeliveryView[];
  nextCursor: string | null;
}

export interface ListDeliveriesInput {
  db: Db;
  shopId: string;
  /** One endpoint's log; when omitted, every endpoint of the shop (e.g. a lead's history). */
  destinationId?: string;
  filters: DeliveryLogFilters;
  after?: string | null;
  pageSize?: number;
}

const WAITING: ReadonlySet<string> = new Set(["pending", "retrying"]);

export function deliveryLogWhere(shopId: string, destinationId: string | undefined, filters: DeliveryLogFilters): Prisma.DeliveryWhereInput {
  const where: Prisma.DeliveryWhereInput = { shopId };
  if (destinationId) where.destinationId = destinationId;
  if (filters.status) where.status = filters.status;
  if (filters.lead) where.leadId = filters.lead;
  const createdAt: Prisma.DateTimeFilter = {};
  if (filters.from) createdAt.gte = startOfDay(filters.from);
  if (filters.to) createdAt.lt = endOfDay(filters.to);
  if (createdAt.gte || createdAt.lt) where.createdAt = createdAt;
  return where;
}

function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt.getTime(), row.id])).toString("base64url");
}

/** The last moment a Date can hold. */
const MAX_TIME_MS = 8.64e15;

function decodeCursor(raw: string): { createdAt: Date; id: string } | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
    if (
      Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && Math.abs(value[0]) <= MAX_TIME_MS &&
      typeof value[1] === "string" && textProblem(value[1], { maxLength: 64 }) === null
    ) {
      return { createdAt: new Date(value[0]), id: value[1] };
    }
  } catch {
    // an unreadable cursor starts from the top
  }
  return null;
}

export async function listDeliveries(input: ListDeliveriesInput): Promise<DeliveryLogPage> {
  const { db, shopId } = input;
  const pageSize = input.pageSize ?? DELIVERY_LOG_PAGE_SIZE;
  const base = deliveryLogWhere(shopId, input.destinationId, input.filters);
  const cursor = input.after ? decodeCursor(input.after) : null;
  const where: Prisma.DeliveryWhereInput = cursor
    ? {
      AND: [base, {
        createdAt: { lte: cursor.createdAt },
        OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
      }],
    }
    : base;
  const found = await db.delivery.findMany({
    where,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: pageSize + 1,
    select: {
      id: true, event: true, status: true, leadId: true, destinationId: true, createdAt: true, deliveredAt: true,
      nextAttemptAt: true, attemptCount: true, lastError: true, lastStatusCode: true,
      destination: { select: { name: true } },
      attempts: {
        orderBy: { number: "desc" },
        select: { number: true, startedAt: true, durationMs: true, statusCode: true, errorCode: true, errorMessage: true, responseExcerpt: true },
      },
    },
  });
  const page = found.slice(0, pageSize);
  return {
    rows: page.map((d) => ({
      id: d.id,
      event: d.event as WebhookEvent,
      status: d.status as DeliveryStatus,
      leadId: d.leadId,
      destinationId: d.destinationId,
      destinationName: d.destination.name,
      createdAt: d.createdAt.toISOString(),
      deliveredAt: d.deliveredAt?.toISOString() ?? null,
      nextAttemptAt: WAITING.has(d.status) ? d.nextAttemptAt.toISOString() : null,
      attemptCount: d.attemptCount,
      lastError: d.lastError,
      lastStatusCode: d.lastStatusCode,
      attempts: d.attempts.map((a) => ({
        number: a.number,
        startedAt: a.startedAt.toISOString(),
        durationMs: a.durationMs,
        statusCode: a.statusCode,
        errorCode: a.errorCode as DeliveryErrorCode | null,
        errorMessage: a.errorMessage,
        responseExcerpt: a.responseExcerpt ? a.responseExcerpt.slice(0, LOG_EXCERPT_CHARS) : null,
      })),
    })),
    nextCursor: found.length > pageSize ? encodeCursor(page[page.length - 1]) : null,
  };
}
