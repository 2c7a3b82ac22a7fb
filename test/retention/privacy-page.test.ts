import { getJwt } from "@shopify/shopify-api/test-helpers";
import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import { action, loader } from "../../app/routes/app.privacy._index";
import { adminRequest, formRequest, installShop } from "../support/shopify";
import { TEST_API_KEY } from "../support/setup-env";
import { uniqueShop } from "./support";

const db = getDb();

/** The action's answer as status and data, whether it returned data, a `data()` with an init, or threw a Response. */
async function post(shop: string, fields: Record<string, string>, init: { token?: string } = {}) {
  try {
    const result: unknown = await action({ request: await formRequest("/app/privacy", shop, fields, init), params: {}, context: {} });
    if (result && typeof result === "object" && (result as { type?: string }).type === "DataWithResponseInit") {
      const { data, init: responseInit } = result as { data: Record<string, unknown>; init: ResponseInit | null };
      return { status: responseInit?.status ?? 200, data };
    }
    return { status: 200, data: result as Record<string, unknown> };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, data: null };
    throw thrown;
  }
}

async function storedMonths(shopId: string) {
  return (await db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { leadRetentionMonths: true } })).leadRetentionMonths;
}

describe("the lead retention setting on the Privacy page", () => {
  let shopA: { id: string; domain: string };
  let shopB: { id: string; domain: string };

  beforeAll(async () => {
    shopA = await installShop(uniqueShop("retention-a"));
    shopB = await installShop(uniqueShop("retention-b"));
  });

  it("is off until the merchant sets it, and the page shows what is saved", async () => {
    const page = await loader({ request: await adminRequest("/app/privacy", shopA.domain), params: {}, context: {} });
    expect(page).toMatchObject({ leadRetentionMonths: null, pruningWithinHours: 1 });

    expect(await post(shopA.domain, { intent: "lead-retention", months: "6" })).toEqual({ status: 200, data: { ok: true, leadRetentionMonths: 6 } });
    expect(await storedMonths(shopA.id)).toBe(6);
    const saved = await loader({ request: await adminRequest("/app/privacy", shopA.domain), params: {}, context: {} });
    expect(saved).toMatchObject({ leadRetentionMonths: 6 });

    expect(await post(shopA.domain, { intent: "lead-retention", months: "off" })).toMatchObject({ status: 200 });
    expect(await storedMonths(shopA.id)).toBeNull();
  });

  it.each([
    ["0", /from 1 to 120/],
    ["121", /from 1 to 120/],
    ["-3", /"Keep leads" or a number of months/],
    ["3.5", /"Keep leads" or a number of months/],
    ["six", /"Keep leads" or a number of months/],
    ["", /"Keep leads" or a number of months/],
  ])("refuses %j with a 422 that says what is allowed, and keeps the saved value", async (months, message) => {
    await post(shopA.domain, { intent: "lead-retention", months: "12" });
    const answer = await post(shopA.domain, { intent: "lead-retention", months });
    expect(answer.status).toBe(422);
    expect(String(answer.data?.error)).toMatch(message);
    expect(await storedMonths(shopA.id)).toBe(12);
  });

  it("refuses a form without the months field with a 422", async () => {
    const answer = await post(shopA.domain, { intent: "lead-retention" });
    expect(answer.status).toBe(422);
    expect(answer.data?.error).toMatch(/Choose/);
  });

  it("changes only the shop of the session token, whatever shop the form names", async () => {
    await post(shopB.domain, { intent: "lead-retention", months: "off" });
    const answer = await post(shopA.domain, { intent: "lead-retention", months: "3", shop: shopB.domain, shopId: shopB.id });
    expect(answer.status).toBe(200);
    expect(await storedMonths(shopA.id)).toBe(3);
    expect(await storedMonths(shopB.id)).toBeNull();
  });

  it("refuses a forged session token and changes nothing", async () => {
    await post(shopB.domain, { intent: "lead-retention", months: "off" });
    const { token } = await getJwt(shopB.domain.replace(/\.myshopify\.com$/, ""), TEST_API_KEY, "not-the-app-secret");
    const answer = await post(shopB.domain, { intent: "lead-retention", months: "1" }, { token });
    expect(answer.status).toBe(401);
    expect(await storedMonths(shopB.id)).toBeNull();
  });
});
