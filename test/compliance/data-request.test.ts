import { beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { getDb } from "../../app/lib/db.server";
import { action as privacyAction, loader as privacyLoader } from "../../app/routes/app.privacy._index";
import { loader as downloadLoader } from "../../app/routes/app.privacy.$requestId.download";
import { addEndpoint, sampleLead, type TestEndpoint } from "../support/delivery";
import { adminRequest, formRequest, installShop } from "../support/shopify";
import { TEST_APP_URL } from "../support/setup-env";
import { captureLogs, deliver, shopifyWebhook, testDeps, uniqueShop } from "./support";

const db = getDb();
const logs = captureLogs();

const ANN = "Ann.Asks@Example.org";
const ANN_AT_WORK = "ann.asks.at-work@example.net";
const ANN_CUSTOMER_ID = 5150;

let shopA: TestEndpoint;
let shopB: TestEndpoint;
const annLeadIds: string[] = [];

function dataRequest(shop: string, customer: { id: number | null; email: string | null }, requestId: number, webhookId?: string) {
  return shopifyWebhook(
    "customers/data_request",
    { shop_id: 1, shop_domain: shop, orders_requested: [1001], customer: { ...customer, phone: "+15550100" }, data_request: { id: requestId } },
    { shop, webhookId },
  );
}

async function call<T>(run: () => Promise<T>): Promise<T | Response> {
  try {
    return await run();
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}

async function list(shop: string) {
  const result = await call(async () => privacyLoader({ request: await adminRequest("/app/privacy", shop), params: {}, context: {} }));
  if (result instanceof Response) throw new Error(`privacy page answered ${result.status}`);
  return result;
}

async function download(shop: string, requestId: string) {
  const result = await call(async () =>
    downloadLoader({ request: await adminRequest(`/app/privacy/${requestId}/download`, shop), params: { requestId }, context: {} }),
  );
  return result as Response;
}

async function post(shop: string, fields: Record<string, string>) {
  return call(async () => privacyAction({ request: await formRequest("/app/privacy", shop, fields), params: {}, context: {} }));
}

describe("customers/data_request and the Privacy page", () => {
  beforeAll(async () => {
    for (const [label, target] of [["asks-a", "a"], ["asks-b", "b"]] as const) {
      const shop = await installShop(uniqueShop(label));
      const endpoint = await addEndpoint(shop, `https://crm-${target}.example/hooks/leads?token=crm-token`);
      if (target === "a") shopA = endpoint;
      else shopB = endpoint;
    }
    const first = await recordLeadWithDeliveries(db, sampleLead(shopA, { email: ANN, utm: { source: "newsletter", campaign: "spring" } }));
    const tagged = await recordLeadWithDeliveries(db, sampleLead(shopA, { email: ANN_AT_WORK, customerId: `gid://shopify/Customer/${ANN_CUSTOMER_ID}`, tagged: true }));
    annLeadIds.push(first.lead.id, tagged.lead.id);
    await recordLeadWithDeliveries(db, sampleLead(shopA, { email: "bob.not.asking@example.org" }));
    await recordLeadWithDeliveries(db, sampleLead(shopB, { email: ANN }));
  });

  it("records the request and lists it for the merchant, with what is held about the shopper", async () => {
    const response = await deliver("customers/data_request", dataRequest(shopA.shopDomain, { id: ANN_CUSTOMER_ID, email: ANN }, 9001), testDeps(logs.logger));
    expect(response.status).toBe(200);
    const stored = await db.dataRequest.findFirstOrThrow({ where: { shopId: shopA.shopId, shopifyRequestId: "9001" } });
    expect(stored).toMatchObject({ customerEmail: ANN.toLowerCase(), customerId: String(ANN_CUSTOMER_ID), fulfilledAt: null });

    const page = await list(shopA.shopDomain);
    expect(page.open).toEqual([
      expect.objectContaining({ id: stored.id, shopifyRequestId: "9001", customerEmail: ANN.toLowerCase(), leads: 2 }),
    ]);
    expect((await list(shopB.shopDomain)).open).toEqual([]);
  });

  it("downloads the shopper's leads with product, consent, UTM, tagging and delivery history as JSON", async () => {
    const request = await db.dataRequest.findFirstOrThrow({ where: { shopId: shopA.shopId, shopifyRequestId: "9001" } });
    const response = await download(shopA.shopDomain, request.id);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="data-request-9001.json"');
    const text = await response.text();
    const report = JSON.parse(text);
    expect(report).toMatchObject({
      version: 1,
      shop: shopA.shopDomain,
      request: { id: request.id, shopify_request_id: "9001" },
      customer: { shopify_customer_id: String(ANN_CUSTOMER_ID), email: ANN.toLowerCase() },
    });
    expect(report.leads.map((l: { lead_id: string }) => l.lead_id).sort()).toEqual([...annLeadIds].sort());
    const first = report.leads.find((l: { email: string }) => l.email === ANN);
    expect(first).toMatchObject({
      product: { id: "gid://shopify/Product/1001", title: "Aviator frames", variant: { id: "gid://shopify/ProductVariant/2002", title: "Gold / Large" } },
      try_on: { fit: "good", frameWidthMm: 140 },
      consent: { given: true },
      utm: { source: "newsletter", campaign: "spring", medium: null },
      tagged_in_shopify: false,
      deliveries: [{ event: "lead_captured", endpoint_host: "crm-a.example", status: "pending", attempts: 0, delivered_at: null }],
    });
    const work = report.leads.find((l: { email: string }) => l.email === ANN_AT_WORK);
    expect(work).toMatchObject({ tagged_in_shopify: true, shopify_customer: `gid://shopify/Customer/${ANN_CUSTOMER_ID}` });
    // Another shopper's data, the CRM's URL token and the signing secret are not part of it.
    expect(text).not.toContain("bob.not.asking@example.org");
    expect(text).not.toContain("crm-token");
    expect(text).not.toMatch(/secret|ciphertext/i);
  });

  it("does not let another shop read or close the request", async () => {
    const request = await db.dataRequest.findFirstOrThrow({ where: { shopId: shopA.shopId, shopifyRequestId: "9001" } });
    expect((await download(shopB.shopDomain, request.id)).status).toBe(404);
    const closed = await post(shopB.shopDomain, { intent: "complete", requestId: request.id });
    expect((closed as { init?: { status?: number } }).init?.status).toBe(404);
    expect((await db.dataRequest.findUniqueOrThrow({ where: { id: request.id } })).fulfilledAt).toBeNull();
  });

  it("marking the request done erases its copy of the email; a redelivery does not reopen it", async () => {
    const request = await db.dataRequest.findFirstOrThrow({ where: { shopId: shopA.shopId, shopifyRequestId: "9001" } });
    expect(await post(shopA.shopDomain, { intent: "complete", requestId: request.id })).toEqual({ ok: true });
    const done = await db.dataRequest.findUniqueOrThrow({ where: { id: request.id } });
    expect(done).toMatchObject({ customerEmail: null, customerId: null, fulfilledAt: expect.any(Date) });
    expect((await download(shopA.shopDomain, request.id)).status).toBe(410);
    const page = await list(shopA.shopDomain);
    expect(page.open).toEqual([]);
    expect(page.completed).toBe(1);

    // Shopify delivers the same request again (same webhook id, then a new one for the same request).
    const again = dataRequest(shopA.shopDomain, { id: ANN_CUSTOMER_ID, email: ANN }, 9001, "data-request-9001");
    expect((await deliver("customers/data_request", again, testDeps(logs.logger))).status).toBe(200);
    const replay = dataRequest(shopA.shopDomain, { id: ANN_CUSTOMER_ID, email: ANN }, 9001, "data-request-9001");
    expect((await deliver("customers/data_request", replay, testDeps(logs.logger))).status).toBe(200);
    const rows = await db.dataRequest.findMany({ where: { shopId: shopA.shopId, shopifyRequestId: "9001" } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ customerEmail: null, fulfilledAt: expect.any(Date) });
  });

  it("does not store the email of a shopper the shop holds nothing about", async () => {
    const response = await deliver("customers/data_request", dataRequest(shopA.shopDomain, { id: 1, email: "stranger@example.org" }, 9002), testDeps(logs.logger));
    expect(response.status).toBe(200);
    const stored = await db.dataRequest.findFirstOrThrow({ where: { shopId: shopA.shopId, shopifyRequestId: "9002" } });
    expect(stored).toMatchObject({ customerEmail: null, customerId: "1" });
    const report = JSON.parse(await (await download(shopA.shopDomain, stored.id)).text());
    expect(report.leads).toEqual([]);
  });

  it("deletes an open request when the same shopper's data is erased", async () => {
    expect((await deliver("customers/data_request", dataRequest(shopB.shopDomain, { id: null, email: ANN }, 9003), testDeps(logs.logger))).status).toBe(200);
    expect(await db.dataRequest.count({ where: { shopId: shopB.shopId, shopifyRequestId: "9003" } })).toBe(1);
    const redact = shopifyWebhook(
      "customers/redact",
      { shop_id: 2, shop_domain: shopB.shopDomain, customer: { id: null, email: ANN, phone: null }, orders_to_redact: [] },
      { shop: shopB.shopDomain },
    );
    expect((await deliver("customers/redact", redact, testDeps(logs.logger))).status).toBe(200);
    expect(await db.dataRequest.count({ where: { shopId: shopB.shopId, shopifyRequestId: "9003" } })).toBe(0);
  });

  it("refuses the download with a forged session token (401) or none (sent to log in)", async () => {
    const request = await db.dataRequest.findFirstOrThrow({ where: { shopId: shopA.shopId, shopifyRequestId: "9002" } });
    const url = `/app/privacy/${request.id}/download`;
    const forged = await call(async () =>
      downloadLoader({ request: await adminRequest(url, shopA.shopDomain, { jwt: { aud: "someone-elses-app" } }), params: { requestId: request.id }, context: {} }),
    );
    expect((forged as Response).status).toBe(401);
    const anonymous = await call(async () => downloadLoader({ request: new Request(new URL(url, TEST_APP_URL)), params: { requestId: request.id }, context: {} }));
    expect((anonymous as Response).status).toBe(302);
    expect(await (anonymous as Response).text()).not.toContain("@");
  });

  it("logs no email", () => {
    expect(logs.text()).toContain("shopper data request recorded");
    expect(logs.text()).not.toMatch(/@example\.(org|net)/i);
  });
});
