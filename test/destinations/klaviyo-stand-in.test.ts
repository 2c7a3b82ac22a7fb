import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HttpAnswer, OutboundRequest } from "../../app/delivery/http-sender.server";
import { buildCreateEventRequest, buildGetListsRequest, buildProfileDeletionRequest, buildSubscribeProfileRequest, type KlaviyoExchange } from "../../app/destinations/klaviyo";
import { sampleLead } from "../support/klaviyo-leads";
import { ALL_SCOPES, standInExchange, startKlaviyoStandIn, type KlaviyoStandIn } from "../support/klaviyo-stand-in";

/**
 * The stand-in itself refuses what Klaviyo refuses, so the Klaviyo tests can fail: each case starts from a
 * request the product builds (which the stand-in takes) and breaks one thing Klaviyo checks.
 */

const KEY = "pk_full_1111111111111111111111111111111111";
let standIn: KlaviyoStandIn;
let transport: { exchange: KlaviyoExchange; close(): void };

beforeEach(async () => {
  standIn = await startKlaviyoStandIn({ keys: [{ key: KEY, scopes: ALL_SCOPES }], accounts: [{ id: "acct_demo", organizationName: "Demo Store", lists: [{ id: "Y6nRLr", name: "Leads" }] }] });
  transport = standInExchange(standIn);
});
afterEach(async () => {
  transport.close();
  await standIn.close();
});

const event = () => buildCreateEventRequest({ apiKey: KEY, lead: sampleLead(), deliveryId: "dlv_1" });

async function answerTo(request: OutboundRequest): Promise<{ status: number; errors: { code: string; detail: string; source?: { pointer: string } }[] }> {
  const result = await transport.exchange(request);
  expect(result.ok).toBe(true);
  const answer = result as HttpAnswer;
  const text = answer.body.toString("utf8");
  return { status: answer.status, errors: text ? (JSON.parse(text).errors ?? []) : [] };
}

function withBody(request: OutboundRequest, change: (document: Record<string, any>) => void): OutboundRequest {
  const document = JSON.parse(request.body as string);
  change(document);
  return { ...request, body: JSON.stringify(document) };
}

describe("the Klaviyo stand-in checks what Klaviyo checks", () => {
  it("takes the product's own requests", async () => {
    expect((await answerTo(event())).status).toBe(202);
    expect((await answerTo(buildSubscribeProfileRequest({ apiKey: KEY, lead: sampleLead(), listId: "Y6nRLr" })!)).status).toBe(202);
    expect((await answerTo(buildProfileDeletionRequest({ apiKey: KEY, email: "shopper@example.com" }))).status).toBe(202);
  });

  it.each([
    ["another scheme", { authorization: `Bearer ${KEY}` }, 401, "not_authenticated"],
    ["an unknown key", { authorization: "Klaviyo-API-Key pk_other_00000000000000000000000000" }, 401, "authentication_failed"],
    ["no revision", { revision: "" }, 400, "invalid"],
    ["a revision that never existed", { revision: "2026-10-16" }, 400, "invalid"],
    ["a retired revision", { revision: "2023-10-15" }, 400, "invalid"],
    ["plain JSON content", { "content-type": "application/json" }, 415, "unsupported_media_type"],
  ])("refuses %s", async (_case, headers, status, code) => {
    const request = event();
    const merged = Object.fromEntries(Object.entries({ ...request.headers, ...headers }).filter(([, v]) => v !== ""));
    const answer = await answerTo({ ...request, headers: merged });
    expect(answer.status).toBe(status);
    expect(answer.errors[0].code).toBe(code);
    expect(standIn.events).toHaveLength(0);
  });

  it.each<[string, (d: Record<string, any>) => void, string]>([
    ["a misspelt attribute", (d) => { d.data.attributes.uniqueId = d.data.attributes.unique_id; delete d.data.attributes.unique_id; }, "/data/attributes/uniqueId"],
    ["no metric name", (d) => { delete d.data.attributes.metric.data.attributes.name; }, "/data/attributes/metric/data/attributes/name"],
    ["a 128-character metric name", (d) => { d.data.attributes.metric.data.attributes.name = "x".repeat(128); }, "/data/attributes/metric/data/attributes/name"],
    ["a profile without identifier", (d) => { d.data.attributes.profile.data.attributes = {}; }, "/data/attributes/profile/data/attributes"],
    ["no properties", (d) => { delete d.data.attributes.properties; }, "/data/attributes/properties"],
    ["properties nested 11 deep", (d) => { let v: unknown = 1; for (let i = 0; i < 11; i++) v = { v }; d.data.attributes.properties.deep = v; }, "/data/attributes/properties"],
    ["a time before 1991", (d) => { d.data.attributes.time = "1990-06-01T00:00:00Z"; }, "/data/attributes/time"],
    ["the wrong type", (d) => { d.data.type = "events"; }, "/data/type"],
  ])("refuses an event with %s, pointing at it", async (_case, change, pointer) => {
    const answer = await answerTo(withBody(event(), change));
    expect(answer.status).toBe(400);
    expect(answer.errors.map((e) => e.source?.pointer)).toContain(pointer);
  });

  it("refuses consented_at outside a historical import, and a historical import without it", async () => {
    const subscribe = buildSubscribeProfileRequest({ apiKey: KEY, lead: sampleLead(), listId: "Y6nRLr" })!;
    const withTime = withBody(subscribe, (d) => { d.data.attributes.profiles.data[0].attributes.subscriptions.email.marketing.consented_at = "2026-11-01T00:00:00Z"; });
    expect((await answerTo(withTime)).status).toBe(400);
    const historical = withBody(subscribe, (d) => { d.data.attributes.historical_import = true; });
    expect((await answerTo(historical)).status).toBe(400);
    expect(standIn.subscriptions).toHaveLength(0);
  });

  it("refuses a deletion naming the profile twice", async () => {
    const both = withBody(buildProfileDeletionRequest({ apiKey: KEY, email: "shopper@example.com" }), (d) => { d.data.attributes.profile.data.attributes.phone_number = "+15005550006"; });
    expect((await answerTo(both)).status).toBe(400);
  });

  it("refuses a lists page of more than ten", async () => {
    const lists = buildGetListsRequest(KEY);
    const url = new URL(lists.url);
    url.searchParams.set("page[size]", "11");
    const answer = await answerTo({ ...lists, url: url.toString() });
    expect(answer.status).toBe(400);
  });

  it("answers a repeated unique_id with 202 but keeps the first event only, as Klaviyo does", async () => {
    expect((await answerTo(event())).status).toBe(202);
    expect((await answerTo(withBody(event(), (d) => { d.data.attributes.properties.product_title = "changed"; }))).status).toBe(202);
    expect(standIn.events).toHaveLength(1);
    expect(standIn.events[0].properties.product_title).toBe("Aviator frames");
  });
});
