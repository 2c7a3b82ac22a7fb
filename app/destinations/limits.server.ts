import type { DestinationLimits } from "../delivery/destination-gate.server";
import type { Db } from "../lib/db.server";
import { parseKlaviyoSettings } from "./klaviyo/destination";
import { klaviyoDeliveryRate } from "./klaviyo/klaviyo-api";

/**
 * Each destination's own limits for the worker's gate, from its kind: Klaviyo's published API limits (a share
 * of the account's quota, which other integrations use too); none for a webhook or an HTTP request, which get
 * the configured defaults. Looked up once per destination and kept briefly, so the gate costs no query per
 * attempt.
 */
export function createDestinationLimits(db: Db, options: { ttlMs?: number; max?: number } = {}) {
  const ttlMs = options.ttlMs ?? 30_000;
  const max = options.max ?? 10_000;
  const cache = new Map<string, { limits: DestinationLimits | undefined; until: number }>();
  return async (destinationId: string): Promise<DestinationLimits | undefined> => {
    const now = Date.now();
    const hit = cache.get(destinationId);
    if (hit && hit.until > now) return hit.limits;
    const row = await db.destination.findUnique({ where: { id: destinationId }, select: { kind: true, settings: true, events: true } });
    const limits = row ? limitsOf(row) : undefined;
    if (cache.size >= max) cache.clear();
    cache.set(destinationId, { limits, until: now + ttlMs });
    return limits;
  };
}

export function limitsOf(destination: { kind: string; settings: string | null; events: string }): DestinationLimits | undefined {
  if (destination.kind !== "klaviyo") return undefined;
  // The slowest request an attempt may make sets the pace: a subscription when a list is chosen, a deletion
  // when erasures are passed on (rare, and Klaviyo's Retry-After covers the rest).
  const rate = klaviyoDeliveryRate(parseKlaviyoSettings(destination.settings).listId ? "lead_with_subscription" : "lead");
  return { ratePerSecond: rate.perSecond, burst: rate.burst };
}
