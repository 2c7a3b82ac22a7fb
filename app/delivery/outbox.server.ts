import type pg from "pg";
import { postgresPoolsOf, sqlTimestamp, type Db, type Prisma } from "../lib/db.server";
import { createBatcher, type Batched } from "../lib/batcher";
import { newId } from "../lib/ids";
import { systemClock, type Clock } from "./clock";
import { EndpointNotFoundError } from "./errors";
import { buildLeadCapturedBody, buildTestBody, serializeBody } from "./payload";
import { productKey, receives, RECEIVING_STATES } from "./destination-rules";
import type { DeliveryStatus } from "./types";

/**
 * The transactional outbox. A lead and the deliveries that will carry it to every active endpoint are
 * written in one database transaction: either the merchant has the lead and it is on its way to their
 * CRM, or neither happened. Enqueueing happens only after the commit (`enqueueDeliveries`); if the process
 * dies in between, the reconciler finds the pending rows and enqueues them.
 */

export interface CapturedLead {
  shopId: string;
  /** The shop's myshopify domain, as sent in the body. */
  shopDomain: string;
  email: string;
  productId: string;
  productTitle: string;
  productUrl: string;
  variantId?: string | null;
  variantTitle?: string | null;
  /** What the shopper saw (never the photo). */
  resultContext?: Record<string, unknown> | null;
  /** Only consented leads are stored; the type makes the caller check first. */
  consent: true;
  tagged?: boolean;
  customerId?: string | null;
  utm?: { source?: string | null; medium?: string | null; campaign?: string | null; term?: string | null; content?: string | null };
  pageUrl?: string | null;
  /** Makes a retried capture request store the lead once. */
  idempotencyKey?: string | null;
  /** What the idempotency key is bound to (see submissionHash), stored with the lead. */
  submissionHash?: string | null;
}

export type StoredLead = Prisma.LeadGetPayload<object>;

export interface RecordedLead {
  lead: StoredLead;
  /** Deliveries to enqueue once this call has returned (empty for a repeated idempotency key). */
  deliveryIds: string[];
  /** The same deliveries with their destinations, in the same order. */
  deliveries: { id: string; destinationId: string }[];
  /** True when the idempotency key was seen before: nothing new was written. */
  duplicate: boolean;
}

const PENDING: DeliveryStatus = "pending";

/*
 * Destinations that get a delivery for a new lead: those taking `lead_captured` for its product (see
 * destination-rules.ts). A paused one (410 Gone, a rejected key, or paused by the merchant) gets one too: it
 * waits, unsent, and goes out when the destination is resumed, so leads captured during a pause still reach
 * the CRM. Only a disconnected destination receives nothing more.
 */

export interface RecordLeadOptions {
  clock?: Clock;
  /**
   * PostgreSQL: leads a process holds waiting for the write in progress; one more is refused with
   * BatcherFullError (the capture route's 503). Read when the process's first lead is written. @defaultValue 2000
   */
  maxWaiting?: number;
}

export async function recordLeadWithDeliveries(
  db: Db,
  input: CapturedLead,
  options: RecordLeadOptions = {},
): Promise<RecordedLead> {
  const now = (options.clock ?? systemClock).now();
  const pool = postgresPoolsOf(db)?.durable;
  if (pool) return recordInOneStatement(db, pool, input, now, options.maxWaiting);
  try {
    return await db.$transaction(async (tx) => {
      if (input.idempotencyKey) {
        const existing = await findByIdempotencyKey(tx, input.shopId, input.idempotencyKey);
        if (existing) return { lead: existing, deliveryIds: [], deliveries: [], duplicate: true };
      }
      const lead = await tx.lead.create({ data: leadData(input, now) });
      await tx.triedProduct.upsert({
        where: { shopId_productId: { shopId: input.shopId, productId: input.productId } },
        create: { shopId: input.shopId, productId: input.productId, title: input.productTitle, url: input.productUrl, lastTriedAt: now },
        update: { title: input.productTitle, url: input.productUrl, lastTriedAt: now },
      });
      const payload = serializeBody(buildLeadCapturedBody(lead, input.shopDomain));
      const candidates = await tx.destination.findMany({
        where: { shopId: input.shopId, state: { in: [...RECEIVING_STATES] } },
        select: { id: true, events: true, productIds: true },
        orderBy: { createdAt: "asc" },
      });
      const endpoints = candidates.filter((d) => receives(d, "lead_captured", input.productId));
      const deliveries: { id: string; destinationId: string }[] = [];
      for (const endpoint of endpoints) {
        const delivery = await tx.delivery.create({
          data: {
            shopId: input.shopId, destinationId: endpoint.id, leadId: lead.id, event: "lead_captured",
            payload, status: PENDING, nextAttemptAt: now,
          },
          select: { id: true },
        });
        deliveries.push({ id: delivery.id, destinationId: endpoint.id });
      }
      return { lead, deliveryIds: deliveries.map((d) => d.id), deliveries, duplicate: false };
    });
  } catch (error) {
    // Two requests with one idempotency key raced; the loser returns what the winner stored.
    if (input.idempotencyKey && isUniqueViolation(error)) {
      const existing = await findByIdempotencyKey(db, input.shopId, input.idempotencyKey);
      if (existing) return { lead: existing, deliveryIds: [], deliveries: [], duplicate: true };
    }
    throw error;
  }
}

/**
 * recordLeadWithDeliveries on PostgreSQL: the lead, its product and its deliveries in one statement
 * (atomic like a transaction), shared with the leads captured at the same moment (see createBatcher).
 * A repeated idempotency key inserts nothing at all.
 */
async function recordInOneStatement(db: Db, pool: pg.Pool, input: CapturedLead, now: Date, maxWaiting?: number): Promise<RecordedLead> {
  const lead: StoredLead = { id: newId(now.getTime()), ...leadData(input, now) } as StoredLead;
  const payload = serializeBody(buildLeadCapturedBody(lead, input.shopDomain));
  const deliveries = await leadWritersOf(pool, maxWaiting)({ lead, payload });
  if (deliveries) return { lead, deliveryIds: deliveries.map((d) => d.id), deliveries, duplicate: false };
  // The key was stored before (or by a request that raced this one and committed first).
  const existing = input.idempotencyKey ? await findByIdempotencyKey(db, input.shopId, input.idempotencyKey) : null;
  if (!existing) throw new Error("The lead was neither stored nor found by its idempotency key.");
  return { lead: existing, deliveryIds: [], deliveries: [], duplicate: true };
}

type WrittenDeliveries = { id: string; destinationId: string }[];

interface LeadToWrite {
  lead: StoredLead;
  payload: string;
}

const LEAD_COLUMNS = [
  ["id", "text"], ["shopId", "text"], ["email", "text"], ["emailSearch", "text"], ["productId", "text"], ["productTitle", "text"],
  ["productUrl", "text"], ["variantId", "text"], ["variantTitle", "text"], ["resultContext", "text"], ["consent", "boolean"],
  ["tagged", "boolean"], ["taggedAt", "timestamp(3)"], ["customerId", "text"], ["taggingState", "text"], ["utmSource", "text"], ["utmMedium", "text"],
  ["utmCampaign", "text"], ["utmTerm", "text"], ["utmContent", "text"], ["pageUrl", "text"], ["idempotencyKey", "text"],
  ["submissionHash", "text"], ["capturedAt", "timestamp(3)"],
] as const satisfies readonly (readonly [keyof StoredLead, string])[];

const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(", ");
const LEAD_COLUMN_LIST = quoted(LEAD_COLUMNS.map(([name]) => name));

/**
 * Writes leads with their products and deliveries; answers, per lead, the ids of its deliveries, or null
 * for a lead not written because its idempotency key was taken. Products are upserted in key order, so
 * two statements that touch the same products take their row locks in the same order.
 */
async function writeLeads(pool: pg.Pool, items: LeadToWrite[]): Promise<(WrittenDeliveries | null)[]> {
  const arrays = LEAD_COLUMNS.map(([name, type], i) => `$${i + 1}::${type}[]`).join(", ");
  const payloadParam = `$${LEAD_COLUMNS.length + 1}::text[]`;
  const productKeyParam = `$${LEAD_COLUMNS.length + 2}::text[]`;
  const statesParam = `$${LEAD_COLUMNS.length + 3}::text[]`;
  const { rows } = await pool.query<{ id: string; deliveryIds: string[]; destinationIds: string[] }>({
    name: "tryon_write_leads",
    text: `
      WITH input AS (
        SELECT * FROM unnest(${arrays}, ${payloadParam}, ${productKeyParam}) AS i(${LEAD_COLUMN_LIST}, "payload", "productKey")
      ), lead AS (
        INSERT INTO "Lead" (${LEAD_COLUMN_LIST})
        SELECT ${LEAD_COLUMN_LIST} FROM input
        ON CONFLICT ("shopId", "idempotencyKey") DO NOTHING
        RETURNING "id"
      ), product AS (
        INSERT INTO "TriedProduct" ("shopId", "productId", "title", "url", "lastTriedAt")
        SELECT DISTINCT ON (i."shopId", i."productId") i."shopId", i."productId", i."productTitle", i."productUrl", i."capturedAt"
        FROM input AS i JOIN lead ON lead."id" = i."id"
        ORDER BY i."shopId", i."productId", i."capturedAt" DESC
        ON CONFLICT ("shopId", "productId") DO UPDATE SET "title" = EXCLUDED."title", "url" = EXCLUDED."url", "lastTriedAt" = EXCLUDED."lastTriedAt"
      ), delivery AS (
        INSERT INTO "Delivery" ("id", "shopId", "destinationId", "leadId", "event", "payload", "status", "nextAttemptAt", "createdAt", "updatedAt")
        SELECT 'c' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 24), i."shopId", e."id", i."id", 'lead_captured', i."payload",
          'pending', i."capturedAt", i."capturedAt", i."capturedAt"
        FROM input AS i JOIN lead ON lead."id" = i."id"
          CROSS JOIN LATERAL (
            SELECT "id" FROM "Destination" WHERE "shopId" = i."shopId" AND ("state" = ANY(${statesParam})) IS TRUE
              AND ("events"::jsonb ? 'lead_captured') IS TRUE
              AND ("productIds" IS NULL OR "productIds"::jsonb ? i."productKey") IS TRUE
            LIMIT 100
          ) AS e
        RETURNING "id", "leadId", "destinationId"
      )
      SELECT lead."id",
        ARRAY(SELECT d."id" FROM delivery AS d WHERE d."leadId" = lead."id" ORDER BY d."id") AS "deliveryIds",
        ARRAY(SELECT d."destinationId" FROM delivery AS d WHERE d."leadId" = lead."id" ORDER BY d."id") AS "destinationIds"
      FROM lead`,
    values: [
      ...LEAD_COLUMNS.map(([name, type]) =>
        items.map(({ lead }) => {
          const value = lead[name];
          return type === "timestamp(3)" && value instanceof Date ? sqlTimestamp(value) : value;
        })),
      items.map((item) => item.payload),
      items.map((item) => productKey(item.lead.productId)),
      [...RECEIVING_STATES],
    ],
  });
  const written = new Map(rows.map((r) => [r.id, r.deliveryIds.map((id, i) => ({ id, destinationId: r.destinationIds[i] }))]));
  return items.map(({ lead }) => written.get(lead.id) ?? null);
}

const leadWriters = new WeakMap<pg.Pool, Batched<LeadToWrite, WrittenDeliveries | null>>();

function leadWritersOf(pool: pg.Pool, maxWaiting = 2_000): Batched<LeadToWrite, WrittenDeliveries | null> {
  let writer = leadWriters.get(pool);
  if (!writer) {
    // A backlog past a few seconds of captures means the database is not keeping up: refuse (the capture
    // route answers 503) rather than hold ever more requests and their memory.
    writer = createBatcher({ runBatch: (items) => writeLeads(pool, items), maxBatch: 100, maxInFlight: 1, maxWaiting });
    leadWriters.set(pool, writer);
  }
  return writer;
}

/**
 * A "test" delivery for the "Send test webhook" button: a made-up shopper, sent through the same worker,
 * signing and history as a real lead. The caller enqueues the returned id.
 */
export async function createTestDelivery(
  db: Db,
  endpoint: { id: string; shopId: string },
  options: { clock?: Clock } = {},
): Promise<string> {
  const now = (options.clock ?? systemClock).now();
  const row = await db.destination.findFirst({
    where: { id: endpoint.id, shopId: endpoint.shopId, state: { not: "disconnected" } },
    select: { id: true, shop: { select: { domain: true } } },
  });
  if (!row) throw new EndpointNotFoundError();
  const delivery = await db.delivery.create({
    data: {
      shopId: endpoint.shopId, destinationId: row.id, event: "test",
      payload: serializeBody(buildTestBody(row.shop.domain, now)), status: PENDING, nextAttemptAt: now,
    },
    select: { id: true },
  });
  return delivery.id;
}

type LeadReader = Pick<Prisma.TransactionClient, "lead">;

function findByIdempotencyKey(db: LeadReader, shopId: string, idempotencyKey: string) {
  return db.lead.findUnique({ where: { shopId_idempotencyKey: { shopId, idempotencyKey } } });
}

function leadData(input: CapturedLead, now: Date): Prisma.LeadUncheckedCreateInput {
  return {
    shopId: input.shopId,
    email: input.email,
    emailSearch: input.email.normalize("NFC").toLowerCase(),
    productId: input.productId,
    productTitle: input.productTitle,
    productUrl: input.productUrl,
    variantId: input.variantId ?? null,
    variantTitle: input.variantTitle ?? null,
    resultContext: input.resultContext ? JSON.stringify(input.resultContext) : null,
    consent: input.consent,
    tagged: input.tagged ?? false,
    taggedAt: input.tagged ? now : null,
    customerId: input.customerId ?? null,
    // A lead stored as already tagged needs no tagging job; any other waits for one.
    taggingState: input.tagged ? "done" : "pending",
    utmSource: input.utm?.source || null,
    utmMedium: input.utm?.medium || null,
    utmCampaign: input.utm?.campaign || null,
    utmTerm: input.utm?.term || null,
    utmContent: input.utm?.content || null,
    pageUrl: input.pageUrl || null,
    idempotencyKey: input.idempotencyKey || null,
    submissionHash: input.submissionHash ?? null,
    capturedAt: now,
  };
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2002";
}
