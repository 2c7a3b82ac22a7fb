import type { Db } from "../lib/db.server";
import type { KeyRing } from "../lib/secret-box.server";
import type { ShopRef } from "../shops/shops.server";
import { generateSigningSecret } from "../delivery/signing";
import { cancelPendingForEndpoint } from "../delivery/replay.server";
import { enqueueDelivery, type DeliveryQueue } from "../delivery/queue.server";
import { sealSigningSecret } from "./endpoint-secrets.server";
import { endpointViewSelect, LIVE_STATES, lockShopRow, toEndpointView, type EndpointView } from "./endpoints.server";
import { EndpointStateError, IntegrationEndpointNotFoundError } from "./errors";
import { MAX_OVERLAP_HOURS } from "./rotation-policy";

/**
 * Rotating the signing secret, pausing, resuming and disconnecting an endpoint. Each takes the shop from the
 * verified session and the endpoint id from the client, and finds the endpoint only by both together.
 */


export const PAUSED_BY_MERCHANT = "Paused by you. Leads are kept and nothing is sent until you resume.";

export interface RotateSecretInput {
  db: Db;
  shop: ShopRef;
  destinationId: string;
  ring: KeyRing;
  /**
   * How long the old secret keeps signing next to the new one (both signatures are sent). 0, the default,
   * retires it at once.
   */
  overlapHours?: number;
  now?: Date;
}

export async function rotateSigningSecret(input: RotateSecretInput): Promise<{ endpoint: EndpointView; secret: string }> {
  const { db, shop, ring } = input;
  const overlapHours = input.overlapHours ?? 0;
  if (!Number.isInteger(overlapHours) || overlapHours < 0 || overlapHours > MAX_OVERLAP_HOURS) {
    throw new RangeError(`overlapHours must be a whole number from 0 to ${MAX_OVERLAP_HOURS}`);
  }
  const now = input.now ?? new Date();
  const secret = generateSigningSecret();
  const row = await db.$transaction(async (tx) => {
    await lockShopRow(tx, shop);
    const current = await tx.destination.findFirst({
      where: { id: input.destinationId, shopId: shop.id, state: { in: [...LIVE_STATES] } },
      select: { id: true, shopId: true, kind: true, secretCiphertext: true, secretKeyVersion: true },
    });
    if (!current) throw new IntegrationEndpointNotFoundError();
    if (current.kind === "klaviyo") throw new EndpointStateError("Klaviyo requests are not signed: there is no signing secret to rotate.");
    const sealed = sealSigningSecret(secret, ring, current);
    const previous = overlapHours > 0
      ? {
        previousSecretCiphertext: current.secretCiphertext,
        previousSecretKeyVersion: current.secretKeyVersion,
        previousSecretUntil: new Date(now.getTime() + overlapHours * 3_600_000),
      }
      : { previousSecretCiphertext: null, previousSecretKeyVersion: null, previousSecretUntil: null };
    return tx.destination.update({
      where: { id: current.id },
      data: { secretCiphertext: sealed.stored, secretKeyVersion: sealed.keyVersion, ...previous },
      select: endpointViewSelect,
    });
  });
  return { endpoint: toEndpointView(row, now), secret };
}

export interface EndpointActionInput {
  db: Db;
  shop: ShopRef;
  destinationId: string;
  now?: Date;
}

/**
 * Disconnects at once. In one transaction the endpoint becomes "disconnected" (the worker checks the state
 * after claiming a delivery and before sending, so nothing is sent after this commits), the previous secret
 * is dropped, and every delivery still waiting for it becomes "cancelled", kept in the log as such.
 */
export async function disconnectEndpoint(input: EndpointActionInput): Promise<{ cancelled: number }> {
  const { db, shop } = input;
  const now = input.now ?? new Date();
  return db.$transaction(async (tx) => {
    await lockShopRow(tx, shop);
    const changed = await tx.destination.updateMany({
      where: { id: input.destinationId, shopId: shop.id, state: { in: [...LIVE_STATES] } },
      data: {
        state: "disconnected", disconnectedAt: now, pausedReason: null,
        previousSecretCiphertext: null, previousSecretKeyVersion: null, previousSecretUntil: null,
      },
    });
    if (changed.count !== 1) throw new IntegrationEndpointNotFoundError();
    return { cancelled: await cancelPendingForEndpoint(tx, input.destinationId) };
  });
}

export async function pauseEndpoint(input: EndpointActionInput): Promise<EndpointView> {
  return changeState(input, "active", { state: "paused", pausedReason: PAUSED_BY_MERCHANT }, "The webhook is already paused.");
}

/**
 * Resumes sending; the failure streak starts over so the endpoint is not shown as failing from the past.
 * Deliveries that waited while it was paused are woken at once (if Redis is unreachable the reconciler
 * finds them a little later); those that failed for good can be replayed from the delivery log.
 */
export async function resumeEndpoint(input: EndpointActionInput & { queue: DeliveryQueue }): Promise<{ endpoint: EndpointView; woken: number }> {
  const endpoint = await changeState(input, "paused", { state: "active", pausedReason: null, consecutiveFailures: 0, failingSince: null }, "The webhook is not paused.");
  // Only those that came due meanwhile: a retry still in the future keeps its own delayed job.
  const waiting = await input.db.delivery.findMany({
    where: {
      shopId: input.shop.id, destinationId: endpoint.id, status: { in: ["pending", "retrying"] },
      nextAttemptAt: { lte: input.now ?? new Date() },
    },
    select: { id: true, attemptCount: true },
    orderBy: { createdAt: "asc" },
    take: 1000,
  });
  let woken = 0;
  try {
    for (const d of waiting) {
      await enqueueDelivery(input.queue, d.id, { attempt: d.attemptCount + 1 });
      woken++;
    }
  } catch {
    // The rows are committed and due: the reconciler enqueues the rest.
  }
  return { endpoint, woken };
}

async function changeState(
  input: EndpointActionInput,
  from: "active" | "paused",
  data: { state: "active" | "paused"; pausedReason: string | null; consecutiveFailures?: number; failingSince?: null },
  wrongStateMessage: string,
): Promise<EndpointView> {
  const { db, shop } = input;
  const now = input.now ?? new Date();
  return db.$transaction(async (tx) => {
    await lockShopRow(tx, shop);
    const found = await tx.destination.findFirst({
      where: { id: input.destinationId, shopId: shop.id, state: { in: [...LIVE_STATES] } },
      select: { id: true, state: true },
    });
    if (!found) throw new IntegrationEndpointNotFoundError();
    if (found.state !== from) throw new EndpointStateError(wrongStateMessage);
    const row = await tx.destination.update({ where: { id: found.id }, data, select: endpointViewSelect });
    return toEndpointView(row, now);
  });
}
