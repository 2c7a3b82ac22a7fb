import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { createRateLimiter, RateLimitedError } from "../../app/capture/rate-limit.server";

const redis = new Redis(process.env.REDIS_URL!);
const prefix = `test:rl:${randomBytes(4).toString("hex")}`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

async function refusal(consume: () => Promise<void>): Promise<RateLimitedError> {
  try {
    await consume();
  } catch (error) {
    expect(error).toBeInstanceOf(RateLimitedError);
    return error as RateLimitedError;
  }
  throw new Error("expected a refusal");
}

describe("capture rate limits in Redis", () => {
  it("refuses the submission past the per-email limit with the seconds until the window ends", async () => {
    let t = 1_000_000;
    const consume = createRateLimiter({ redis, secret: "s", prefix, now: () => t, rules: [{ scope: "email", limit: 2, windowMs: 60_000 }] });
    const subject = { shop: "a.myshopify.com", ip: "203.0.113.7", email: "Ann@Example.com" };
    await consume(subject);
    await consume({ ...subject, email: "ann@example.com" });
    t += 10_000;
    const error = await refusal(() => consume(subject));
    expect(error.scope).toBe("email");
    expect(error.retryAfterSeconds).toBe(10);
    // Another shopper is not affected, and the window ends.
    await consume({ ...subject, email: "other@example.com" });
    t += 50_000;
    await consume(subject);
  });

  it("limits per client address and per shop separately", async () => {
    const t = 5_000_000;
    const consume = createRateLimiter({
      redis, secret: "s", prefix: `${prefix}:b`, now: () => t,
      rules: [{ scope: "ip", limit: 1, windowMs: 60_000 }, { scope: "shop", limit: 3, windowMs: 60_000 }],
    });
    await consume({ shop: "b.myshopify.com", ip: "198.51.100.1", email: "1@example.com" });
    expect((await refusal(() => consume({ shop: "b.myshopify.com", ip: "198.51.100.1", email: "2@example.com" }))).scope).toBe("ip");
    await consume({ shop: "b.myshopify.com", ip: "198.51.100.2", email: "3@example.com" });
    expect((await refusal(() => consume({ shop: "b.myshopify.com", ip: "198.51.100.3", email: "4@example.com" }))).scope).toBe("shop");
    // A different shop has its own budget.
    await consume({ shop: "c.myshopify.com", ip: "198.51.100.9", email: "5@example.com" });
  });

  it("keeps no email or address in Redis keys or values", async () => {
    const consume = createRateLimiter({ redis, secret: "s", prefix: `${prefix}:c` });
    await consume({ shop: "d.myshopify.com", ip: "192.0.2.44", email: "private.person@example.com" });
    const keys = await redis.keys(`${prefix}:c:*`);
    expect(keys.length).toBe(3);
    const dump = keys.join(" ") + (await Promise.all(keys.map((k) => redis.get(k)))).join(" ");
    expect(dump).not.toMatch(/private\.person|example\.com|192\.0\.2\.44/);
  });
});
