import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { enqueueNewDeliveries } from "../../app/delivery/queue.server";
import { verifyContractSignature } from "../../app/delivery/signing";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { connectHttpRequest, previewDestinationRequest, updateHttpRequest } from "../../app/destinations/http-request/destination.server";
import { createHttpRequestSender } from "../../app/destinations/http-request/sender";
import { updateDestination } from "../../app/destinations/destination-settings.server";
import { getDb } from "../../app/lib/db.server";
import { ensureShop } from "../../app/shops/shops.server";
import { dumpKeysUnder, sampleLead, testKeyRing, waitFor } from "../support/delivery";
import { loopbackSender, startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";

/**
 * An HTTP-request destination end to end: saved with a secret header, fed by the outbox, rendered and sent
 * by the real worker to a real HTTPS receiver on loopback, signed like a webhook, with the secret nowhere but
 * on the wire.
 */

const db = getDb();
const TOKEN = "sk_live_9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c";
let receiver: HttpsReceiver;
let harness: DeliveryHarness;
let counter = 0;
const guard = { policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }) };

beforeAll(async () => {
  receiver = await startHttpsReceiver();
  const sender = loopbackSender(receiver);
  harness = await startHarness("http-request", receiver, { senders: { http_request: createHttpRequestSender(sender.exchange) } });
});
afterAll(async () => {
  await harness.close();
  await receiver.close();
});

const definition = () => ({
  method: "PUT",
  url: `${receiver.url}/lists/abc/members/{{ email | downcase | md5 }}?src={{ shop | url_encode }}`,
  headers: [
    { name: "Authorization", value: "", secret: true },
    { name: "X-List", value: "{{ product.title }}", secret: false },
  ],
  bodyEncoding: "json",
  body: '{"email_address": {{ email | json }}, "status_if_new": "{% if consent.given %}subscribed{% else %}pending{% endif %}"}',
});

async function connected() {
  const shop = await ensureShop(db, `http-${++counter}-${Date.now().toString(36)}.myshopify.com`);
  const saved = await connectHttpRequest({
    db, shop, ring: testKeyRing(), definition: definition(), secretValues: { Authorization: `Bearer ${TOKEN}` }, name: "Mailchimp", destination: guard,
  });
  if (!saved.ok) throw new Error(JSON.stringify(saved.problems));
  return { shop, destination: saved.destination, secret: saved.secret! };
}

describe("an HTTP request destination", () => {
  it("GIVEN a lead THEN the worker sends the rendered request with the secret header, an idempotency key and a signature over the body", async () => {
    const { shop, destination, secret } = await connected();
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }));
    await enqueueNewDeliveries(harness.queue, recorded.deliveries);
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: recorded.deliveryIds[0] } })).status === "delivered", 10_000, "delivered");
    const request = receiver.requests.find((r) => r.headers["idempotency-key"] === recorded.deliveryIds[0])!;
    expect(request.method).toBe("PUT");
    expect(request.path).toMatch(/^\/lists\/abc\/members\/[0-9a-f]{32}\?src=/);
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers["x-list"]).toBe("Aviator frames");
    expect(request.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(request.body)).toEqual({ email_address: recorded.lead.email, status_if_new: "subscribed" });
    expect(verifyContractSignature(request.rawBody, String(request.headers["x-tryoncloud-signature"]), secret, {
      timestampHeader: String(request.headers["x-tryoncloud-timestamp"]),
    })).toEqual({ ok: true });
    expect(destination).toMatchObject({ kind: "http_request", name: "Mailchimp", url: receiver.url });
  });

  it("keeps the secret header value out of the database, the attempt log and Redis", async () => {
    const { shop } = await connected();
    receiver.enqueue(respond.status(401, `{"detail":"API key Bearer ${TOKEN} is invalid"}`));
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }));
    await enqueueNewDeliveries(harness.queue, recorded.deliveries);
    const failed = await waitFor(async () => {
      const row = await db.delivery.findUniqueOrThrow({ where: { id: recorded.deliveryIds[0] }, include: { attempts: true } });
      return row.status === "failed" ? row : undefined;
    }, 10_000, "failed at once on 401");
    expect(failed.attemptCount).toBe(1);
    expect(failed.lastError).toMatch(/rejected the credentials/);
    expect(JSON.stringify(failed)).not.toContain(TOKEN);
    const everything = JSON.stringify(await db.destination.findMany({ where: { shopId: shop.id } }));
    expect(everything).not.toContain(TOKEN);
    expect(await dumpKeysUnder(harness.redis, harness.prefix)).not.toContain(TOKEN);
  });

  it("GIVEN a template that does not render THEN saving says which field and line, and nothing is stored", async () => {
    const shop = await ensureShop(db, `http-bad-${Date.now().toString(36)}.myshopify.com`);
    const saved = await connectHttpRequest({
      db, shop, ring: testKeyRing(), destination: guard,
      definition: { ...definition(), body: '{"email": {{ email | json }},\n"x": {% if consent.given %}1}' },
      secretValues: { Authorization: "Bearer x" },
    });
    expect(saved.ok).toBe(false);
    expect(saved.ok || saved.problems[0]).toMatchObject({ field: "body", line: expect.any(Number) });
    expect(await db.destination.count({ where: { shopId: shop.id } })).toBe(0);
  });

  it("GIVEN a host the address guard refuses THEN saving is refused on the URL", async () => {
    const shop = await ensureShop(db, `http-ssrf-${Date.now().toString(36)}.myshopify.com`);
    const saved = await connectHttpRequest({ db, shop, ring: testKeyRing(), definition: definition(), secretValues: { Authorization: "Bearer x" } });
    expect(saved.ok || saved.problems[0]).toMatchObject({ field: "url" });
    expect(saved.ok).toBe(false);
  });

  it("previews the exact request on the latest lead with the secret masked, and keeps a stored secret when an update leaves it out", async () => {
    const { shop, destination } = await connected();
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }));
    const preview = await previewDestinationRequest({ db, shop, ring: testKeyRing(), destinationId: destination.id });
    expect(preview.basedOn).toBe("latest_lead");
    expect(preview.ok && preview.request.headers.find((h) => h.name.toLowerCase() === "authorization")).toMatchObject({ secret: true });
    expect(JSON.stringify(preview)).not.toContain(TOKEN);
    expect(preview.ok && preview.request.body).toContain(recorded.lead.email);

    const updated = await updateHttpRequest({ db, shop, ring: testKeyRing(), destinationId: destination.id, definition: { ...definition(), method: "POST" }, destination: guard });
    expect(updated.ok).toBe(true);
    const again = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }));
    await enqueueNewDeliveries(harness.queue, again.deliveries);
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: again.deliveryIds[0] } })).status === "delivered", 10_000, "delivered");
    const request = receiver.requests.find((r) => r.headers["idempotency-key"] === again.deliveryIds[0])!;
    expect(request.method).toBe("POST");
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("refuses erasure events for an HTTP request destination", async () => {
    const { shop, destination } = await connected();
    await expect(updateDestination({ db, shop, destinationId: destination.id, changes: { events: ["lead_captured", "lead_redacted"] } })).rejects.toThrow(/leads only/);
  });
});
