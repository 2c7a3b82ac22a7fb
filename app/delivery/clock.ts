/**
 * The delivery engine reads time only through this, so that tests can walk a delivery through a retry
 * schedule measured in hours without waiting for it.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
