import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import { SecretDecryptionError } from "../../app/lib/secret-box.server";
import { signingSecretsAt } from "../../app/destinations/endpoint-secrets.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { sendTestWebhook } from "../../app/destinations/test-send.server";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { captureLogger, LOOPBACK_DESTINATION, testSendDeps } from "./helpers";

const db = getDb();
const ring = keyRingFromConfig();

/** Rewrites one base64url part of a stored `v<n>.<iv>.<ciphertext>.<tag>` value. */
function alterPart(stored: string, index: 1 | 2 | 3, change: (bytes: Buffer) => Buffer): string {
  const parts = stored.split(".");
  parts[index] = change(Buffer.from(parts[index], "base64url")).toString("base64url");
  return parts.join(".");
}

describe("signing secrets at rest, as stored in the endpoint rows", () => {
  let receiver: HttpsReceiver;
  let shopA: { id: string; domain: string };
  let shopB: { id: string; domain: string };
  let endpointA: string;
  let endpointB: string;
  let originalA: string;

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    shopA = await installShop("at-rest-a.myshopify.com");
    shopB = await installShop("at-rest-b.myshopify.com");
    const a = await connectEndpoint({ db, shop: shopA, url: receiver.urlFor("/a"), ring, destination: LOOPBACK_DESTINATION });
    const b = await connectEndpoint({ db, shop: shopB, url: receiver.urlFor("/b"), ring, destination: LOOPBACK_DESTINATION });
    endpointA = a.endpoint.id;
    endpointB = b.endpoint.id;
    receiver.setSecrets([a.secret]);
    originalA = (await db.destination.findUniqueOrThrow({ where: { id: endpointA } })).secretCiphertext;
  });

  afterAll(async () => {
    await receiver.close();
  });

  async function storedRow(id: string) {
    return db.destination.findUniqueOrThrow({ where: { id } });
  }

  it("GIVEN an untouched row THEN its secret decrypts and signs a test webhook the receiver verifies", async () => {
    expect(signingSecretsAt(await storedRow(endpointA), ring, new Date())).toHaveLength(1);
    const result = await sendTestWebhook(testSendDeps(receiver, captureLogger().logger), { shop: shopA, destinationId: endpointA });
    expect(result.outcome).toBe("delivered");
    expect(receiver.requests.at(-1)?.contract.verified).toBe(true);
  });

  it.each([
    ["a flipped ciphertext bit", (s: string) => alterPart(s, 2, (b) => { b[0] ^= 1; return b; }), /authentication failed/],
    ["a flipped IV bit", (s: string) => alterPart(s, 1, (b) => { b[3] ^= 0x80; return b; }), /authentication failed/],
    ["a flipped tag bit", (s: string) => alterPart(s, 3, (b) => { b[15] ^= 1; return b; }), /authentication failed/],
    ["a tag truncated to 12 bytes", (s: string) => alterPart(s, 3, (b) => b.subarray(0, 12)), /bad tag length/],
    ["a tag truncated to 4 bytes", (s: string) => alterPart(s, 3, (b) => b.subarray(0, 4)), /bad tag length/],
    ["an unknown key version", (s: string) => s.replace(/^v\d+\./, "v99."), /version 99 is not configured/],
  ])("GIVEN %s in the stored row THEN it does not decrypt and no webhook is sent", async (_label, tamper, reason) => {
    await db.destination.update({ where: { id: endpointA }, data: { secretCiphertext: tamper(originalA) } });
    try {
      const row = await storedRow(endpointA);
      expect(() => signingSecretsAt(row, ring, new Date())).toThrow(SecretDecryptionError);
      expect(() => signingSecretsAt(row, ring, new Date())).toThrow(reason);
      const before = receiver.requests.length;
      const result = await sendTestWebhook(testSendDeps(receiver, captureLogger().logger), { shop: shopA, destinationId: endpointA });
      expect(result).toMatchObject({ outcome: "failed", errorCode: "not_sent", message: expect.stringMatching(/signing secret could not be read/) });
      expect(receiver.requests.length).toBe(before);
    } finally {
      await db.destination.update({ where: { id: endpointA }, data: { secretCiphertext: originalA } });
    }
  });

  it("GIVEN shop A's ciphertext copied into shop B's row THEN it does not decrypt there (bound to shop and endpoint)", async () => {
    const originalB = (await storedRow(endpointB)).secretCiphertext;
    await db.destination.update({ where: { id: endpointB }, data: { secretCiphertext: originalA } });
    try {
      const rowB = await storedRow(endpointB);
      const rowA = await storedRow(endpointA);
      expect(() => signingSecretsAt(rowB, ring, new Date())).toThrow(/authentication failed/);
      // The same ciphertext under its own binding still opens: only the binding differs.
      expect(() => signingSecretsAt({ ...rowB, id: endpointA, shopId: shopA.id }, ring, new Date())).not.toThrow();
      // The right endpoint id with the wrong shop fails too.
      expect(() => signingSecretsAt({ ...rowA, shopId: shopB.id }, ring, new Date())).toThrow(/authentication failed/);
      const before = receiver.requests.length;
      const result = await sendTestWebhook(testSendDeps(receiver, captureLogger().logger), { shop: shopB, destinationId: endpointB });
      expect(result).toMatchObject({ outcome: "failed", errorCode: "not_sent" });
      expect(receiver.requests.length).toBe(before);
    } finally {
      await db.destination.update({ where: { id: endpointB }, data: { secretCiphertext: originalB } });
    }
  });
});
