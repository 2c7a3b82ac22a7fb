import { describe, expect, it } from "vitest";
import { MAX_ATTEMPTS, MAX_RETRY_DELAY_MS, nextAttemptAt, nextRetryDelayMs } from "../../app/delivery/retry-schedule";

const MIN = 60_000;
const HOUR = 60 * MIN;
const middle = () => 0.5; // no jitter
const lowest = () => 0;
const highest = () => 0.999999;

describe("retry schedule", () => {
  it("GIVEN no jitter THEN retries come 1 min, 5 min, 30 min, 2 h, 6 h and 24 h after the previous attempt", () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => nextRetryDelayMs(n, { random: middle }));
    expect(delays).toEqual([1 * MIN, 5 * MIN, 30 * MIN, 2 * HOUR, 6 * HOUR, 24 * HOUR]);
  });

  it("allows at most 7 attempts: after the 7th failure there is no next attempt", () => {
    expect(MAX_ATTEMPTS).toBe(7);
    expect(nextRetryDelayMs(6, { random: middle })).not.toBeNull();
    expect(nextRetryDelayMs(7, { random: middle })).toBeNull();
    expect(nextRetryDelayMs(8, { random: middle })).toBeNull();
  });

  it("spreads each delay by ±10 % following the random source", () => {
    expect(nextRetryDelayMs(2, { random: lowest })).toBe(4.5 * MIN);
    expect(nextRetryDelayMs(2, { random: highest })).toBe(Math.round(5 * MIN * (1 + 0.1 * (2 * 0.999999 - 1))));
    expect(nextRetryDelayMs(2, { random: () => 0.75 })).toBe(5.25 * MIN);
  });

  it("never goes beyond 24 h, even when jitter would", () => {
    expect(nextRetryDelayMs(6, { random: highest })).toBe(24 * HOUR);
    expect(nextRetryDelayMs(6, { random: lowest })).toBe(21.6 * HOUR);
  });

  it("GIVEN Retry-After longer than the schedule THEN the receiver's wish wins", () => {
    expect(nextRetryDelayMs(1, { random: middle, retryAfterMs: 10 * MIN })).toBe(10 * MIN);
  });

  it("GIVEN Retry-After shorter than the schedule THEN the schedule wins", () => {
    expect(nextRetryDelayMs(3, { random: middle, retryAfterMs: 5_000 })).toBe(30 * MIN);
  });

  it("GIVEN Retry-After beyond 24 h THEN it is capped at 24 h", () => {
    expect(nextRetryDelayMs(1, { random: middle, retryAfterMs: 3 * 24 * HOUR })).toBe(MAX_RETRY_DELAY_MS);
  });

  it("ignores a negative or non-finite Retry-After", () => {
    expect(nextRetryDelayMs(1, { random: middle, retryAfterMs: -HOUR })).toBe(1 * MIN);
    expect(nextRetryDelayMs(1, { random: middle, retryAfterMs: Number.NaN })).toBe(1 * MIN);
  });

  it("GIVEN Retry-After on the last attempt THEN there is still no next attempt", () => {
    expect(nextRetryDelayMs(7, { random: middle, retryAfterMs: MIN })).toBeNull();
  });

  it("refuses attempt numbers that are not whole numbers from 1, and random sources outside [0, 1)", () => {
    expect(() => nextRetryDelayMs(0)).toThrow(RangeError);
    expect(() => nextRetryDelayMs(1.5)).toThrow(RangeError);
    expect(() => nextRetryDelayMs(1, { random: () => 1 })).toThrow(RangeError);
  });

  it("GIVEN a fixed clock THEN the due time is the attempt time plus the delay", () => {
    const attemptedAt = new Date("2026-05-01T10:00:00Z");
    expect(nextAttemptAt(4, attemptedAt, { random: middle })).toEqual(new Date("2026-05-01T12:00:00Z"));
    expect(nextAttemptAt(7, attemptedAt, { random: middle })).toBeNull();
  });

  it("GIVEN the default random source THEN every delay stays inside its jitter band", () => {
    for (let n = 1; n < MAX_ATTEMPTS; n++) {
      const base = [1 * MIN, 5 * MIN, 30 * MIN, 2 * HOUR, 6 * HOUR, 24 * HOUR][n - 1];
      for (let i = 0; i < 50; i++) {
        const delay = nextRetryDelayMs(n)!;
        expect(delay).toBeGreaterThanOrEqual(base * 0.9);
        expect(delay).toBeLessThanOrEqual(Math.min(base * 1.1, MAX_RETRY_DELAY_MS));
      }
    }
  });
});
