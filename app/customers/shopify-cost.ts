/**
 * Shopify's GraphQL Admin API limits each app on each store with a leaky bucket of cost points: the bucket's
 * size and restore rate follow the store's plan (100 points/s on Standard, 200 on Advanced, 1,000 on Plus),
 * a query needs its requested cost in the bucket before it runs, and every answer reports the bucket in
 * `extensions.cost.throttleStatus`. A query that does not fit is refused with a `THROTTLED` error (HTTP 200),
 * or, at the HTTP layer, with 429 and Retry-After. This module reads those reports; it does no I/O.
 */

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  /** Points restored per second. */
  restoreRate: number;
}

export interface QueryCost {
  requestedQueryCost: number | null;
  /** Null when the query did not run (throttled). */
  actualQueryCost: number | null;
  throttleStatus: ThrottleStatus | null;
}

/** Shopify refused a call for lack of points: nothing ran, and the call may be made again once they are back. */
export class ShopifyThrottledError extends Error {
  constructor(
    readonly cost: QueryCost | null,
    /** From a 429's Retry-After header. */
    readonly retryAfterMs: number | null,
  ) {
    super("Shopify is throttling the app on this store");
    this.name = "ShopifyThrottledError";
  }
}

/** A wait when Shopify gave no figures to compute one from. */
export const UNKNOWN_THROTTLE_WAIT_MS = 1_000;

const finite = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

export function readQueryCost(extensions: unknown): QueryCost | null {
  const cost = (extensions as { cost?: Record<string, unknown> } | null | undefined)?.cost;
  if (!cost || typeof cost !== "object") return null;
  const status = cost.throttleStatus as Record<string, unknown> | null | undefined;
  const maximumAvailable = finite(status?.maximumAvailable);
  const currentlyAvailable = finite(status?.currentlyAvailable);
  const restoreRate = finite(status?.restoreRate);
  return {
    requestedQueryCost: finite(cost.requestedQueryCost),
    actualQueryCost: finite(cost.actualQueryCost),
    throttleStatus:
      maximumAvailable !== null && currentlyAvailable !== null && restoreRate !== null
        ? { maximumAvailable, currentlyAvailable, restoreRate }
        : null,
  };
}

/**
 * Recognises Shopify's throttling in what `@shopify/shopify-api` throws: a GraphqlQueryError whose body
 * holds a `THROTTLED` error (with the bucket in the body's extensions), or an HttpThrottlingError (429)
 * with the Retry-After it read.
 */
export function throttleOf(error: unknown): ShopifyThrottledError | null {
  if (typeof error !== "object" || error === null) return null;
  const { body, response } = error as { body?: { errors?: { graphQLErrors?: unknown }; extensions?: unknown }; response?: { code?: unknown; retryAfter?: unknown } };
  const graphQLErrors = body?.errors?.graphQLErrors;
  if (Array.isArray(graphQLErrors) && graphQLErrors.some((e) => (e as { extensions?: { code?: unknown } })?.extensions?.code === "THROTTLED")) {
    return new ShopifyThrottledError(readQueryCost(body?.extensions), null);
  }
  if (response?.code === 429) {
    const seconds = finite(response.retryAfter);
    return new ShopifyThrottledError(null, seconds !== null && seconds >= 0 ? Math.ceil(seconds * 1000) : null);
  }
  return null;
}

/** How long until the bucket holds `points` again (0 if it does now). */
export function msUntilAvailable(status: ThrottleStatus, points: number): number {
  if (!(status.restoreRate > 0)) return UNKNOWN_THROTTLE_WAIT_MS;
  const deficit = Math.min(points, status.maximumAvailable) - status.currentlyAvailable;
  return deficit > 0 ? Math.ceil((deficit / status.restoreRate) * 1000) : 0;
}

/** How long a throttled caller should wait before it needs `points` again. */
export function waitAfterThrottle(error: ShopifyThrottledError, points: number): number {
  if (error.retryAfterMs !== null) return Math.max(error.retryAfterMs, 1);
  const status = error.cost?.throttleStatus;
  if (!status) return UNKNOWN_THROTTLE_WAIT_MS;
  const needed = Math.max(points, error.cost?.requestedQueryCost ?? 0);
  return Math.max(msUntilAvailable(status, needed), 1);
}
