import type { Db } from "../lib/db.server";
import type { ShopRef } from "../shops/shops.server";
import { systemClock, type Clock } from "../delivery/clock";
import { DeliveryNotReplayableError } from "../delivery/errors";
import { buildLeadCapturedBody, serializeBody } from "../delivery/payload";
import { enqueueDelivery, enqueueNewDeliveries, type DeliveryQueue } from "../delivery/queue.server";
import { replayDelivery } from "../delivery/replay.server";
import { LIVE_STATES } from "./endpoints.server";
import { IntegrationEndpointNotFoundError } from "./errors";

/**
 * "Send to…" on a lead's row: that one lead to one destination, whatever the destination's filters (the
 * merchant asked for it). A lead the destination already has is sent again under its delivery id (a replay),
 * one on its way is left to go, and one it never had gets its delivery now.
 */

export class LeadNotFoundError extends Error {
  constructor() {
    super("This lead does not exist for your store.");
    this.name = "LeadNotFoundError";
  }
}

export type SendLeadResult = { outcome: "queued" | "replayed" | "already_on_its_way"; deliveryId: string };

export async function sendLeadToDestination(input: {
  db: Db;
  queue: DeliveryQueue;
  shop: ShopRef;
  leadId: string;
  destinationId: string;
  clock?: Clock;
}): Promise<SendLeadResult> {
  const { db, shop } = input;
  const now = (input.clock ?? systemClock).now();
  const destination = await db.destination.findFirst({
    where: { id: input.destinationId, shopId: shop.id, state: { in: [...LIVE_STATES] } },
    select: { id: true },
  });
  if (!destination) throw new IntegrationEndpointNotFoundError();
  const lead = await db.lead.findFirst({ where: { id: input.leadId, shopId: shop.id } });
  if (!lead) throw new LeadNotFoundError();

  const find = () => db.delivery.findFirst({
    where: { leadId: lead.id, destinationId: destination.id, event: "lead_captured" },
    select: { id: true, status: true, attemptCount: true },
  });
  let existing = await find();
  if (!existing) {
    try {
      const created = await db.delivery.create({
        data: {
          shopId: shop.id, destinationId: destination.id, leadId: lead.id, event: "lead_captured",
          payload: serializeBody(buildLeadCapturedBody(lead, shop.domain)), status: "pending", nextAttemptAt: now,
        },
        select: { id: true },
      });
      await enqueueNewDeliveries(input.queue, [{ id: created.id, destinationId: destination.id }]).catch(() => undefined);
      return { outcome: "queued", deliveryId: created.id };
    } catch (error) {
      // A second click, or a backfill, wrote it a moment ago.
      if ((error as { code?: unknown }).code !== "P2002") throw error;
      existing = await find();
      if (!existing) throw error;
    }
  }
  if (existing.status === "cancelled") {
    // Stopped earlier (a cancelled backfill): it starts over as a new round under the same id.
    await db.delivery.updateMany({
      where: { id: existing.id, status: "cancelled" },
      data: { status: "pending", nextAttemptAt: now, attemptsBeforeReplay: existing.attemptCount, lastError: null, lockedUntil: null },
    });
    await enqueueDelivery(input.queue, existing.id, { attempt: existing.attemptCount + 1, destinationId: destination.id }).catch(() => undefined);
    return { outcome: "replayed", deliveryId: existing.id };
  }
  try {
    await replayDelivery(db, input.queue, { shopId: shop.id, deliveryId: existing.id, clock: input.clock });
    return { outcome: "replayed", deliveryId: existing.id };
  } catch (error) {
    if (error instanceof DeliveryNotReplayableError && error.reason === "in_progress") return { outcome: "already_on_its_way", deliveryId: existing.id };
    throw error;
  }
}
