import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WEBHOOK_TOPICS, type WebhookTopic } from "../../app/compliance/receive-webhook.server";
import { getDb } from "../../app/lib/db.server";
import { startAppServer, type AppServer } from "../support/app-server";
import { installShop } from "../support/shopify";
import { shopifyWebhook, uniqueShop } from "./support";

/**
 * The webhooks over real HTTP, through Express and Remix as in production, at the addresses that
 * shopify.app.toml subscribes: the raw body the HMAC covers must reach the check byte for byte.
 */

const SHOP = uniqueShop("http");
let server: AppServer;

/** Each [[webhooks.subscriptions]] block of shopify.app.toml: its topics and uri. */
function subscriptions(): { topics: string[]; uri: string }[] {
  const toml = readFileSync("shopify.app.toml", "utf8");
  return toml
    .split("[[webhooks.subscriptions]]")
    .slice(1)
    .map((block) => ({
      topics: [...(/(?:compliance_)?topics\s*=\s*\[([^\]]*)\]/.exec(block)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]),
      uri: /uri\s*=\s*"([^"]+)"/.exec(block)?.[1] ?? "",
    }));
}

function bodyFor(topic: WebhookTopic): unknown {
  const customer = { id: 31, email: "zoë.http@example.org", phone: null };
  switch (topic) {
    case "customers/data_request":
      return { shop_id: 1, shop_domain: SHOP, orders_requested: [], customer, data_request: { id: 31 } };
    case "customers/redact":
      return { shop_id: 1, shop_domain: SHOP, customer, orders_to_redact: [] };
    case "shop/redact":
      return { shop_id: 1, shop_domain: SHOP };
    case "app/uninstalled":
      return { id: 1, name: "Boutique Zoë ✓", domain: SHOP, myshopify_domain: SHOP };
  }
}

async function send(uri: string, request: Request): Promise<number> {
  const response = await fetch(new URL(uri, server.url), {
    method: request.method,
    headers: request.headers,
    body: request.method === "POST" ? await request.arrayBuffer() : undefined,
  });
  await response.arrayBuffer();
  return response.status;
}

describe("privacy and lifecycle webhooks over HTTP", () => {
  beforeAll(async () => {
    server = await startAppServer();
    await installShop(SHOP);
  });
  afterAll(async () => {
    await server?.close();
  });

  it("subscribes every handled topic in shopify.app.toml, the privacy ones as compliance topics", () => {
    const toml = readFileSync("shopify.app.toml", "utf8");
    expect(subscriptions()).toEqual(WEBHOOK_TOPICS.map((topic) => ({ topics: [topic], uri: `/webhooks/${topic}` })));
    for (const topic of ["customers/data_request", "customers/redact", "shop/redact"]) {
      expect(toml).toContain(`compliance_topics = ["${topic}"]`);
    }
    expect(toml).toContain('topics = ["app/uninstalled"]');
  });

  it("answers 200 at each subscribed address to a webhook signed over its raw UTF-8 bytes", async () => {
    // Shop erasure last: it removes the shop the others act on.
    const all = subscriptions();
    const ordered = [...all.filter((s) => s.topics[0] !== "shop/redact"), ...all.filter((s) => s.topics[0] === "shop/redact")];
    for (const { topics, uri } of ordered) {
      const topic = topics[0] as WebhookTopic;
      const webhookId = `http-${topic}`;
      expect(await send(uri, shopifyWebhook(topic, bodyFor(topic), { shop: SHOP, webhookId }))).toBe(200);
      expect(await getDb().processedWebhook.count({ where: { webhookId } })).toBe(1);
    }
  });

  it("answers 401 to a bad HMAC, 400 to a missing one or a missing topic, and 405 to GET, at each address", async () => {
    for (const { topics, uri } of subscriptions()) {
      const topic = topics[0] as WebhookTopic;
      expect(await send(uri, shopifyWebhook(topic, bodyFor(topic), { shop: SHOP, secret: "wrong-secret" }))).toBe(401);
      expect(await send(uri, shopifyWebhook(topic, bodyFor(topic), { shop: SHOP, hmac: "ñ".repeat(44) }))).toBe(401);
      expect(await send(uri, shopifyWebhook(topic, bodyFor(topic), { shop: SHOP, omit: ["X-Shopify-Hmac-Sha256"] }))).toBe(400);
      expect(await send(uri, shopifyWebhook(topic, bodyFor(topic), { shop: SHOP, omit: ["X-Shopify-Topic"] }))).toBe(400);
      expect(await send(uri, shopifyWebhook(topic, bodyFor(topic), { shop: SHOP, method: "GET" }))).toBe(405);
    }
  });
});
