import type { Cluster, Redis } from "ioredis";

/**
 * How fast one shop's tagging may call Shopify, shared by every worker process through Redis. When Shopify
 * throttles a shop (or its bucket runs low) the shop is held until enough points are back; taggings that
 * arrive meanwhile are given turns spaced by what one tagging costs at the bucket's restore rate, so the
 * shop's backlog drains at the pace Shopify allows instead of all waking at once, in the order it arrived. Other shops never look at
 * this shop's key. Time is the Redis server's, the one clock every worker shares; callers get relative waits.
 * The key's `{shop}` hash tag keeps it on one Redis Cluster slot, and it expires once the hold is over.
 */

type RedisLike = Redis | Cluster;

// KEYS: the shop's pace hash.
// ARGV: holdMs (0: no new hold), spacingMs, jobId (its turn is kept as field "t:<jobId>"), reserve (1: a held
// caller takes the next turn), lingerMs. Returns how long the caller must wait (0: go now).
const PACE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local key = KEYS[1]
local holdMs, spacing, jobId, reserve, linger = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
local s = redis.call('HMGET', key, 'until', 'next', 'spacing', 't:' .. jobId)
local heldUntil, nextTurn, mine = tonumber(s[1]) or 0, tonumber(s[2]) or 0, tonumber(s[4])
local wait = 0
if holdMs > 0 then
  if now + holdMs > heldUntil then heldUntil = now + holdMs end
  redis.call('HSET', key, 'until', heldUntil, 'spacing', spacing)
  mine = nil
else
  spacing = tonumber(s[3]) or spacing
end
if mine then
  -- A caller that was given a turn keeps it, whatever holds came since: the turns are the shop's pace.
  if mine <= now then redis.call('HDEL', key, 't:' .. jobId) else wait = mine - now end
elseif reserve and heldUntil > now then
  local turn = math.max(nextTurn, heldUntil)
  nextTurn = turn + spacing
  redis.call('HSET', key, 'next', nextTurn, 't:' .. jobId, turn)
  wait = turn - now
end
if redis.call('EXISTS', key) == 1 then
  redis.call('PEXPIRE', key, math.max(heldUntil, nextTurn) - now + linger)
end
return wait
`;

interface PaceCommands {
  tryonShopifyPace(key: string, holdMs: number, spacingMs: number, jobId: string, reserve: 0 | 1, lingerMs: number): Promise<number>;
}

export interface ShopPace {
  /**
   * How long a tagging job must wait before calling Shopify for this shop (0: now). While the shop is held,
   * the job is given the next turn (kept under its id) and waits for it; at its turn it goes.
   */
  turn(shopDomain: string, jobId: string): Promise<number>;
  /**
   * Holds the shop's calls for at least `holdMs`, turns spaced `spacingMs` apart. With `turnFor`, that job (a
   * throttled tagging) is given the next turn, and its wait is returned.
   */
  hold(shopDomain: string, holdMs: number, spacingMs: number, options?: { turnFor?: string }): Promise<number>;
}

export function shopPaceKey(prefix: string, shopDomain: string): string {
  return `${prefix}:shopify-pace:{${shopDomain}}`;
}

/** Turns end long before this; the key outlives them a little so late arrivals still queue behind them. */
const LINGER_MS = 60_000;

export function createShopPace(redis: RedisLike, options: { prefix: string }): ShopPace {
  // ioredis sends EVALSHA and falls back to EVAL once per script and node.
  if (!("tryonShopifyPace" in redis)) redis.defineCommand("tryonShopifyPace", { numberOfKeys: 1, lua: PACE });
  const commands = redis as unknown as PaceCommands;
  const whole = (ms: number) => Math.max(0, Math.ceil(ms));
  return {
    async turn(shopDomain, jobId) {
      return Number(await commands.tryonShopifyPace(shopPaceKey(options.prefix, shopDomain), 0, 0, jobId, 1, LINGER_MS));
    },
    async hold(shopDomain, holdMs, spacingMs, holdOptions = {}) {
      const key = shopPaceKey(options.prefix, shopDomain);
      const turnFor = holdOptions.turnFor ?? "";
      return Number(await commands.tryonShopifyPace(key, whole(holdMs), whole(spacingMs), turnFor, turnFor ? 1 : 0, LINGER_MS));
    },
  };
}
