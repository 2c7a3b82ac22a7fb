import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { pauseEndpoint } from "../../app/destinations/endpoint-lifecycle.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { sendTestWebhook, type TestSendResult } from "../../app/destinations/test-send.server";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { captureLogger, LOOPBACK_DESTINATION, postWebhookForm, testSendDeps } from "./helpers";

const db = getDb();
const ring = keyRingFromConfig();

describe("Send test webhook, through the production delivery path", () => {
  let receiver: HttpsReceiver;
  let shop: { id: string; domain: string };
  let destinationId: string;
  let secret: string;

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    shop = await installShop("test-send.myshopify.com");
    const connected = await connectEndpoint({ db, shop, url: receiver.urlFor("/crm/hook?key=1"), ring, destination: LOOPBACK_DESTINATION });
    destinationId = connected.endpoint.id;
    secret = connected.secret;
    receiver.setSecrets([secret]);
  });

  afterAll(async () => {
    await receiver.close();
  });

  // A 410 pauses the endpoint, as for real leads; every case starts from an active endpoint.
  afterEach(async () => {
    await db.destination.update({ where: { id: destinationId }, data: { state: "active", pausedReason: null } });
  });

  async function send(overrides: Parameters<typeof testSendDeps>[2] = {}, waitMs?: number): Promise<TestSendResult> {
    return sendTestWebhook({ ...testSendDeps(receiver, captureLogger().logger, overrides), waitMs }, { shop, destinationId });
  }

  it("GIVEN a receiver that answers 200 THEN it says how long delivery took, and the receiver got a marked, signed test event with a made-up shopper", async () => {
    const result = await send();
    expect(result).toMatchObject({ outcome: "delivered", statusCode: 200, durationMs: expect.any(Number) });
    const request = receiver.requests.at(-1)!;
    expect(request.path).toBe("/crm/hook?key=1");
    expect(request.contract.verified && request.standard.verified && request.svix.verified).toBe(true);
    expect(request.headers).toMatchObject({
      "x-tryoncloud-event": "test", "x-tryoncloud-shop": shop.domain, "x-tryoncloud-delivery-id": result.deliveryId,
    });
    const body = JSON.parse(request.body);
    expect(body).toMatchObject({ event: "test", test: true, email: "test@example.com", shop: shop.domain });

    const delivery = await db.delivery.findUniqueOrThrow({ where: { id: result.deliveryId }, include: { attempts: true } });
    expect(delivery).toMatchObject({ shopId: shop.id, destinationId, event: "test", status: "delivered", attemptCount: 1 });
    expect(delivery.attempts).toEqual([expect.objectContaining({ number: 1, statusCode: 200, errorCode: null, address: "127.0.0.1" })]);
    if (result.outcome === "delivered") expect(delivery.attempts[0].durationMs).toBe(result.durationMs);
  });

  it.each([
    ["a 500 answer", () => receiver.enqueue(respond.status(500, "database is down")), { errorCode: "http_status", statusCode: 500, message: /answered 500 Internal Server Error/, responseExcerpt: "database is down" }],
    ["a 404 answer", () => receiver.enqueue(respond.status(404, "no such hook")), { errorCode: "http_status", statusCode: 404, message: /answered 404 Not Found/, responseExcerpt: "no such hook" }],
    ["a redirect", () => receiver.enqueue(respond.redirect(301, "https://elsewhere.example/")), { errorCode: "redirect", statusCode: 301, message: /never follow redirects/ }],
    ["a 410 Gone", () => receiver.enqueue(respond.gone()), { errorCode: "endpoint_gone", statusCode: 410, message: /410 Gone/ }],
    ["a reset connection", () => receiver.enqueue(respond.reset()), { errorCode: "connection_failed", message: /closed before your endpoint answered/ }],
  ])("GIVEN %s THEN the exact reason is given in plain words, once (tests are not retried)", async (_label, script, expected) => {
    script();
    const result = await send();
    const { message, ...rest } = expected;
    expect(result).toMatchObject({ outcome: "failed", ...rest });
    if (result.outcome === "failed") expect(result.message).toMatch(message);
    const delivery = await db.delivery.findUniqueOrThrow({ where: { id: result.deliveryId } });
    expect(delivery).toMatchObject({ status: "failed", attemptCount: 1 });
  });

  it("GIVEN a receiver that never answers THEN the attempt times out within its deadline and says so", async () => {
    receiver.enqueue(respond.hang());
    const started = Date.now();
    const result = await send({ deadlineMs: 700 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result).toMatchObject({ outcome: "failed", errorCode: "timeout", message: expect.stringMatching(/did not answer completely within 1 second/) });
  });

  it("GIVEN a certificate the sender does not trust THEN it is a TLS error in plain words", async () => {
    const result = await send({ extraCa: [] });
    expect(result).toMatchObject({ outcome: "failed", errorCode: "tls_error", message: expect.stringMatching(/certificate of 127\.0\.0\.1 is not signed by a trusted certificate authority/) });
  });

  it("GIVEN the production address policy THEN the loopback address is refused before anything is sent", async () => {
    const before = receiver.requests.length;
    const result = await send({ policy: undefined });
    expect(result).toMatchObject({ outcome: "failed", errorCode: "address_refused", message: expect.stringMatching(/127\.0\.0\.1 is a loopback address/) });
    expect(receiver.requests.length).toBe(before);
  });

  it("GIVEN a host name that does not resolve THEN it is a DNS failure in plain words", async () => {
    await db.destination.update({ where: { id: destinationId }, data: { url: "https://crm.unresolvable.test/hook" } });
    try {
      const result = await send({ resolve: async () => { throw Object.assign(new Error("queryA ENOTFOUND"), { code: "ENOTFOUND" }); } });
      expect(result).toMatchObject({ outcome: "failed", errorCode: "dns_failure", message: expect.stringMatching(/crm\.unresolvable\.test could not be resolved/) });
    } finally {
      await db.destination.update({ where: { id: destinationId }, data: { url: receiver.urlFor("/crm/hook?key=1") } });
    }
  });

  it("GIVEN the attempt outlasts the wait THEN the merchant is pointed at the log, and the attempt still lands there", async () => {
    receiver.enqueue({ kind: "trickle", phase: "headers", intervalMs: 100, status: 200 });
    const result = await send({ deadlineMs: 1_500 }, 300);
    expect(result).toMatchObject({ outcome: "still_sending", message: expect.stringMatching(/delivery log/) });
    await expect.poll(async () => (await db.delivery.findUniqueOrThrow({ where: { id: result.deliveryId } })).status, { timeout: 5_000 }).toBe("failed");
  });

  it("GIVEN a paused endpoint THEN no test is recorded or sent and the merchant is told to resume", async () => {
    await pauseEndpoint({ db, shop, destinationId });
    const before = await db.delivery.count({ where: { destinationId } });
    await expect(send()).rejects.toThrow(/paused\. Resume it to send a test/);
    expect(await db.delivery.count({ where: { destinationId } })).toBe(before);
    const answer = await postWebhookForm(shop.domain, { intent: "send_test", destinationId });
    expect(answer.status).toBe(409);
  });
});

describe("Send test webhook from the page (production sender and guard)", () => {
  it("GIVEN an endpoint whose address is now loopback WHEN the merchant sends a test THEN the page shows the guard's refusal in plain words and records it", async () => {
    const shop = await installShop("test-send-route.myshopify.com");
    // Stored as if its host had resolved to a public address at connect time and to loopback now.
    const { endpoint } = await connectEndpoint({ db, shop, url: "https://127.0.0.1:9/hook", ring, destination: LOOPBACK_DESTINATION });
    const answer = await postWebhookForm(shop.domain, { intent: "send_test", destinationId: endpoint.id });
    expect(answer.status).toBe(200);
    const result = (answer.data as { intent: "send_test"; result: TestSendResult }).result;
    expect(result).toMatchObject({
      outcome: "failed",
      errorCode: "address_refused",
      message: "The address 127.0.0.1 is a loopback address (this machine); leads are only sent to public internet addresses",
    });
    const log = await db.delivery.findUniqueOrThrow({ where: { id: result.deliveryId }, include: { attempts: true } });
    expect(log).toMatchObject({ event: "test", status: "failed" });
    expect(log.attempts[0]).toMatchObject({ errorCode: "address_refused", statusCode: null });
  });
});
