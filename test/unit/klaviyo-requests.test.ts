import { describe, expect, it } from "vitest";
import { buildTestBody } from "../../app/delivery/payload";
import {
  buildCreateEventRequest, buildGetAccountsRequest, buildGetListsRequest, buildProfileDeletionRequest, buildSubscribeProfileRequest,
  InvalidMetricNameError, KlaviyoKeyFormatError, klaviyoDeliveryRate, klaviyoHeaders, normaliseApiKey, requiredKlaviyoScopes,
} from "../../app/destinations/klaviyo";
import { sampleLead, SHOP } from "../support/klaviyo-leads";

const apiKey = "pk_live_0123456789abcdef0123456789abcdef01";
const writeHeaders = {
  authorization: `Klaviyo-API-Key ${apiKey}`,
  revision: "2026-10-15",
  accept: "application/vnd.api+json",
  "content-type": "application/vnd.api+json",
};

function bodyOf(request: { body?: string | Uint8Array }): unknown {
  expect(typeof request.body).toBe("string");
  return JSON.parse(request.body as string);
}

describe("Create Event request", () => {
  it("GIVEN a captured lead THEN it is a JSON:API event on the shopper's profile with the lead's facts, the capture time and the delivery id as unique_id", () => {
    const request = buildCreateEventRequest({ apiKey, lead: sampleLead(), deliveryId: "dlv_7f3a" });
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://a.klaviyo.com/api/events");
    expect(request.headers).toEqual(writeHeaders);
    expect(bodyOf(request)).toEqual({
      data: {
        type: "event",
        attributes: {
          properties: {
            lead_id: "lead_01HZX",
            shop: SHOP,
            product_id: "gid://shopify/Product/1001",
            product_title: "Aviator frames",
            product_url: `https://${SHOP}/products/aviator`,
            variant_id: "gid://shopify/ProductVariant/2002",
            variant_title: "Gold / 54 mm",
            try_on: { vendor: "acme-tryon", session: "s-42", fit: { score: 0.92, bridge: "narrow" } },
            utm_source: "instagram",
            utm_medium: "social",
            utm_campaign: "fall-frames",
            page_url: `https://${SHOP}/products/aviator?variant=2002`,
            consent: true,
            tagged_in_shopify: true,
          },
          time: "2026-11-02T10:15:30.123Z",
          unique_id: "dlv_7f3a",
          metric: { data: { type: "metric", attributes: { name: "Try-On Lead" } } },
          profile: { data: { type: "profile", attributes: { email: "shopper@example.com" } } },
        },
      },
    });
  });

  it("GIVEN a lead without variant, try-on context, UTM or page THEN those properties are absent, not null", () => {
    const lead = sampleLead({ variantId: null, variantTitle: null, resultContext: null, utmSource: null, utmMedium: null, utmCampaign: null, pageUrl: null });
    const properties = (bodyOf(buildCreateEventRequest({ apiKey, lead, deliveryId: "d1" })) as { data: { attributes: { properties: object } } }).data.attributes.properties;
    expect(Object.keys(properties).sort()).toEqual(["consent", "lead_id", "product_id", "product_title", "product_url", "shop", "tagged_in_shopify"]);
  });

  it("GIVEN the merchant's own event name THEN it is the metric, trimmed; an empty, 128-character or control-character name is refused", () => {
    const named = bodyOf(buildCreateEventRequest({ apiKey, lead: sampleLead(), deliveryId: "d1", metricName: "  Virtual Try-On  " }));
    expect(named).toMatchObject({ data: { attributes: { metric: { data: { attributes: { name: "Virtual Try-On" } } } } } });
    expect(() => buildCreateEventRequest({ apiKey, lead: sampleLead(), deliveryId: "d1", metricName: "x".repeat(127) })).not.toThrow();
    for (const bad of ["   ", "x".repeat(128), "Try\nOn"]) {
      expect(() => buildCreateEventRequest({ apiKey, lead: sampleLead(), deliveryId: "d1", metricName: bad })).toThrow(InvalidMetricNameError);
    }
  });

  it("GIVEN a live lead THEN flows may run (no backfill); GIVEN a backfill or a test send THEN the event is marked backfill so no flow emails anyone", () => {
    const live = bodyOf(buildCreateEventRequest({ apiKey, lead: sampleLead(), deliveryId: "d1" })) as { data: { attributes: Record<string, unknown> } };
    expect(live.data.attributes).not.toHaveProperty("backfill");
    const late = bodyOf(buildCreateEventRequest({ apiKey, lead: sampleLead(), deliveryId: "d1", backfill: true }));
    expect(late).toMatchObject({ data: { attributes: { backfill: true } } });
    const test = bodyOf(buildCreateEventRequest({ apiKey, lead: buildTestBody(SHOP, new Date("2026-11-02T10:00:00Z")), deliveryId: "d2" }));
    expect(test).toMatchObject({ data: { attributes: { backfill: true, properties: { test: true }, profile: { data: { attributes: { email: "test@example.com" } } } } } });
  });

  it("GIVEN try-on context nested deeper than Klaviyo takes THEN the deep part is dropped and the rest kept", () => {
    let deep: Record<string, unknown> = { leaf: "bottom" };
    for (let i = 0; i < 12; i++) deep = { level: deep, [`note${i}`]: i };
    const lead = sampleLead({ resultContext: JSON.stringify({ vendor: "acme", deep, list: [[[[[[["too deep"]]]]]]] }) });
    const tryOn = (bodyOf(buildCreateEventRequest({ apiKey, lead, deliveryId: "d1" })) as { data: { attributes: { properties: { try_on: unknown } } } })
      .data.attributes.properties.try_on;
    const depth = (v: unknown): number => (typeof v === "object" && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0);
    expect(depth(tryOn)).toBeLessThanOrEqual(6);
    expect(tryOn).toMatchObject({ vendor: "acme", deep: { note11: 11, level: { note10: 10 } } });
  });

  it("never carries the key in the body", () => {
    expect(buildCreateEventRequest({ apiKey, lead: sampleLead(), deliveryId: "d1" }).body).not.toContain(apiKey);
  });
});

describe("Bulk Subscribe Profiles request", () => {
  it("GIVEN a consenting shopper and a list THEN the email is subscribed to email marketing and added to that list", () => {
    const request = buildSubscribeProfileRequest({ apiKey, lead: sampleLead(), listId: " Y6nRLr " });
    expect(request).not.toBeNull();
    expect(request!.method).toBe("POST");
    expect(request!.url).toBe("https://a.klaviyo.com/api/profile-subscription-bulk-create-jobs");
    expect(request!.headers).toEqual(writeHeaders);
    expect(bodyOf(request!)).toEqual({
      data: {
        type: "profile-subscription-bulk-create-job",
        attributes: {
          custom_source: "Virtual try-on lead form",
          profiles: { data: [{ type: "profile", attributes: { email: "shopper@example.com", subscriptions: { email: { marketing: { consent: "SUBSCRIBED" } } } } }] },
        },
        relationships: { list: { data: { type: "list", id: "Y6nRLr" } } },
      },
    });
  });

  it("GIVEN a backfilled lead THEN it is a historical import with the consent's own time", () => {
    const body = bodyOf(buildSubscribeProfileRequest({ apiKey, lead: sampleLead(), listId: "Y6nRLr", historicalImport: true })!);
    expect(body).toMatchObject({
      data: {
        attributes: {
          historical_import: true,
          profiles: { data: [{ attributes: { subscriptions: { email: { marketing: { consent: "SUBSCRIBED", consented_at: "2026-11-02T10:15:30.123Z" } } } } }] },
        },
      },
    });
  });

  it("GIVEN no marketing consent, or a test send THEN there is nothing to send", () => {
    const withoutConsent = { ...sampleLead(), consent: { given: false, captured_at: "2026-11-02T10:15:30.123Z" } };
    expect(buildSubscribeProfileRequest({ apiKey, lead: withoutConsent, listId: "Y6nRLr" })).toBeNull();
    const test = buildTestBody(SHOP, new Date()) as unknown as Parameters<typeof buildSubscribeProfileRequest>[0]["lead"];
    expect(buildSubscribeProfileRequest({ apiKey, lead: test, listId: "Y6nRLr" })).toBeNull();
  });

  it("GIVEN no list id THEN it is refused as a caller mistake", () => {
    expect(() => buildSubscribeProfileRequest({ apiKey, lead: sampleLead(), listId: "  " })).toThrow(RangeError);
  });
});

describe("Request Profile Deletion request", () => {
  it("names the profile by email only", () => {
    const request = buildProfileDeletionRequest({ apiKey, email: " shopper@example.com " });
    expect(request.url).toBe("https://a.klaviyo.com/api/data-privacy-deletion-jobs");
    expect(request.headers).toEqual(writeHeaders);
    expect(bodyOf(request)).toEqual({
      data: { type: "data-privacy-deletion-job", attributes: { profile: { data: { type: "profile", attributes: { email: "shopper@example.com" } } } } },
    });
  });
});

describe("reads", () => {
  const readHeaders = { authorization: `Klaviyo-API-Key ${apiKey}`, revision: "2026-10-15", accept: "application/vnd.api+json" };

  it("Get Accounts asks only for the fields shown, with no body and no content-type", () => {
    const request = buildGetAccountsRequest(apiKey);
    expect(request).toMatchObject({ method: "GET", headers: readHeaders });
    expect(request.body).toBeUndefined();
    const url = new URL(request.url);
    expect(`${url.origin}${url.pathname}`).toBe("https://a.klaviyo.com/api/accounts");
    expect(url.searchParams.get("fields[account]")).toBe("contact_information.organization_name,test_account");
    expect(request.maxResponseBytes).toBeGreaterThanOrEqual(64 * 1024);
  });

  it("Get Lists asks for ten lists a page, newest first, with the cursor of the page wanted", () => {
    const first = new URL(buildGetListsRequest(apiKey).url);
    expect(`${first.origin}${first.pathname}`).toBe("https://a.klaviyo.com/api/lists");
    expect(Object.fromEntries(first.searchParams)).toEqual({ "fields[list]": "name,opt_in_process", sort: "-created", "page[size]": "10" });
    const next = buildGetListsRequest(apiKey, "b2Zmc2V0OjEw&x=1");
    expect(new URL(next.url).searchParams.get("page[cursor]")).toBe("b2Zmc2V0OjEw&x=1");
    expect(next.headers).toEqual(readHeaders);
  });
});

describe("API keys", () => {
  it("trims what was pasted and refuses what could not be a key, without echoing it", () => {
    expect(normaliseApiKey(`  ${apiKey}\n`)).toBe(apiKey);
    for (const bad of ["", "   ", "pk_abc def", "pk_abc\u0000", "x".repeat(257), "pk_clé"]) {
      let error: unknown;
      try {
        normaliseApiKey(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(KlaviyoKeyFormatError);
      if (bad.trim()) expect((error as Error).message).not.toContain(bad.trim());
    }
  });

  it("GIVEN a key with a line break THEN no header is built (no header injection)", () => {
    expect(() => klaviyoHeaders("pk_abc\r\nx-evil: 1", true)).toThrow(KlaviyoKeyFormatError);
  });
});

describe("scopes and rates", () => {
  it("names the scopes each choice of features needs", () => {
    expect(requiredKlaviyoScopes({ listSubscription: false, profileDeletion: false })).toEqual(["accounts:read", "events:write"]);
    expect(requiredKlaviyoScopes({ listSubscription: true, profileDeletion: false })).toEqual(
      ["accounts:read", "events:write", "lists:read", "lists:write", "profiles:write", "subscriptions:write"],
    );
    expect(requiredKlaviyoScopes({ listSubscription: false, profileDeletion: true })).toEqual(["accounts:read", "events:write", "data-privacy:write"]);
  });

  it("gives the worker half of Klaviyo's per-account limit of the tightest endpoint a delivery calls", () => {
    // Create Event 350/s, 3500/min; Bulk Subscribe 75/s, 750/min; Request Profile Deletion 3/s, 60/min.
    expect(klaviyoDeliveryRate("lead")).toEqual({ perSecond: 3500 / 60 / 2, burst: 175 });
    expect(klaviyoDeliveryRate("lead_with_subscription")).toEqual({ perSecond: 750 / 60 / 2, burst: 37 });
    expect(klaviyoDeliveryRate("profile_deletion")).toEqual({ perSecond: 0.5, burst: 1 });
  });
});
