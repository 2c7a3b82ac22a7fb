import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { deliveryJobId, enqueueDeliveries } from "../../app/delivery/queue.server";
import { MAX_DESTINATIONS_PER_SHOP } from "../../app/delivery/destination-rules";
import { createDeliveryWorker, type DeliveryWorker } from "../../app/delivery/worker.server";
import { getDb } from "../../app/lib/db.server";
import { closeProducers, getProducers } from "../../app/runtime/producers.server";
import { decryptSecret } from "../../app/lib/secret-box.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { sendTestWebhook } from "../../app/destinations/test-send.server";
import { loader as leadsLoader } from "../../app/routes/app.leads._index";
import { sampleLead, testRedis, uniqueQueue, waitFor } from "../support/delivery";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { adminRequest, installShop } from "../support/shopify";
import { dumpRedis, loadWebhookPageData, LOOPBACK_DESTINATION, loopbackSender, postWebhookForm, testSendDeps } from "./helpers";

// Every line any module logs through the shared logger is kept here, at the most verbose level.
const logged = vi.hoisted(() => ({ lines: [] as string[] }));
vi.mock("../../app/lib/logger.server", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../app/lib/logger.server")>();
  const { Writable } = await import("node:stream");
  const destination = new Writable({ write(chunk, _encoding, done) { logged.lines.push(chunk.toString()); done(); } });
  const logger = original.createLogger({ level: "trace", destination });
  return { ...original, getLogger: () => logger };
});

const db = getDb();
const SHOP = "connect-shop.myshopify.com";
const LOOPBACK_SHOP = "connect-loopback.myshopify.com";
/** A public address: connect accepts it; nothing in these tests is ever sent to it. */
const PUBLIC_URL = "https://93.184.215.14/webhooks/tryon?list=leads";

describe("connecting the webhook from the Leads tab", () => {
  let shopId: string;
  let secret: string;

  beforeAll(async () => {
    shopId = (await installShop(SHOP)).id;
  });

  it.each([
    ["", /Enter the https:\/\/ URL/],
    ["http://crm.example.com/hook", /must start with https:\/\//],
    ["https://user:pass@crm.example.com/hook", /must not contain a user name or password/],
    ["https://127.0.0.1/hook", /127\.0\.0\.1 is a loopback address.*public internet addresses/],
    ["https://10.1.2.3/hook", /10\.1\.2\.3 is private/],
    ["https://169.254.169.254/latest/meta-data", /169\.254\.169\.254 is link-local/],
    ["https://[::1]:8443/hook", /::1 is a loopback address/],
    ["not a url", /not a valid URL/],
  ])("GIVEN the URL %j WHEN connecting THEN it is refused in plain words and nothing is stored", async (url, reason) => {
    const answer = await postWebhookForm(SHOP, { intent: "connect", url });
    expect(answer.status).toBe(422);
    expect(answer.data).toMatchObject({ intent: "connect" });
    expect((answer.data as { error: string }).error).toMatch(reason);
    expect(answer.data).not.toHaveProperty("secret");
    expect(await db.destination.count({ where: { shopId } })).toBe(0);
  });

  it("GIVEN a public https URL WHEN connecting THEN a 256-bit secret made on the server is in that answer only, and stored encrypted", async () => {
    const answer = await postWebhookForm(SHOP, { intent: "connect", url: PUBLIC_URL });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    const data = answer.data as { intent: "connect"; secret: string; destinationId: string };
    secret = data.secret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);

    const row = await db.destination.findFirstOrThrow({ where: { id: data.destinationId, shopId } });
    expect(row).toMatchObject({ url: PUBLIC_URL, state: "active", secretKeyVersion: 1, previousSecretCiphertext: null });
    expect(row.secretCiphertext).not.toContain(secret);
    expect(row.secretCiphertext).not.toContain(secret.slice(6));
    expect(decryptSecret(row.secretCiphertext, keyRingFromConfig(), { shopId, destinationId: row.id, purpose: "webhook-signing" })).toBe(secret);
    const logs = logged.lines.join("");
    expect(logs).toMatch(new RegExp(`"destinationId":"${row.id}".*webhook settings changed`));
    expect(logs.includes(secret.slice(6, 30))).toBe(false);
    expect(logs.includes("93.184.215.14")).toBe(false);
  });

  it("never returns the secret or its ciphertext from a loader", async () => {
    const row = await db.destination.findFirstOrThrow({ where: { shopId } });
    const page = await loadWebhookPageData(SHOP);
    expect(page.endpoint).toMatchObject({ id: row.id, url: PUBLIC_URL, health: "healthy" });
    const leads = await leadsLoader({ request: await adminRequest("/app/leads", SHOP), params: {}, context: {} });
    expect(leads).toMatchObject({ destinations: { destinations: [{ id: row.id, kind: "webhook", health: "healthy", target: "93.184.215.14" }] } });
    for (const serialized of [JSON.stringify(page), JSON.stringify(leads)]) {
      expect(serialized.includes(secret.slice(6, 30)), "the secret is in loader data").toBe(false);
      expect(serialized.includes(row.secretCiphertext.split(".")[2]), "the ciphertext is in loader data").toBe(false);
      // The receiver guide says "whsec_..."; a real secret has 44 base64 characters after the prefix.
      expect(/whsec_[A-Za-z0-9+/]{20}|secretCiphertext|secretKeyVersion/.test(serialized)).toBe(false);
    }
  });

  it("GIVEN a webhook is connected WHEN connecting another THEN a second destination is added with its own secret, and the first keeps its own", async () => {
    const before = await db.destination.findFirstOrThrow({ where: { shopId } });
    const answer = await postWebhookForm(SHOP, { intent: "connect", url: "https://93.184.215.15/other" });
    expect(answer.status).toBe(200);
    const rows = await db.destination.findMany({ where: { shopId }, orderBy: { createdAt: "asc" } });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ id: before.id, url: PUBLIC_URL, secretCiphertext: before.secretCiphertext });
    expect(rows[1].secretCiphertext).not.toBe(before.secretCiphertext);
    await db.destination.update({ where: { id: rows[1].id }, data: { state: "disconnected" } });
  });

  it("GIVEN connects racing for the last free place THEN exactly one gets it and the other is told the limit", async () => {
    const other = await installShop("connect-race.myshopify.com");
    for (let i = 1; i < MAX_DESTINATIONS_PER_SHOP; i++) {
      expect((await postWebhookForm(other.domain, { intent: "connect", url: `https://93.184.215.14/${i}` })).status).toBe(200);
    }
    const answers = await Promise.all([
      postWebhookForm(other.domain, { intent: "connect", url: "https://93.184.215.14/a" }),
      postWebhookForm(other.domain, { intent: "connect", url: "https://93.184.215.14/b" }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(JSON.stringify(answers.map((a) => a.data))).toMatch(/up to 10 destinations/);
    expect(await db.destination.count({ where: { shopId: other.id } })).toBe(MAX_DESTINATIONS_PER_SHOP);
  });
});

describe("the signing secret stays out of logs and Redis", () => {
  let receiver: HttpsReceiver;
  let worker: DeliveryWorker;
  const redis = testRedis();
  const replayJobs: string[] = [];

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
  });

  afterAll(async () => {
    await worker?.close();
    for (const jobId of replayJobs) await (await getProducers().deliveryQueue.getJob(jobId))?.remove();
    await worker?.queue.obliterate({ force: true }).catch(() => undefined);
    await closeProducers();
    await redis.quit();
    await receiver.close();
  });

  it("GIVEN a test send, a lead delivered by the worker and a replay WHEN everything is logged at trace level THEN neither logs nor Redis hold the secret, a signature or the email", async () => {
    const shop = await installShop(LOOPBACK_SHOP);
    const { endpoint, secret } = await connectEndpoint({
      db, shop, url: receiver.urlFor("/crm"), ring: keyRingFromConfig(), destination: LOOPBACK_DESTINATION,
    });
    receiver.setSecrets([secret]);
    const { getLogger } = await import("../../app/lib/logger.server");
    const logger = getLogger();

    const test = await sendTestWebhook(testSendDeps(receiver, logger), { shop, destinationId: endpoint.id });
    expect(test.outcome).toBe("delivered");

    const { queueName, prefix } = uniqueQueue("connect");
    const sender = loopbackSender(receiver, { logger });
    worker = createDeliveryWorker({ db, connection: testRedis(), send: (r) => sender.send(r), keyRing: keyRingFromConfig(), logger, queueName, prefix });
    const lead = sampleLead({ shopId: shop.id, shopDomain: shop.domain }, { email: "private.shopper@example.org" });
    const { deliveryIds } = await recordLeadWithDeliveries(db, lead);
    await enqueueDeliveries(worker.queue, deliveryIds);
    await waitFor(async () => (await db.delivery.findUnique({ where: { id: deliveryIds[0] } }))?.status === "delivered", 10_000, "lead delivered");

    const replay = await postWebhookForm(LOOPBACK_SHOP, { intent: "replay", deliveryId: deliveryIds[0] });
    expect(replay.status).toBe(200);
    replayJobs.push(deliveryJobId(deliveryIds[0], 2));

    const requests = await receiver.waitForRequests(2);
    expect(requests.every((r) => r.contract.verified && r.standard.verified)).toBe(true);
    const signatures = requests.map((r) => String(r.headers["x-tryoncloud-signature"]).slice("sha256=".length));

    const logs = logged.lines.join("");
    expect(logs).toMatch(/webhook attempt/);
    expect(logs).toMatch(/"intent":"replay".*webhook settings changed/);
    const redisText = await dumpRedis(redis);
    expect(redisText).toContain(deliveryIds[0]);
    for (const [where, text] of [["logs", logs], ["Redis", redisText]]) {
      expect(text.includes(secret.slice(6, 30)), `the secret is in ${where}`).toBe(false);
      for (const signature of signatures) expect(text.includes(signature), `a signature is in ${where}`).toBe(false);
      expect(text.includes("private.shopper@example.org"), `the email is in ${where}`).toBe(false);
    }
  });
});
