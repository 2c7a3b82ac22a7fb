import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { setEnvForFile } from "../support/env-for-file";

/**
 * The per-shop capture limit, through the capture route: one store's storefront (every shopper, every address)
 * is held to CAPTURE_LIMIT_PER_SHOP, and another store is not slowed by it. The settings are read once per
 * process, so the limit is in place before any of the app is loaded.
 */

const restoreEnv = setEnvForFile({ CAPTURE_LIMIT_PER_SHOP: "3/1m" });

const { action } = await import("../../app/routes/proxy.capture");
const { getDb } = await import("../../app/lib/db.server");
const { installShop } = await import("../support/shopify");
const { captureBody, proxyRequest } = await import("../support/app-proxy");

afterAll(restoreEnv);

describe("the per-shop capture limit", () => {
  it("answers 429 once a store's storefront reaches it, whoever the shoppers and wherever they are, and stores nothing more; another store goes on", async () => {
    const busy = await installShop(`shop-limit-busy-${randomBytes(4).toString("hex")}.myshopify.com`);
    const other = await installShop(`shop-limit-other-${randomBytes(4).toString("hex")}.myshopify.com`);
    const capture = async (shop: string, i: number) =>
      action({
        request: proxyRequest(shop, captureBody({ email: `shopper-${i}-${Date.now()}@example.com` })),
        params: {},
        context: { socketAddress: `192.0.2.${10 + i}` },
      });

    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await capture(busy.domain, i)).status);
    expect(statuses).toEqual([201, 201, 201]);
    const refused = await capture(busy.domain, 3);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/wait/);
    expect(await getDb().lead.count({ where: { shopId: busy.id } })).toBe(3);

    expect((await capture(other.domain, 4)).status).toBe(201);
  });
});
