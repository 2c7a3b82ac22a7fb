import { createHash } from "node:crypto";
import { filters as builtInFilters, toValue, type Context, type FilterImplOptions } from "liquidjs";

/**
 * The filters this product adds to Liquid for real CRM APIs, and the date filters made deterministic.
 * Each counts its output against the render's allocation budget, like liquidjs's own string filters.
 */

interface FilterThis {
  context: Context;
}

/** Liquid's own notion of a value as text: nil is empty, arrays are joined, everything else String(). */
function asText(value: unknown): string {
  const v: unknown = toValue(value);
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map(asText).join("");
  return String(v);
}

function hexDigest(algorithm: "md5" | "sha256") {
  return function (this: FilterThis, value: unknown): string {
    const text = asText(value);
    this.context.memoryLimit.use(text.length);
    return createHash(algorithm).update(text, "utf8").digest("hex");
  };
}

/**
 * The value as JSON, quotes included, so `"email": {{ email | json }}` stays valid JSON whatever the
 * shopper typed. Nil and anything JSON cannot represent become `null`.
 */
function json(this: FilterThis, value: unknown): string {
  const text = JSON.stringify(toValue(value)) ?? "null";
  this.context.memoryLimit.use(text.length);
  return text;
}

/**
 * Slack reads `<...>` as links and mentions (`<!channel>`) and `&` as the start of an entity; text from
 * the storefront (UTM values, try-on details) must not be able to ping a channel.
 */
function slackEscape(this: FilterThis, value: unknown): string {
  const text = asText(value);
  this.context.memoryLimit.use(text.length);
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export class NonDeterministicDateError extends Error {
  constructor() {
    super('the date "now" changes every time the request is sent: use captured_at (when the shopper left their email) instead');
    this.name = "NonDeterministicDateError";
  }
}

/**
 * liquidjs reads the clock for "now" and "today"; a delivery must render to the same bytes at every
 * attempt and replay, so those inputs are refused with a hint instead.
 */
function withoutClock(name: string): FilterImplOptions {
  const original = builtInFilters[name];
  const handler = typeof original === "function" ? original : original.handler;
  return function (this: FilterThis, value: unknown, ...args: unknown[]) {
    const v: unknown = toValue(value);
    if (typeof v === "string" && /^\s*(now|today)\s*$/i.test(v)) throw new NonDeterministicDateError();
    return handler.call(this as never, value, ...args);
  };
}

const DATE_FILTERS = ["date", "date_to_xmlschema", "date_to_rfc822", "date_to_string", "date_to_long_string"];

export const PRODUCT_FILTERS: Readonly<Record<string, FilterImplOptions>> = Object.freeze({
  md5: hexDigest("md5"),
  sha256: hexDigest("sha256"),
  json,
  slack_escape: slackEscape,
  ...Object.fromEntries(DATE_FILTERS.map((name) => [name, withoutClock(name)])),
});
