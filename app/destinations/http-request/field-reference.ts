import { buildLeadCapturedBody, type LeadBodySource, type LeadCapturedBody } from "../../delivery/payload";
import { buildTemplateFields, type TemplateFields } from "./template-fields";

/**
 * The field reference shown beside the template editor and the receiver guide: every field a template
 * (or a webhook body) can use, its type, what it means and an example taken from the sample lead, plus
 * the sample lead itself and its JSON. The examples are read from the sample, so they cannot drift.
 */

export interface FieldReferenceEntry {
  /** As written in a template: `{{ product.title }}`. */
  name: string;
  type: string;
  description: string;
  /** The sample lead's value, as JSON. */
  example: string;
}

const SAMPLE_SHOP = "demo-store.myshopify.com";
const SAMPLE_CAPTURED_AT = new Date("2025-03-14T09:26:53.000Z");

/** A realistic lead with every optional field filled in. */
const SAMPLE_LEAD: LeadBodySource = Object.freeze({
  id: "cm8a1b2c30001xyzab4567cdef",
  email: "ana.silva@example.com",
  productId: "gid://shopify/Product/8123456789012",
  productTitle: "Aviator Sunglasses",
  productUrl: `https://${SAMPLE_SHOP}/products/aviator-sunglasses`,
  variantId: "gid://shopify/ProductVariant/45123456789012",
  variantTitle: "Gold / Green lens",
  resultContext: JSON.stringify({ vendor: "acme-tryon", look_id: "look_42", fit_score: 0.92 }),
  tagged: true,
  consent: true,
  capturedAt: SAMPLE_CAPTURED_AT,
  utmSource: "instagram",
  utmMedium: "social",
  utmCampaign: "spring-sale",
  utmTerm: null,
  utmContent: "reel-3",
  pageUrl: `https://${SAMPLE_SHOP}/products/aviator-sunglasses?variant=45123456789012`,
});

/** A lead with none of the optional fields: templates are checked against it too. */
const SPARSE_LEAD: LeadBodySource = Object.freeze({
  ...SAMPLE_LEAD,
  id: "cm8a1b2c30002xyzab4567cdef",
  email: "o'brien+shop@example.co.uk",
  productTitle: 'Round Frames "Classic" & Co',
  variantId: null,
  variantTitle: null,
  // An empty object rather than none: a template that reads try_on.x unguarded fails on it, as it would on
  // a real lead whose try-on app sent other details.
  resultContext: "{}",
  tagged: false,
  consent: false,
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  utmContent: null,
  pageUrl: null,
});

export const SAMPLE_DELIVERY_ID = "cm8a1b2c40003xyzab4567cdef";

/** The sample lead's webhook body, exactly as a webhook would carry it. */
export const SAMPLE_LEAD_BODY: LeadCapturedBody = buildLeadCapturedBody(SAMPLE_LEAD, SAMPLE_SHOP);

/** The sample lead's webhook body as pretty JSON, for the field reference. */
export const SAMPLE_LEAD_JSON: string = JSON.stringify(SAMPLE_LEAD_BODY, null, 2);

export function sampleTemplateFields(): TemplateFields {
  return buildTemplateFields({ body: buildLeadCapturedBody(SAMPLE_LEAD, SAMPLE_SHOP), deliveryId: SAMPLE_DELIVERY_ID });
}

/** The sample leads a template must render for at save: a full one and one with every optional field empty. */
export function validationSamples(): TemplateFields[] {
  return [
    sampleTemplateFields(),
    buildTemplateFields({ body: buildLeadCapturedBody(SPARSE_LEAD, SAMPLE_SHOP), deliveryId: SAMPLE_DELIVERY_ID }),
  ];
}

const FIELDS: ReadonlyArray<Omit<FieldReferenceEntry, "example">> = [
  { name: "lead_id", type: "text", description: "The lead's id, the same in every delivery and replay of this lead" },
  { name: "email", type: "text", description: "The shopper's email address, as typed (use | downcase to compare or hash it)" },
  { name: "consent.given", type: "true / false", description: "The shopper ticked the consent box for marketing emails" },
  { name: "consent.captured_at", type: "date and time (UTC, ISO 8601)", description: "When consent was recorded" },
  { name: "captured_at", type: "date and time (UTC, ISO 8601)", description: "When the shopper left their email" },
  { name: "product.id", type: "text", description: "The product the shopper tried on (Shopify id)" },
  { name: "product.title", type: "text", description: "The product's title" },
  { name: "product.url", type: "text", description: "The product page on the store" },
  { name: "product.variant.id", type: "text or empty", description: "The variant tried on, when the shopper picked one" },
  { name: "product.variant.title", type: "text or empty", description: "The variant's title, such as a colour or size" },
  { name: "try_on", type: "object or empty", description: "Details from the try-on app (its own names; use try_on.name), never a photo" },
  { name: "tagged_in_shopify", type: "true / false", description: "The shopper is already a Shopify customer tagged tryon-lead" },
  { name: "utm.source", type: "text or empty", description: "utm_source of the visit (for example instagram)" },
  { name: "utm.medium", type: "text or empty", description: "utm_medium of the visit" },
  { name: "utm.campaign", type: "text or empty", description: "utm_campaign of the visit" },
  { name: "utm.term", type: "text or empty", description: "utm_term of the visit" },
  { name: "utm.content", type: "text or empty", description: "utm_content of the visit" },
  { name: "page_url", type: "text or empty", description: "The page the shopper was on" },
  { name: "shop", type: "text", description: "Your store's myshopify.com domain" },
  { name: "event", type: "text", description: "lead_captured, or test for a test request" },
  { name: "test", type: "true / false", description: "True only for a request sent with Send test" },
  { name: "version", type: "number", description: "Version of the lead's format (changes only if fields are removed or renamed)" },
  { name: "delivery_id", type: "text", description: "This delivery's id, also sent as the Idempotency-Key header: the same on every retry and replay" },
  { name: "lead", type: "object", description: "The whole lead as the webhook sends it: {{ lead | json }} gives the same JSON" },
];

function valueAt(fields: TemplateFields, path: string): unknown {
  return path.split(".").reduce<unknown>((value, key) => (value === null || value === undefined ? value : (value as Record<string, unknown>)[key]), fields);
}

export const FIELD_REFERENCE: ReadonlyArray<FieldReferenceEntry> = Object.freeze(
  FIELDS.map((field) => {
    const value = valueAt(sampleTemplateFields(), field.name);
    const example = field.name === "lead" ? "(the sample JSON below)" : JSON.stringify(value ?? null);
    return Object.freeze({ ...field, example });
  }),
);
