import { beforeAll, describe, expect, it } from "vitest";
import { getJwt } from "@shopify/shopify-api/test-helpers";
import type { JwtPayload } from "@shopify/shopify-api";
import { loader as appLayout } from "../../app/routes/app";
import { loader as appHome } from "../../app/routes/app._index";
import { loader as leadsPage } from "../../app/routes/app.leads._index";
import { action as exportAction } from "../../app/routes/app.leads.export";
import { action as webhookAction, loader as webhookPage } from "../../app/routes/app.leads.integrations.webhook";
import { action as privacyAction, loader as privacyPage } from "../../app/routes/app.privacy._index";
import { loader as privacyDownload } from "../../app/routes/app.privacy.$requestId.download";
import { adminRequest, installShop } from "../support/shopify";
import { TEST_API_KEY, TEST_API_SECRET } from "../support/setup-env";

/**
 * Every admin route answers a session token it cannot trust with 401, whatever is odd about it: never a
 * 500, never the data of the shop it names.
 */

const SHOP = "token-shop.myshopify.com";
const now = Math.floor(Date.now() / 1000);

type Call = (request: Request) => Promise<unknown>;
const args = (request: Request, params: Record<string, string> = {}) => ({ request, params, context: {} });

const ROUTES: [string, string, RequestInit, Call][] = [
  ["the app frame (GET /app)", "/app", {}, (r) => appLayout(args(r))],
  ["the app home (GET /app/)", "/app?index", {}, (r) => appHome(args(r))],
  ["the Leads tab", "/app/leads?q=a", {}, (r) => leadsPage(args(r))],
  ["the export action", "/app/leads/export", { method: "POST", body: new URLSearchParams({ q: "a" }) }, (r) => exportAction(args(r))],
  ["the webhook page", "/app/leads/integrations/webhook", {}, (r) => webhookPage(args(r))],
  ["the webhook action", "/app/leads/integrations/webhook", { method: "POST", body: new URLSearchParams({ intent: "pause", destinationId: "e1" }) }, (r) => webhookAction(args(r))],
  ["the Privacy page", "/app/privacy", {}, (r) => privacyPage(args(r))],
  ["the Privacy action", "/app/privacy", { method: "POST", body: new URLSearchParams({ intent: "redaction-events", enabled: "true" }) }, (r) => privacyAction(args(r))],
  ["a data request download", "/app/privacy/r1/download", {}, (r) => privacyDownload(args(r, { requestId: "r1" }))],
];

const unsignedToken = (header: object, payload: object) =>
  [header, payload].map((part) => Buffer.from(JSON.stringify(part)).toString("base64url")).join(".") + ".";

const TOKENS: [string, () => Promise<string>][] = [
  ["a dest that is not a Shopify shop", () => signed({ dest: "https://evil.example.com", iss: "https://evil.example.com/admin" })],
  ["a dest that is not a URL", () => signed({ dest: "not a url" })],
  ["a dest over plain http", () => signed({ dest: `http://${SHOP}` })],
  ["a dest with a port", () => signed({ dest: `https://${SHOP}:8443` })],
  ["a dest that is a number", () => signed({ dest: 42 as unknown as string })],
  ["an iss of another shop", () => signed({ iss: "https://other-shop.myshopify.com/admin" })],
  ["an iss that is not the shop's admin", () => signed({ iss: `https://${SHOP}/` })],
  ["no iss", () => signed({ iss: undefined })],
  ["an expired token", () => signed({ exp: now - 60, nbf: now - 3600, iat: now - 3600 })],
  ["a token not valid yet", () => signed({ nbf: now + 3600 })],
  ["a token for another app (wrong audience)", () => signed({ aud: "someone-elses-app" })],
  ["a token signed with another secret", async () => (await getJwt("token-shop", TEST_API_KEY, "not-the-app-secret")).token],
  ["an unsigned token (alg none)", async () => unsignedToken({ alg: "none", typ: "JWT" }, { ...(await getJwt("token-shop", TEST_API_KEY, TEST_API_SECRET)).payload })],
  ["not a JWT", async () => "not-a-jwt"],
  ["two parts only", async () => "abc.def"],
  ["claims that are not JSON", async () => "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln"],
];

async function signed(overrides: Partial<JwtPayload>): Promise<string> {
  return (await getJwt("token-shop", TEST_API_KEY, TEST_API_SECRET, overrides)).token;
}

async function statusOf(call: Call, request: Request): Promise<number> {
  try {
    const result = await call(request);
    if (result instanceof Response) return result.status;
    const init = (result as { init?: ResponseInit | null } | null)?.init;
    return init?.status ?? 200;
  } catch (thrown) {
    if (thrown instanceof Response) return thrown.status;
    throw thrown;
  }
}

describe("session tokens on every admin route", () => {
  beforeAll(async () => {
    await installShop(SHOP);
  });

  describe.each(ROUTES)("%s", (_route, path, init, call) => {
    it.each(TOKENS)("answers 401 to %s", async (_token, make) => {
      const request = await adminRequest(path, SHOP, { ...init, token: await make() });
      expect(await statusOf(call, request)).toBe(401);
    });

    it("lets a valid token through", async () => {
      const status = await statusOf(call, await adminRequest(path, SHOP, init));
      expect(status).not.toBe(401);
      expect(status).toBeLessThan(500);
    });
  });
});
