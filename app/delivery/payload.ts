import { randomBytes } from "node:crypto";

/**
 * The webhook body: small, versioned JSON that a CRM can map without knowing anything about try-on.
 * The delivery id travels in headers only (it is the Standard Webhooks message id), never in the body,
 * so one body serves every attempt and replay byte for byte. No photo and no payment data, ever.
 *
 * Bodies are serialised once, stored on the Delivery row, and those exact bytes are signed and sent at
 * every attempt: re-serialising later could reorder keys or change escaping and break a receiver's dedupe.
 */

export const PAYLOAD_VERSION = 1;

export interface ProductBody {
  id: string;
  title: string;
  url: string;
  variant: { id: string; title: string | null } | null;
}

export interface UtmBody {
  source?: string;
  medium?: string;
  campaign?: string;
  term?: string;
  content?: string;
}

export interface LeadCapturedBody {
  version: typeof PAYLOAD_VERSION;
  event: "lead_captured";
  /** Stable for the lead: receivers upsert on it. */
  lead_id: string;
  shop: string;
  email: string;
  product: ProductBody;
  try_on: Record<string, unknown> | null;
  tagged_in_shopify: boolean;
  consent: { given: boolean; captured_at: string };
  captured_at: string;
  utm?: UtmBody;
  page_url?: string;
}

export interface TestBody extends Omit<LeadCapturedBody, "event"> {
  event: "test";
  /** Receivers should not create a contact from this. */
  test: true;
}

/** The stored lead fields the body is made of (a Lead row satisfies it). */
export interface LeadBodySource {
  id: string;
  email: string;
  productId: string;
  productTitle: string;
  productUrl: string;
  variantId: string | null;
  variantTitle: string | null;
  resultContext: string | null;
  tagged: boolean;
  consent: boolean;
  capturedAt: Date;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmTerm: string | null;
  utmContent: string | null;
  pageUrl: string | null;
}

export function buildLeadCapturedBody(lead: LeadBodySource, shopDomain: string): LeadCapturedBody {
  const capturedAt = lead.capturedAt.toISOString();
  const body: LeadCapturedBody = {
    version: PAYLOAD_VERSION,
    event: "lead_captured",
    lead_id: lead.id,
    shop: shopDomain,
    email: lead.email,
    product: {
      id: lead.productId,
      title: lead.productTitle,
      url: lead.productUrl,
      variant: lead.variantId ? { id: lead.variantId, title: lead.variantTitle } : null,
    },
    try_on: tryOnContext(lead.resultContext),
    tagged_in_shopify: lead.tagged,
    consent: { given: lead.consent, captured_at: capturedAt },
    captured_at: capturedAt,
  };
  const utm = utmOf(lead);
  if (utm) body.utm = utm;
  if (lead.pageUrl) body.page_url = lead.pageUrl;
  return body;
}

/** The "send test webhook" body: clearly marked, with a made-up shopper, so nobody mistakes it for a lead. */
export function buildTestBody(shopDomain: string, now: Date): TestBody {
  const at = now.toISOString();
  return {
    version: PAYLOAD_VERSION,
    event: "test",
    test: true,
    lead_id: `test_${randomBytes(8).toString("hex")}`,
    shop: shopDomain,
    email: "test@example.com",
    product: {
      id: "test-product",
      title: "Sample product (test webhook)",
      url: `https://${shopDomain}/products/sample`,
      variant: null,
    },
    try_on: null,
    tagged_in_shopify: false,
    consent: { given: true, captured_at: at },
    captured_at: at,
  };
}

export function serializeBody(body: LeadCapturedBody | TestBody): string {
  return JSON.stringify(body);
}

function utmOf(lead: LeadBodySource): UtmBody | undefined {
  const utm: UtmBody = {};
  if (lead.utmSource) utm.source = lead.utmSource;
  if (lead.utmMedium) utm.medium = lead.utmMedium;
  if (lead.utmCampaign) utm.campaign = lead.utmCampaign;
  if (lead.utmTerm) utm.term = lead.utmTerm;
  if (lead.utmContent) utm.content = lead.utmContent;
  return Object.keys(utm).length ? utm : undefined;
}

/**
 * The stored try-on context, as an object. Anything that is not a JSON object is dropped rather than sent
 * half-understood, and inline images (`data:` URLs) are removed as a last guard: photos never leave the app.
 */
function tryOnContext(raw: string | null): Record<string, unknown> | null {
  if (!raw) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isPlainObject(parsed)) return null;
  return withoutInlineImages(parsed, 0) as Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function withoutInlineImages(value: unknown, depth: number): unknown {
  if (typeof value === "string") return /^data:/i.test(value.trim()) ? undefined : value;
  if (depth > 8 || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    return value.map((v) => withoutInlineImages(v, depth + 1)).filter((v) => v !== undefined);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const kept = withoutInlineImages(v, depth + 1);
    if (kept !== undefined) out[k] = kept;
  }
  return out;
}
