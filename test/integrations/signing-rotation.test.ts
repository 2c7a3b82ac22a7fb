import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyContractSignature } from "../../app/delivery/signing";
import { getDb } from "../../app/lib/db.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { rotateSigningSecret } from "../../app/destinations/endpoint-lifecycle.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { sendTestWebhook } from "../../app/destinations/test-send.server";
import { ManualClock } from "../support/delivery";
import { startHttpsReceiver, type HttpsReceiver, type ReceivedRequest } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { captureLogger, loadWebhookPageData, LOOPBACK_DESTINATION, postWebhookForm, testSendDeps } from "./helpers";

const db = getDb();
const ring = keyRingFromConfig();
const SHOP = "rotation-shop.myshopify.com";

/** Which of `secrets` verify a received request, by the contract recipe and by the Standard Webhooks library. */
function verifiedBy(request: ReceivedRequest, secrets: Record<string, string>) {
  const header = (name: string) => String(request.headers[name] ?? "");
  const result: Record<string, { contract: boolean; standard: boolean }> = {};
  for (const [name, secret] of Object.entries(secrets)) {
    const contract = verifyContractSignature(request.rawBody, header("x-tryoncloud-signature"), secret, {
      timestampHeader: header("x-tryoncloud-timestamp"),
    }).ok;
    let standard = true;
    try {
      new StandardWebhook(secret).verify(request.rawBody, {
        "webhook-id": header("webhook-id"), "webhook-timestamp": header("webhook-timestamp"), "webhook-signature": header("webhook-signature"),
      });
    } catch {
      standard = false;
    }
    result[name] = { contract, standard };
  }
  return result;
}

describe("rotating the signing secret", () => {
  let receiver: HttpsReceiver;
  let shop: { id: string; domain: string };
  let destinationId: string;
  const secrets: Record<string, string> = {};

  async function sendTest(clock?: ManualClock) {
    const deps = { ...testSendDeps(receiver, captureLogger().logger), clock };
    const result = await sendTestWebhook(deps, { shop, destinationId });
    expect(result.outcome).toBe("delivered");
    const request = receiver.requests.at(-1)!;
    expect(request.headers["x-tryoncloud-delivery-id"]).toBe(result.deliveryId);
    return request;
  }

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    shop = await installShop(SHOP);
    const connected = await connectEndpoint({ db, shop, url: receiver.urlFor("/hooks"), ring, destination: LOOPBACK_DESTINATION });
    destinationId = connected.endpoint.id;
    secrets.first = connected.secret;
  });

  afterAll(async () => {
    await receiver.close();
  });

  it("GIVEN no rotation THEN one signature is sent and it verifies with the connect secret", async () => {
    const request = await sendTest();
    expect(String(request.headers["x-tryoncloud-signature"]).split(",")).toHaveLength(1);
    expect(verifiedBy(request, secrets)).toEqual({ first: { contract: true, standard: true } });
  });

  it("GIVEN a rotation without overlap (the route's default) THEN the new secret is shown once and deliveries verify with it only", async () => {
    const answer = await postWebhookForm(SHOP, { intent: "rotate", destinationId });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    const data = answer.data as { secret: string; previousSecretUntil: string | null };
    expect(data.previousSecretUntil).toBeNull();
    expect(data.secret).toMatch(/^whsec_/);
    expect(data.secret).not.toBe(secrets.first);
    secrets.second = data.secret;

    const row = await db.destination.findUniqueOrThrow({ where: { id: destinationId } });
    expect(row).toMatchObject({ previousSecretCiphertext: null, previousSecretKeyVersion: null, previousSecretUntil: null });

    const request = await sendTest();
    expect(String(request.headers["x-tryoncloud-signature"]).split(",")).toHaveLength(1);
    expect(verifiedBy(request, secrets)).toEqual({
      first: { contract: false, standard: false },
      second: { contract: true, standard: true },
    });
    const page = JSON.stringify(await loadWebhookPageData(SHOP));
    expect(page.includes(secrets.second.slice(6, 30))).toBe(false);
  });

  it("GIVEN a rotation with a 24-hour overlap THEN both signatures are sent and either secret verifies until the overlap ends", async () => {
    const start = new Date();
    const { secret, endpoint } = await rotateSigningSecret({ db, shop, destinationId, ring, overlapHours: 24, now: start });
    secrets.third = secret;
    expect(endpoint.previousSecretUntil).toBe(new Date(start.getTime() + 24 * 3_600_000).toISOString());

    const request = await sendTest();
    expect(String(request.headers["x-tryoncloud-signature"]).split(",").map((s) => s.trim())).toEqual([
      expect.stringMatching(/^sha256=[0-9a-f]{64}$/), expect.stringMatching(/^sha256=[0-9a-f]{64}$/),
    ]);
    expect(String(request.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(verifiedBy(request, secrets)).toEqual({
      first: { contract: false, standard: false },
      second: { contract: true, standard: true },
      third: { contract: true, standard: true },
    });
    // The receiver that only knows one of the two accepts the request either way.
    for (const only of [secrets.second, secrets.third]) {
      receiver.setSecrets([only]);
      const again = await sendTest();
      expect(again.contract.verified && again.standard.verified && again.svix.verified).toBe(true);
    }

    // After the overlap the previous secret no longer signs.
    const later = new ManualClock(new Date(start.getTime() + 24 * 3_600_000 + 1_000));
    const after = await sendTest(later);
    expect(String(after.headers["x-tryoncloud-signature"]).split(",")).toHaveLength(1);
    expect(verifiedBy(after, secrets)).toEqual({
      first: { contract: false, standard: false },
      second: { contract: false, standard: false },
      third: { contract: true, standard: true },
    });
  });

  it("GIVEN an overlap longer than 7 days THEN the rotation is refused and the secret is unchanged", async () => {
    const before = await db.destination.findUniqueOrThrow({ where: { id: destinationId } });
    const answer = await postWebhookForm(SHOP, { intent: "rotate", destinationId, overlapHours: String(7 * 24 + 1) });
    expect(answer.status).toBe(400);
    expect((answer.data as { error: string }).error).toMatch(/at most 7 days/);
    await expect(rotateSigningSecret({ db, shop, destinationId, ring, overlapHours: 200 })).rejects.toThrow(RangeError);
    const after = await db.destination.findUniqueOrThrow({ where: { id: destinationId } });
    expect(after.secretCiphertext).toBe(before.secretCiphertext);
  });

  it("GIVEN a 7-day overlap chosen on the page THEN the previous secret signs for exactly 7 days", async () => {
    const before = Date.now();
    const answer = await postWebhookForm(SHOP, { intent: "rotate", destinationId, overlapHours: "168" });
    expect(answer.status).toBe(200);
    const until = Date.parse((answer.data as { previousSecretUntil: string }).previousSecretUntil);
    expect(until - before).toBeGreaterThanOrEqual(168 * 3_600_000);
    expect(until - Date.now()).toBeLessThanOrEqual(168 * 3_600_000);
    const page = await loadWebhookPageData(SHOP);
    expect(page.endpoint?.previousSecretUntil).toBe(new Date(until).toISOString());
  });
});
