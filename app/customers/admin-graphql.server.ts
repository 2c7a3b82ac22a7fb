import { unauthenticated } from "../shopify.server";
import { readQueryCost, throttleOf, type QueryCost } from "./shopify-cost";
import { CustomerTaggingError, type AdminGraphql } from "./tag-customer.server";

export interface AdminGraphqlOptions {
  /** Told the cost and the bucket Shopify reports with every answer, before the answer is returned. */
  onCost?: (cost: QueryCost) => void | Promise<void>;
}

/** Statuses that say the app is no longer let into the shop (uninstalled, frozen, closed): asking again will not help. */
const SHUT_OUT = new Set([401, 402, 403, 404, 423]);

/**
 * The Admin GraphQL API of a shop through its stored offline session (background work has no request).
 * Throttling surfaces as ShopifyThrottledError (the caller paces the shop); other GraphQL and transport errors
 * are retryable; a missing session or a shop that shuts the app out is not.
 */
export async function adminGraphqlFor(shopDomain: string, options: AdminGraphqlOptions = {}): Promise<AdminGraphql> {
  let admin;
  try {
    ({ admin } = await unauthenticated.admin(shopDomain));
  } catch {
    throw new CustomerTaggingError("The shop has no offline session (the app may have been uninstalled)", false);
  }
  return async (query, variables) => {
    let response: Response;
    try {
      response = await admin.graphql(query, { variables });
    } catch (error) {
      const throttled = throttleOf(error);
      if (throttled) throw throttled;
      const status = (error as { response?: { code?: unknown } } | null)?.response?.code;
      if (typeof status === "number" && SHUT_OUT.has(status)) {
        throw new CustomerTaggingError(`The shop refused the app (HTTP ${status}); it may have been uninstalled or closed`, false);
      }
      throw new CustomerTaggingError(`The Admin API call failed: ${error instanceof Error ? error.message : String(error)}`, true);
    }
    const json = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown; extensions?: unknown };
    const cost = readQueryCost(json.extensions);
    if (cost && options.onCost) await options.onCost(cost);
    if (json.errors || !json.data) {
      throw new CustomerTaggingError(`The Admin API answered with errors: ${JSON.stringify(json.errors ?? "no data").slice(0, 300)}`, true);
    }
    return json.data;
  };
}
