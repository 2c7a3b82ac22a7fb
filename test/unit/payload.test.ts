import { describe, expect, it } from "vitest";
import { buildLeadCapturedBody, buildTestBody, serializeBody, type LeadBodySource } from "../../app/delivery/payload";

const lead: LeadBodySource = {
  id: "lead_1",
  email: "ada@example.org",
  productId: "gid://shopify/Product/1",
  productTitle: "Aviator",
  productUrl: "https://shop.example/products/aviator",
  variantId: null,
  variantTitle: null,
  resultContext: null,
  tagged: false,
  consent: true,
  capturedAt: new Date("2026-03-01T10:00:00.000Z"),
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  utmTerm: null,
  utmContent: null,
  pageUrl: null,
};

describe("webhook body", () => {
  it("has the documented fields and leaves out utm and page_url when there are none", () => {
    const text = serializeBody(buildLeadCapturedBody(lead, "a.myshopify.com"));
    expect(JSON.parse(text)).toEqual({
      version: 1,
      event: "lead_captured",
      lead_id: "lead_1",
      shop: "a.myshopify.com",
      email: "ada@example.org",
      product: { id: "gid://shopify/Product/1", title: "Aviator", url: "https://shop.example/products/aviator", variant: null },
      try_on: null,
      tagged_in_shopify: false,
      consent: { given: true, captured_at: "2026-03-01T10:00:00.000Z" },
      captured_at: "2026-03-01T10:00:00.000Z",
    });
  });

  it("keeps only the utm keys that were captured, plus the variant and page", () => {
    const body = buildLeadCapturedBody(
      { ...lead, utmSource: "ig", utmTerm: "frames", variantId: "v1", variantTitle: "Gold", pageUrl: "https://shop.example/p" },
      "a.myshopify.com",
    );
    expect(body.utm).toEqual({ source: "ig", term: "frames" });
    expect(body.product.variant).toEqual({ id: "v1", title: "Gold" });
    expect(body.page_url).toBe("https://shop.example/p");
  });

  it("sends the try-on context as an object but never an inline image", () => {
    const resultContext = JSON.stringify({ fit: "good", preview: "data:image/png;base64,AAAA", shots: ["data:image/jpeg;base64,BB", "angle-2"] });
    const body = buildLeadCapturedBody({ ...lead, resultContext }, "a.myshopify.com");
    expect(body.try_on).toEqual({ fit: "good", shots: ["angle-2"] });
    expect(JSON.stringify(body)).not.toContain("data:image");
  });

  it("drops a try-on context that is not a JSON object", () => {
    expect(buildLeadCapturedBody({ ...lead, resultContext: "[1,2]" }, "s").try_on).toBeNull();
    expect(buildLeadCapturedBody({ ...lead, resultContext: "not json" }, "s").try_on).toBeNull();
  });

  it("marks the test body as a test with a made-up shopper", () => {
    const body = buildTestBody("a.myshopify.com", new Date("2026-03-01T10:00:00.000Z"));
    expect(body).toMatchObject({ version: 1, event: "test", test: true, email: "test@example.com", shop: "a.myshopify.com" });
    expect(body.lead_id).toMatch(/^test_/);
  });
});
