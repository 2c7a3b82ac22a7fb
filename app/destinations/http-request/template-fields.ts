import type { LeadCapturedBody, TestBody } from "../../delivery/payload";

/**
 * The variables a template sees for one delivery: the fields of the webhook body under the same names
 * (so one field reference serves webhooks and templates), with the optional ones always present (null
 * when the lead has none, so a template that uses `utm.source` renders for every lead instead of failing
 * on the first lead without UTM tags), plus the delivery id and the whole body as `lead`.
 *
 * Nothing else is reachable from a template: no other lead, no other shop, no settings.
 */

export interface TemplateUtm {
  source: string | null;
  medium: string | null;
  campaign: string | null;
  term: string | null;
  content: string | null;
}

export interface TemplateFields {
  version: number;
  event: "lead_captured" | "test";
  /** True only for a "send test" request. */
  test: boolean;
  lead_id: string;
  shop: string;
  email: string;
  product: LeadCapturedBody["product"];
  try_on: Record<string, unknown> | null;
  tagged_in_shopify: boolean;
  consent: LeadCapturedBody["consent"];
  captured_at: string;
  utm: TemplateUtm;
  page_url: string | null;
  /** Stable across attempts and replays; also sent as the Idempotency-Key header. */
  delivery_id: string;
  /** The webhook body exactly as a signed webhook would carry it: `{{ lead | json }}`. */
  lead: LeadCapturedBody | TestBody;
}

export function buildTemplateFields(input: { body: LeadCapturedBody | TestBody; deliveryId: string }): TemplateFields {
  const { body, deliveryId } = input;
  return {
    version: body.version,
    event: body.event,
    test: body.event === "test",
    lead_id: body.lead_id,
    shop: body.shop,
    email: body.email,
    product: body.product,
    try_on: body.try_on,
    tagged_in_shopify: body.tagged_in_shopify,
    consent: body.consent,
    captured_at: body.captured_at,
    utm: {
      source: body.utm?.source ?? null,
      medium: body.utm?.medium ?? null,
      campaign: body.utm?.campaign ?? null,
      term: body.utm?.term ?? null,
      content: body.utm?.content ?? null,
    },
    page_url: body.page_url ?? null,
    delivery_id: deliveryId,
    lead: body,
  };
}
