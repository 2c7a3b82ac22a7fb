import { buildLeadCapturedBody, type LeadBodySource, type LeadCapturedBody } from "../../app/delivery/payload";

export const SHOP = "demo-store.myshopify.com";

/** A lead body as the capture path builds it: variant, try-on context, UTM and page URL all present. */
export function sampleLead(overrides: Partial<LeadBodySource> = {}): LeadCapturedBody {
  return buildLeadCapturedBody(
    {
      id: "lead_01HZX",
      email: "shopper@example.com",
      productId: "gid://shopify/Product/1001",
      productTitle: "Aviator frames",
      productUrl: `https://${SHOP}/products/aviator`,
      variantId: "gid://shopify/ProductVariant/2002",
      variantTitle: "Gold / 54 mm",
      resultContext: JSON.stringify({ vendor: "acme-tryon", session: "s-42", fit: { score: 0.92, bridge: "narrow" } }),
      tagged: true,
      consent: true,
      capturedAt: new Date("2026-11-02T10:15:30.123Z"),
      utmSource: "instagram",
      utmMedium: "social",
      utmCampaign: "fall-frames",
      utmTerm: null,
      utmContent: null,
      pageUrl: `https://${SHOP}/products/aviator?variant=2002`,
      ...overrides,
    },
    SHOP,
  );
}
