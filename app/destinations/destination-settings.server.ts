import type { Db } from "../lib/db.server";
import type { ShopRef } from "../shops/shops.server";
import { MAX_FILTER_PRODUCTS, productKey, serializeEvents, serializeProductIds, type DestinationEvent } from "../delivery/destination-rules";
import { destinationName, endpointViewSelect, LIVE_STATES, toEndpointView, type EndpointView } from "./endpoints.server";
import { DestinationSettingsError, IntegrationEndpointNotFoundError } from "./errors";

/**
 * What a merchant may change on any destination: its name, the events it receives, and the products it is
 * limited to (ids from App Bridge's resource picker). Takes effect for leads captured from then on.
 */
export interface DestinationChanges {
  name?: string;
  events?: readonly DestinationEvent[];
  /** Null or empty: every product. */
  productIds?: readonly string[] | null;
}

const KIND_NAMES: Record<string, string> = { webhook: "Webhook", klaviyo: "Klaviyo", http_request: "HTTP request" };

export async function updateDestination(input: { db: Db; shop: ShopRef; destinationId: string; changes: DestinationChanges }): Promise<EndpointView> {
  const { db, shop, changes } = input;
  const current = await db.destination.findFirst({
    where: { id: input.destinationId, shopId: shop.id, state: { in: [...LIVE_STATES] } },
    select: { id: true, kind: true },
  });
  if (!current) throw new IntegrationEndpointNotFoundError();
  const data: { name?: string; events?: string; productIds?: string | null } = {};
  if (changes.name !== undefined) data.name = destinationName(changes.name, KIND_NAMES[current.kind] ?? "Webhook");
  if (changes.events !== undefined) {
    if (changes.events.length === 0) throw new DestinationSettingsError("events", "Choose at least one event, or pause the destination instead.");
    if (current.kind === "http_request" && changes.events.includes("lead_redacted")) {
      throw new DestinationSettingsError("events", "An HTTP request sends leads only; use a signed webhook or Klaviyo to pass on erasures.");
    }
    data.events = serializeEvents(changes.events);
  }
  if (changes.productIds !== undefined) {
    const ids = changes.productIds ?? [];
    if (ids.length > MAX_FILTER_PRODUCTS) throw new DestinationSettingsError("productIds", `Choose at most ${MAX_FILTER_PRODUCTS} products.`);
    if (ids.some((id) => productKey(id) === null)) throw new DestinationSettingsError("productIds", "One of the chosen products is not a Shopify product.");
    data.productIds = serializeProductIds(ids);
  }
  const row = await db.destination.update({ where: { id: current.id }, data, select: endpointViewSelect });
  return toEndpointView(row);
}
