import { describe, expect, it } from "vitest";
import { CaptureValidationError, parseCaptureInput } from "../../app/capture/capture-input";

const valid = {
  email: "shopper@example.com",
  consent: true,
  product: { id: "gid://shopify/Product/1", title: "Aviator", url: "https://store.example/products/aviator", variant: { id: "11", title: "Gold" } },
  tryOn: { resultId: "r1", model: "glasses-v2" },
  utm: { source: "newsletter", campaign: "spring" },
  pageUrl: "https://store.example/products/aviator?utm_source=newsletter",
  idempotencyKey: "3f2c8a2e-7d0b-4b0e-9f57-1c2d3e4f5a6b",
};

function fieldOf(body: unknown): { field: string; message: string } {
  try {
    parseCaptureInput(JSON.stringify(body));
  } catch (error) {
    expect(error).toBeInstanceOf(CaptureValidationError);
    return { field: (error as CaptureValidationError).field, message: (error as Error).message };
  }
  throw new Error("expected a validation error");
}

describe("capture input", () => {
  it("accepts a complete submission and normalises text to NFC", () => {
    const parsed = parseCaptureInput(JSON.stringify({ ...valid, product: { ...valid.product, title: "Cafe\u0301 frames" } }));
    expect(parsed.product.title).toBe("Café frames");
    expect(parsed.email).toBe("shopper@example.com");
  });

  it.each(["plainaddress", "a@b", "two@@example.com", ".dot@example.com", "dot.@example.com", "do..t@example.com", "sp ace@example.com", "x@-bad.example.com", "x@example.c0m", "\"quoted\"@example.com", "a@[127.0.0.1]", `${"a".repeat(65)}@example.com`])(
    "refuses the email %j",
    (email) => {
      expect(fieldOf({ ...valid, email })).toEqual({ field: "email", message: "Email is not a valid email address" });
    },
  );

  it.each(["first.last+tag@sub.example.co.uk", "o'brien@example.ie", "x_y@example.museum"])("accepts the email %j", (email) => {
    expect(parseCaptureInput(JSON.stringify({ ...valid, email })).email).toBe(email);
  });

  it("requires consent to be explicitly true", () => {
    expect(fieldOf({ ...valid, consent: false }).field).toBe("consent");
    expect(fieldOf({ ...valid, consent: "yes" }).field).toBe("consent");
    const { consent: _omit, ...noConsent } = valid;
    expect(fieldOf(noConsent)).toEqual({ field: "consent", message: "Consent must be given to be contacted" });
  });

  it("requires the product and bounds its fields", () => {
    const { product: _omit, ...noProduct } = valid;
    expect(fieldOf(noProduct)).toEqual({ field: "product", message: "Product is required" });
    expect(fieldOf({ ...valid, product: { ...valid.product, title: "" } })).toEqual({ field: "product.title", message: "Product (title) is required" });
    expect(fieldOf({ ...valid, product: { ...valid.product, title: "x".repeat(256) } }).message).toBe("Product (title) must be at most 255 characters");
    expect(fieldOf({ ...valid, product: { ...valid.product, url: "javascript:alert(1)" } }).field).toBe("product.url");
  });

  it("bounds the try-on context and the idempotency key", () => {
    expect(fieldOf({ ...valid, tryOn: { blob: "x".repeat(3000) } }).field).toBe("tryOn");
    expect(fieldOf({ ...valid, idempotencyKey: "short" }).field).toBe("idempotencyKey");
  });

  it("names malformed JSON", () => {
    expect(() => parseCaptureInput("{not json")).toThrow("The request body is not valid JSON");
  });

  it("keeps markup as typed (it is encoded on output, not on input)", () => {
    const parsed = parseCaptureInput(JSON.stringify({ ...valid, product: { ...valid.product, title: "<b>Bold</b> & \"co\"" } }));
    expect(parsed.product.title).toBe("<b>Bold</b> & \"co\"");
  });
});
