import { createHmac } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

/**
 * Fixed-window rate limits kept in Redis, shared by every web process. Keys never contain an email
 * or an IP address: both are replaced by an HMAC under a key derived from the app secret.
 */

export interface RateLimitRule {
  scope: "shop" | "ip" | "email";
  limit: number;
  windowMs: number;
}

/** Defaults: a busy shop's storefront, one shopper's device, one address. */
export const DEFAULT_CAPTURE_LIMITS: RateLimitRule[] = [
  { scope: "shop", limit: 600, windowMs: 60_000 },
  { scope: "ip", limit: 20, windowMs: 10 * 60_000 },
  { scope: "email", limit: 5, windowMs: 60 * 60_000 },
];

export class RateLimitedError extends Error {
  constructor(
    public readonly scope: RateLimitRule["scope"],
    public readonly retryAfterSeconds: number,
  ) {
    super(`Too many submissions (${scope}); try again in ${retryAfterSeconds} s`);
    this.name = "RateLimitedError";
  }
}

export interface RateLimiterParams {
  redis: Redis | Cluster;
  secret: string;
  rules?: RateLimitRule[];
  prefix?: string;
  now?: () => number;
}

export function createRateLimiter({ redis, secret, rules = DEFAULT_CAPTURE_LIMITS, prefix = "tryon:rl", now = Date.now }: RateLimiterParams) {
  const keyHmac = createHmac("sha256", secret).update("tryon-leads/rate-limit/v1").digest();
  const hash = (value: string) => createHmac("sha256", keyHmac).update(value).digest("base64url").slice(0, 22);

  /** Counts one submission against every rule; throws RateLimitedError for the first rule exceeded. */
  return async function consume(subject: { shop: string; ip: string | null; email: string }): Promise<void> {
    const t = now();
    const shopTag = hash(`shop|${subject.shop}`);
    const checks = rules
      .map((rule) => {
        const value = rule.scope === "shop" ? subject.shop : rule.scope === "ip" ? subject.ip : subject.email.toLowerCase();
        if (!value) return null;
        const window = Math.floor(t / rule.windowMs);
        // One hash tag per shop: the counts of one submission share a Redis Cluster slot, so they go in one MULTI.
        return { rule, key: `${prefix}:{${shopTag}}:${rule.scope}:${hash(`${subject.shop}|${value}`)}:${window}`, resetAt: (window + 1) * rule.windowMs };
      })
      .filter((c): c is NonNullable<typeof c> => c !== null);
    const multi = redis.multi();
    for (const c of checks) multi.incr(c.key).pexpire(c.key, c.rule.windowMs + 1000);
    const results = await multi.exec();
    if (!results) throw new Error("rate limit transaction was aborted");
    checks.forEach((c, i) => {
      const [error, count] = results[i * 2];
      if (error) throw error;
      if (Number(count) > c.rule.limit) {
        throw new RateLimitedError(c.rule.scope, Math.max(1, Math.ceil((c.resetAt - t) / 1000)));
      }
    });
  };
}

