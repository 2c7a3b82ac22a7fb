import { createHmac, timingSafeEqual } from "node:crypto";
import { WebhookRejectedError } from "./errors";
import { BodyTooLargeError, readBodyWithLimit } from "../lib/read-body.server";

/**
 * Verifies that a webhook request comes from Shopify, with the Shopify library's `authenticate.webhook`:
 * HMAC-SHA256 of the raw body with the app secret, compared in constant time, then the required headers.
 * The library answers 401 for a wrong HMAC, 400 for a missing HMAC, body or header and 405 for a method
 * other than POST; those become a WebhookRejectedError with the same status.
 *
 * After a good HMAC the library also loads the shop's offline session and, when its token has expired,
 * refreshes it over the network. For a shop that has uninstalled (app/uninstalled, shop/redact) that refresh
 * is refused and the library throws a bare 500, which would fail the webhook on every retry. None of these
 * handlers needs the session, so when the library fails after its own checks, the request is verified here
 * directly, in the same way, and handled without a session.
 */

export const MAX_WEBHOOK_BODY_BYTES = 512 * 1024;

export interface VerifiedWebhook {
  shop: string;
  /** As the library stores topics: "CUSTOMERS_REDACT". */
  topic: string;
  webhookId: string;
  eventId: string | null;
  apiVersion: string;
  /** X-Shopify-Triggered-At, when sent and valid. */
  triggeredAt: Date | null;
  payload: unknown;
}

/** The part of the library's webhook context the handlers use. */
export interface LibraryWebhookContext {
  shop: string;
  topic: string | number | symbol;
  webhookId: string;
  apiVersion: string;
  payload: unknown;
  triggeredAt?: string;
  eventId?: string;
}

export type AuthenticateWebhook = (request: Request) => Promise<LibraryWebhookContext>;

export interface VerifyOptions {
  authenticate: AuthenticateWebhook;
  apiSecret: string;
  /** Told when the library's session step failed and the request was verified directly. */
  onDirectVerification?: (reason: string) => void;
}

const HEADER = {
  hmac: "x-shopify-hmac-sha256",
  topic: "x-shopify-topic",
  shop: "x-shopify-shop-domain",
  webhookId: "x-shopify-webhook-id",
  apiVersion: "x-shopify-api-version",
  eventId: "x-shopify-event-id",
  triggeredAt: "x-shopify-triggered-at",
} as const;

const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/i;

/** "customers/redact" and "CUSTOMERS_REDACT" name the same topic. */
export function normalizeTopic(topic: string): string {
  return topic.toUpperCase().replace(/[/.]/g, "_");
}

export async function verifyShopifyWebhook(request: Request, options: VerifyOptions): Promise<VerifiedWebhook> {
  if (request.method !== "POST") throw new WebhookRejectedError(405, "webhooks are POST requests");
  const raw = await readBody(request, MAX_WEBHOOK_BODY_BYTES);
  // The library reads the body itself; it gets its own request over the same bytes and headers.
  const forLibrary = new Request(request.url, { method: "POST", headers: request.headers, body: new Uint8Array(raw) });
  let context: LibraryWebhookContext;
  try {
    context = await options.authenticate(forLibrary);
  } catch (thrown) {
    if (thrown instanceof Response && thrown.status < 500) throw rejectionFor(thrown.status);
    // Past the library's HMAC and header checks (a failed session refresh, or a body that is not JSON).
    options.onDirectVerification?.(thrown instanceof Response ? `library answered ${thrown.status}` : errorName(thrown));
    return verifyDirectly(raw, request.headers, options.apiSecret);
  }
  return {
    shop: context.shop,
    topic: String(context.topic),
    webhookId: context.webhookId,
    eventId: context.eventId ?? request.headers.get(HEADER.eventId) ?? null,
    apiVersion: context.apiVersion,
    triggeredAt: parseInstant(context.triggeredAt ?? request.headers.get(HEADER.triggeredAt)),
    payload: context.payload,
  };
}

function rejectionFor(status: number): WebhookRejectedError {
  if (status === 401) return new WebhookRejectedError(401, "the HMAC does not match the body");
  if (status === 405) return new WebhookRejectedError(405, "webhooks are POST requests");
  return new WebhookRejectedError(400, "the request lacks a required Shopify webhook header or body");
}

/** The same checks as the library, in the same order: HMAC over the raw bytes first, then the headers. */
export function verifyDirectly(raw: Buffer, headers: Headers, apiSecret: string): VerifiedWebhook {
  const hmac = headers.get(HEADER.hmac);
  if (!raw.length || !hmac) throw new WebhookRejectedError(400, "the request lacks a required Shopify webhook header or body");
  const expected = Buffer.from(createHmac("sha256", apiSecret).update(raw).digest("base64"), "utf8");
  const given = Buffer.from(hmac, "utf8");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new WebhookRejectedError(401, "the HMAC does not match the body");
  }
  const topic = headers.get(HEADER.topic);
  const shop = headers.get(HEADER.shop);
  const webhookId = headers.get(HEADER.webhookId);
  const apiVersion = headers.get(HEADER.apiVersion);
  if (!topic || !shop || !webhookId || !apiVersion || !SHOP_DOMAIN.test(shop)) {
    throw new WebhookRejectedError(400, "the request lacks a required Shopify webhook header or body");
  }
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new WebhookRejectedError(400, "the body is not JSON");
  }
  return {
    shop: shop.toLowerCase(),
    topic: normalizeTopic(topic),
    webhookId,
    eventId: headers.get(HEADER.eventId) || null,
    apiVersion,
    triggeredAt: parseInstant(headers.get(HEADER.triggeredAt)),
    payload,
  };
}

function parseInstant(value: string | null | undefined): Date | null {
  if (!value) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** The raw body, refused with 413 as soon as it passes `limit` bytes (declared or streamed). */
async function readBody(request: Request, limit: number): Promise<Buffer> {
  try {
    return await readBodyWithLimit(request, limit);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new WebhookRejectedError(413, "the body is too large");
    throw error;
  }
}
