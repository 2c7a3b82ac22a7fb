import { beforeAll, describe, expect, it } from "vitest";
import { action as exportAction } from "../../app/routes/app.leads.export";
import { action as webhookAction } from "../../app/routes/app.leads.integrations.webhook";
import { action as privacyAction } from "../../app/routes/app.privacy._index";
import { adminRequest, installShop } from "../support/shopify";

/**
 * Every admin action reads its body through one helper: a body it cannot read is a 400 (415 for a body
 * that is not a URL-encoded form, 413 past the size limit) with a JSON error naming what was wrong, never
 * a 500 and never a half-read form.
 */

const SHOP = "body-shop.myshopify.com";

type Action = (args: { request: Request; params: Record<string, string>; context: object }) => Promise<unknown>;
const ACTIONS: [string, string, Action][] = [
  ["the export action", "/app/leads/export", exportAction as Action],
  ["the webhook action", "/app/leads/integrations/webhook", webhookAction as Action],
  ["the Privacy action", "/app/privacy", privacyAction as Action],
];

const form = "application/x-www-form-urlencoded";

const BODIES: [string, { body: BodyInit; type?: string }, number, string][] = [
  ["JSON", { body: JSON.stringify({ intent: "pause" }), type: "application/json" }, 415, "body"],
  ["plain text", { body: "intent=pause", type: "text/plain" }, 415, "body"],
  ["a multipart form", { body: "--x\r\nContent-Disposition: form-data; name=\"intent\"\r\n\r\npause\r\n--x--\r\n", type: "multipart/form-data; boundary=x" }, 415, "body"],
  ["a body without a content type", { body: "intent=pause" }, 415, "body"],
  ["bytes that are not UTF-8", { body: Uint8Array.from([0x69, 0x3d, 0xc0, 0x80]), type: form }, 400, "body"],
  ["percent-encoded bytes that are not UTF-8", { body: "intent=%C0%80", type: form }, 400, "intent"],
  ["invalid percent-encoding", { body: "intent=%ZZ", type: form }, 400, "intent"],
  ["a NUL in a value", { body: "intent=pa%00use", type: form }, 400, "intent"],
  ["a control character in a field name", { body: "in%01tent=pause", type: form }, 400, "body"],
  ["a value of 5,000 characters", { body: `intent=${"x".repeat(5000)}`, type: form }, 400, "intent"],
  ["a body of 100 KB", { body: `pad=${"x".repeat(100_000)}`, type: form }, 413, "body"],
];

async function answer(action: Action, request: Request): Promise<{ status: number; json: unknown }> {
  try {
    const result = await action({ request, params: {}, context: {} });
    if (result instanceof Response) return { status: result.status, json: await result.json() };
    const init = (result as { init?: ResponseInit | null; data?: unknown } | null)?.init;
    return { status: init?.status ?? 200, json: (result as { data?: unknown }).data ?? result };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, json: await thrown.json() };
    throw thrown;
  }
}

describe("admin action bodies", () => {
  beforeAll(async () => {
    await installShop(SHOP);
  });

  describe.each(ACTIONS)("%s", (_name, path, action) => {
    it.each(BODIES)("answers %s with its status and the field", async (_body, { body, type }, status, field) => {
      const headers: Record<string, string> = type ? { "Content-Type": type } : {};
      const request = await adminRequest(path, SHOP, { method: "POST", body, headers });
      if (!type) request.headers.delete("content-type");
      const result = await answer(action, request);
      expect(result.status).toBe(status);
      expect(result.json).toEqual({ error: { field, message: expect.any(String) } });
    });

    it("answers an empty body with the action's own 4xx for what is missing, never a 500", async () => {
      const request = await adminRequest(path, SHOP, { method: "POST" });
      const { status } = await answer(action, request);
      if (path === "/app/leads/export") expect(status).toBe(200); // no filters: the whole list
      else expect(status).toBe(400);
    });
  });
});
