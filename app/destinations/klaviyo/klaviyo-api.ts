import type { ExchangeResult, OutboundRequest } from "../../delivery/http-sender.server";

/**
 * The fixed facts of Klaviyo's REST API that every call here relies on, each checked against Klaviyo's
 * API reference (developers.klaviyo.com, revision 2026-10-15, and its OpenAPI documents in klaviyo/openapi).
 *
 * The base URL is fixed in code: a merchant configures a key, never where it is sent. Tests reach their
 * local stand-in through the exchange function they pass in, never through a setting.
 */

export const KLAVIYO_BASE_URL = "https://a.klaviyo.com";

/**
 * The API revision every request asks for (the `revision` header Klaviyo requires on every /api call).
 * Pinned to the newest GA revision; Klaviyo supports a revision for two years after its release, then
 * answers it with 410, so move this forward at least once a year and re-run the stand-in tests.
 */
export const KLAVIYO_REVISION = "2026-10-15";

/** JSON:API: what Klaviyo's /api endpoints take (`content-type`) and give (`accept`). */
export const JSON_API_MEDIA_TYPE = "application/vnd.api+json";

export const KLAVIYO_PATHS = {
  accounts: "/api/accounts",
  lists: "/api/lists",
  events: "/api/events",
  subscriptions: "/api/profile-subscription-bulk-create-jobs",
  profileDeletions: "/api/data-privacy-deletion-jobs",
} as const;

/** The Klaviyo calls this product makes, named after their reference pages. */
export type KlaviyoOperation = "get_accounts" | "get_lists" | "create_event" | "bulk_subscribe_profiles" | "request_profile_deletion";

/** The private-key scope each call needs, from each endpoint's reference page. */
export const KLAVIYO_OPERATION_SCOPES: Readonly<Record<KlaviyoOperation, readonly string[]>> = {
  get_accounts: ["accounts:read"],
  get_lists: ["lists:read"],
  create_event: ["events:write"],
  bulk_subscribe_profiles: ["lists:write", "profiles:write", "subscriptions:write"],
  request_profile_deletion: ["data-privacy:write"],
};

export interface RateLimit {
  /** Requests in Klaviyo's 1-second window. */
  burstPerSecond: number;
  /** Requests in Klaviyo's 1-minute window. */
  steadyPerMinute: number;
}

/**
 * Klaviyo's published limits per endpoint. They are counted per Klaviyo account (fixed windows of one
 * second and one minute; going over either answers 429 with Retry-After), and every private-key
 * integration of that account shares them with us.
 */
export const KLAVIYO_RATE_LIMITS: Readonly<Record<KlaviyoOperation, RateLimit>> = {
  get_accounts: { burstPerSecond: 1, steadyPerMinute: 15 },
  get_lists: { burstPerSecond: 75, steadyPerMinute: 750 },
  create_event: { burstPerSecond: 350, steadyPerMinute: 3500 },
  bulk_subscribe_profiles: { burstPerSecond: 75, steadyPerMinute: 750 },
  request_profile_deletion: { burstPerSecond: 3, steadyPerMinute: 60 },
};

/**
 * The part of an account's quota one destination lets itself use. The merchant's other Klaviyo
 * integrations (their store platform's sync, review apps...) draw on the same per-account quota, and a
 * 429 we cause would also hit them. Half leaves them room and still far exceeds any storefront's lead rate.
 */
export const KLAVIYO_QUOTA_SHARE = 0.5;

/** A token bucket for the worker: `perSecond` sustained, at most `burst` at once. */
export interface DeliveryRate {
  perSecond: number;
  burst: number;
}

/**
 * The rate one Klaviyo destination may send deliveries of a kind at, derived from the tightest endpoint
 * that kind calls: a lead is Create Event plus (with a list) Bulk Subscribe Profiles; a redaction is
 * Request Profile Deletion.
 */
export function klaviyoDeliveryRate(kind: "lead" | "lead_with_subscription" | "profile_deletion"): DeliveryRate {
  const operations: KlaviyoOperation[] =
    kind === "lead" ? ["create_event"] : kind === "lead_with_subscription" ? ["create_event", "bulk_subscribe_profiles"] : ["request_profile_deletion"];
  const perSecond = Math.min(...operations.map((o) => (KLAVIYO_RATE_LIMITS[o].steadyPerMinute / 60) * KLAVIYO_QUOTA_SHARE));
  const burst = Math.min(...operations.map((o) => Math.max(1, Math.floor(KLAVIYO_RATE_LIMITS[o].burstPerSecond * KLAVIYO_QUOTA_SHARE))));
  return { perSecond, burst };
}

/**
 * Sends one request and returns the raw answer, or why none came: `createWebhookSender(...).exchange`,
 * which vets the address and applies one deadline. Tests pass one that reaches their stand-in.
 */
export type KlaviyoExchange = (request: OutboundRequest) => Promise<ExchangeResult>;

/** What a merchant pasted is not something that could be a key (it is never sent then). */
export class KlaviyoKeyFormatError extends Error {
  constructor(reason: string) {
    // Never echo the value: it may be a real key pasted with a typo.
    super(`not a Klaviyo API key: ${reason}`);
    this.name = "KlaviyoKeyFormatError";
  }
}

/** Generous: private keys are `pk_` and a few dozen characters; this only bounds what we put in a header. */
const MAX_KEY_LENGTH = 256;

/**
 * The pasted key without surrounding whitespace, or KlaviyoKeyFormatError when it could not be a key at all
 * (empty, too long, or holding spaces or control characters, which could not even go in a header).
 */
export function normaliseApiKey(raw: string): string {
  const key = raw.trim();
  if (key.length === 0) throw new KlaviyoKeyFormatError("it is empty");
  if (key.length > MAX_KEY_LENGTH) throw new KlaviyoKeyFormatError(`it is longer than ${MAX_KEY_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(key)) throw new KlaviyoKeyFormatError("it contains spaces or characters a key never has");
  return key;
}

/** What the admin may show of a stored key. */
export function keyLastFour(apiKey: string): string {
  return apiKey.slice(-4);
}

export function klaviyoUrl(path: string, query?: URLSearchParams): string {
  const search = query && [...query.keys()].length > 0 ? `?${query.toString()}` : "";
  return `${KLAVIYO_BASE_URL}${path}${search}`;
}

/**
 * The headers every /api call carries. `content-type` only with a body (Klaviyo's POST endpoints take
 * JSON:API documents only).
 */
export function klaviyoHeaders(apiKey: string, withBody: boolean): Record<string, string> {
  return {
    authorization: `Klaviyo-API-Key ${normaliseApiKey(apiKey)}`,
    revision: KLAVIYO_REVISION,
    accept: JSON_API_MEDIA_TYPE,
    ...(withBody ? { "content-type": JSON_API_MEDIA_TYPE } : {}),
  };
}
