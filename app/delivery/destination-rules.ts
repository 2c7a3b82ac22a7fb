/**
 * What a destination is and which leads reach it: the closed set of kinds and events, and the filters a
 * merchant sets per destination (events, products). Pure: the outbox, the compliance handlers, the worker and
 * the admin all decide "does this destination get it?" with these.
 */

export const DESTINATION_KINDS = ["webhook", "klaviyo", "http_request"] as const;
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

/** Events a merchant chooses per destination. `test` is not among them: the test button always sends. */
export const DESTINATION_EVENTS = ["lead_captured", "lead_redacted"] as const;
export type DestinationEvent = (typeof DESTINATION_EVENTS)[number];

export const DEFAULT_EVENTS: readonly DestinationEvent[] = ["lead_captured"];

/** A destination that is not disconnected gets new deliveries; a paused one keeps them until it is resumed. */
export const RECEIVING_STATES = ["active", "paused"] as const;

/** Destinations a shop may have connected at once: enough for a CRM, an email tool and a few more. */
export const MAX_DESTINATIONS_PER_SHOP = 10;
/** Products one destination may be limited to. */
export const MAX_FILTER_PRODUCTS = 250;

export function isDestinationKind(value: unknown): value is DestinationKind {
  return typeof value === "string" && (DESTINATION_KINDS as readonly string[]).includes(value);
}

/** The stored events (JSON array); anything unreadable means the default, never "everything". */
export function parseEvents(stored: string | null | undefined): DestinationEvent[] {
  try {
    const parsed: unknown = JSON.parse(stored ?? "");
    if (Array.isArray(parsed)) {
      const events = DESTINATION_EVENTS.filter((e) => parsed.includes(e));
      if (events.length > 0) return events;
    }
  } catch {
    // fall through
  }
  return [...DEFAULT_EVENTS];
}

export function serializeEvents(events: readonly DestinationEvent[]): string {
  return JSON.stringify(DESTINATION_EVENTS.filter((e) => events.includes(e)));
}

/**
 * A product's numeric id, whatever form it came in: the storefront sends `8001`, App Bridge's resource picker
 * answers `gid://shopify/Product/8001`. Null for anything else.
 */
export function productKey(productId: string | null | undefined): string | null {
  const match = /^(?:gid:\/\/shopify\/Product\/)?(\d{1,20})$/.exec((productId ?? "").trim());
  return match ? match[1] : null;
}

/** The stored product filter (JSON array of numeric ids); null when the destination takes every product. */
export function parseProductIds(stored: string | null | undefined): string[] | null {
  if (!stored) return null;
  try {
    const parsed: unknown = JSON.parse(stored);
    if (!Array.isArray(parsed)) return null;
    const keys = parsed.map((p) => productKey(String(p))).filter((k): k is string => k !== null);
    return keys.length > 0 ? [...new Set(keys)] : null;
  } catch {
    return null;
  }
}

export function serializeProductIds(productIds: readonly string[] | null): string | null {
  if (!productIds) return null;
  const keys = [...new Set(productIds.map(productKey).filter((k): k is string => k !== null))];
  return keys.length > 0 ? JSON.stringify(keys) : null;
}

/** Whether a destination with these filters receives `event` for a lead of `productId`. */
export function receives(
  destination: { events: string | null; productIds: string | null },
  event: DestinationEvent,
  productId?: string | null,
): boolean {
  if (!parseEvents(destination.events).includes(event)) return false;
  if (event !== "lead_captured") return true;
  const only = parseProductIds(destination.productIds);
  if (!only) return true;
  const key = productKey(productId);
  return key !== null && only.includes(key);
}
