import { describe, expect, it, beforeAll } from "vitest";
import { loader } from "../../app/routes/app.leads._index";
import { getDb } from "../../app/lib/db.server";
import { adminRequest, installShop } from "../support/shopify";

const SHOP_A = "shop-a.myshopify.com";

async function callLoader(request: Request) {
  try {
    return await loader({ request, params: {}, context: {} });
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}

describe("Leads loader", () => {
  let shopA: { id: string };
  beforeAll(async () => {
    shopA = await installShop(SHOP_A);
    await getDb().lead.create({
      data: { shopId: shopA.id, email: "Ann@Example.com", emailSearch: "ann@example.com", productId: "p1", productTitle: "Red frames", productUrl: "https://shop-a.example/products/red", consent: true },
    });
  });

  it("GIVEN a valid session token WHEN the Leads tab loads THEN it lists the shop's leads", async () => {
    const result = await callLoader(await adminRequest("/app/leads", SHOP_A));
    expect(result).not.toBeInstanceOf(Response);
    const data = result as Exclude<typeof result, Response>;
    expect(data.page.rows.map((r) => r.email)).toEqual(["Ann@Example.com"]);
  });
});
