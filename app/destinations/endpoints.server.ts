import type { Db, Prisma } from "../lib/db.server";
import type { KeyRing } from "../lib/secret-box.server";
import type { ShopRef } from "../shops/shops.server";
import { generateSigningSecret } from "../delivery/signing";
import { assertPublicDestination, DestinationRefusedError, type DestinationCheckOptions } from "../delivery/ssrf.server";
import { sealSigningSecret } from "./endpoint-secrets.server";
import {
  MAX_DESTINATIONS_PER_SHOP, isDestinationKind, parseEvents, parseProductIds, serializeEvents, serializeProductIds,
  type DestinationEvent, type DestinationKind,
} from "../delivery/destination-rules";
import { EndpointUrlRefusedError, IntegrationEndpointNotFoundError, TooManyDestinationsError } from "./errors";
import { webhookHealth, type WebhookHealth } from "./health";

/**
 * A shop's destinations: reading them for the admin, and connecting a signed webhook. Every lookup is by shop
 * id (from the verified session) together with any destination id the client sent, never by the client's id
 * alone.
 */

/** What the admin may see of a destination: never a secret, a key or their ciphertext. */
export interface EndpointView {
  id: string;
  kind: DestinationKind;
  name: string;
  url: string;
  state: "active" | "paused";
  health: WebhookHealth;
  pausedReason: string | null;
  consecutiveFailures: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  /** Since when the breaker has held its deliveries (the receiver stopped answering), and the next probe. */
  circuit: { openedAt: string; retryAt: string | null } | null;
  events: DestinationEvent[];
  /** Numeric Shopify product ids it is limited to; null for every product. */
  productIds: string[] | null;
  /** The kind's settings that are not secret (Klaviyo's metric and list), as stored. */
  settings: Record<string, unknown>;
  /** The last characters of its API key, to recognise it. */
  credentialsHint: string | null;
  createdAt: string;
  /** Until when the previous secret also signs (rotation overlap); null when only the current one signs. */
  previousSecretUntil: string | null;
}

export type DestinationView = EndpointView;

/** Destinations that still exist for the merchant; a disconnected one is history only. */
export const LIVE_STATES = ["active", "paused"] as const;

export const endpointViewSelect = {
  id: true, kind: true, name: true, url: true, state: true, pausedReason: true, consecutiveFailures: true, lastSuccessAt: true,
  lastFailureAt: true, circuitOpenedAt: true, circuitRetryAt: true, events: true, productIds: true, settings: true,
  credentialsHint: true, createdAt: true, previousSecretUntil: true,
} satisfies Prisma.DestinationSelect;

type EndpointViewRow = Prisma.DestinationGetPayload<{ select: typeof endpointViewSelect }>;

export function toEndpointView(row: EndpointViewRow, now: Date = new Date()): EndpointView {
  const overlap = row.previousSecretUntil && row.previousSecretUntil.getTime() > now.getTime() ? row.previousSecretUntil : null;
  return {
    id: row.id,
    kind: isDestinationKind(row.kind) ? row.kind : "webhook",
    name: row.name,
    url: row.url,
    state: row.state === "paused" ? "paused" : "active",
    health: webhookHealth(row),
    pausedReason: row.pausedReason,
    consecutiveFailures: row.consecutiveFailures,
    lastSuccessAt: row.lastSuccessAt?.toISOString() ?? null,
    lastFailureAt: row.lastFailureAt?.toISOString() ?? null,
    circuit: row.circuitOpenedAt ? { openedAt: row.circuitOpenedAt.toISOString(), retryAt: row.circuitRetryAt?.toISOString() ?? null } : null,
    events: parseEvents(row.events),
    productIds: parseProductIds(row.productIds),
    settings: parseSettings(row.settings),
    credentialsHint: row.credentialsHint,
    createdAt: row.createdAt.toISOString(),
    previousSecretUntil: overlap?.toISOString() ?? null,
  };
}

function parseSettings(stored: string | null): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(stored ?? "{}");
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The shop's connected (active or paused) destinations, oldest first. */
export async function listLiveDestinations(db: Db, shopId: string, now: Date = new Date()): Promise<EndpointView[]> {
  const rows = await db.destination.findMany({
    where: { shopId, state: { in: [...LIVE_STATES] } },
    orderBy: { createdAt: "asc" },
    select: endpointViewSelect,
  });
  return rows.map((row) => toEndpointView(row, now));
}

/** Refuses a new destination past the shop's limit; call inside the transaction that holds the shop's lock. */
export async function assertRoomForDestination(tx: Prisma.TransactionClient, shopId: string): Promise<void> {
  const live = await tx.destination.count({ where: { shopId, state: { in: [...LIVE_STATES] } } });
  if (live >= MAX_DESTINATIONS_PER_SHOP) throw new TooManyDestinationsError(MAX_DESTINATIONS_PER_SHOP);
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
  /** What the merchant calls it. @defaultValue "Webhook" */
  name?: string;
  /** @defaultValue only lead_captured */
  events?: readonly DestinationEvent[];
  /** Numeric product ids it is limited to; every product when absent. */
  productIds?: readonly string[] | null;
  /** The SSRF guard's resolver and address policy; production defaults when omitted. */
  destination?: DestinationCheckOptions;
  now?: Date;
}

export interface ConnectedEndpoint {
  endpoint: EndpointView;
  /** The new signing secret. Shown to the merchant once, in this answer; only its ciphertext is stored. */
  secret: string;
}

/** Connects a signed webhook destination (up to MAX_DESTINATIONS_PER_SHOP per shop), with a new signing secret. */
export async function connectEndpoint(input: ConnectEndpointInput): Promise<ConnectedEndpoint> {
  const { db, shop, ring } = input;
  const url = await vetEndpointUrl(input.url, input.destination);
  const now = input.now ?? new Date();
  const secret = generateSigningSecret();
  const row = await db.$transaction(async (tx) => {
    await lockShopRow(tx, shop);
    await assertRoomForDestination(tx, shop.id);
    // The ciphertext is bound to the destination id, which exists only once the row does: insert, then seal.
    const created = await tx.destination.create({
      data: {
        shopId: shop.id, kind: "webhook", name: destinationName(input.name, "Webhook"), url, state: "active",
        events: serializeEvents(input.events ?? ["lead_captured"]), productIds: serializeProductIds(input.productIds ?? null),
        secretCiphertext: "", secretKeyVersion: ring.currentVersion, createdAt: now,
      },
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

/** A destination's name as the merchant typed it, or the kind's own name. */
export function destinationName(typed: string | undefined, fallback: string): string {
  const name = (typed ?? "").trim().replace(/\s+/g, " ");
  return name ? name.slice(0, 60) : fallback;
}

/**
 * Serialises endpoint changes of one shop: the shop row is written (to itself) first, which makes PostgreSQL
 * hold a row lock until commit and SQLite take its write lock, so two concurrent connects cannot both see
 * "no endpoint yet".
 */
export async function lockShopRow(tx: Prisma.TransactionClient, shop: ShopRef): Promise<void> {
  await tx.shop.update({ where: { id: shop.id }, data: { domain: shop.domain }, select: { id: true } });
}
