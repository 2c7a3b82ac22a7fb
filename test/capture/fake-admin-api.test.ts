import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { adminGraphqlFor } from "../../app/customers/admin-graphql.server";
import { ShopifyThrottledError, type QueryCost } from "../../app/customers/shopify-cost";
import { TRYON_LEAD_TAG } from "../../app/customers/tag-customer.server";
import { FakeAdminApi } from "../support/fake-admin-api";
import { installShop } from "../support/shopify";

/**
 * The Admin API stand-in limits each shop as Shopify documents its GraphQL Admin API, so that what the app
 * does about throttling is tested against the real rules: a leaky bucket per shop sized by plan, requested
 * cost taken before a query runs and the difference with its actual cost refunded, `extensions.cost` on every
 * answer, THROTTLED answers exactly as Shopify sends them, or 429 with Retry-After.
 */

const SHOP = "stand-in.myshopify.com";
const FIND = `query FindTryOnCustomer($query: String!) { customers(first: 1, query: $query) { nodes { id } } }`;
let clock = 0;
const api = new FakeAdminApi({ now: () => clock });

function post(shop: string, query = FIND, variables: Record<string, unknown> = { query: 'email:"x@example.com"' }) {
  return api.handle(new Request(`https://${shop}/admin/api/2025-01/graphql.json`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-shopify-access-token": "shpat_token" },
    body: JSON.stringify({ query, variables }),
  }));
}

describe("the Admin API stand-in", () => {
  beforeAll(async () => {
    api.install();
    await installShop(SHOP);
  });

  it("reports the cost and the bucket with every answer, through the app's real client", async () => {
    const costs: QueryCost[] = [];
    const graphql = await adminGraphqlFor(SHOP, { onCost: (cost) => void costs.push(cost) });
    await graphql(FIND, { query: 'email:"nobody@example.com"' });
    // Requested 4, and refunded to 2 since no customer came back.
    expect(costs).toEqual([{ requestedQueryCost: 4, actualQueryCost: 2, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 1998, restoreRate: 100 } }]);
  });

  it("sizes the bucket by the shop's plan and restores it over time", async () => {
    api.setPlan("plus-store.myshopify.com", "plus");
    api.setPlan("advanced-store.myshopify.com", "advanced");
    expect(api.throttleStatus("plus-store.myshopify.com")).toEqual({ maximumAvailable: 20_000, currentlyAvailable: 20_000, restoreRate: 1_000 });
    expect(api.throttleStatus("advanced-store.myshopify.com")).toEqual({ maximumAvailable: 4_000, currentlyAvailable: 4_000, restoreRate: 200 });
    api.setAvailable("plus-store.myshopify.com", 0);
    clock += 250;
    expect(api.throttleStatus("plus-store.myshopify.com").currentlyAvailable).toBe(250);
    clock += 60_000;
    expect(api.throttleStatus("plus-store.myshopify.com").currentlyAvailable).toBe(20_000);
  });

  it("GIVEN a query the bucket cannot hold THEN Shopify's THROTTLED answer with HTTP 200, nothing spent, and the query runs once the points are back", async () => {
    const shop = "empty-bucket.myshopify.com";
    api.setAvailable(shop, 3);
    const refused = await post(shop);
    expect(refused.status).toBe(200);
    expect(await refused.json()).toEqual({
      errors: [{ message: "Throttled", extensions: { code: "THROTTLED", documentation: "https://shopify.dev/api/usage/rate-limits" } }],
      extensions: { cost: { requestedQueryCost: 4, actualQueryCost: null, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 3, restoreRate: 100 } } },
    });
    clock += 10;
    const served = (await (await post(shop)).json()) as { data?: unknown; extensions: { cost: { throttleStatus: { currentlyAvailable: number } } } };
    expect(served.data).toBeTruthy();
    expect(served.extensions.cost.throttleStatus.currentlyAvailable).toBe(2);
  });

  it("GIVEN a mutation THEN it costs 10 points", async () => {
    const shop = "mutations.myshopify.com";
    const answer = await post(shop, `mutation CreateTryOnCustomer($input: CustomerInput!) { customerCreate(input: $input) { customer { id } } }`, { input: { email: "m@example.com" } });
    expect(((await answer.json()) as { extensions: { cost: unknown } }).extensions.cost).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 10, throttleStatus: { currentlyAvailable: 1990 } });
  });

  it("GIVEN the 429 mode THEN a throttled query gets HTTP 429 with Retry-After, which the app's client reads", async () => {
    const shop = "http-throttled.myshopify.com";
    await installShop(shop);
    api.throttleWith = "http429";
    try {
      api.setAvailable(shop, 0);
      const refused = await post(shop);
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("0.1");
      const graphql = await adminGraphqlFor(shop);
      const error = await graphql(FIND, { query: 'email:"x@example.com"' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ShopifyThrottledError);
      expect((error as ShopifyThrottledError).retryAfterMs).toBe(100);
    } finally {
      api.throttleWith = "graphql";
    }
  });

  it("answers after the configured latency", async () => {
    const timed = new FakeAdminApi({ latencyMs: 150 });
    const started = performance.now();
    await timed.handle(new Request(`https://${SHOP}/admin/api/2025-01/graphql.json`, {
      method: "POST", headers: { "x-shopify-access-token": "t" }, body: JSON.stringify({ query: FIND, variables: { query: 'email:"a@b.c"' } }),
    }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });

  it("serves another OS process over loopback HTTP: its tagging reaches the same customers and bucket", async () => {
    const shop = "forwarded.myshopify.com";
    await installShop(shop);
    const served = await api.serve();
    try {
      const { stdout } = await promisify(execFile)("npx", ["tsx", "test/support/admin-api-child.ts", JSON.stringify({ url: served.url, shop, email: "far.away@example.com" })], {
        env: process.env, timeout: 60_000,
      });
      const { result, costs } = JSON.parse(stdout.trim().split("\n").at(-1)!) as { result: { tagged: boolean; created: boolean }; costs: QueryCost[] };
      expect(result).toMatchObject({ tagged: true, created: true });
      expect(api.customers.get(shop)).toEqual([expect.objectContaining({ email: "far.away@example.com", tags: [TRYON_LEAD_TAG], marketingState: "SUBSCRIBED" })]);
      expect(api.calls.filter((c) => c.shop === shop).map((c) => [c.operation, c.accessToken])).toEqual([
        ["FindTryOnCustomer", "shpat_forwarded_token"],
        ["CreateTryOnCustomer", "shpat_forwarded_token"],
      ]);
      expect(costs.at(-1)?.throttleStatus?.currentlyAvailable).toBe(1988);
    } finally {
      await served.close();
    }
  }, 90_000);
});
