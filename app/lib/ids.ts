import { randomBytes } from "node:crypto";

/**
 * Row ids for rows written with SQL rather than through Prisma, in the shape of the ids Prisma makes
 * (`@default(cuid())`): 25 lower-case base-36 characters starting with "c", so either kind sorts and
 * reads the same. Time first (milliseconds), then a per-process counter, then 64 random bits: unique
 * across processes without coordination, and never guessable from another row's id.
 */

let counter = 0;

export function newId(now: number = Date.now()): string {
  counter = (counter + 1) % 1_679_616; // 36^4
  const random = randomBytes(8).readBigUInt64BE(0).toString(36).padStart(12, "0").slice(-12);
  return `c${now.toString(36).padStart(8, "0").slice(-8)}${counter.toString(36).padStart(4, "0")}${random}`;
}
