import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import { taggingJobId } from "../../app/customers/tagging.server";
import { shopPaceKey } from "../../app/customers/shop-pace.server";
import { FakeAdminApi } from "../support/fake-admin-api";
import { installShop } from "../support/shopify";
import { addEndpoint, waitFor, type TestEndpoint } from "../support/delivery";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { startTaggingHarness, type TaggingHarness } from "../support/tagging-harness";

/**
 * Shopify limits each app on each store with a leaky bucket of cost points. A shop whose bucket is empty has
 * its tagging paced from what Shopify reports (points available, restore rate): its jobs wait for their turn
 * without spending attempts or failing, and no other shop's tagging waits with them.
 */

const api = new FakeAdminApi();
let receiver: HttpsReceiver;
let harness: TaggingHarness;
const LEADS_PER_SHOP = 8;
const secrets: string[] = [];

async function shopWithEndpoint(domain: string): Promise<TestEndpoint> {
  const endpoint = await addEndpoint(await installShop(domain), receiver.urlFor(`/crm/${domain}`));
  secrets.push(endpoint.secret);
  receiver.setSecrets(secrets);
  return endpoint;
}

async function taggedAfterMs(leads: { leadId: string }[], since: number) {
  const rows = await getDb().lead.findMany({ where: { id: { in: leads.map((l) => l.leadId) } }, select: { taggedAt: true } });
  return rows.map((r) => r.taggedAt!.getTime() - since);
}

async function paceRun(throttled: string, healthy: string) {
  const [slow, quick] = [await shopWithEndpoint(throttled), await shopWithEndpoint(healthy)];
  const slowLeads: { leadId: string; capturedAt: number }[] = [];
  const quickLeads: { leadId: string; capturedAt: number }[] = [];
  // The leads arrive together, while a small store's bucket is empty (other work of the app spent it).
  await harness.tagging.pause();
  for (let i = 0; i < LEADS_PER_SHOP; i++) {
    slowLeads.push(await harness.capture(slow));
    quickLeads.push(await harness.capture(quick));
  }
  api.setPlan(throttled, { size: 100, restoreRate: 50 });
  api.setAvailable(throttled, 0);
  const started = Date.now();
  harness.tagging.resume();
  const ids = [...slowLeads, ...quickLeads].map((l) => l.leadId);
  await waitFor(async () => (await getDb().lead.count({ where: { id: { in: ids }, taggingState: "done" } })) === ids.length, 30_000, "every lead tagged");

  // The healthy shop never waited for the throttled one.
  expect(Math.max(...(await taggedAfterMs(quickLeads, started)))).toBeLessThan(2_000);
  expect(api.calls.filter((c) => c.shop === healthy && c.outcome === "throttled")).toHaveLength(0);
  // The throttled shop was paced: it took the time its bucket needed, and was refused only a few times
  // (about once per job that started before Shopify's first refusal), not over and over.
  expect(Math.max(...(await taggedAfterMs(slowLeads, started)))).toBeGreaterThan(1_500);
  const refused = api.calls.filter((c) => c.shop === throttled && c.outcome === "throttled").length;
  expect(refused).toBeGreaterThan(0);
  expect(refused).toBeLessThanOrEqual(2 * LEADS_PER_SHOP);
  // Waiting spent no attempt and failed nothing: each job finished on its one and only attempt.
  // (A job writes the lead before BullMQ records it finished: wait for that record, then read it.)
  for (const lead of slowLeads) {
    await waitFor(async () => Boolean((await harness.taggingQueue.getJob(taggingJobId(lead.leadId)))?.finishedOn), 10_000, "tagging job recorded as finished");
    const job = await harness.taggingQueue.getJob(taggingJobId(lead.leadId));
    expect(job?.finishedOn).toBeTruthy();
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason ?? null).toBeNull();
  }
  expect(await getDb().lead.count({ where: { id: { in: ids }, OR: [{ tagged: false }, { taggingError: { not: null } }] } })).toBe(0);
  // Every shopper is one tagged customer.
  expect(api.customers.get(throttled)!.filter((c) => c.tags.includes("tryon-lead"))).toHaveLength(LEADS_PER_SHOP);
}

describe("Shopify's throttling paces one shop's tagging", () => {
  beforeAll(async () => {
    api.install();
    receiver = await startHttpsReceiver();
    harness = await startTaggingHarness("throttle", receiver, { deadlineMs: 2_000, concurrency: 8 });
  });

  afterAll(async () => {
    await harness?.close();
    await receiver?.close();
  });

  it("GIVEN THROTTLED answers (HTTP 200) for one shop THEN its leads are tagged at its bucket's pace without spending attempts, and the other shop's at once", async () => {
    await paceRun("throttled-graphql.myshopify.com", "healthy-graphql.myshopify.com");
    // The pace lives under the shop's hash tag, so it works on Redis Cluster too.
    expect(shopPaceKey(harness.prefix, "throttled-graphql.myshopify.com")).toMatch(/\{throttled-graphql\.myshopify\.com\}$/);
  });

  it("GIVEN 429 answers with Retry-After for one shop THEN the same holds", async () => {
    api.throttleWith = "http429";
    try {
      await paceRun("throttled-http.myshopify.com", "healthy-http.myshopify.com");
    } finally {
      api.throttleWith = "graphql";
    }
  });
});
