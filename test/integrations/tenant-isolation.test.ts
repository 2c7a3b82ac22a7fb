import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { getDb } from "../../app/lib/db.server";
import { closeProducers } from "../../app/runtime/producers.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { sampleLead } from "../support/delivery";
import { installShop } from "../support/shopify";
import { loadWebhookPageData, postWebhookForm } from "./helpers";

const db = getDb();
const SHOP_A = "tenant-a.myshopify.com";
const SHOP_B = "tenant-b.myshopify.com";

/** Everything of shop A that an action could change, to compare before and after. */
async function snapshotOfA(shopId: string) {
  const [endpoints, deliveries, attempts] = await Promise.all([
    db.destination.findMany({ where: { shopId }, orderBy: { id: "asc" } }),
    db.delivery.findMany({ where: { shopId }, orderBy: { id: "asc" } }),
    db.deliveryAttempt.count({ where: { delivery: { shopId } } }),
  ]);
  return JSON.stringify({ endpoints, deliveries, attempts });
}

describe("shop B cannot reach shop A's webhook through any route or form field", () => {
  let a: { id: string; domain: string };
  let b: { id: string; domain: string };
  let endpointA: string;
  let endpointB: string;
  let failedA: string;
  let deliveredA: string;
  let leadA: string;

  beforeAll(async () => {
    a = await installShop(SHOP_A);
    b = await installShop(SHOP_B);
    endpointA = (await connectEndpoint({ db, shop: a, url: "https://93.184.215.14/a-crm", ring: keyRingFromConfig() })).endpoint.id;
    const first = await recordLeadWithDeliveries(db, sampleLead({ shopId: a.id, shopDomain: a.domain }));
    const second = await recordLeadWithDeliveries(db, sampleLead({ shopId: a.id, shopDomain: a.domain }));
    leadA = first.lead.id;
    failedA = first.deliveryIds[0];
    deliveredA = second.deliveryIds[0];
    await db.delivery.update({ where: { id: failedA }, data: { status: "failed", attemptCount: 7 } });
    await db.delivery.update({ where: { id: deliveredA }, data: { status: "delivered", attemptCount: 1, deliveredAt: new Date() } });
  });

  afterAll(async () => {
    await closeProducers();
  });

  const foreignForms = (): Record<string, string>[] => [
    { intent: "send_test", destinationId: endpointA },
    { intent: "rotate", destinationId: endpointA },
    { intent: "rotate", destinationId: endpointA, overlapHours: "24" },
    { intent: "pause", destinationId: endpointA },
    { intent: "resume", destinationId: endpointA },
    { intent: "disconnect", destinationId: endpointA },
    { intent: "count_failed", destinationId: endpointA, since: "2020-01-01" },
    { intent: "replay_failed", destinationId: endpointA, since: "2020-01-01" },
    { intent: "replay", deliveryId: failedA },
    { intent: "replay", deliveryId: deliveredA },
    // Extra fields naming shop A change nothing: the shop comes from the session token only.
    { intent: "replay", deliveryId: failedA, shop: SHOP_A, shopId: a.id },
    { intent: "disconnect", destinationId: endpointA, shop: SHOP_A },
  ];

  it("GIVEN shop B has no endpoint WHEN it posts every form with shop A's ids THEN each answers 404 and nothing of A changes", async () => {
    const before = await snapshotOfA(a.id);
    for (const fields of foreignForms()) {
      const answer = await postWebhookForm(SHOP_B, fields);
      expect(answer.status, JSON.stringify(fields)).toBe(404);
      expect(answer.text ?? "").not.toMatch(new RegExp(`${endpointA}|${failedA}|93\\.184`));
    }
    expect(await snapshotOfA(a.id)).toBe(before);
  });

  it("GIVEN shop B has its own endpoint THEN shop A's ids still answer 404, while B's own id works", async () => {
    const connect = await postWebhookForm(SHOP_B, { intent: "connect", url: "https://93.184.215.14/b-crm", shop: SHOP_A, shopId: a.id, destinationId: endpointA });
    expect(connect.status).toBe(200);
    endpointB = (connect.data as { destinationId: string }).destinationId;
    expect(await db.destination.findUniqueOrThrow({ where: { id: endpointB } })).toMatchObject({ shopId: b.id, url: "https://93.184.215.14/b-crm" });

    const before = await snapshotOfA(a.id);
    for (const fields of foreignForms()) {
      const answer = await postWebhookForm(SHOP_B, fields);
      expect(answer.status, JSON.stringify(fields)).toBe(404);
    }
    expect(await snapshotOfA(a.id)).toBe(before);
    expect(await db.destination.findUniqueOrThrow({ where: { id: endpointA } })).toMatchObject({ state: "active", shopId: a.id });

    const own = await postWebhookForm(SHOP_B, { intent: "pause", destinationId: endpointB });
    expect(own.status).toBe(200);
    expect(await db.destination.findUniqueOrThrow({ where: { id: endpointB } })).toMatchObject({ state: "paused" });
  });

  it("GIVEN shop B's page, even asked for shop A's lead THEN it shows nothing of A", async () => {
    for (const query of ["", `?lead=${leadA}`, `?lead=${leadA}&status=failed`, "?status=failed", `?after=${Buffer.from(JSON.stringify([Date.now() + 1e9, "zzzz"])).toString("base64url")}`]) {
      const page = await loadWebhookPageData(SHOP_B, query);
      const text = JSON.stringify(page);
      for (const foreign of [endpointA, failedA, deliveredA, "a-crm", SHOP_A]) expect(text.includes(foreign), `${query}: ${foreign}`).toBe(false);
      expect(page.log.rows.every((r) => r.destinationId === endpointB)).toBe(true);
    }
    // Shop A still sees its own.
    const pageA = await loadWebhookPageData(SHOP_A, `?lead=${leadA}`);
    expect(pageA.log.rows.map((r) => r.id)).toEqual([failedA]);
  });
});
