import type { ActionFunctionArgs } from "@remix-run/node";
import { describe, expect, it } from "vitest";
import { verifyShopifyWebhook } from "../../app/compliance/verify-webhook.server";
import { WebhookRejectedError } from "../../app/compliance/errors";
import type { WebhookTopic } from "../../app/compliance/receive-webhook.server";
import { getDb } from "../../app/lib/db.server";
import { authenticate } from "../../app/shopify.server";
import * as dataRequestRoute from "../../app/routes/webhooks.customers.data_request";
import * as customersRedactRoute from "../../app/routes/webhooks.customers.redact";
import * as shopRedactRoute from "../../app/routes/webhooks.shop.redact";
import * as uninstalledRoute from "../../app/routes/webhooks.app.uninstalled";
import { TEST_API_SECRET } from "../support/setup-env";
import { shopifyWebhook, uniqueShop, type WebhookOptions } from "./support";

const SHOP = uniqueShop("auth");

const ROUTES: { topic: WebhookTopic; route: { action: (args: ActionFunctionArgs) => Promise<Response>; loader: () => Response }; body: unknown }[] = [
  {
    topic: "customers/data_request",
    route: dataRequestRoute,
    body: { shop_id: 1, shop_domain: SHOP, orders_requested: [], customer: { id: 11, email: "someone@example.org", phone: null }, data_request: { id: 91 } },
  },
  {
    topic: "customers/redact",
    route: customersRedactRoute,
    body: { shop_id: 1, shop_domain: SHOP, customer: { id: 11, email: "someone@example.org", phone: null }, orders_to_redact: [] },
  },
  { topic: "shop/redact", route: shopRedactRoute, body: { shop_id: 1, shop_domain: SHOP } },
  { topic: "app/uninstalled", route: uninstalledRoute, body: { id: 1, name: "Auth shop", domain: SHOP, myshopify_domain: SHOP } },
];

function post(entry: (typeof ROUTES)[number], options: Partial<WebhookOptions> = {}, body: unknown = entry.body) {
  return entry.route.action({ request: shopifyWebhook(entry.topic, body, { shop: SHOP, ...options }), params: {}, context: {} });
}

const handled = () => getDb().processedWebhook.count();

/** The UTF-8 bytes of a string as Node's HTTP parser hands them over (one Latin-1 character per byte). */
const asReceived = (text: string) => Buffer.from(text, "utf8").toString("latin1");

describe.each(ROUTES)("$topic webhook: Shopify's signature and headers", (entry) => {
  it("answers 200 to a request signed as Shopify signs it, and records it as handled", async () => {
    const webhookId = `ok-${entry.topic}`;
    expect((await post(entry, { webhookId })).status).toBe(200);
    expect(await getDb().processedWebhook.findUnique({ where: { webhookId } })).toMatchObject({ shopDomain: SHOP });
  });

  const validHmac = () => shopifyWebhook(entry.topic, entry.body, { shop: SHOP }).headers.get("X-Shopify-Hmac-Sha256")!;
  const forged: [string, () => Partial<WebhookOptions>][] = [
    ["signed with another secret", () => ({ secret: "not-the-app-secret" })],
    ["the HMAC of another body", () => ({ hmac: shopifyWebhook(entry.topic, { other: true }, { shop: SHOP }).headers.get("X-Shopify-Hmac-Sha256")! })],
    ["a truncated HMAC (wrong length)", () => ({ hmac: validHmac().slice(0, -4) })],
    ["an HMAC one character longer", () => ({ hmac: `${validHmac()}A` })],
    ["an HMAC that is not base64", () => ({ hmac: "!!not*base64~~".repeat(3) })],
    ["the HMAC as hex instead of base64", () => ({ hmac: Buffer.from(validHmac(), "base64").toString("hex") })],
    ["a multibyte HMAC (UTF-8 bytes)", () => ({ hmac: asReceived("é✓".repeat(11)) })],
    ["a Latin-1 HMAC", () => ({ hmac: "é".repeat(44) })],
  ];
  it.each(forged)("answers 401 to %s, and does nothing", async (_name, options) => {
    const before = await handled();
    expect((await post(entry, options())).status).toBe(401);
    expect(await handled()).toBe(before);
  });

  it("answers 401 when the body was changed after signing", async () => {
    const request = shopifyWebhook(entry.topic, entry.body, { shop: SHOP, rawBody: JSON.stringify(entry.body) });
    const tampered = new Request(request.url, { method: "POST", headers: request.headers, body: JSON.stringify({ ...(entry.body as object), shop_id: 2 }) });
    expect((await entry.route.action({ request: tampered, params: {}, context: {} })).status).toBe(401);
  });

  const missing: [string, Partial<WebhookOptions>][] = [
    ["HMAC", { omit: ["X-Shopify-Hmac-Sha256"] }],
    ["HMAC (empty value)", { hmac: "" }],
    ["topic", { omit: ["X-Shopify-Topic"] }],
    ["shop domain", { omit: ["X-Shopify-Shop-Domain"] }],
    ["webhook id", { omit: ["X-Shopify-Webhook-Id"] }],
    ["API version", { omit: ["X-Shopify-API-Version"] }],
  ];
  it.each(missing)("answers 400 when the %s header is missing, and does nothing", async (_name, options) => {
    const before = await handled();
    expect((await post(entry, options)).status).toBe(400);
    expect(await handled()).toBe(before);
  });

  it("answers 400 to a correctly signed body that is not JSON", async () => {
    expect((await post(entry, { rawBody: "shop_id=1&customer=2" })).status).toBe(400);
  });

  it("answers 400 to a correctly signed webhook of another topic sent to this address", async () => {
    const other = entry.topic === "shop/redact" ? "customers/redact" : "shop/redact";
    expect((await post(entry, { topicHeader: other })).status).toBe(400);
  });

  it("answers 400 to an empty body, 413 to an oversized one, and 405 to other methods", async () => {
    expect((await post(entry, { rawBody: "" })).status).toBe(400);
    expect((await post(entry, { rawBody: JSON.stringify({ pad: "x".repeat(600 * 1024) }) })).status).toBe(413);
    expect((await post(entry, { method: "PUT" })).status).toBe(405);
    expect(entry.route.loader().status).toBe(405);
  });

  it("answers 400 to a correctly signed webhook whose shop header is not a shop domain", async () => {
    expect((await post(entry, { shop: "evil.example.com" })).status).toBe(400);
  });
});

describe("privacy webhook bodies", () => {
  it("answers 400 to a correctly signed customers/redact without a customer, and records nothing", async () => {
    const before = await handled();
    expect((await post(ROUTES[1], {}, { shop_id: 1, shop_domain: SHOP })).status).toBe(400);
    expect((await post(ROUTES[0], {}, { shop_id: 1, customer: { id: 1, email: "a@example.org" } })).status).toBe(400);
    expect((await post(ROUTES[1], {}, { customer: { id: null, email: null } })).status).toBe(400);
    expect(await handled()).toBe(before);
  });
});

describe("when the library fails after its HMAC check (an expired offline token that cannot be refreshed)", () => {
  // The library's token refresh throws a bare 500 Response for an uninstalled shop; this runs the real
  // library (and so its HMAC check) and then fails the same way.
  const failingAfterHmac = async (request: Request) => {
    await authenticate.webhook(request);
    throw new Response(undefined, { status: 500, statusText: "Internal Server Error" });
  };
  const entry = ROUTES[3];

  it("verifies the request directly and handles it without a session", async () => {
    const verified = await verifyShopifyWebhook(shopifyWebhook(entry.topic, entry.body, { shop: SHOP, webhookId: "direct-1", eventId: "evt-direct-1" }), {
      authenticate: failingAfterHmac,
      apiSecret: TEST_API_SECRET,
    });
    expect(verified).toMatchObject({ shop: SHOP, topic: "APP_UNINSTALLED", webhookId: "direct-1", eventId: "evt-direct-1", apiVersion: "2026-10", payload: entry.body });
    expect(verified.triggeredAt).toBeInstanceOf(Date);
  });

  it("still refuses a forged HMAC with 401", async () => {
    const attempt = verifyShopifyWebhook(shopifyWebhook(entry.topic, entry.body, { shop: SHOP, secret: "wrong" }), {
      authenticate: failingAfterHmac,
      apiSecret: TEST_API_SECRET,
    });
    await expect(attempt).rejects.toMatchObject({ status: 401 });
    await expect(attempt).rejects.toBeInstanceOf(WebhookRejectedError);
  });

  it("refuses a forged HMAC with 401 even when the library itself is not consulted successfully", async () => {
    const alwaysFails = async () => {
      throw new Response(undefined, { status: 500 });
    };
    const attempt = verifyShopifyWebhook(shopifyWebhook(entry.topic, entry.body, { shop: SHOP, hmac: "é".repeat(44) }), {
      authenticate: alwaysFails,
      apiSecret: TEST_API_SECRET,
    });
    await expect(attempt).rejects.toMatchObject({ status: 401 });
  });
});
