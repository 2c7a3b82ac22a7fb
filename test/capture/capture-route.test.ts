import { beforeAll, describe, expect, it } from "vitest";
import { action, loader } from "../../app/routes/proxy.capture";
import { getDb } from "../../app/lib/db.server";
import { getProducers } from "../../app/runtime/producers.server";
import { encryptSecret } from "../../app/lib/secret-box.server";
import { getConfig } from "../../app/lib/config.server";
import { deliveryJobId } from "../../app/delivery/queue.server";
import { installShop } from "../support/shopify";
import { captureBody, proxyRequest } from "../support/app-proxy";

const SHOP = "capture-shop.myshopify.com";
let shopId = "";

async function post(request: Request) {
  const response = await action({ request, params: {}, context: {} });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, any> };
}

/** The same request with its signature parameter changed (or removed, for undefined). */
function withSignature(request: Request, change: (valid: string | null) => string | undefined): Request {
  const url = new URL(request.url);
  const changed = change(url.searchParams.get("signature"));
  if (changed === undefined) url.searchParams.delete("signature");
  else url.searchParams.set("signature", changed);
  return new Request(url, request);
}

async function leadCount() {
  return getDb().lead.count({ where: { shopId } });
}

describe("storefront capture route (app proxy)", () => {
  beforeAll(async () => {
    const shop = await installShop(SHOP);
    shopId = shop.id;
    const config = getConfig();
    const endpoint = await getDb().destination.create({
      data: { shopId, url: "https://crm.example/hook", secretCiphertext: "pending", secretKeyVersion: 1 },
    });
    const { stored, keyVersion } = encryptSecret("whsec_dGVzdA==", { keys: config.ENCRYPTION_KEYS, currentVersion: config.currentKeyVersion }, { shopId, destinationId: endpoint.id, purpose: "webhook-signing" });
    await getDb().destination.update({ where: { id: endpoint.id }, data: { secretCiphertext: stored, secretKeyVersion: keyVersion } });
  });

  it("GIVEN a validly signed submission THEN the lead and its delivery are stored, tagging is queued with the lead id only, and the delivery waits for the tagging deadline at most", async () => {
    const body = captureBody();
    const { status, json } = await post(proxyRequest(SHOP, body));
    expect(status).toBe(201);
    expect(json).toEqual({ ok: true, leadId: expect.any(String) });
    const lead = await getDb().lead.findUniqueOrThrow({ where: { id: json.leadId }, include: { deliveries: true } });
    expect(lead).toMatchObject({ shopId, email: body.email, productTitle: "Aviator Gold", variantTitle: "Gold / M", utmSource: "newsletter", consent: true, tagged: false });
    expect(lead.deliveries).toHaveLength(1);
    expect(lead.deliveries[0]).toMatchObject({ status: "pending", event: "lead_captured" });
    const job = await getProducers().taggingQueue.getJob(`tag-${lead.id}`);
    expect(job?.data).toEqual({ leadId: lead.id });
    expect(lead).toMatchObject({ taggingState: "pending" });
    // Its first attempt is already queued, under its destination, to run at the deadline unless tagging brings it forward.
    const delivery = await getProducers().deliveryQueue.getJob(deliveryJobId(lead.deliveries[0].id, 1));
    expect(delivery).toMatchObject({ name: lead.deliveries[0].destinationId, data: {}, opts: expect.objectContaining({ delay: getConfig().TAGGING_DEADLINE }) });
    expect(await delivery!.getState()).toBe("delayed");
  });

  it("GIVEN the same idempotency key twice THEN one lead, and the retry gets the same lead id with 200", async () => {
    const body = captureBody();
    const first = await post(proxyRequest(SHOP, body));
    const before = await leadCount();
    const again = await post(proxyRequest(SHOP, body));
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.json.leadId).toBe(first.json.leadId);
    expect(await leadCount()).toBe(before);
  });

  describe("refuses untrusted requests and writes nothing", () => {
    const cases: [string, () => Request][] = [
      ["a forged signature (wrong secret)", () => proxyRequest(SHOP, captureBody(), { secret: "not-the-secret" })],
      ["a stale timestamp (5 minutes old)", () => proxyRequest(SHOP, captureBody(), { timestamp: Math.trunc(Date.now() / 1000) - 300 })],
      ["a duplicated shop parameter appended after signing", () => proxyRequest(SHOP, captureBody(), { appendAfterSigning: [["shop", "evil.myshopify.com"]] })],
      ["an extra parameter appended after signing", () => proxyRequest(SHOP, captureBody(), { appendAfterSigning: [["path_prefix", "/x"]] })],
      ["a non-hex signature", () => proxyRequest(SHOP, captureBody(), { signature: "zz-not-hex" })],
      ["a multibyte signature", () => proxyRequest(SHOP, captureBody(), { signature: "é".repeat(32) })],
      ["an empty signature", () => proxyRequest(SHOP, captureBody(), { signature: "" })],
      ["the valid signature cut short by one character", () => withSignature(proxyRequest(SHOP, captureBody()), (valid) => valid?.slice(0, -1))],
      ["the valid signature with one character more", () => withSignature(proxyRequest(SHOP, captureBody()), (valid) => `${valid}0`)],
      ["no signature parameter at all", () => withSignature(proxyRequest(SHOP, captureBody()), () => undefined)],
    ];
    it.each(cases)("%s → 401", async (_name, make) => {
      const before = await leadCount();
      const { status, json } = await post(make());
      expect(status).toBe(401);
      expect(json.error.field).toBe("signature");
      expect(await leadCount()).toBe(before);
    });
  });

  it("answers 404 for a shop that has not installed the app, and writes nothing", async () => {
    const { status } = await post(proxyRequest("not-installed.myshopify.com", captureBody()));
    expect(status).toBe(404);
    expect(await getDb().shop.count({ where: { domain: "not-installed.myshopify.com" } })).toBe(0);
  });

  it("answers 413 to an oversized body, declared or streamed", async () => {
    const before = await leadCount();
    const huge = JSON.stringify(captureBody({ tryOn: { pad: "x".repeat(20_000) } }));
    expect((await post(proxyRequest(SHOP, null, { rawBody: huge }))).status).toBe(413);
    const streamed = proxyRequest(SHOP, null, { rawBody: huge });
    const chunked = new Request(streamed.url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(huge)); c.close(); } }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.headers.get("content-length")).toBeNull();
    expect((await post(chunked)).status).toBe(413);
    expect(await leadCount()).toBe(before);
  });

  it.each([
    ["email", { email: "not-an-email" }, "Email is not a valid email address"],
    ["consent", { consent: false }, "Consent must be given to be contacted"],
    ["product", { product: undefined }, "Product is required"],
    ["product.title", { product: { id: "1", title: "", url: "https://s.example/p" } }, "Product (title) is required"],
  ])("answers 422 naming %s, and writes nothing", async (field, overrides, message) => {
    const before = await leadCount();
    const { status, json } = await post(proxyRequest(SHOP, captureBody(overrides)));
    expect(status).toBe(422);
    expect(json.error).toEqual({ field, message });
    expect(await leadCount()).toBe(before);
  });

  it("answers 422 to a body that is not JSON", async () => {
    const { status, json } = await post(proxyRequest(SHOP, null, { rawBody: "email=a@b.com" }));
    expect(status).toBe(422);
    expect(json.error.field).toBe("body");
  });

  it("answers 429 with Retry-After when one email submits too often, and stores nothing more", async () => {
    const email = `eager-${Date.now()}@example.com`;
    for (let i = 0; i < 5; i++) expect((await post(proxyRequest(SHOP, captureBody({ email })))).status).toBe(201);
    const before = await leadCount();
    const { status, headers, json } = await post(proxyRequest(SHOP, captureBody({ email })));
    expect(status).toBe(429);
    expect(Number(headers.get("retry-after"))).toBeGreaterThan(0);
    expect(json.error.message).toMatch(/wait/);
    expect(await leadCount()).toBe(before);
  });

  it("with no trusted proxy (the default) counts the connection's peer address and ignores X-Forwarded-For", async () => {
    const capture = async (socketAddress: string) => {
      // proxyRequest sends a fresh random X-Forwarded-For each time.
      const response = await action({ request: proxyRequest(SHOP, captureBody()), params: {}, context: { socketAddress } });
      return response.status;
    };
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push(await capture("192.0.2.10"));
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(201));
    expect(statuses[20]).toBe(429);
    expect(await capture("192.0.2.11")).toBe(201);
  });

  it("answers 405 to GET", async () => {
    const response = await loader();
    expect(response.status).toBe(405);
  });
});
