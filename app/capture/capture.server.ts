import { BatcherFullError } from "../lib/batcher";
import type { Db } from "../lib/db.server";
import { recordLeadWithDeliveries } from "../delivery/outbox.server";
import type { CaptureInput } from "./capture-input";
import { RateLimitedError } from "./rate-limit.server";
import { submissionHash } from "./submission-hash";

/**
 * A shopper's consented email after a try-on becomes a lead: rate-limited, written with its deliveries
 * in one transaction (the outbox), then handed to background work. Nothing slow happens before the answer:
 * tagging the customer in Shopify and the webhook deliveries run after it.
 */

export interface CaptureDeps {
  db: Db;
  /** Counts the submission against the shop, address and email limits; throws RateLimitedError. */
  consumeRateLimit: (subject: { shop: string; ip: string | null; email: string }) => Promise<void>;
  /** Starts the after-capture work for a new lead (tag the customer, then release its deliveries). */
  afterCapture: (leadId: string, deliveries: { id: string; destinationId: string }[]) => Promise<void>;
  onBackgroundError?: (error: unknown, leadId: string) => void;
  /** Captures held waiting for the database before one is refused as overload (CAPTURE_MAX_WAITING). */
  maxWaiting?: number;
}

/**
 * The idempotency key was already used for a different submission. Nothing was stored; the widget sends
 * the submission again under a fresh key, so neither shopper's lead is lost.
 */
export class IdempotencyConflictError extends Error {
  constructor() {
    super("This idempotency key was already used for a different submission; send it again with a new key");
    this.name = "IdempotencyConflictError";
  }
}

export interface CaptureResult {
  leadId: string;
  /** The idempotency key was seen before with the same submission: the stored lead is returned and nothing new is written. */
  duplicate: boolean;
}

export async function captureLead(
  deps: CaptureDeps,
  request: { shop: { id: string; domain: string }; input: CaptureInput; clientIp: string | null },
): Promise<CaptureResult> {
  const { input, shop } = request;
  const hash = submissionHash(input);
  try {
    await deps.consumeRateLimit({ shop: shop.domain, ip: request.clientIp, email: input.email });
  } catch (error) {
    // A lead is worth more than a limit: if Redis cannot count, store the lead and say so in the logs.
    if (error instanceof RateLimitedError) throw error;
    deps.onBackgroundError?.(error, "rate-limit");
  }
  const recorded = await recordLeadWithDeliveries(deps.db, {
    shopId: shop.id,
    shopDomain: shop.domain,
    email: input.email,
    productId: input.product.id,
    productTitle: input.product.title,
    productUrl: input.product.url,
    variantId: input.product.variant?.id ?? null,
    variantTitle: input.product.variant?.title ?? null,
    resultContext: input.tryOn ?? null,
    consent: input.consent,
    utm: input.utm,
    pageUrl: input.pageUrl ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    submissionHash: hash,
  }, { maxWaiting: deps.maxWaiting });
  // Leads stored before keys were bound to submissions have no hash: they answer as a repeat, as they did.
  if (recorded.duplicate && recorded.lead.submissionHash && recorded.lead.submissionHash !== hash) {
    throw new IdempotencyConflictError();
  }
  if (!recorded.duplicate) {
    // After the commit. If Redis is unreachable the lead is still safe: the reconcilers pick it up.
    await deps.afterCapture(recorded.lead.id, recorded.deliveries).catch((error) => deps.onBackgroundError?.(error, recorded.lead.id));
  }
  return { leadId: recorded.lead.id, duplicate: recorded.duplicate };
}

/**
 * The database is not keeping up (or cannot be reached in time): nothing was stored, and the same
 * submission (same idempotency key) may be sent again in a moment. The capture route answers 503 with
 * Retry-After rather than 500, so the widget and any monitor see an overload, not a bug.
 */
export function isOverload(error: unknown): boolean {
  if (error instanceof BatcherFullError) return true;
  const { code, message } = (typeof error === "object" && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  // Prisma: P2024 no pool connection in time, P2028 a transaction could not start in time.
  if (code === "P2024" || code === "P2028") return true;
  // node-postgres: no pool connection within connectionTimeoutMillis.
  return typeof message === "string" && message.startsWith("timeout exceeded when trying to connect");
}
