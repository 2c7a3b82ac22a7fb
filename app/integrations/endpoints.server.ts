import type { Db, Prisma } from "../lib/db.server";
import type { KeyRing } from "../lib/secret-box.server";
import type { ShopRef } from "../shops/shops.server";
import { generateSigningSecret } from "../delivery/signing";
import { assertPublicDestination, DestinationRefusedError, type DestinationCheckOptions } from "../delivery/ssrf.server";
import { sealSigningSecret } from "./endpoint-secrets.server";
import { EndpointAlreadyConnectedError, EndpointUrlRefusedError, IntegrationEndpointNotFoundError } from "./errors";
import { webhookHealth, type WebhookHealth } from "./health";

/**
 * A shop's webhook endpoint: reading it for the admin, and connecting one. Every lookup is by shop id (from the
 * verified session) together with any endpoint id the client sent, never by the client's id alone.
 */

/** What the admin may see of an endpoint: never the secret or its ciphertext. */
export interface EndpointView {
  id: string;
  url: string;
  state: "active" | "paused";
  health: WebhookHealth;
  pausedReason: string | null;
  consecutiveFailures: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  createdAt: string;
  /** Until when the previous secret also signs (rotation overlap); null when only the current one signs. */
  previousSecretUntil: string | null;
}

/** Endpoints that still exist for the merchant; a disconnected one is history only. */
export const LIVE_STATES = ["active", "paused"] as const;

export const endpointViewSelect = {
  id: true, url: true, state: true, pausedReason: true, consecutiveFailures: true, lastSuccessAt: true,
  lastFailureAt: true, createdAt: true, previousSecretUntil: true,
} satisfies Prisma.DestinationSelect;

type EndpointViewRow = Prisma.DestinationGetPayload<{ select: typeof endpointViewSelect }>;

export function toEndpointView(row: EndpointViewRow, now: Date = new Date()): EndpointView {
  const overlap = row.previousSecretUntil && row.previousSecretUntil.getTime() > now.getTime() ? row.previousSecretUntil : null;
  return {
    id: row.id,
    url: row.url,
    state: row.state === "paused" ? "paused" : "active",
    health: webhookHealth(row),
    pausedReason: row.pausedReason,
    consecutiveFailures: row.consecutiveFailures,
    lastSuccessAt: row.lastSuccessAt?.toISOString() ?? null,
    lastFailureAt: row.lastFailureAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    previousSecretUntil: overlap?.toISOString() ?? null,
  };
}

/** The shop's connected (active or paused) endpoint, or null. */
export async function findLiveEndpoint(db: Db, shopId: string, now: Date = new Date()): Promise<EndpointView | null> {
  const row = await db.destination.findFirst({
    where: { shopId, state: { in: [...LIVE_STATES] } },
    orderBy: { createdAt: "desc" },
    select: endpointViewSelect,
  });
  return row ? toEndpointView(row, now) : null;
}

/** The endpoint `destinationId` if it is a live endpoint of `shopId`; otherwise not found (404 at the edge). */
export async function requireLiveEndpoint(db: Db, shopId: string, destinationId: string, now: Date = new Date()): Promise<EndpointView> {
  const row = await db.destination.findFirst({
    where: { id: destinationId, shopId, state: { in: [...LIVE_STATES] } },
    select: endpointViewSelect,
  });
  if (!row) throw new IntegrationEndpointNotFoundError();
  return toEndpointView(row, now);
}

/**
 * Checks a URL the merchant typed with the same guard the worker runs before every attempt, resolving the host
 * now, and returns it in its normalised form. Refusals carry the guard's plain-words reason.
 */
export async function vetEndpointUrl(rawUrl: string, destination: DestinationCheckOptions = {}): Promise<string> {
  const text = rawUrl.trim();
  if (!text) throw new EndpointUrlRefusedError("Enter the https:// URL of your receiver.", "invalid_url");
  try {
    const vetted = await assertPublicDestination(text, destination);
    return vetted.url.href;
  } catch (error) {
    if (error instanceof DestinationRefusedError) throw new EndpointUrlRefusedError(error.message, error.code);
    throw error;
  }
}

export interface ConnectEndpointInput {
  db: Db;
  shop: ShopRef;
  url: string;
  ring: KeyRing;
  /** The SSRF guard's resolver and address policy; production defaults when omitted. */
  destination?: DestinationCheckOptions;
  now?: Date;
}

export interface ConnectedEndpoint {
  endpoint: EndpointView;
  /** The new signing secret. Shown to the merchant once, in this answer; only its ciphertext is stored. */
  secret: string;
}

/**
 * Connects the shop's webhook. One endpoint per shop: connecting while one is active or paused is refused
 * (EndpointAlreadyConnectedError) so that a second click or a second tab never silently replaces a working
 * integration and its secret.
 */
export async function connectEndpoint(input: ConnectEndpointInput): Promise<ConnectedEndpoint> {
  const { db, shop, ring } = input;
  const url = await vetEndpointUrl(input.url, input.destination);
  const now = input.now ?? new Date();
  const secret = generateSigningSecret();
  const row = await db.$transaction(async (tx) => {
    await lockShopRow(tx, shop);
    const existing = await tx.destination.findFirst({ where: { shopId: shop.id, state: { in: [...LIVE_STATES] } }, select: { id: true } });
    if (existing) throw new EndpointAlreadyConnectedError();
    // The ciphertext is bound to the endpoint id, which exists only once the row does: insert, then seal.
    const created = await tx.destination.create({
      data: { shopId: shop.id, url, state: "active", secretCiphertext: "", secretKeyVersion: ring.currentVersion, createdAt: now },
      select: { id: true, shopId: true },
    });
    const sealed = sealSigningSecret(secret, ring, created);
    return tx.destination.update({
      where: { id: created.id },
      data: { secretCiphertext: sealed.stored, secretKeyVersion: sealed.keyVersion },
      select: endpointViewSelect,
    });
  });
  return { endpoint: toEndpointView(row, now), secret };
}

/**
 * Serialises endpoint changes of one shop: the shop row is written (to itself) first, which makes PostgreSQL
 * hold a row lock until commit and SQLite take its write lock, so two concurrent connects cannot both see
 * "no endpoint yet".
 */
export async function lockShopRow(tx: Prisma.TransactionClient, shop: ShopRef): Promise<void> {
  await tx.shop.update({ where: { id: shop.id }, data: { domain: shop.domain }, select: { id: true } });
}
