import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import { getProducers } from "../../app/runtime/producers.server";
import { adminGraphqlFor } from "../../app/customers/admin-graphql.server";
import { processTaggingJob, TaggingJobError } from "../../app/customers/tagging.server";
import { createShopPace } from "../../app/customers/shop-pace.server";
import { getConfig } from "../../app/lib/config.server";
import { TRYON_LEAD_TAG } from "../../app/customers/tag-customer.server";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { deliveryIdOfJob } from "../../app/delivery/queue.server";
import { FakeAdminApi } from "../support/fake-admin-api";
import { installShop } from "../support/shopify";

const SHOP = "tagging-shop.myshopify.com";
const api = new FakeAdminApi();
let shopId = "";
let destinationId = "";

async function captured(email: string) {
  const { lead, deliveryIds } = await recordLeadWithDeliveries(getDb(), {
    shopId, shopDomain: SHOP, email, productId: "p1", productTitle: "Aviator", productUrl: "https://s.example/p1", consent: true,
  });
  return { leadId: lead.id, deliveryIds };
}

function job(leadId: string, attemptsMade = 0) {
  const parked: number[] = [];
  return { data: { leadId }, attemptsMade, opts: { attempts: 6 }, parked, moveToDelayed: async (at: number) => void parked.push(at) };
}

const deps = () => ({
  db: getDb(),
  deliveryQueue: getProducers().deliveryQueue,
  graphqlFor: adminGraphqlFor,
  logger: pino({ level: "silent" }),
  pace: createShopPace(getProducers().redis, { prefix: getConfig().QUEUE_PREFIX }),
});

async function deliveryBody(id: string) {
  const d = await getDb().delivery.findUniqueOrThrow({ where: { id } });
  return JSON.parse(d.payload) as { tagged_in_shopify: boolean; captured_at: string; email: string };
}

async function queued(id: string) {
  const jobs = await getProducers().deliveryQueue.getJobs(["waiting", "delayed", "prioritized"]);
  return jobs.some((j) => deliveryIdOfJob(j) === id);
}

describe("tagging the shopper in Shopify after capture", () => {
  beforeAll(async () => {
    api.install();
    shopId = (await installShop(SHOP)).id;
    destinationId = (await getDb().destination.create({ data: { shopId, url: "https://crm.example/h", secretCiphertext: "x", secretKeyVersion: 1 } })).id;
  });

  it("GIVEN a new shopper THEN a customer is created with the tag and consent, and the delivery says tagged", async () => {
    const { leadId, deliveryIds } = await captured("new.shopper@example.com");
    expect(await deliveryBody(deliveryIds[0])).toMatchObject({ tagged_in_shopify: false });
    expect(await processTaggingJob(deps(), job(leadId))).toEqual({ tagged: true });
    const [customer] = api.customers.get(SHOP)!;
    expect(customer).toMatchObject({ email: "new.shopper@example.com", tags: [TRYON_LEAD_TAG], marketingState: "SUBSCRIBED" });
    const lead = await getDb().lead.findUniqueOrThrow({ where: { id: leadId } });
    expect(lead).toMatchObject({ tagged: true, customerId: customer.id });
    // The body is built from the lead as read for tagging: the same instant and email as the stored row.
    expect(await deliveryBody(deliveryIds[0])).toMatchObject({
      tagged_in_shopify: true, captured_at: lead.capturedAt.toISOString(), email: "new.shopper@example.com",
    });
    expect(await queued(deliveryIds[0])).toBe(true);
    // The real Admin client used the shop's offline session token.
    expect(api.calls.every((c) => c.accessToken === "shpat_tagging-shop_token")).toBe(true);
  });

  it("GIVEN an existing customer THEN the tag is added and consent recorded, without creating another", async () => {
    const existing = api.addCustomer(SHOP, "Regular@Example.com", ["vip"], "NOT_SUBSCRIBED");
    const { leadId } = await captured("regular@example.com");
    await processTaggingJob(deps(), job(leadId));
    expect(api.customers.get(SHOP)!.filter((c) => c.email.toLowerCase() === "regular@example.com")).toHaveLength(1);
    expect(existing.tags).toEqual(["vip", TRYON_LEAD_TAG]);
    expect(existing.marketingState).toBe("SUBSCRIBED");
    expect(api.calls.some((c) => c.operation === "CreateTryOnCustomer" && c.variables.input.email === "regular@example.com")).toBe(false);
  });

  it("GIVEN the Admin API fails THEN the lead is kept, its delivery goes out marked not tagged, and a retry tags it", async () => {
    const { leadId, deliveryIds } = await captured("unlucky@example.com");
    api.failures.push("http500");
    await expect(processTaggingJob(deps(), job(leadId, 0))).rejects.toThrow();
    expect(await getDb().lead.findUniqueOrThrow({ where: { id: leadId } })).toMatchObject({ tagged: false });
    expect(await deliveryBody(deliveryIds[0])).toMatchObject({ tagged_in_shopify: false });
    expect(await queued(deliveryIds[0])).toBe(true);

    api.failures.push("graphqlError");
    // BullMQ keeps a failed job's reason in Redis: a fixed sentence, the details are in the log.
    await expect(processTaggingJob(deps(), job(leadId, 1))).rejects.toThrow(TaggingJobError);
    expect(await getDb().lead.findUniqueOrThrow({ where: { id: leadId } })).toMatchObject({ tagged: false, taggingState: "pending" });

    // The delivery was attempted meanwhile: its bytes must not change any more.
    await getDb().delivery.update({ where: { id: deliveryIds[0] }, data: { attemptCount: 1, status: "delivered" } });
    expect(await processTaggingJob(deps(), job(leadId, 2))).toEqual({ tagged: true });
    expect(await getDb().lead.findUniqueOrThrow({ where: { id: leadId } })).toMatchObject({ tagged: true, taggingState: "done" });
    expect(await deliveryBody(deliveryIds[0])).toMatchObject({ tagged_in_shopify: false });
  });

  it("GIVEN another process gave the lead's tagging up meanwhile THEN the lead keeps that, and its delivery goes out from the stored row", async () => {
    const { leadId, deliveryIds } = await captured("raced@example.com");
    const racing = {
      ...deps(),
      graphqlFor: async (shop: string) => {
        await getDb().lead.update({ where: { id: leadId }, data: { taggingState: "failed", taggingError: "given up elsewhere" } });
        return adminGraphqlFor(shop);
      },
    };
    expect(await processTaggingJob(racing, job(leadId))).toEqual({ tagged: true });
    expect(await getDb().lead.findUniqueOrThrow({ where: { id: leadId } })).toMatchObject({ tagged: false, taggingState: "failed" });
    expect(await deliveryBody(deliveryIds[0])).toMatchObject({ tagged_in_shopify: false });
    expect(await queued(deliveryIds[0])).toBe(true);
  });

  it("GIVEN the shop has no offline session THEN tagging gives up for good (not retried)", async () => {
    const { leadId } = await captured("orphan@example.com");
    await getDb().session.deleteMany({ where: { shop: SHOP } });
    await expect(processTaggingJob(deps(), job(leadId))).rejects.toMatchObject({ name: "UnrecoverableError" });
    expect(await getDb().lead.findUniqueOrThrow({ where: { id: leadId } })).toMatchObject({
      tagged: false, taggingState: "failed", taggingError: expect.stringMatching(/no offline session/),
    });
    expect(destinationId).toBeTruthy();
  });
});
