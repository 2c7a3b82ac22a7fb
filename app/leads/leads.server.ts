import type { Db, Prisma } from "../lib/db.server";
import { textProblem } from "../lib/input-policy";
import type { LeadFilters } from "./filters";

export const LEADS_PAGE_SIZE = 50;

/** A position in the (capturedAt desc, id desc) order: the page boundary a keyset cursor points at. */
export interface LeadCursor {
  capturedAt: Date;
  id: string;
}

export class InvalidCursorError extends Error {
  constructor() {
    super("Invalid page cursor");
    this.name = "InvalidCursorError";
  }
}

export function encodeCursor(cursor: LeadCursor): string {
  return Buffer.from(JSON.stringify([cursor.capturedAt.getTime(), cursor.id])).toString("base64url");
}

/** The last moment a Date can hold. */
const MAX_TIME_MS = 8.64e15;

export function decodeCursor(raw: string): LeadCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
    if (
      Array.isArray(value) && value.length === 2 &&
      Number.isSafeInteger(value[0]) && Math.abs(value[0]) <= MAX_TIME_MS &&
      typeof value[1] === "string" && textProblem(value[1], { maxLength: 64 }) === null
    ) {
      return { capturedAt: new Date(value[0]), id: value[1] };
    }
  } catch {
    // falls through to the error below
  }
  throw new InvalidCursorError();
}

/** Upper bound for a prefix range: every string starting with `prefix` sorts below it (binary collation). */
const PREFIX_END = "\uffff";

/** The where-clause for a shop's leads under the given filters. The shop id comes from a verified session. */
export function leadsWhere(shopId: string, filters: LeadFilters): Prisma.LeadWhereInput {
  const where: Prisma.LeadWhereInput = { shopId };
  const and: Prisma.LeadWhereInput[] = [];
  if (filters.q) {
    // A range plus the prefix test: the range lets both databases walk the (shopId, emailSearch) index.
    and.push({ emailSearch: { gte: filters.q, lt: filters.q + PREFIX_END } }, { emailSearch: { startsWith: filters.q } });
  }
  if (filters.product) where.productId = filters.product;
  const capturedAt: Prisma.DateTimeFilter = {};
  if (filters.from) capturedAt.gte = new Date(`${filters.from}T00:00:00.000Z`);
  if (filters.to) capturedAt.lt = new Date(Date.parse(`${filters.to}T00:00:00.000Z`) + 86_400_000);
  if (capturedAt.gte || capturedAt.lt) and.push({ capturedAt });
  if (and.length) where.AND = and;
  return where;
}

/** Rows strictly after (older than) or before (newer than) a cursor in the newest-first order. */
export function cursorWhere(cursor: LeadCursor, direction: "after" | "before"): Prisma.LeadWhereInput {
  const strict = direction === "after" ? "lt" : "gt";
  const inclusive = direction === "after" ? "lte" : "gte";
  return {
    // The inclusive bound lets the index range start at the cursor; the OR breaks ties on id.
    capturedAt: { [inclusive]: cursor.capturedAt },
    OR: [{ capturedAt: { [strict]: cursor.capturedAt } }, { capturedAt: cursor.capturedAt, id: { [strict]: cursor.id } }],
  };
}

export const leadRowSelect = {
  id: true,
  email: true,
  productId: true,
  productTitle: true,
  productUrl: true,
  variantTitle: true,
  tagged: true,
  consent: true,
  capturedAt: true,
  utmSource: true,
  utmMedium: true,
  utmCampaign: true,
  utmTerm: true,
  utmContent: true,
  pageUrl: true,
  variantId: true,
} satisfies Prisma.LeadSelect;

export type DeliverySummary = "not_sent" | "pending" | "delivering" | "retrying" | "delivered" | "failed" | "cancelled";

export interface LeadRow {
  id: string;
  email: string;
  productId: string;
  productTitle: string;
  productUrl: string;
  variantTitle: string | null;
  tagged: boolean;
  /** "failed": Shopify will not be asked again (see Lead.taggingError). */
  taggingState: string;
  capturedAt: string;
  delivery: DeliverySummary;
}

export interface LeadPage {
  rows: LeadRow[];
  nextCursor: string | null;
  previousCursor: string | null;
}

export interface ListLeadsParams {
  db: Db;
  shopId: string;
  filters: LeadFilters;
  after?: string | null;
  before?: string | null;
  pageSize?: number;
}

/** One page of a shop's leads, newest first, by keyset: the cost does not grow with the page's depth. */
export async function listLeads({ db, shopId, filters, after, before, pageSize = LEADS_PAGE_SIZE }: ListLeadsParams): Promise<LeadPage> {
  const base = leadsWhere(shopId, filters);
  const backwards = !after && Boolean(before);
  const cursor = after ? decodeCursor(after) : before ? decodeCursor(before) : null;
  const where: Prisma.LeadWhereInput = cursor
    ? { AND: [base, cursorWhere(cursor, backwards ? "before" : "after")] }
    : base;
  const order = backwards ? "asc" : "desc";
  const found = await db.lead.findMany({
    where,
    orderBy: [{ capturedAt: order }, { id: order }],
    take: pageSize + 1,
    select: { id: true, email: true, productId: true, productTitle: true, productUrl: true, variantTitle: true, tagged: true, taggingState: true, capturedAt: true },
  });
  const hasMore = found.length > pageSize;
  const page = found.slice(0, pageSize);
  if (backwards) page.reverse();

  const statuses = await deliverySummaries(db, shopId, page.map((l) => l.id));
  const rows: LeadRow[] = page.map((l) => ({
    ...l,
    capturedAt: l.capturedAt.toISOString(),
    delivery: statuses.get(l.id) ?? "not_sent",
  }));
  const first = page[0];
  const last = page[page.length - 1];
  const moreAfter = backwards ? Boolean(cursor) : hasMore;
  const moreBefore = backwards ? hasMore : Boolean(cursor);
  return {
    rows,
    nextCursor: moreAfter && last ? encodeCursor(last) : null,
    previousCursor: moreBefore && first ? encodeCursor(first) : null,
  };
}

const SUMMARY_RANK: Record<string, number> = {
  failed: 6, retrying: 5, delivering: 4, pending: 3, delivered: 2, cancelled: 1,
};

/** One status per lead across its deliveries: the one that most needs the merchant's eye wins. */
async function deliverySummaries(db: Db, shopId: string, leadIds: string[]): Promise<Map<string, DeliverySummary>> {
  const summary = new Map<string, DeliverySummary>();
  if (leadIds.length === 0) return summary;
  const deliveries = await db.delivery.findMany({
    where: { shopId, leadId: { in: leadIds }, event: "lead_captured" },
    select: { leadId: true, status: true },
  });
  for (const d of deliveries) {
    if (!d.leadId) continue;
    const current = summary.get(d.leadId);
    if (!current || (SUMMARY_RANK[d.status] ?? 0) > (SUMMARY_RANK[current] ?? 0)) {
      summary.set(d.leadId, d.status as DeliverySummary);
    }
  }
  return summary;
}

/** Products shoppers tried on in this shop, for the product filter. */
export async function listTriedProducts(db: Db, shopId: string) {
  return db.triedProduct.findMany({
    where: { shopId },
    orderBy: { title: "asc" },
    take: 500,
    select: { productId: true, title: true },
  });
}
