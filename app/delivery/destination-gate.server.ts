import { randomBytes } from "node:crypto";
import type { Cluster, Redis } from "ioredis";

/**
 * Every attempt to a destination passes this gate, shared by all worker processes through Redis, so that one
 * destination's trouble stays its own:
 *
 * - **In-flight cap.** At most `maxInFlight` attempts to one destination at once. A slot is a member of a
 *   sorted set scored by its lease's end, so a worker killed mid-attempt frees its slots when its lease ends.
 * - **Circuit breaker.** After `failureThreshold` consecutive failed attempts the destination is "open":
 *   its deliveries wait until `retryAt`, then exactly one probe goes out; a success closes it, a failure
 *   doubles the wait (up to `maxCooldownMs`). Waiting spends no attempt and holds no worker.
 * - **Rate.** An optional requests-per-second limit with a burst (GCRA), and a pause a receiver asked for
 *   (429 with Retry-After) that holds every delivery to it, not only the one that was answered (up to
 *   `maxCooldownMs`).
 *
 * A job turned away is parked: listed under the destination, scored by when it should look again, and moved
 * to BullMQ's delayed set until then. When a slot frees (or the breaker closes) the leaving worker takes the
 * earliest parked jobs to wake, so a busy destination's deliveries go in order without polling. Time is the
 * Redis server's, the one clock every worker shares. All keys of one destination share a hash tag, so each
 * script touches a single Redis Cluster slot.
 */

export interface GateSettings {
  /** Default cap of attempts in flight per destination. */
  maxInFlight: number;
  /** How long a slot (and a probe) is held at most: the delivery lease. */
  leaseMs: number;
  failureThreshold: number;
  cooldownMs: number;
  maxCooldownMs: number;
  /** When a job turned away for lack of a slot looks again at the latest, if no leaving worker wakes it first. */
  busyRecheckMs?: number;
}

/** A destination's own limits, where its kind has them (Klaviyo's API limits, say). */
export interface DestinationLimits {
  maxInFlight?: number | null;
  /** Sustained requests per second; none when absent. */
  ratePerSecond?: number | null;
  /** Requests allowed at once above the sustained rate. Default 1. */
  burst?: number | null;
}

export type WaitReason = "busy" | "open" | "probing" | "rate";

export type GateDecision =
  | { kind: "go"; token: string; probe: boolean }
  | { kind: "wait"; reason: WaitReason; /** Epoch ms when the job should look again. */ until: number };

/** What an attempt says about its destination's health. `neutral`: nothing (a 4xx for one body, a 429). */
export type AttemptVerdict = "success" | "failure" | "neutral";

export type BreakerChange =
  | { kind: "none" }
  | { kind: "closed" }
  | { kind: "opened" | "reopened"; openedAt: Date; retryAt: Date };

export interface LeaveResult {
  change: BreakerChange;
  /** Parked jobs to wake now (their ids), earliest first. */
  wake: string[];
}

export interface BreakerState {
  open: boolean;
  consecutiveFailures: number;
  openedAt: Date | null;
  retryAt: Date | null;
  inFlight: number;
  parked: number;
}

const DAY_MS = 86_400_000;

// KEYS: slots (zset token→lease end), state (hash), parked (zset jobId→look-again time)
// ARGV: token, jobId, leaseMs, maxInFlight, intervalMs (0: no rate), burst, busyRecheckMs, stateTtlMs
const ENTER = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slots, state, parked = KEYS[1], KEYS[2], KEYS[3]
local token, jobId = ARGV[1], ARGV[2]
local lease, cap, interval, burst = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local busyRecheck, stateTtl = tonumber(ARGV[7]), tonumber(ARGV[8])
local function park(reason, untilMs)
  if jobId ~= '' then
    redis.call('ZADD', parked, untilMs, jobId)
    redis.call('PEXPIRE', parked, stateTtl)
  end
  return {reason, tostring(untilMs)}
end
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
local s = redis.call('HMGET', state, 'open', 'retryAt', 'probeUntil', 'throttledUntil', 'tat')
local probe = false
if s[1] == '1' then
  local retryAt = tonumber(s[2]) or 0
  if now < retryAt then return park('open', retryAt) end
  local probeUntil = tonumber(s[3]) or 0
  if probeUntil > now then return park('probing', probeUntil) end
  probe = true
end
local throttledUntil = tonumber(s[4]) or 0
if throttledUntil > now then return park('rate', throttledUntil) end
if (not probe) and redis.call('ZCARD', slots) >= cap then return park('busy', now + busyRecheck) end
if interval > 0 then
  local tat = math.max(tonumber(s[5]) or 0, now)
  local allowAt = tat - (burst - 1) * interval
  if allowAt > now then return park('rate', allowAt) end
  redis.call('HSET', state, 'tat', tat + interval)
end
redis.call('ZADD', slots, now + lease, token)
redis.call('PEXPIRE', slots, lease * 2)
if probe then redis.call('HSET', state, 'probe', token, 'probeUntil', now + lease) end
if redis.call('EXISTS', state) == 1 then redis.call('PEXPIRE', state, stateTtl) end
if jobId ~= '' then redis.call('ZREM', parked, jobId) end
if probe then return {'probe', '0'} end
return {'go', '0'}
`;

// KEYS: slots, state, parked
// ARGV: token, verdict, threshold, cooldownMs, maxCooldownMs, throttleMs, wakeOnClose, stateTtlMs
const LEAVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slots, state, parked = KEYS[1], KEYS[2], KEYS[3]
local token, verdict = ARGV[1], ARGV[2]
local threshold, cooldown, maxCooldown = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local throttleMs, wakeOnClose, stateTtl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local freed = redis.call('ZREM', slots, token)
local s = redis.call('HMGET', state, 'open', 'probe', 'cooldown', 'openedAt', 'throttledUntil')
local wasOpen = s[1] == '1'
local wasProbe = s[2] == token
if wasProbe then redis.call('HDEL', state, 'probe', 'probeUntil') end
if throttleMs > 0 and now + throttleMs > (tonumber(s[5]) or 0) then
  redis.call('HSET', state, 'throttledUntil', now + throttleMs)
end
local change, openedAt, retryAt = 'none', 0, 0
if verdict == 'success' then
  redis.call('HSET', state, 'failures', 0)
  if wasOpen then
    redis.call('HDEL', state, 'open', 'retryAt', 'cooldown', 'openedAt')
    change = 'closed'
  end
elseif verdict == 'failure' then
  local failures = redis.call('HINCRBY', state, 'failures', 1)
  if wasOpen then
    if wasProbe then
      local next = math.min((tonumber(s[3]) or cooldown) * 2, maxCooldown)
      openedAt = tonumber(s[4]) or now
      retryAt = now + next
      redis.call('HSET', state, 'retryAt', retryAt, 'cooldown', next)
      change = 'reopened'
    end
  elseif failures >= threshold then
    openedAt = now
    retryAt = now + cooldown
    redis.call('HSET', state, 'open', '1', 'openedAt', now, 'retryAt', retryAt, 'cooldown', cooldown)
    change = 'opened'
  end
end
redis.call('PEXPIRE', state, stateTtl)
local n = 0
if change == 'closed' then n = wakeOnClose
elseif freed == 1 and change == 'none' and not wasOpen then n = 1 end
local result = {change, tostring(openedAt), tostring(retryAt)}
if n > 0 then
  local ids = redis.call('ZRANGE', parked, 0, n - 1)
  if #ids > 0 then
    redis.call('ZREM', parked, unpack(ids))
    for _, id in ipairs(ids) do table.insert(result, id) end
  end
end
return result
`;

type RedisLike = Redis | Cluster;

interface GateCommands {
  tryonGateEnter(slots: string, state: string, parked: string, ...args: (string | number)[]): Promise<string[]>;
  tryonGateLeave(slots: string, state: string, parked: string, ...args: (string | number)[]): Promise<string[]>;
}

export interface DestinationGate {
  /**
   * Asks for a slot for one attempt. `jobId` is parked under the destination when the answer is "wait",
   * so that a leaving worker can wake it.
   */
  enter(destinationId: string, jobId: string, limits?: DestinationLimits): Promise<GateDecision>;
  /** Gives the slot back with what the attempt said about the destination. */
  leave(destinationId: string, token: string, verdict: AttemptVerdict, options?: { throttleMs?: number }): Promise<LeaveResult>;
  /** For the admin and tests: the breaker as Redis holds it now. */
  inspect(destinationId: string): Promise<BreakerState>;
  /** Forgets a destination (disconnected): its slots, breaker and parked list. */
  forget(destinationId: string): Promise<void>;
}

export function gateKeys(prefix: string, destinationId: string) {
  // The braces make Redis Cluster hash only the destination id: one slot for all three keys.
  const base = `${prefix}:gate:{${destinationId}}`;
  return { slots: `${base}:slots`, state: `${base}:state`, parked: `${base}:parked` };
}

export function createDestinationGate(redis: RedisLike, options: { prefix: string; settings: GateSettings }): DestinationGate {
  const { prefix, settings } = options;
  const busyRecheckMs = settings.busyRecheckMs ?? 2_000;
  // Parked lists and breaker state outlive any wait they describe, then vanish on their own.
  const stateTtlMs = Math.max(DAY_MS, settings.maxCooldownMs * 4);
  // ioredis sends EVALSHA and falls back to EVAL once per script and node.
  if (!("tryonGateEnter" in redis)) {
    redis.defineCommand("tryonGateEnter", { numberOfKeys: 3, lua: ENTER });
    redis.defineCommand("tryonGateLeave", { numberOfKeys: 3, lua: LEAVE });
  }
  const commands = redis as unknown as GateCommands;

  return {
    async enter(destinationId, jobId, limits = {}) {
      const keys = gateKeys(prefix, destinationId);
      const token = `${jobId}#${randomBytes(6).toString("hex")}`;
      const cap = positiveOr(limits.maxInFlight, settings.maxInFlight);
      const rate = positiveOr(limits.ratePerSecond, 0);
      const intervalMs = rate > 0 ? 1000 / rate : 0;
      const burst = Math.max(1, Math.floor(positiveOr(limits.burst, 1)));
      const [kind, until] = await commands.tryonGateEnter(
        keys.slots, keys.state, keys.parked, token, jobId, settings.leaseMs, cap, intervalMs, burst, busyRecheckMs, stateTtlMs,
      );
      if (kind === "go" || kind === "probe") return { kind: "go", token, probe: kind === "probe" };
      return { kind: "wait", reason: kind as WaitReason, until: Number(until) };
    },

    async leave(destinationId, token, verdict, leaveOptions = {}) {
      const keys = gateKeys(prefix, destinationId);
      // Every delivery to the destination waits as asked, up to the longest breaker wait; the delivery that
      // was answered keeps its own full Retry-After in its schedule.
      const throttleMs = Math.min(settings.maxCooldownMs, Math.max(0, Math.round(leaveOptions.throttleMs ?? 0)));
      const reply = await commands.tryonGateLeave(
        keys.slots, keys.state, keys.parked, token, verdict, settings.failureThreshold, settings.cooldownMs,
        settings.maxCooldownMs, throttleMs, settings.maxInFlight, stateTtlMs,
      );
      const [kind, openedAt, retryAt, ...wake] = reply;
      const change: BreakerChange =
        kind === "opened" || kind === "reopened"
          ? { kind, openedAt: new Date(Number(openedAt)), retryAt: new Date(Number(retryAt)) }
          : kind === "closed" ? { kind: "closed" } : { kind: "none" };
      return { change, wake };
    },

    async inspect(destinationId) {
      const keys = gateKeys(prefix, destinationId);
      const [state, parked, time] = await Promise.all([redis.hgetall(keys.state), redis.zcard(keys.parked), redis.time()]);
      // Slots whose lease has ended belong to workers that died; they no longer count.
      const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      const live = await redis.zcount(keys.slots, now, "+inf");
      return {
        open: state.open === "1",
        consecutiveFailures: Number(state.failures ?? 0),
        openedAt: state.openedAt ? new Date(Number(state.openedAt)) : null,
        retryAt: state.retryAt ? new Date(Number(state.retryAt)) : null,
        inFlight: live,
        parked,
      };
    },

    async forget(destinationId) {
      const keys = gateKeys(prefix, destinationId);
      // One key at a time: in a cluster a multi-key DEL must stay in one slot, which these do, but this
      // also works through proxies that refuse multi-key commands.
      for (const key of [keys.slots, keys.state, keys.parked]) await redis.del(key);
    },
  };
}

function positiveOr(value: number | null | undefined, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** What an attempt's result says about its destination, for the breaker. */
export function verdictOf(result: { ok: boolean; statusCode?: number; retryAfterMs?: number; countsAgainstDestination?: boolean }): {
  verdict: AttemptVerdict;
  throttleMs?: number;
} {
  if (result.ok) return { verdict: "success" };
  // A receiver asking us to slow down is alive: every delivery to it waits, none counts as a failure.
  if (result.statusCode === 429) return { verdict: "neutral", throttleMs: result.retryAfterMs ?? 1_000 };
  if (result.countsAgainstDestination === false) return { verdict: "neutral" };
  return { verdict: "failure" };
}
