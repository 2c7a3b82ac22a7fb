import { HOSTILE_PERCENT_ENCODINGS, HOSTILE_STRINGS } from "./hostile-strings";

/**
 * Seeded random inputs for the request fuzz test: the same seed gives the same requests, so a failure
 * can be replayed with FUZZ_SEED.
 */

/** A small seeded generator (xorshift32): deterministic, not for anything secret. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  /** A float in [0, 1). */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x1_0000_0000;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/** Code points from the ranges that break naive text handling, weighted towards ordinary ones. */
const CHARACTER_KINDS: [weight: number, make: (r: Random) => string][] = [
  [50, (r) => String.fromCharCode(0x20 + r.int(0x5f))], // printable ASCII
  [6, (r) => String.fromCharCode(r.int(0x20))], // C0 controls, NUL among them
  [3, (r) => String.fromCharCode(0x7f + r.int(0x21))], // DEL and C1 controls
  [3, (r) => String.fromCharCode(0xd800 + r.int(0x800))], // a lone surrogate
  [10, (r) => String.fromCharCode(0xa0 + r.int(0x160))], // Latin-1 and Latin Extended
  [5, (r) => String.fromCodePoint(0x1f300 + r.int(0x300))], // emoji (astral)
  [3, (r) => r.pick(["\u202e", "\u202d", "\u2066", "\u2069", "\u200b", "\ufeff", "\u2028", "\ufffe", "\uffff"])],
  [5, (r) => r.pick(["=", "+", "-", "@", "%", "%00", "%ZZ", "\\", "\"", "'", "<", ">", "&", ",", ";"])],
  [3, (r) => String.fromCharCode(0x0300 + r.int(0x70))], // combining marks
];
const TOTAL_WEIGHT = CHARACTER_KINDS.reduce((sum, [w]) => sum + w, 0);

function randomCharacter(r: Random): string {
  let roll = r.int(TOTAL_WEIGHT);
  for (const [weight, make] of CHARACTER_KINDS) {
    if (roll < weight) return make(r);
    roll -= weight;
  }
  return "x";
}

/** Text of any kind: a corpus entry, random characters of a random length, an ordinary word, empty. */
export function randomText(r: Random): string {
  const roll = r.next();
  if (roll < 0.25) return r.pick(HOSTILE_STRINGS)[1];
  if (roll < 0.35) return "";
  if (roll < 0.5) return r.pick(["gold", "Aviator", "2026-03-01", "2026-13-45", "1", "-1", "true", "null", "https://crm.example/hook", "newsletter"]);
  const length = r.chance(0.05) ? 300 + r.int(5000) : r.int(40);
  let text = "";
  while (text.length < length) text += randomCharacter(r);
  return text;
}

/** A JSON value of a random type, mostly text. */
export function randomJson(r: Random, depth = 0): unknown {
  const roll = r.next();
  if (roll < 0.6 || depth > 3) return randomText(r);
  if (roll < 0.7) return r.int(1e6) - 5e5;
  if (roll < 0.75) return r.chance(0.5);
  if (roll < 0.8) return null;
  if (roll < 0.9) return Array.from({ length: r.int(4) }, () => randomJson(r, depth + 1));
  return Object.fromEntries(Array.from({ length: r.int(4) }, () => [randomText(r).slice(0, 20), randomJson(r, depth + 1)]));
}

/** Percent-encoded UTF-8 of text, a lone surrogate written as U+FFFD (as browsers and URLSearchParams do). */
export function encodeText(text: string): string {
  return encodeURIComponent((text as string & { toWellFormed(): string }).toWellFormed());
}

/** A query string or form body: random names and values, some of them raw percent-encoding junk. */
export function randomFormText(r: Random, names: readonly string[], fixed: Record<string, string> = {}): string {
  const pairs: string[] = Object.entries(fixed).map(([k, v]) => `${encodeText(k)}=${encodeText(v)}`);
  for (let i = r.int(5); i > 0; i--) {
    const name = r.chance(0.85) ? r.pick(names) : randomText(r).slice(0, 12);
    const value = r.chance(0.15) ? r.pick(HOSTILE_PERCENT_ENCODINGS)[1] : encodeText(randomText(r));
    pairs.push(`${r.chance(0.05) ? r.pick(HOSTILE_PERCENT_ENCODINGS)[1] : encodeText(name)}=${value}`);
  }
  return pairs.join("&");
}

/** Bytes that are seldom valid UTF-8, JSON or a form. */
export function randomBytes(r: Random): Uint8Array {
  return Uint8Array.from({ length: r.int(200) }, () => r.int(256));
}
