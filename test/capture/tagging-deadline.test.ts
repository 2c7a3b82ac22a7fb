import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import { deliveryJobId } from "../../app/delivery/queue.server";
import { FakeAdminApi } from "../support/fake-admin-api";
import { installShop } from "../support/shopify";
import { addEndpoint, waitFor, type TestEndpoint } from "../support/delivery";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { startTaggingHarness, type TaggingHarness } from "../support/tagging-harness";

/**
 * The tagging gate has a deadline: a lead's deliveries are queued at capture to run at TAGGING_DEADLINE, and
 * tagging brings them forward the moment the shopper is tagged. A slow Shopify delays the CRM by the deadline
 * at most; a quick one not at all.
 */

const SHOP = "deadline-shop.myshopify.com";
const DEADLINE_MS = 800;
const api = new FakeAdminApi();
let receiver: HttpsReceiver;
let endpoint: TestEndpoint;
let harness: TaggingHarness;

function arrivalOf(deliveryId: string) {
  return receiver.requests.find((r) => r.headers["x-tryoncloud-delivery-id"] === deliveryId);
}

async function arrived(deliveryId: string, timeoutMs = 10_000) {
  return waitFor(async () => arrivalOf(deliveryId), timeoutMs, `delivery ${deliveryId}`);
}

describe("the tagging deadline", () => {
  beforeAll(async () => {
    api.install();
    receiver = await startHttpsReceiver();
    endpoint = await addEndpoint(await installShop(SHOP), receiver.urlFor("/crm"));
    receiver.setSecrets([endpoint.secret]);
    harness = await startTaggingHarness("deadline", receiver, { deadlineMs: DEADLINE_MS });
  });

  afterAll(async () => {
    await harness?.close();
    await receiver?.close();
  });

  it("GIVEN Shopify answers slower than the deadline THEN the lead goes out at the deadline, not tagged, and is tagged later", async () => {
    // Two calls of 2.5 s each: tagging cannot be done before 5 s.
    api.latencyMs = 2_500;
    try {
      const { leadId, deliveryIds, capturedAt } = await harness.capture(endpoint);
      const request = await arrived(deliveryIds[0]);
      const waited = request.receivedAt.getTime() - capturedAt;
      // At the deadline: not before it, and without waiting for tagging (done at 5 s at the earliest).
      expect(waited).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
      expect(waited).toBeLessThan(4_000);
      expect(JSON.parse(request.body)).toMatchObject({ lead_id: leadId, tagged_in_shopify: false });

      // Tagging carried on; the stored lead tells the truth, the sent bytes stay as they were sent.
      const lead = await waitFor(async () => {
        const row = await getDb().lead.findUniqueOrThrow({ where: { id: leadId } });
        return row.taggingState === "done" ? row : null;
      }, 15_000, "the lead tagged");
      expect(lead).toMatchObject({ tagged: true, taggingError: null });
      expect(lead.taggedAt!.getTime()).toBeGreaterThan(request.receivedAt.getTime());
      const delivery = await getDb().delivery.findUniqueOrThrow({ where: { id: deliveryIds[0] } });
      expect(delivery.status).toBe("delivered");
      expect(JSON.parse(delivery.payload)).toMatchObject({ tagged_in_shopify: false });
      expect(receiver.requests.filter((r) => r.headers["x-tryoncloud-delivery-id"] === deliveryIds[0])).toHaveLength(1);
    } finally {
      api.latencyMs = 0;
    }
  });

  it("GIVEN Shopify answers quickly THEN tagging brings the delayed delivery forward, marked tagged, well before the deadline", async () => {
    const slow = await startTaggingHarness("deadline-long", receiver, { deadlineMs: 60_000 });
    try {
      const { leadId, deliveryIds, capturedAt } = await slow.capture(endpoint);
      const request = await arrived(deliveryIds[0]);
      expect(request.receivedAt.getTime() - capturedAt).toBeLessThan(5_000);
      expect(JSON.parse(request.body)).toMatchObject({ lead_id: leadId, tagged_in_shopify: true });
      // The job queued at capture was the one that ran, brought forward (no second job was added).
      const job = await slow.delivery.queue.getJob(deliveryJobId(deliveryIds[0], 1));
      expect(job?.opts.delay).toBe(60_000);
      expect(await getDb().lead.findUniqueOrThrow({ where: { id: leadId } })).toMatchObject({ tagged: true, taggingState: "done" });
    } finally {
      await slow.close();
    }
  });

  it("GIVEN Redis lost the delayed delivery job THEN tagging queues it afresh under its destination", async () => {
    const slow = await startTaggingHarness("deadline-lost", receiver, { deadlineMs: 60_000 });
    try {
      await slow.tagging.pause();
      const { deliveryIds } = await slow.capture(endpoint);
      expect(await slow.delivery.queue.remove(deliveryJobId(deliveryIds[0], 1))).toBe(1);
      slow.tagging.resume();
      const request = await arrived(deliveryIds[0]);
      expect(JSON.parse(request.body)).toMatchObject({ tagged_in_shopify: true });
      const job = await slow.delivery.queue.getJob(deliveryJobId(deliveryIds[0], 1));
      expect(job?.name).toBe(endpoint.id);
    } finally {
      await slow.close();
    }
  });
});
