import { beforeAll, describe, expect, it } from "vitest";
import { loader as leadsPage } from "../../app/routes/app.leads._index";
import { action as exportAction } from "../../app/routes/app.leads.export";
import { action as webhookAction, loader as webhookPage } from "../../app/routes/app.leads.integrations.webhook";
import { action as privacyAction } from "../../app/routes/app.privacy._index";
import { loader as privacyDownload } from "../../app/routes/app.privacy.$requestId.download";
import { adminRequest, installShop } from "../support/shopify";
import { seedLeads } from "../support/leads";
import { HOSTILE_PERCENT_ENCODINGS, HOSTILE_STRINGS, refusedByPolicy } from "../support/hostile-strings";

/**
 * The hostile-string corpus in every admin query parameter, form field and route parameter, on both
 * databases: text the input policy refuses is a 400 naming the parameter, anything else gets the route's
 * own answer; never a 500.
 */

const SHOP = "hostile-admin.myshopify.com";

type Handler = (args: { request: Request; params: Record<string, string>; context: object }) => Promise<unknown>;

async function answer(handler: Handler, request: Request, params: Record<string, string> = {}) {
  try {
    const result = await handler({ request, params, context: {} });
    if (result instanceof Response) return { status: result.status, body: await result.text() };
    const init = (result as { init?: ResponseInit | null } | null)?.init;
    return { status: init?.status ?? 200, body: JSON.stringify(result) };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, body: await thrown.text() };
    throw thrown;
  }
}

/** Where a parameter goes: the query of a page, or the form of an action (with the other fields it needs). */
const QUERY_PARAMS: [string, string, Handler, string][] = [
  ...["q", "product", "from", "to", "after", "before"].map((p) => ["the Leads tab", "/app/leads", leadsPage as Handler, p] as [string, string, Handler, string]),
  ...["status", "from", "to", "lead", "after"].map((p) => ["the webhook page", "/app/leads/integrations/webhook", webhookPage as Handler, p] as [string, string, Handler, string]),
];

const FORM_FIELDS: [string, string, Handler, Record<string, string>, string][] = [
  ...["q", "product", "from", "to"].map((f) => ["the export action", "/app/leads/export", exportAction as Handler, {}, f] as [string, string, Handler, Record<string, string>, string]),
  ["the webhook action", "/app/leads/integrations/webhook", webhookAction as Handler, {}, "intent"],
  ["the webhook action", "/app/leads/integrations/webhook", webhookAction as Handler, { intent: "connect" }, "url"],
  ["the webhook action", "/app/leads/integrations/webhook", webhookAction as Handler, { intent: "pause" }, "destinationId"],
  ["the webhook action", "/app/leads/integrations/webhook", webhookAction as Handler, { intent: "replay" }, "deliveryId"],
  ["the webhook action", "/app/leads/integrations/webhook", webhookAction as Handler, { intent: "count_failed", destinationId: "e1" }, "since"],
  ["the webhook action", "/app/leads/integrations/webhook", webhookAction as Handler, { intent: "rotate", destinationId: "e1" }, "overlapHours"],
  ["the Privacy action", "/app/privacy", privacyAction as Handler, { intent: "complete" }, "requestId"],
  ["the Privacy action", "/app/privacy", privacyAction as Handler, { intent: "redaction-events" }, "enabled"],
];

function expectAnswered(result: { status: number; body: string }, refused: boolean, field: string) {
  expect(result.status).toBeLessThan(500);
  if (refused) {
    expect(result.status).toBe(400);
    expect(JSON.parse(result.body).error.field).toBe(field);
  }
}

describe("hostile strings in admin parameters", () => {
  beforeAll(async () => {
    const shop = await installShop(SHOP);
    await seedLeads(shop.id, [{ email: "someone@example.com" }]);
  });

  describe.each(QUERY_PARAMS)("%s, query parameter %s", (_page, path, handler, param) => {
    it.each(HOSTILE_STRINGS)("%s", async (_name, value) => {
      const request = await adminRequest(`${path}?${new URLSearchParams({ [param]: value })}`, SHOP);
      // URLSearchParams writes a lone surrogate as U+FFFD, which is valid text: the policy sees what arrived.
      const arrived = new URL(request.url).searchParams.get(param)!;
      expectAnswered(await answer(handler, request), refusedByPolicy(arrived), param);
    });

    it.each(HOSTILE_PERCENT_ENCODINGS)("%s", async (_name, encoded) => {
      const request = await adminRequest(`${path}?${param}=${encoded}`, SHOP);
      expectAnswered(await answer(handler, request), true, param);
    });
  });

  describe.each(FORM_FIELDS)("%s, form field %s", (_action, path, handler, fields, field) => {
    it.each(HOSTILE_STRINGS)("%s", async (_name, value) => {
      const body = new URLSearchParams({ ...fields, [field]: value });
      const arrived = new URLSearchParams(body.toString()).get(field)!;
      const request = await adminRequest(path, SHOP, { method: "POST", body });
      expectAnswered(await answer(handler, request), refusedByPolicy(arrived), field);
    });

    it.each(HOSTILE_PERCENT_ENCODINGS)("%s", async (_name, encoded) => {
      const body = `${new URLSearchParams(fields)}&${field}=${encoded}`.replace(/^&/, "");
      const request = await adminRequest(path, SHOP, { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
      expectAnswered(await answer(handler, request), true, field);
    });
  });

  describe("the data request download, route parameter requestId", () => {
    it.each(HOSTILE_STRINGS)("%s", async (_name, value) => {
      const request = await adminRequest(`/app/privacy/${encodeURIComponent(value.replace(/[\ud800-\udfff]/g, ""))}/download`, SHOP);
      expectAnswered(await answer(privacyDownload as Handler, request, { requestId: value }), refusedByPolicy(value), "requestId");
    });
  });
});
