import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createShopPace, shopPaceKey } from "../../app/customers/shop-pace.server";
import { deleteKeysUnder, testRedis } from "../support/delivery";

/** The per-shop pace of calls to Shopify, in Redis: holds, turns spaced at the restore rate, shops apart. */

const redis = testRedis("worker");
const prefix = `pace-test-${randomBytes(4).toString("hex")}`;
const pace = createShopPace(redis, { prefix });

describe("a shop's pace of calls to Shopify", () => {
  afterAll(async () => {
    await deleteKeysUnder(redis, prefix);
    redis.disconnect();
  });

  it("GIVEN a shop that is not held THEN its taggings go at once and nothing is stored", async () => {
    expect(await pace.turn("idle.myshopify.com", "tag-1")).toBe(0);
    expect(await redis.exists(shopPaceKey(prefix, "idle.myshopify.com"))).toBe(0);
  });

  it("GIVEN a throttled shop THEN its taggings get turns spaced apart in the order they came, each keeps its turn, and other shops go at once", async () => {
    const shop = "busy.myshopify.com";
    const first = await pace.hold(shop, 1_000, 300, { turnFor: "tag-a" });
    expect(first).toBeGreaterThanOrEqual(990);
    expect(first).toBeLessThanOrEqual(1_000);
    const second = await pace.turn(shop, "tag-b");
    const third = await pace.turn(shop, "tag-c");
    expect(second - first).toBeGreaterThanOrEqual(295);
    expect(second - first).toBeLessThanOrEqual(305);
    expect(third - second).toBeGreaterThanOrEqual(295);
    // Asking again before its turn, a job is told the same turn, not moved to the back.
    expect(Math.abs((await pace.turn(shop, "tag-b")) - second)).toBeLessThan(20);
    // A later hold (a low bucket seen by another call) does not take turns away.
    await pace.hold(shop, 5_000, 300);
    expect(Math.abs((await pace.turn(shop, "tag-c")) - third)).toBeLessThan(20);
    expect(await pace.turn("other.myshopify.com", "tag-x")).toBe(0);
    // One key per shop, under its hash tag, expiring on its own.
    expect(await redis.pttl(shopPaceKey(prefix, shop))).toBeGreaterThan(5_000);
    expect(shopPaceKey(prefix, shop)).toBe(`${prefix}:shopify-pace:{${shop}}`);
  });

  it("GIVEN a job's turn has come THEN it goes, and its turn is used up", async () => {
    const shop = "brief.myshopify.com";
    const wait = await pace.hold(shop, 50, 10, { turnFor: "tag-q" });
    await new Promise((resolve) => setTimeout(resolve, wait + 10));
    expect(await pace.turn(shop, "tag-q")).toBe(0);
    expect(await redis.hexists(shopPaceKey(prefix, shop), "t:tag-q")).toBe(0);
    // The hold is over: a newcomer goes at once too.
    expect(await pace.turn(shop, "tag-r")).toBe(0);
  });
});
