import { beforeAll, describe, expect, it } from "vitest";
import { action } from "../../app/routes/app.leads.export";
import { loader as downloadLoader } from "../../app/routes/exports.leads[.]csv";
import { createExportTicket, EXPORT_TICKET_TTL_MS } from "../../app/leads/export-ticket.server";
import { EXPORT_COLUMNS } from "../../app/leads/export.server";
import { formRequest, installShop } from "../support/shopify";
import { seedLeads } from "../support/leads";
import { parseCsv } from "../support/csv";
import { TEST_API_SECRET, TEST_APP_URL } from "../support/setup-env";

const SHOP_A = "export-a.myshopify.com";
const SHOP_B = "export-b.myshopify.com";
let shopAId = "";

async function requestTicket(shop: string, fields: Record<string, string> = {}) {
  const response = await action({ request: await formRequest("/app/leads/export", shop, fields), params: {}, context: {} });
  if (response.status !== 200) throw new Error(`export action answered ${response.status}`);
  return (await response.json()) as { downloadUrl: string };
}

async function download(url: string) {
  return downloadLoader({ request: new Request(new URL(url, TEST_APP_URL)), params: {}, context: {} });
}

async function csvFor(shop: string, fields: Record<string, string> = {}) {
  const { downloadUrl } = await requestTicket(shop, fields);
  const response = await download(downloadUrl);
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  // A UTF-8 byte order mark first, so spreadsheet apps read accents right.
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  return { response, rows: parseCsv(bytes.subarray(3).toString("utf8")) };
}

describe("CSV export", () => {
  beforeAll(async () => {
    const a = await installShop(SHOP_A);
    shopAId = a.id;
    const b = await installShop(SHOP_B);
    await seedLeads(a.id, [
      ...Array.from({ length: 2345 }, (_, i) => ({ email: `a${i}@example.com`, productId: i % 2 ? "odd" : "even", productTitle: i % 2 ? "Odd" : "Even" })),
      { email: "tricky@example.com", productId: "x", productTitle: '=HYPERLINK("http://evil.example","click")' },
      { email: "comma@example.com", productId: "y", productTitle: 'Frames, "Bold" edition', utmSource: "+newsletter" },
    ]);
    await seedLeads(b.id, [{ email: "only-b@example.org" }]);
  });

  it("streams every lead of the shop with a header row, as an attachment", async () => {
    const { response, rows } = await csvFor(SHOP_A);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="tryon-leads-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(rows[0]).toEqual([...EXPORT_COLUMNS]);
    expect(rows).toHaveLength(1 + 2347);
    const emails = new Set(rows.slice(1).map((r) => r[2]));
    expect(emails.size).toBe(2347);
    expect(emails.has("only-b@example.org")).toBe(false);
  });

  it("neutralises formulas and quotes commas and quotes", async () => {
    const { rows } = await csvFor(SHOP_A, { q: "tricky" });
    expect(rows).toHaveLength(2);
    expect(rows[1][4]).toBe("'=HYPERLINK(\"http://evil.example\",\"click\")");
    const comma = (await csvFor(SHOP_A, { q: "comma" })).rows[1];
    expect(comma[4]).toBe('Frames, "Bold" edition');
    expect(comma[10]).toBe("'+newsletter");
  });

  it("exports only the filtered set when filters are applied", async () => {
    const { rows } = await csvFor(SHOP_A, { product: "odd" });
    expect(rows).toHaveLength(1 + 1172);
    expect(rows.slice(1).every((r) => r[3] === "odd")).toBe(true);
  });

  it("gives shop B only its own leads, even when the form names shop A", async () => {
    const { rows } = await csvFor(SHOP_B, { shop: SHOP_A, shopId: shopAId });
    expect(rows.slice(1).map((r) => r[2])).toEqual(["only-b@example.org"]);
  });

  it("refuses a download ticket that was altered, forged or has expired", async () => {
    const { downloadUrl } = await requestTicket(SHOP_B);
    const ticket = new URL(downloadUrl, TEST_APP_URL).searchParams.get("ticket")!;
    const [body, mac] = ticket.split(".");
    const claims = JSON.parse(Buffer.from(body, "base64url").toString());
    const swapped = Buffer.from(JSON.stringify({ ...claims, shopId: shopAId })).toString("base64url");
    expect((await download(`/exports/leads.csv?ticket=${swapped}.${mac}`)).status).toBe(403);
    const forged = createExportTicket({ shopId: shopAId, filters: {}, appSecret: "guessed-secret" });
    expect((await download(`/exports/leads.csv?ticket=${forged}`)).status).toBe(403);
    const expired = createExportTicket({ shopId: shopAId, filters: {}, appSecret: TEST_API_SECRET, now: Date.now() - EXPORT_TICKET_TTL_MS - 1000 });
    const response = await download(`/exports/leads.csv?ticket=${expired}`);
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/expired/);
    expect((await download("/exports/leads.csv")).status).toBe(401);
    expect((await download("/exports/leads.csv?ticket=a.b.c")).status).toBe(403);
  });

  it("answers 422 to invalid filters and 401 without a session token", async () => {
    const bad = await action({ request: await formRequest("/app/leads/export", SHOP_A, { from: "2026-13-45x" }), params: {}, context: {} });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({ error: { field: "from", message: "Dates are YYYY-MM-DD" } });
    const anonymous = new Request(new URL("/app/leads/export", TEST_APP_URL), { method: "POST", body: new URLSearchParams({}), headers: { Authorization: "Bearer nope" } });
    const refused = await action({ request: anonymous, params: {}, context: {} }).catch((r: unknown) => r);
    expect(refused).toBeInstanceOf(Response);
    expect((refused as Response).status).toBe(401);
  });
});
