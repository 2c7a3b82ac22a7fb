import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { action as captureAction } from "../../app/routes/proxy.capture";
import { EXPORT_COLUMNS, exportLeadsCsv } from "../../app/leads/export.server";
import { getDb } from "../../app/lib/db.server";
import { captureBody, proxyRequest } from "../support/app-proxy";
import { installShop } from "../support/shopify";
import { parseCsv } from "../support/csv";
import { hasControlCharacter, HOSTILE_STRINGS, refusedByPolicy } from "../support/hostile-strings";

/**
 * A corpus of hostile strings in every text field of a storefront capture, on both databases: each is
 * either refused with a 422 naming exactly that field, or stored exactly as sent (NFC, trimmed) and then
 * exported as a CSV cell that is neither a formula nor a control character. Never a 500.
 */

const SHOP = "hostile-shop.myshopify.com";
let shopId = "";

type Lead = Awaited<ReturnType<ReturnType<typeof getDb>["lead"]["findUniqueOrThrow"]>>;

interface Field {
  path: string;
  body: (value: string) => Record<string, unknown>;
  stored: (lead: Lead) => unknown;
  /** The value as stored, for a value the field accepts. */
  expected?: (value: string) => unknown;
  /** The try-on detail is free text: line breaks are allowed in its values. */
  multiline?: boolean;
}

const base = captureBody();
const product = base.product;
const normal = (value: string) => value.normalize("NFC").trim();

const FIELDS: Field[] = [
  { path: "email", body: (v) => ({ email: `x${v}@example.com` }), stored: (l) => l.email, expected: (v) => normal(`x${v}@example.com`) },
  { path: "product.id", body: (v) => ({ product: { ...product, id: v } }), stored: (l) => l.productId },
  { path: "product.title", body: (v) => ({ product: { ...product, title: v } }), stored: (l) => l.productTitle },
  { path: "product.url", body: (v) => ({ product: { ...product, url: `https://store.example/p/${v}` } }), stored: (l) => l.productUrl, expected: (v) => normal(`https://store.example/p/${v}`) },
  { path: "product.variant.id", body: (v) => ({ product: { ...product, variant: { id: v, title: "Gold" } } }), stored: (l) => l.variantId },
  { path: "product.variant.title", body: (v) => ({ product: { ...product, variant: { id: "7", title: v } } }), stored: (l) => l.variantTitle },
  { path: "utm.source", body: (v) => ({ utm: { source: v } }), stored: (l) => l.utmSource },
  { path: "utm.campaign", body: (v) => ({ utm: { campaign: v } }), stored: (l) => l.utmCampaign },
  { path: "pageUrl", body: (v) => ({ pageUrl: `https://store.example/p?ref=${v}` }), stored: (l) => l.pageUrl, expected: (v) => normal(`https://store.example/p?ref=${v}`) },
  { path: "locale", body: (v) => ({ locale: v }), stored: () => undefined, expected: () => undefined },
  {
    path: "tryOn.model",
    body: (v) => ({ tryOn: { model: v } }),
    stored: (l) => (JSON.parse(l.resultContext ?? "{}") as { model?: string }).model,
    expected: (v) => v,
    multiline: true,
  },
];

async function capture(body: Record<string, unknown>) {
  const response = await captureAction({ request: proxyRequest(SHOP, body), params: {}, context: {} });
  return { status: response.status, json: (await response.json()) as { leadId?: string; error?: { field: string; message: string } } };
}

describe("hostile strings in a storefront capture", () => {
  beforeAll(async () => {
    shopId = (await installShop(SHOP)).id;
  });

  describe.each(FIELDS)("in $path", (field) => {
    it.each(HOSTILE_STRINGS)("%s: refused naming the field, or stored exactly", async (_name, value) => {
      const { status, json } = await capture({ ...captureBody(), ...field.body(value), idempotencyKey: randomUUID() });
      expect(status).toBeLessThan(500);
      if (refusedByPolicy(field.multiline ? value : normal(value), { multiline: field.multiline })) {
        expect(status).toBe(422);
        expect(json.error?.field).toBe(field.path);
        return;
      }
      if (status === 422) {
        // Refused for another reason (too long, not an email or a URL): still about this field.
        expect(json.error?.field).toBe(field.path);
        return;
      }
      expect(status).toBe(201);
      const lead = await getDb().lead.findUniqueOrThrow({ where: { id: json.leadId! } });
      expect(field.stored(lead)).toBe((field.expected ?? normal)(value));
    });
  });

  it.each([
    ["an overlong NUL", [0xc0, 0x80]],
    ["a stray continuation byte", [0x80]],
    ["an encoded surrogate", [0xed, 0xa0, 0x80]],
  ])("refuses a body whose bytes are not UTF-8 (%s) with 422 naming the body", async (_name, bytes) => {
    const json = Buffer.from(JSON.stringify(captureBody({ product: { ...product, title: "XX" } })));
    const at = json.indexOf("XX");
    const raw = Buffer.concat([json.subarray(0, at), Buffer.from(bytes), json.subarray(at + 2)]);
    const signed = proxyRequest(SHOP, null);
    const response = await captureAction({
      request: new Request(signed.url, { method: "POST", headers: { "Content-Type": "application/json" }, body: raw }),
      params: {},
      context: {},
    });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ error: { field: "body", message: "The request body is not valid UTF-8" } });
  });

  it("refuses a 1 MB value with 413, and a try-on detail nested past its depth with 422", async () => {
    expect((await capture(captureBody({ product: { ...product, title: "x".repeat(1_000_000) } }))).status).toBe(413);
    let deep: Record<string, unknown> = { leaf: "x" };
    for (let i = 0; i < 2000; i++) deep = { d: deep };
    const nested = await capture(captureBody({ tryOn: deep }));
    expect(nested.status).toBe(422);
    expect(nested.json.error?.field).toBe("tryOn");
  });

  it("exports what was stored with no control character and every formula neutralised", async () => {
    const stream = exportLeadsCsv({ db: getDb(), shopId, filters: {} });
    const text = Buffer.from(await new Response(stream).arrayBuffer()).subarray(3).toString("utf8");
    const rows = parseCsv(text);
    expect(rows[0]).toEqual([...EXPORT_COLUMNS]);
    expect(rows.length).toBeGreaterThan(50);
    for (const row of rows.slice(1)) {
      for (const cell of row) {
        expect(hasControlCharacter(cell)).toBe(false);
        expect(cell).not.toMatch(/^[=+\-@]/);
      }
    }
    const titles = rows.slice(1).map((r) => r[EXPORT_COLUMNS.indexOf("product_title")]);
    expect(titles).toContain("'=HYPERLINK(\"http://evil.example\",\"click\")");
    expect(titles).toContain("\u202eexe.txt");
  });
});
