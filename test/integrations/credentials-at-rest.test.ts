import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { processDelivery } from "../../app/delivery/process-delivery.server";
import { openCredentials } from "../../app/destinations/endpoint-secrets.server";
import { connectHttpRequest } from "../../app/destinations/http-request/destination.server";
import { createHttpRequestSender } from "../../app/destinations/http-request/sender";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { reencryptEndpointSecrets } from "../../app/destinations/master-key-rotation.server";
import { getDb } from "../../app/lib/db.server";
import { SecretDecryptionError, storedKeyVersion, type KeyRing } from "../../app/lib/secret-box.server";
import { ManualClock, sampleLead } from "../support/delivery";
import { loopbackSender } from "../support/delivery-harness";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { captureLogger, LOOPBACK_DESTINATION } from "./helpers";

/**
 * A destination's third-party credentials (here an HTTP request's secret header) as stored: bound to their own
 * row, so a copy into another shop's row opens nowhere and sends nothing; and carried along by a master key
 * rotation, so that once the old key is gone the CRM still gets the stored value, through the worker's path.
 */

const db = getDb();
const v1 = keyRingFromConfig();
const key2 = randomBytes(32);
const ringWith = (entries: [number, Buffer][]): KeyRing => ({ keys: new Map(entries), currentVersion: Math.max(...entries.map(([v]) => v)) });
const TOKEN_A = "Bearer sk_live_shop_a_0123456789abcdef";
const TOKEN_B = "Bearer sk_live_shop_b_fedcba9876543210";

describe("destination credentials at rest", () => {
  let receiver: HttpsReceiver;
  let sender: ReturnType<typeof loopbackSender>;
  const clock = new ManualClock(new Date());
  const logs = captureLogger();
  const logger = logs.logger;
  const shops: { id: string; domain: string }[] = [];
  const destinations: string[] = [];

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    sender = loopbackSender(receiver);
    for (const [label, token] of [["creds-a", TOKEN_A], ["creds-b", TOKEN_B]] as const) {
      const shop = await installShop(`${label}-${randomBytes(3).toString("hex")}.myshopify.com`);
      const saved = await connectHttpRequest({
        db, shop, ring: v1, name: "CRM", destination: LOOPBACK_DESTINATION, secretValues: { Authorization: token },
        definition: {
          method: "POST", url: receiver.urlFor(`/crm/${label}`), headers: [{ name: "Authorization", secret: true }],
          bodyEncoding: "json", body: '{ "email": {{ email | json }} }',
        },
      });
      if (!saved.ok) throw new Error(JSON.stringify(saved.problems));
      shops.push(shop);
      destinations.push(saved.destination.id);
    }
  });

  afterAll(async () => {
    await sender.close();
    await receiver.close();
  });

  /** A new lead of the shop, and its delivery's attempt through the worker's path with `ring`. */
  async function attempt(shop: { id: string; domain: string }, ring: KeyRing) {
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }), { clock });
    const deliveryId = recorded.deliveryIds[0];
    const outcome = await processDelivery(
      {
        db, send: sender.send, keyRing: ring, clock, logger, leaseMs: 10_000, scheduleAttempt: async () => undefined,
        senders: { http_request: createHttpRequestSender(sender.exchange) },
      },
      deliveryId,
    );
    return { outcome, delivery: await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } }) };
  }

  it("GIVEN shop A's credentials copied into shop B's row THEN they open nowhere there, and B's lead waits instead of carrying A's key", async () => {
    const [a, b] = await Promise.all(destinations.map((id) => db.destination.findUniqueOrThrow({ where: { id } })));
    await db.destination.update({ where: { id: b.id }, data: { credentialsCiphertext: a.credentialsCiphertext } });
    try {
      const copied = await db.destination.findUniqueOrThrow({ where: { id: b.id } });
      expect(() => openCredentials(copied.credentialsCiphertext!, v1, copied)).toThrow(SecretDecryptionError);

      const before = receiver.requests.length;
      const { outcome, delivery } = await attempt(shops[1], v1);
      expect(outcome).toBe("secret_unreadable");
      expect(receiver.requests.length).toBe(before);
      // The log says why in fixed words, and holds neither shop's key nor the stored ciphertext.
      const logged = logs.output();
      expect(logged).toContain("destination secret unreadable");
      expect(logged).toContain("secret cannot be decrypted: authentication failed");
      for (const leaked of [TOKEN_A, TOKEN_B, "sk_live", a.credentialsCiphertext!.split(".")[2]]) expect(logged).not.toContain(leaked);
      // Not spent: the delivery goes back to waiting, to be tried again once the row is mended.
      expect(delivery.status).toBe("pending");
      expect(delivery.nextAttemptAt.getTime()).toBeGreaterThan(clock.now().getTime());
    } finally {
      await db.destination.update({ where: { id: b.id }, data: { credentialsCiphertext: b.credentialsCiphertext } });
    }

    receiver.enqueue(respond.ok());
    const before = receiver.requests.length;
    expect((await attempt(shops[1], v1)).outcome).toBe("delivered");
    expect(receiver.requests.slice(before).map((r) => r.headers.authorization)).toEqual([TOKEN_B]);
  });

  it("GIVEN a new master key version THEN rotation re-encrypts the credentials too, and without the old key the CRM still gets the stored value", async () => {
    const report = await reencryptEndpointSecrets({ db, ring: ringWith([[1, v1.keys.get(1)!], [2, key2]]) });
    expect(report.failed).toEqual([]);
    // Each destination has a signing secret and its credentials.
    expect(report).toMatchObject({ keyVersion: 2, endpoints: 2, reencrypted: 4, changedConcurrently: 0 });
    for (const id of destinations) {
      const row = await db.destination.findUniqueOrThrow({ where: { id } });
      expect([storedKeyVersion(row.credentialsCiphertext!), row.credentialsKeyVersion]).toEqual([2, 2]);
    }

    const onlyNewKey = ringWith([[2, key2]]);
    for (const [i, token] of [TOKEN_A, TOKEN_B].entries()) {
      receiver.enqueue(respond.ok());
      const before = receiver.requests.length;
      expect((await attempt(shops[i], onlyNewKey)).outcome).toBe("delivered");
      expect(receiver.requests.slice(before).map((r) => r.headers.authorization)).toEqual([token]);
    }
    // And the old key alone no longer opens them: nothing was left under version 1.
    expect((await attempt(shops[0], v1)).outcome).toBe("secret_unreadable");
  });
});
