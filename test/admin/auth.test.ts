import { beforeAll, describe, expect, it } from "vitest";
import { getJwt } from "@shopify/shopify-api/test-helpers";
import { loader } from "../../app/routes/app.leads._index";
import { getDb } from "../../app/lib/db.server";
import { adminRequest, installShop } from "../support/shopify";
import { TEST_API_KEY } from "../support/setup-env";

const SHOP = "auth-shop.myshopify.com";

/** Runs the loader and returns either its data or the Response it threw. */
async function load(request: Request) {
  try {
    return await loader({ request, params: {}, context: {} });
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}

async function expectRefused(request: Request) {
  const result = await load(request);
  expect(result).toBeInstanceOf(Response);
  const response = result as Response;
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  const text = await response.text();
  expect(text).not.toContain("secret-lead@example.com");
  return response;
}

describe("session token authentication on the Leads tab", () => {
  beforeAll(async () => {
    const shop = await installShop(SHOP);
    await getDb().lead.create({
      data: { shopId: shop.id, email: "secret-lead@example.com", emailSearch: "secret-lead@example.com", productId: "p", productTitle: "P", productUrl: "https://x.test/p", consent: true },
    });
  });

  it("GIVEN a valid token THEN the shop's leads are returned", async () => {
    const result = await load(await adminRequest("/app/leads", SHOP));
    expect(result).not.toBeInstanceOf(Response);
    expect((result as { page: { rows: { email: string }[] } }).page.rows[0].email).toBe("secret-lead@example.com");
  });

  it("GIVEN an expired token THEN 401 and no data", async () => {
    const now = Math.floor(Date.now() / 1000);
    const response = await expectRefused(await adminRequest("/app/leads", SHOP, { jwt: { exp: now - 60, iat: now - 3600, nbf: now - 3600 } }));
    expect(response.status).toBe(401);
  });

  it("GIVEN a token for another app (wrong audience) THEN 401 and no data", async () => {
    const response = await expectRefused(await adminRequest("/app/leads", SHOP, { jwt: { aud: "someone-elses-app" } }));
    expect(response.status).toBe(401);
  });

  it("GIVEN a token signed with the wrong secret (forged) THEN 401 and no data", async () => {
    const { token } = await getJwt("auth-shop", TEST_API_KEY, "not-the-app-secret");
    const response = await expectRefused(await adminRequest("/app/leads", SHOP, { token }));
    expect(response.status).toBe(401);
  });

  it("GIVEN a token whose signature was tampered with THEN 401 and no data", async () => {
    const { token } = await getJwt("auth-shop", TEST_API_KEY, "testApiSecretKey");
    const [h, p, s] = token.split(".");
    const tampered = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
    const response = await expectRefused(await adminRequest("/app/leads", SHOP, { token: tampered }));
    expect(response.status).toBe(401);
  });

  it("GIVEN no token at all THEN the request is sent to log in and gets no data", async () => {
    const result = await load(new Request("https://my-test-app.myshopify.io/app/leads"));
    expect(result).toBeInstanceOf(Response);
    const response = result as Response;
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toMatch(/\/auth\/login/);
    expect(await response.text()).not.toContain("secret-lead@example.com");
  });
});
