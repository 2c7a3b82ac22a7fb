import type { Db, Prisma } from "../lib/db.server";
import type { ShopRef } from "../shops/shops.server";
import { systemClock, type Clock } from "../delivery/clock";
import { parseEvents, parseProductIds } from "../delivery/destination-rules";
import { buildLeadCapturedBody, serializeBody } from "../delivery/payload";
import { enqueueNewDeliveries, type DeliveryQueue } from "../delivery/queue.server";
import { LIVE_STATES } from "./endpoints.server";
import { BackfillAlreadyRunningError, DestinationSettingsError, IntegrationEndpointNotFoundError } from "./errors";

/**
 * "Send earlier leads": a destination connected after leads came in receives them too. The merchant picks a
 * start date, sees how many leads that is and confirms; a Backfill row then records the run (what remains,
 * how far it got), and the background work moves it forward a batch at a time, writing the deliveries
 * through the outbox like new ones. The unique (lead, destination, event) index makes every lead go at most
 * once to a destination, whatever races: two runs, two processes, a lead it already had.
 */

export interface BackfillView {
  id: string;
  destinationId: string;
  since: string;
  status: "running" | "done" | "cancelled";
  total: number;
  processed: number;
  createdAt: string;
  finishedAt: string | null;
}

const backfillSelect = {
  id: true, destinationId: true, since: true, status: true, total: true, processed: true, createdAt: true, finishedAt: true,
} satisfies Prisma.BackfillSelect;

function toView(row: Prisma.BackfillGetPayload<{ select: typeof backfillSelect }>): BackfillView {
  return {
    id: row.id, destinationId: row.destinationId, since: row.since.toISOString(),
    status: row.status === "done" || row.status === "cancelled" ? row.status : "running",
    total: row.total, processed: Math.min(row.processed, row.total),
    createdAt: row.createdAt.toISOString(), finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/** The leads of a destination's shop a backfill sends: captured in [since, until), for its products. */
function backfillLeads(destination: { shopId: string; productIds: string | null }, since: Date, until: Date): Prisma.LeadWhereInput {
  const only = parseProductIds(destination.productIds);
  return {
    shopId: destination.shopId,
    capturedAt: { gte: since, lt: until },
    // The storefront sends numeric ids; older captures may hold the GID form of the same product.
    ...(only ? { productId: { in: only.flatMap((id) => [id, `gid://shopify/Product/${id}`]) } } : {}),
  };
}

async function liveDestination(db: Db | Prisma.TransactionClient, shopId: string, destinationId: string) {
  const destination = await db.destination.findFirst({
    where: { id: destinationId, shopId, state: { in: [...LIVE_STATES] } },
    select: { id: true, shopId: true, events: true, productIds: true },
  });
  if (!destination) throw new IntegrationEndpointNotFoundError();
  if (!parseEvents(destination.events).includes("lead_captured")) {
    throw new DestinationSettingsError("events", "This destination does not receive new leads. Turn on the “Lead captured” event first.");
  }
  return destination;
}

/** How many leads captured since `since` a backfill would send to the destination (for the confirmation). */
export async function countBackfill(input: { db: Db; shop: ShopRef; destinationId: string; since: Date; clock?: Clock }): Promise<number> {
  const now = (input.clock ?? systemClock).now();
  const destination = await liveDestination(input.db, input.shop.id, input.destinationId);
  return input.db.lead.count({ where: backfillLeads(destination, input.since, now) });
}

export async function startBackfill(input: { db: Db; shop: ShopRef; destinationId: string; since: Date; clock?: Clock }): Promise<BackfillView> {
  const now = (input.clock ?? systemClock).now();
  if (!(input.since.getTime() < now.getTime())) throw new DestinationSettingsError("since", "Pick a start date in the past.");
  return input.db.$transaction(async (tx) => {
    // The destination's row is written first, so two clicks that race are serialised on it.
    await tx.destination.updateMany({ where: { id: input.destinationId, shopId: input.shop.id }, data: { shopId: input.shop.id } });
    const destination = await liveDestination(tx, input.shop.id, input.destinationId);
    const running = await tx.backfill.count({ where: { destinationId: destination.id, status: "running" } });
    if (running > 0) throw new BackfillAlreadyRunningError();
    const total = await tx.lead.count({ where: backfillLeads(destination, input.since, now) });
    const row = await tx.backfill.create({
      data: { shopId: input.shop.id, destinationId: destination.id, since: input.since, until: now, total, status: total > 0 ? "running" : "done", finishedAt: total > 0 ? null : now },
      select: backfillSelect,
    });
    return toView(row);
  });
}

/** The destination's latest backfill, to show its progress (also after a page reload). */
export async function latestBackfill(db: Db, shopId: string, destinationId: string): Promise<BackfillView | null> {
  const row = await db.backfill.findFirst({ where: { shopId, destinationId }, orderBy: { createdAt: "desc" }, select: backfillSelect });
  return row ? toView(row) : null;
}

/**
 * Stops a run: no more leads are added, and the deliveries it made that have not been tried yet are cancelled
 * (shown as such in the log); those already sent stay sent.
 */
export async function cancelBackfill(input: { db: Db; shop: ShopRef; backfillId: string; clock?: Clock }): Promise<BackfillView> {
  const now = (input.clock ?? systemClock).now();
  return input.db.$transaction(async (tx) => {
    const { count } = await tx.backfill.updateMany({
      where: { id: input.backfillId, shopId: input.shop.id, status: "running" },
      data: { status: "cancelled", finishedAt: now },
    });
    const row = await tx.backfill.findFirst({ where: { id: input.backfillId, shopId: input.shop.id }, select: backfillSelect });
    if (!row) throw new IntegrationEndpointNotFoundError();
    if (count === 1) {
      await tx.delivery.updateMany({
        where: { backfillId: row.id, status: "pending", attemptCount: 0 },
        data: { status: "cancelled", lastError: "Cancelled: you stopped sending earlier leads." },
      });
    }
    return toView(row);
  });
}

export interface AdvanceOptions {
  db: Db;
  queue: DeliveryQueue;
  clock?: Clock;
  /** Leads per batch. @defaultValue 200 */
  batchSize?: number;
  /** Runs moved forward per call. @defaultValue 5 */
  runs?: number;
}

/**
 * Moves running backfills forward by one batch each: the next leads in (capturedAt, id) order get a delivery
 * to the destination unless they have one, and the run's cursor moves past them. Safe to call from any number
 * of processes at once: deliveries are unique per lead and destination, and only the caller that moves the
 * cursor counts the batch.
 */
export async function advanceBackfills(options: AdvanceOptions): Promise<{ runs: number; deliveries: number }> {
  const { db } = options;
  const batchSize = options.batchSize ?? 200;
  const now = (options.clock ?? systemClock).now();
  const running = await db.backfill.findMany({ where: { status: "running" }, orderBy: { createdAt: "asc" }, take: options.runs ?? 5 });
  let deliveries = 0;
  for (const run of running) {
    const destination = await db.destination.findFirst({
      where: { id: run.destinationId, state: { in: [...LIVE_STATES] } },
      select: { id: true, shopId: true, productIds: true, shop: { select: { domain: true } } },
    });
    if (!destination) {
      await db.backfill.updateMany({ where: { id: run.id, status: "running" }, data: { status: "cancelled", finishedAt: now } });
      continue;
    }
    const after: Prisma.LeadWhereInput = run.cursorCapturedAt && run.cursorLeadId
      ? { OR: [{ capturedAt: { gt: run.cursorCapturedAt } }, { capturedAt: run.cursorCapturedAt, id: { gt: run.cursorLeadId } }] }
      : {};
    const leads = await db.lead.findMany({
      where: { AND: [backfillLeads(destination, run.since, run.until), after] },
      orderBy: [{ capturedAt: "asc" }, { id: "asc" }],
      take: batchSize,
    });
    const created = await addDeliveries(db, destination, leads, run.id, now);
    const last = leads.at(-1);
    // Only the caller that moves the cursor from where it read it counts the batch.
    await db.backfill.updateMany({
      where: { id: run.id, status: "running", cursorLeadId: run.cursorLeadId, cursorCapturedAt: run.cursorCapturedAt },
      data: {
        processed: { increment: leads.length },
        ...(last ? { cursorCapturedAt: last.capturedAt, cursorLeadId: last.id } : {}),
        ...(leads.length < batchSize ? { status: "done", finishedAt: now } : {}),
      },
    });
    if (created.length > 0) {
      // Whoever wrote a delivery wakes it. If Redis is away the rows are committed and due: the reconciler sends them.
      await enqueueNewDeliveries(options.queue, created).catch(() => undefined);
      deliveries += created.length;
    }
  }
  return { runs: running.length, deliveries };
}

type LeadRow = Prisma.LeadGetPayload<object>;

/** One delivery per lead that has none to this destination yet; returns those written. */
async function addDeliveries(
  db: Db,
  destination: { id: string; shopId: string; shop: { domain: string } },
  leads: LeadRow[],
  backfillId: string,
  now: Date,
): Promise<{ id: string; destinationId: string }[]> {
  if (leads.length === 0) return [];
  const existing = await db.delivery.findMany({
    where: { destinationId: destination.id, event: "lead_captured", leadId: { in: leads.map((l) => l.id) } },
    select: { leadId: true },
  });
  const had = new Set(existing.map((d) => d.leadId));
  const created: { id: string; destinationId: string }[] = [];
  for (const lead of leads.filter((l) => !had.has(l.id))) {
    try {
      const row = await db.delivery.create({
        data: {
          shopId: destination.shopId, destinationId: destination.id, leadId: lead.id, event: "lead_captured", backfillId,
          payload: serializeBody(buildLeadCapturedBody(lead, destination.shop.domain)), status: "pending", nextAttemptAt: now,
        },
        select: { id: true },
      });
      created.push({ id: row.id, destinationId: destination.id });
    } catch (error) {
      // Another process wrote this lead's delivery a moment ago: it goes once, from there.
      if ((error as { code?: unknown }).code !== "P2002") throw error;
    }
  }
  return created;
}
