import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { action } from "../../app/routes/app.leads.$leadId.send";
import { deliveryJobId } from "../../app/delivery/queue.server";
import { getDb } from "../../app/lib/db.server";
import { closeProducers, getProducers } from "../../app/runtime/producers.server";
import { startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { addEndpoint, waitFor, type TestEndpoint } from "../support/delivery";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { formRequest, installShop } from "../support/shopify";

/** "Send to…" on a lead's row, through the action route with real session tokens, the worker and an HTTPS receiver. */

const SHOP_A = "send-to-a.myshopify.com";
const SHOP_B = "send-to-b.myshopify.com";
const db = getDb();

async function post(shop: string, leadId: string, fields: Record<string, string>) {
  const request = await formRequest(`/app/leads/${encodeURIComponent(leadId)}/send`, shop, fields);
  let response: Response;
  try {
    response = (await action({ request, params: { leadId }, context: {} })) as Response;
  } catch (thrown) {
    if (!(thrown instanceof Response)) throw thrown;
    response = thrown;
  }
  return { status: response.status, body: (await response.json().catch(() => null)) as Record<string, unknown> | null };
}

async function newLead(shopId: string, email: string) {
  return db.lead.create({
    data: { shopId, email, emailSearch: email, productId: "p1", productTitle: "Aviator frames", productUrl: "https://store.example/products/p1", consent: true },
  });
}

describe("Send to… on a lead's row", () => {
  let receiver: HttpsReceiver;
  let harness: DeliveryHarness;
  let shopA: { id: string; domain: string };
  let shopB: { id: string; domain: string };
  let crm: TestEndpoint;
  let theirs: TestEndpoint;
  const deliveryIds: string[] = [];

  beforeAll(async () => {
    receiver = await startHttpsReceiver();
    harness = await startHarness("send-to", receiver);
    shopA = await installShop(SHOP_A);
    shopB = await installShop(SHOP_B);
    crm = await addEndpoint(shopA, receiver.urlFor("/crm/leads"));
    await db.destination.update({ where: { id: crm.id }, data: { name: "CRM" } });
    theirs = await addEndpoint(shopB, receiver.urlFor("/other"));
    receiver.setSecrets([crm.secret, theirs.secret]);
  });

  afterAll(async () => {
    // The route queued its jobs on the app's own queue; the test's worker took them through the reconciler.
    for (const id of deliveryIds) {
      for (const attempt of [1, 2, 3]) await (await getProducers().deliveryQueue.getJob(deliveryJobId(id, attempt)))?.remove().catch(() => undefined);
    }
    await closeProducers();
    await harness?.close();
    await receiver?.close();
  });

  it("GIVEN a lead the destination never had WHEN the merchant sends it THEN one delivery is made and the receiver gets the lead once", async () => {
    const lead = await newLead(shopA.id, "ann@example.com");
    const first = await post(SHOP_A, lead.id, { destinationId: crm.id });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ outcome: "queued", message: "Sending this lead to CRM." });
    const deliveryId = String(first.body!.deliveryId);
    deliveryIds.push(deliveryId);
    expect(await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).toMatchObject({
      shopId: shopA.id, destinationId: crm.id, leadId: lead.id, event: "lead_captured", status: "pending",
    });

    // A second click before the worker took it: already on its way, still one delivery.
    const again = await post(SHOP_A, lead.id, { destinationId: crm.id });
    expect(again).toMatchObject({ status: 200, body: { outcome: "already_on_its_way", deliveryId, message: "This lead is already on its way to CRM." } });
    expect(await db.delivery.count({ where: { leadId: lead.id } })).toBe(1);

    await harness.reconcile();
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).status === "delivered", 15_000, "delivered");
    await new Promise((r) => setTimeout(r, 300));
    const got = receiver.requests.filter((r) => r.headers["x-tryoncloud-delivery-id"] === deliveryId);
    expect(got).toHaveLength(1);
    expect(got[0].path).toBe("/crm/leads");
    expect(got[0].contract.verified).toBe(true);
    expect(JSON.parse(got[0].body)).toMatchObject({ event: "lead_captured", lead_id: lead.id, email: "ann@example.com", shop: SHOP_A });
  });

  it("GIVEN a lead already delivered WHEN sent again THEN the same delivery is replayed and arrives a second time", async () => {
    const lead = await newLead(shopA.id, "bob@example.com");
    const first = await post(SHOP_A, lead.id, { destinationId: crm.id });
    const deliveryId = String(first.body!.deliveryId);
    deliveryIds.push(deliveryId);
    await harness.reconcile();
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).status === "delivered", 15_000, "delivered");

    const again = await post(SHOP_A, lead.id, { destinationId: crm.id });
    expect(again).toMatchObject({ status: 200, body: { outcome: "replayed", deliveryId, message: "Sending this lead to CRM again." } });
    await harness.reconcile();
    await waitFor(async () => {
      const row = await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } });
      return row.status === "delivered" && row.attemptCount === 2;
    }, 15_000, "delivered again");
    expect(receiver.requests.filter((r) => r.headers["x-tryoncloud-delivery-id"] === deliveryId)).toHaveLength(2);
    expect(await db.delivery.count({ where: { leadId: lead.id } })).toBe(1);
  });

  it("GIVEN a paused destination THEN the lead is queued for it and the answer says it goes once resumed", async () => {
    const paused = await addEndpoint(shopA, receiver.urlFor("/paused"), { state: "paused" });
    await db.destination.update({ where: { id: paused.id }, data: { name: "Sheet" } });
    const lead = await newLead(shopA.id, "fay@example.com");
    const answer = await post(SHOP_A, lead.id, { destinationId: paused.id });
    expect(answer).toMatchObject({ status: 200, body: { outcome: "queued", message: "Sending this lead to Sheet. Sheet is paused: the lead goes once you resume it." } });
    deliveryIds.push(String(answer.body!.deliveryId));
    expect(await db.delivery.count({ where: { leadId: lead.id, destinationId: paused.id, status: "pending" } })).toBe(1);
  });

  it("answers 404 for another shop's lead or destination and 400 without a destination, and makes no delivery", async () => {
    const mine = await newLead(shopA.id, "cat@example.com");
    const theirLead = await newLead(shopB.id, "dan@example.com");
    const cases = [
      await post(SHOP_A, theirLead.id, { destinationId: crm.id }),
      await post(SHOP_A, mine.id, { destinationId: theirs.id }),
      await post(SHOP_A, "no-such-lead", { destinationId: crm.id }),
      await post(SHOP_B, mine.id, { destinationId: theirs.id }),
    ];
    expect(cases.map((c) => c.status)).toEqual([404, 404, 404, 404]);
    expect(cases[0].body).toMatchObject({ error: { message: "This lead does not exist for your store." } });
    expect(cases[1].body).toMatchObject({ error: { message: "This destination does not exist for your store." } });
    const missing = await post(SHOP_A, mine.id, {});
    expect(missing.status).toBe(400);
    expect(await db.delivery.count({ where: { leadId: { in: [mine.id, theirLead.id] } } })).toBe(0);
  });

  it("refuses a request without a valid session token", async () => {
    const lead = await newLead(shopA.id, "eve@example.com");
    const request = await formRequest(`/app/leads/${lead.id}/send`, SHOP_A, { destinationId: crm.id }, { token: "not-a-token" });
    let status: number;
    try {
      status = ((await action({ request, params: { leadId: lead.id }, context: {} })) as Response).status;
    } catch (thrown) {
      if (!(thrown instanceof Response)) throw thrown;
      status = thrown.status;
    }
    expect(status).toBe(401);
    expect(await db.delivery.count({ where: { leadId: lead.id } })).toBe(0);
  });
});
