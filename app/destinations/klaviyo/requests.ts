import type { OutboundRequest } from "../../delivery/http-sender.server";
import type { LeadCapturedBody, TestBody } from "../../delivery/payload";
import { KLAVIYO_PATHS, klaviyoHeaders, klaviyoUrl } from "./klaviyo-api";

/**
 * The requests this product sends to Klaviyo, built as exact bytes (JSON:API documents) from the lead
 * body that every destination kind shares. Shapes follow the request schemas of Create Event, Bulk
 * Subscribe Profiles and Request Profile Deletion at the pinned revision.
 */

export const DEFAULT_METRIC_NAME = "Try-On Lead";
/** Klaviyo: a metric name "must be less than 128 characters". */
export const MAX_METRIC_NAME_LENGTH = 127;
/** Stored on Klaviyo's consent record as the method detail, so the merchant sees where consent came from. */
export const KLAVIYO_CONSENT_SOURCE = "Virtual try-on lead form";

/** Reads of lists and accounts are small JSON:API documents; this bounds them without cutting a page. */
export const KLAVIYO_READ_LIMIT_BYTES = 256 * 1024;

export class InvalidMetricNameError extends Error {
  constructor(reason: string) {
    super(`The event name ${reason}`);
    this.name = "InvalidMetricNameError";
  }
}

/** The metric name as Klaviyo will take it, or InvalidMetricNameError with words for the merchant. */
export function normaliseMetricName(raw: string): string {
  const name = raw.normalize("NFC").trim();
  if (name.length === 0) throw new InvalidMetricNameError("is required");
  if ([...name].length > MAX_METRIC_NAME_LENGTH) throw new InvalidMetricNameError(`must be at most ${MAX_METRIC_NAME_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new InvalidMetricNameError("must not contain control characters");
  return name;
}

function jsonApiPost(apiKey: string, path: string, document: unknown): OutboundRequest {
  return { method: "POST", url: klaviyoUrl(path), headers: klaviyoHeaders(apiKey, true), body: JSON.stringify(document) };
}

export interface CreateEventInput {
  apiKey: string;
  lead: LeadCapturedBody | TestBody;
  /**
   * Becomes the event's `unique_id`: Klaviyo records only the first event with a given unique_id for the
   * same profile and metric, so every attempt and replay of one delivery makes one event at most.
   */
  deliveryId: string;
  /** Default "Try-On Lead". */
  metricName?: string;
  /**
   * Record the event without starting the merchant's flows (Klaviyo's `backfill`), for leads sent long
   * after their capture. Test sends always set it, so a test never emails anyone.
   */
  backfill?: boolean;
}

/** POST /api/events: one "Try-On Lead" event on the shopper's profile, at the capture time. */
export function buildCreateEventRequest(input: CreateEventInput): OutboundRequest {
  const { lead } = input;
  const backfill = input.backfill === true || lead.event === "test";
  return jsonApiPost(input.apiKey, KLAVIYO_PATHS.events, {
    data: {
      type: "event",
      attributes: {
        properties: eventProperties(lead),
        time: lead.captured_at,
        unique_id: input.deliveryId,
        ...(backfill ? { backfill: true } : {}),
        metric: { data: { type: "metric", attributes: { name: normaliseMetricName(input.metricName ?? DEFAULT_METRIC_NAME) } } },
        profile: { data: { type: "profile", attributes: { email: lead.email } } },
      },
    },
  });
}

/**
 * Klaviyo can segment on top-level properties that are not objects, so product, variant and campaign
 * fields are flat; the vendor's try-on context stays one object for templates to read.
 */
function eventProperties(lead: LeadCapturedBody | TestBody): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    lead_id: lead.lead_id,
    shop: lead.shop,
    product_id: lead.product.id,
    product_title: lead.product.title,
    product_url: lead.product.url,
  };
  if (lead.product.variant) {
    properties.variant_id = lead.product.variant.id;
    if (lead.product.variant.title !== null) properties.variant_title = lead.product.variant.title;
  }
  if (lead.try_on) properties.try_on = withinNesting(lead.try_on, TRY_ON_MAX_DEPTH);
  for (const [field, value] of Object.entries(lead.utm ?? {})) {
    if (value) properties[`utm_${field}`] = value;
  }
  if (lead.page_url) properties.page_url = lead.page_url;
  properties.consent = lead.consent.given;
  properties.tagged_in_shopify = lead.tagged_in_shopify;
  if (lead.event === "test") properties.test = true;
  return properties;
}

/**
 * Klaviyo refuses events nested more than 10 levels deep. The try-on context comes from the vendor's
 * widget, so anything deeper than this (counted under `properties.try_on`) is dropped rather than
 * losing the whole event to a 400.
 */
const TRY_ON_MAX_DEPTH = 6;

function withinNesting(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const kept = keepWithin(v, depth - 1);
    if (kept !== undefined) out[k] = kept;
  }
  return out;
}

function keepWithin(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth <= 0) return undefined;
  if (Array.isArray(value)) return value.map((v) => keepWithin(v, depth - 1)).filter((v) => v !== undefined);
  return withinNesting(value as Record<string, unknown>, depth);
}

export interface SubscribeProfileInput {
  apiKey: string;
  lead: LeadCapturedBody;
  /** The Klaviyo list the merchant picked. */
  listId: string;
  /**
   * For leads sent long after capture: Klaviyo then skips double opt-in and "Added to list" flows and
   * records the consent at its original time (`historical_import` with `consented_at`).
   */
  historicalImport?: boolean;
}

/**
 * POST /api/profile-subscription-bulk-create-jobs: subscribes the shopper's email to email marketing and
 * adds it to the list, only when the shopper gave marketing consent; null when there is nothing to send.
 *
 * Klaviyo lifts unsubscribe and spam-report suppressions of the profiles it subscribes, so this must only
 * ever carry consent the shopper gave with this lead.
 */
export function buildSubscribeProfileRequest(input: SubscribeProfileInput): OutboundRequest | null {
  const { lead } = input;
  if (lead.event !== "lead_captured" || !lead.consent.given) return null;
  const listId = input.listId.trim();
  if (listId.length === 0) throw new RangeError("listId is required");
  const marketing: Record<string, string> = { consent: "SUBSCRIBED" };
  // Klaviyo refuses consented_at unless the job is a historical import, and requires it then.
  if (input.historicalImport) marketing.consented_at = lead.consent.captured_at;
  return jsonApiPost(input.apiKey, KLAVIYO_PATHS.subscriptions, {
    data: {
      type: "profile-subscription-bulk-create-job",
      attributes: {
        custom_source: KLAVIYO_CONSENT_SOURCE,
        profiles: { data: [{ type: "profile", attributes: { email: lead.email, subscriptions: { email: { marketing } } } }] },
        ...(input.historicalImport ? { historical_import: true } : {}),
      },
      relationships: { list: { data: { type: "list", id: listId } } },
    },
  });
}

/**
 * POST /api/data-privacy-deletion-jobs: asks Klaviyo to delete every profile with this email (it does so
 * asynchronously). Exactly one identifier: Klaviyo refuses a request that names several.
 */
export function buildProfileDeletionRequest(input: { apiKey: string; email: string }): OutboundRequest {
  const email = input.email.trim();
  if (email.length === 0) throw new RangeError("email is required");
  return jsonApiPost(input.apiKey, KLAVIYO_PATHS.profileDeletions, {
    data: {
      type: "data-privacy-deletion-job",
      attributes: { profile: { data: { type: "profile", attributes: { email } } } },
    },
  });
}

/** GET /api/accounts: the account the key belongs to; only the fields the admin shows. */
export function buildGetAccountsRequest(apiKey: string): OutboundRequest {
  const query = new URLSearchParams({ "fields[account]": "contact_information.organization_name,test_account" });
  return { method: "GET", url: klaviyoUrl(KLAVIYO_PATHS.accounts, query), headers: klaviyoHeaders(apiKey, false), maxResponseBytes: KLAVIYO_READ_LIMIT_BYTES };
}

/** Klaviyo's Get Lists returns at most 10 lists a page. */
export const KLAVIYO_LISTS_PAGE_SIZE = 10;

/** GET /api/lists, newest first, one page; `cursor` is Klaviyo's `page[cursor]` for the next one. */
export function buildGetListsRequest(apiKey: string, cursor?: string): OutboundRequest {
  const query = new URLSearchParams({
    "fields[list]": "name,opt_in_process",
    sort: "-created",
    "page[size]": String(KLAVIYO_LISTS_PAGE_SIZE),
  });
  if (cursor) query.set("page[cursor]", cursor);
  return { method: "GET", url: klaviyoUrl(KLAVIYO_PATHS.lists, query), headers: klaviyoHeaders(apiKey, false), maxResponseBytes: KLAVIYO_READ_LIMIT_BYTES };
}
