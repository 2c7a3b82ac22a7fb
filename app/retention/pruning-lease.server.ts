import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * A Redis lease so that, of several worker processes, one prunes at a time: pruning twice at once would
 * only make the processes wait on each other's row locks. The lease expires by itself, so a process
 * killed mid-round frees it; the holder extends it after every batch and stops if it was lost.
 */

/** The two commands the lease needs; an ioredis client or cluster connection has both. */
export type LeaseRedis = Pick<Redis, "set" | "eval">;

export interface LeaseOptions {
  redis: LeaseRedis;
  /** The key the lease is held under, in the app's Redis namespace (e.g. `<QUEUE_PREFIX>:pruning-lease`). */
  key: string;
  /**
   * How long the lease lasts without being extended: longer than any one batch takes.
   * @defaultValue 60000
   */
  ttlMs?: number;
}

export const DEFAULT_LEASE_TTL_MS = 60_000;

// Extends or removes the key only while it still holds this holder's token.
const EXTEND_IF_HELD = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) end return 0`;
const RELEASE_IF_HELD = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`;

export interface HeldLease {
  /** False once the lease is no longer this holder's (expired and taken, or Redis lost it). */
  extend(): Promise<boolean>;
  release(): Promise<void>;
}

/** The lease if no one else holds it, otherwise null. Redis errors are thrown to the caller. */
export async function acquirePruningLease(options: LeaseOptions): Promise<HeldLease | null> {
  const token = randomBytes(16).toString("hex");
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const taken = await options.redis.set(options.key, token, "PX", ttlMs, "NX");
  if (taken !== "OK") return null;
  return {
    async extend() {
      const extended = await options.redis.eval(EXTEND_IF_HELD, 1, options.key, token, String(ttlMs));
      return extended === 1;
    },
    async release() {
      await options.redis.eval(RELEASE_IF_HELD, 1, options.key, token);
    },
  };
}
