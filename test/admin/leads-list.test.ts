import { beforeAll, describe, expect, it } from "vitest";
import { loader } from "../../app/routes/app.leads._index";
import { adminRequest, installShop } from "../support/shopify";
import { seedLeads } from "../support/leads";

const SHOP_A = "list-a.myshopify.com";
const SHOP_B = "list-b.myshopify.com";
type PageData = Exclude<Awaited<ReturnType<typeof loader>>, Response>;

async function load(shop: string, query = ""): Promise<PageData | Response> {
  try {
    return await loader({ request: await adminRequest(`/app/leads${query}`, shop), params: {}, context: {} });
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}

async function loadData(shop: string, query = ""): Promise<PageData> {
  const result = await load(shop, query);
  if (result instanceof Response) throw new Error(`loader answered ${result.status}`);
  return result;
}

const base = Date.UTC(2026, 2, 1);

describe("Leads tab listing", () => {
  beforeAll(async () => {
    const a = await installShop(SHOP_A);
    const b = await installShop(SHOP_B);
    // 130 leads for A: minutes apart, except 10 that share one timestamp to exercise the id tie-break.
    await seedLeads(a.id, Array.from({ length: 130 }, (_, i) => ({
      email: `Shopper${String(i).padStart(3, "0")}@Example.com`,
      productId: i % 3 === 0 ? "sunglasses" : "frames",
      productTitle: i % 3 === 0 ? "Sunglasses" : "Frames",
      capturedAt: new Date(i >= 60 && i < 70 ? base + 60 * 60_000 : base + i * 60_000),
    })));
    await seedLeads(b.id, Array.from({ length: 5 }, (_, i) => ({ email: `b-only-${i}@example.net`, capturedAt: new Date(base + i * 1000) })));
  });

  it("pages through every lead newest first, 50 at a time, with no gap or repeat (ties broken by id)", async () => {
    const seen: string[] = [];
    let query = "";
    const sizes: number[] = [];
    for (let guard = 0; guard < 5; guard++) {
      const data = await loadData(SHOP_A, query);
      sizes.push(data.page.rows.length);
      seen.push(...data.page.rows.map((r) => r.id));
      const times = data.page.rows.map((r) => r.capturedAt);
      expect([...times].sort().reverse()).toEqual(times);
      if (!data.page.nextCursor) break;
      query = `?after=${data.page.nextCursor}`;
    }
    expect(sizes).toEqual([50, 50, 30]);
    expect(new Set(seen).size).toBe(130);
  });

  it("goes back a page with the previous cursor to exactly the rows shown before", async () => {
    const first = await loadData(SHOP_A);
    expect(first.page.previousCursor).toBeNull();
    const second = await loadData(SHOP_A, `?after=${first.page.nextCursor}`);
    const third = await loadData(SHOP_A, `?after=${second.page.nextCursor}`);
    expect(third.page.nextCursor).toBeNull();
    const backToSecond = await loadData(SHOP_A, `?before=${third.page.previousCursor}`);
    expect(backToSecond.page.rows.map((r) => r.id)).toEqual(second.page.rows.map((r) => r.id));
    const backToFirst = await loadData(SHOP_A, `?before=${second.page.previousCursor}`);
    expect(backToFirst.page.rows.map((r) => r.id)).toEqual(first.page.rows.map((r) => r.id));
    expect(backToFirst.page.previousCursor).toBeNull();
  });

  it("an exact multiple of the page size shows no empty next page", async () => {
    const data = await loadData(SHOP_A, "?product=sunglasses");
    // 44 sunglasses leads (i % 3 === 0 for i < 130) fit in one page.
    expect(data.page.rows).toHaveLength(44);
    expect(data.page.nextCursor).toBeNull();
  });

  it("searches by email prefix, case-insensitively", async () => {
    const data = await loadData(SHOP_A, "?q=SHOPPER12");
    expect(data.page.rows.map((r) => r.email).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `Shopper12${i}@Example.com`),
    );
    expect((await loadData(SHOP_A, "?q=nobody")).page.rows).toHaveLength(0);
  });

  it("filters by product and by date range (inclusive days, UTC)", async () => {
    const product = await loadData(SHOP_A, "?product=sunglasses");
    expect(product.page.rows.every((r) => r.productId === "sunglasses")).toBe(true);
    const day = new Date(base).toISOString().slice(0, 10);
    const inRange = await loadData(SHOP_A, `?from=${day}&to=${day}`);
    expect(inRange.page.rows.length + (inRange.page.nextCursor ? 1 : 0)).toBeGreaterThan(0);
    const before = await loadData(SHOP_A, "?to=2025-12-31");
    expect(before.page.rows).toHaveLength(0);
    expect(before.hasAnyLead).toBe(true);
  });

  it("reports a bad date range in plain words instead of failing", async () => {
    const data = await loadData(SHOP_A, "?from=2026-05-01&to=2026-04-01");
    expect(data.filterError).toMatch(/start date is after the end date/);
    const malformed = await loadData(SHOP_A, "?from=yesterday");
    expect(malformed.filterError).toMatch(/YYYY-MM-DD/);
  });

  it("answers 400 to a malformed cursor", async () => {
    const result = await load(SHOP_A, "?after=not-a-cursor");
    expect(result).toBeInstanceOf(Response);
    expect((result as Response).status).toBe(400);
  });

  it("shows shop B only its own leads, whatever the client sends", async () => {
    const data = await loadData(SHOP_B, "?shop=list-a.myshopify.com");
    expect(data.page.rows.map((r) => r.email).sort()).toEqual(Array.from({ length: 5 }, (_, i) => `b-only-${i}@example.net`));
    const aFirst = await loadData(SHOP_A);
    // A cursor taken from shop A's pages reveals nothing of A to B.
    const crossed = await loadData(SHOP_B, `?after=${aFirst.page.nextCursor}`);
    expect(crossed.page.rows.some((r) => r.email.startsWith("Shopper"))).toBe(false);
    const products = (await loadData(SHOP_B)).products.map((p) => p.productId);
    expect(products).toEqual(["p1"]);
  });

  it("shows the empty state flag for a shop with no leads", async () => {
    await installShop("list-empty.myshopify.com");
    const data = await loadData("list-empty.myshopify.com");
    expect(data.hasAnyLead).toBe(false);
    expect(data.page.rows).toHaveLength(0);
  });
});
