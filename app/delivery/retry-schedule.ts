/**
 * The published retry schedule: after a failed attempt, the next one comes 1 min, 5 min, 30 min, 2 h, 6 h
 * and finally 24 h after the previous attempt, so a delivery gets at most 7 attempts over about 33 hours.
 *
 * Each delay is spread by ±10 % so that endpoints recovering from an outage are not hit by every queued
 * delivery in the same second. A receiver's Retry-After is honoured when it asks for more time than the
 * schedule, but never beyond 24 h, so one answer cannot park a delivery indefinitely.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Delay before attempt n+2, indexed by n (the delay after the first attempt is at index 0). */
export const RETRY_DELAYS_MS: readonly number[] = Object.freeze([1 * MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 6 * HOUR, 24 * HOUR]);

/** The first attempt plus one per scheduled retry. */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

export const MAX_RETRY_DELAY_MS = 24 * HOUR;

/** Each scheduled delay is multiplied by a factor in [1 - JITTER_RATIO, 1 + JITTER_RATIO). */
export const JITTER_RATIO = 0.1;

export interface RetryOptions {
  /** The waits between attempts (RETRY_SCHEDULE); the published schedule by default. */
  schedule?: readonly number[];
  /** From the failed attempt's Retry-After header, in milliseconds. */
  retryAfterMs?: number;
  /** Uniform in [0, 1); Math.random by default. Tests pass a fixed one. */
  random?: () => number;
}

/**
 * How long to wait after attempt `attemptNumber` (1 for the first) failed, or null when it was the last
 * attempt the schedule allows.
 */
export function nextRetryDelayMs(attemptNumber: number, options: RetryOptions = {}): number | null {
  if (!Number.isInteger(attemptNumber) || attemptNumber < 1) {
    throw new RangeError(`attemptNumber must be a whole number from 1, got ${attemptNumber}`);
  }
  const schedule = options.schedule ?? RETRY_DELAYS_MS;
  if (attemptNumber >= schedule.length + 1) return null;

  const r = (options.random ?? Math.random)();
  if (!(r >= 0 && r < 1)) throw new RangeError(`random must return a number in [0, 1), got ${r}`);
  const scheduled = schedule[attemptNumber - 1] * (1 + JITTER_RATIO * (2 * r - 1));

  // A negative or garbled Retry-After is ignored rather than allowed to shorten the schedule.
  const retryAfter = options.retryAfterMs !== undefined && Number.isFinite(options.retryAfterMs) ? Math.max(0, options.retryAfterMs) : 0;
  return Math.round(Math.min(Math.max(scheduled, retryAfter), MAX_RETRY_DELAY_MS));
}

/**
 * How long a delivery due for attempt `attemptNumber` (counted within its retry window) may still wait
 * before its window has passed: the waits the schedule still had in store for it. A destination whose
 * breaker is open holds deliveries without spending attempts, but not beyond this.
 */
export function remainingWindowMs(attemptNumber: number, schedule: readonly number[] = RETRY_DELAYS_MS): number {
  let total = 0;
  for (let i = Math.max(0, attemptNumber - 1); i < schedule.length; i++) total += schedule[i];
  return total;
}

/** When the next attempt is due, counted from the failed attempt's time; null when none is left. */
export function nextAttemptAt(attemptNumber: number, attemptedAt: Date, options: RetryOptions = {}): Date | null {
  const delay = nextRetryDelayMs(attemptNumber, options);
  return delay === null ? null : new Date(attemptedAt.getTime() + delay);
}
