import { GraphqlQueryError, HttpResponseError, HttpThrottlingError } from "@shopify/shopify-api";
import { describe, expect, it } from "vitest";
import { msUntilAvailable, readQueryCost, throttleOf, UNKNOWN_THROTTLE_WAIT_MS, waitAfterThrottle } from "../../app/customers/shopify-cost";

/** Reading Shopify's cost reports and throttling, as `@shopify/shopify-api` surfaces them. */

const STANDARD_EMPTY = { maximumAvailable: 2000, currentlyAvailable: 3, restoreRate: 100 };
// What the library's GraphQL client makes of a THROTTLED answer (HTTP 200): the body keeps data, extensions and the errors.
const throttledBody = {
  extensions: { cost: { requestedQueryCost: 14, actualQueryCost: null, throttleStatus: STANDARD_EMPTY } },
  errors: { networkStatusCode: 200, message: "GraphQL Client: An error occurred", graphQLErrors: [{ message: "Throttled", extensions: { code: "THROTTLED" } }] },
};

describe("Shopify's cost-based throttling", () => {
  it("reads the cost and the bucket Shopify reports with an answer", () => {
    expect(readQueryCost({ cost: { requestedQueryCost: 4, actualQueryCost: 2, throttleStatus: { maximumAvailable: 2000.0, currentlyAvailable: 1998, restoreRate: 100.0 } } })).toEqual({
      requestedQueryCost: 4, actualQueryCost: 2, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 1998, restoreRate: 100 },
    });
    expect(readQueryCost({ cost: { requestedQueryCost: 4, actualQueryCost: null, throttleStatus: null } })?.throttleStatus).toBeNull();
    expect(readQueryCost(undefined)).toBeNull();
    expect(readQueryCost({ other: 1 })).toBeNull();
  });

  it("GIVEN a GraphqlQueryError carrying THROTTLED THEN it is throttling, with the bucket from the body", () => {
    const error = new GraphqlQueryError({ message: "Throttled", response: {} as Record<string, unknown>, headers: {}, body: throttledBody });
    const throttled = throttleOf(error);
    expect(throttled?.cost).toEqual({ requestedQueryCost: 14, actualQueryCost: null, throttleStatus: STANDARD_EMPTY });
    expect(throttled?.retryAfterMs).toBeNull();
    // The bucket holds 3 points and restores 100 a second: a 25-point tagging can run in 220 ms.
    expect(waitAfterThrottle(throttled!, 25)).toBe(220);
    // A query costlier than the caller's estimate waits for its own requested cost.
    expect(waitAfterThrottle(throttled!, 10)).toBe(110);
  });

  it("GIVEN an HttpThrottlingError (429) THEN it is throttling, for its Retry-After", () => {
    const error = new HttpThrottlingError({ message: "Shopify is throttling requests", code: 429, statusText: "Too Many Requests", body: {}, headers: {}, retryAfter: 2.5 });
    const throttled = throttleOf(error);
    expect(throttled?.retryAfterMs).toBe(2_500);
    expect(waitAfterThrottle(throttled!, 25)).toBe(2_500);
    const bare = throttleOf(new HttpThrottlingError({ message: "x", code: 429, statusText: "", body: {}, headers: {} }));
    expect(waitAfterThrottle(bare!, 25)).toBe(UNKNOWN_THROTTLE_WAIT_MS);
  });

  it("GIVEN other errors THEN not throttling", () => {
    expect(throttleOf(new GraphqlQueryError({ message: "Field 'x' doesn't exist", response: {} as Record<string, unknown>, headers: {}, body: { errors: { graphQLErrors: [{ message: "Field 'x' doesn't exist" }] } } }))).toBeNull();
    expect(throttleOf(new HttpResponseError({ message: "Internal", code: 500, statusText: "Internal Server Error", body: {}, headers: {} }))).toBeNull();
    expect(throttleOf(new Error("socket hang up"))).toBeNull();
    expect(throttleOf(null)).toBeNull();
  });

  it("computes how long a bucket takes to hold some points", () => {
    expect(msUntilAvailable({ maximumAvailable: 2000, currentlyAvailable: 1990, restoreRate: 100 }, 100)).toBe(0);
    expect(msUntilAvailable({ maximumAvailable: 2000, currentlyAvailable: 0, restoreRate: 100 }, 100)).toBe(1_000);
    expect(msUntilAvailable({ maximumAvailable: 20000, currentlyAvailable: 0, restoreRate: 1000 }, 100)).toBe(100);
    // Never more than the bucket can hold.
    expect(msUntilAvailable({ maximumAvailable: 50, currentlyAvailable: 0, restoreRate: 50 }, 100)).toBe(1_000);
    expect(msUntilAvailable({ maximumAvailable: 50, currentlyAvailable: 0, restoreRate: 0 }, 10)).toBe(UNKNOWN_THROTTLE_WAIT_MS);
  });
});
