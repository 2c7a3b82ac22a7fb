import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page, Request as PwRequest } from "playwright-core";
import { getJwt } from "@shopify/shopify-api/test-helpers";
import { startBuiltAppServer as startAppServer, type BuiltAppServer as AppServer } from "../support/app-server";
import { provideSessionTokens, standInRecord } from "../support/app-bridge-stand-in";
import { installShop, sessionToken } from "../support/shopify";
import { seedLeads, type SeedLead } from "../support/leads";
import { parseCsv } from "../support/csv";
import { TEST_API_KEY } from "../support/setup-env";
import { EXPORT_COLUMNS } from "../../app/leads/export.server";
import { launchBrowser, screenshot, type TestBrowser, waitForHydration, embeddedAdminPath } from "./browser";

const SHOP_A = "shop-a.myshopify.com";
const SHOP_B = "shop-b.myshopify.com";
const SHOP_C = "shop-c.myshopify.com";

const FORMULA_TITLE = '=HYPERLINK("http://evil.example","click")';
const COMMA_QUOTE_TITLE = 'Frames, "Bold" edition';

const PRODUCTS = {
  aviator: { productId: "gid-aviator", productTitle: "Aviator frames" },
  round: { productId: "gid-round", productTitle: "Round frames" },
  formula: { productId: "gid-formula", productTitle: FORMULA_TITLE },
  bold: { productId: "gid-bold", productTitle: COMMA_QUOTE_TITLE },
};

const START = Date.UTC(2026, 2, 1, 9, 0);
const minutes = (n: number) => new Date(START + n * 60_000);
const pad = (n: number) => String(n).padStart(2, "0");

/**
 * Shop A: 60 leads, one a minute, so index 59 is the newest. 58 alternate between two products; the two
 * newest carry a formula-looking title and a title with a comma and quotes. Three emails start with "vip".
 */
const SHOP_A_LEADS: SeedLead[] = Array.from({ length: 60 }, (_, i) => {
  const product = i === 59 ? PRODUCTS.bold : i === 58 ? PRODUCTS.formula : i % 2 ? PRODUCTS.round : PRODUCTS.aviator;
  const email = [7, 21, 44].includes(i) ? `vip-${pad(i)}@example.com` : `shopper-${pad(i)}@example.com`;
  return { email, ...product, capturedAt: minutes(i) };
});
const emailOf = (i: number) => SHOP_A_LEADS[i]!.email;
const SHOP_B_LEADS: SeedLead[] = Array.from({ length: 4 }, (_, i) => ({
  email: `b-shopper-${i}@example.org`,
  ...PRODUCTS.aviator,
  capturedAt: minutes(100 + i),
}));

/** What the Shopify admin puts in the iframe URL when it opens the app for a shop. */
/** Session tokens signed with a secret that is not the app's: what a forger could produce. */
async function forgedToken(shop: string) {
  const { token } = await getJwt(shop.replace(/\.myshopify\.com$/, ""), TEST_API_KEY, "not-the-app-secret");
  return token;
}

async function visibleEmails(page: Page): Promise<string[]> {
  const cells = page.locator(".Polaris-IndexTable__Table tbody tr td:first-child");
  return cells.allInnerTexts().then((texts) => texts.map((t) => t.trim()));
}

/** Waits until the table shows exactly `count` rows and returns their emails. */
async function waitForRows(page: Page, count: number): Promise<string[]> {
  await page.waitForFunction(
    (n) => document.querySelectorAll(".Polaris-IndexTable__Table tbody tr").length === n,
    count,
  );
  return visibleEmails(page);
}

/** Polaris's stylesheet is applied: its page background, its font, its rounded cards. */
async function expectPolarisStyles(page: Page) {
  await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === "rgb(241, 241, 241)");
  const style = await page.evaluate(() => ({
    font: getComputedStyle(document.body).fontFamily,
    card: getComputedStyle(document.querySelector(".Polaris-ShadowBevel")!).borderRadius,
  }));
  expect(style.font).toMatch(/^Inter\b/);
  expect(style.card).toBe("12px");
}


describe("Leads tab in a real browser", () => {
  let server: AppServer;
  let tb: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  const sameOriginRequests: { url: URL; method: string; authorization: string | undefined; document: boolean }[] = [];
  const pageProblems: string[] = [];

  beforeAll(async () => {
    const [a, b] = [await installShop(SHOP_A), await installShop(SHOP_B)];
    await installShop(SHOP_C);
    await seedLeads(a.id, SHOP_A_LEADS);
    await seedLeads(b.id, SHOP_B_LEADS);
    [server, tb] = await Promise.all([startAppServer(), launchBrowser()]);
    context = await tb.newContext();
    page = await context.newPage();
    await provideSessionTokens(page, () => sessionToken(SHOP_A));
    page.on("pageerror", (error) => pageProblems.push(`uncaught: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") pageProblems.push(`console: ${message.text()}`);
    });
    page.on("request", (request: PwRequest) => {
      const url = new URL(request.url());
      if (url.origin !== server.url) return;
      sameOriginRequests.push({
        url,
        method: request.method(),
        authorization: request.headers()["authorization"],
        document: request.resourceType() === "document",
      });
    });
  });

  afterAll(async () => {
    await tb?.close();
    await server?.close();
  });

  it("opens as the admin loads it and lists shop A's newest 50 leads", async () => {
    const response = await page.goto(server.url + embeddedAdminPath(SHOP_A, await sessionToken(SHOP_A), "/app/leads"));
    expect(response?.status()).toBe(200);
    await waitForHydration(page);
    await expect.poll(() => page.getByRole("heading", { name: "Leads" }).isVisible()).toBe(true);
    const emails = await waitForRows(page, 50);
    // Newest first: index 59 down to 10.
    expect(emails).toEqual(Array.from({ length: 50 }, (_, k) => emailOf(59 - k)));
    expect(emails).not.toContain(emailOf(9));
    expect(emails.some((e) => e.endsWith("@example.org"))).toBe(false);
    const body = await page.locator("body").innerText();
    expect(body).not.toContain("b-shopper");
    await expectPolarisStyles(page);
    await screenshot(page, "leads-tab.png");
  });

  it("exports every lead of shop A as RFC 4180 CSV with formulas neutralised", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export CSV" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^tryon-leads-\d{4}-\d{2}-\d{2}\.csv$/);
    const bytes = await readFile((await download.path())!);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString("utf8");
    const rows = parseCsv(text);
    expect(rows[0]).toEqual([...EXPORT_COLUMNS]);
    expect(rows).toHaveLength(1 + 60);
    const email = EXPORT_COLUMNS.indexOf("email");
    const title = EXPORT_COLUMNS.indexOf("product_title");
    expect(new Set(rows.slice(1).map((r) => r[email]))).toEqual(new Set(SHOP_A_LEADS.map((l) => l.email)));
    expect(text).not.toContain("@example.org");
    const formulaRow = rows.find((r) => r[email] === emailOf(58))!;
    expect(formulaRow[title]).toBe(`'${FORMULA_TITLE}`);
    const boldRow = rows.find((r) => r[email] === emailOf(59))!;
    expect(boldRow[title]).toBe(COMMA_QUOTE_TITLE);
    // The raw cells: quoted because of the comma and quotes, inner quotes doubled.
    expect(text).toContain(`,"'=HYPERLINK(""http://evil.example"",""click"")",`);
    expect(text).toContain(`,"Frames, ""Bold"" edition",`);
    // The ticket came from an action authorised with a session token, not from the page URL.
    const exportCall = sameOriginRequests.find((r) => r.url.pathname.startsWith("/app/leads/export"));
    expect(exportCall?.method).toBe("POST");
    expect(exportCall?.authorization).toMatch(/^Bearer ey/);
  });

  it("pages to the remaining leads with a client-side navigation carrying the session token", async () => {
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const before = sameOriginRequests.length;
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForURL(/[?&]after=/);
    const emails = await waitForRows(page, 10);
    expect(emails).toEqual(Array.from({ length: 10 }, (_, k) => emailOf(9 - k)));
    // No document load: the same window, and the data came through a fetch with a bearer token.
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    const fetched = sameOriginRequests.slice(before);
    expect(fetched.some((r) => r.document)).toBe(false);
    const dataRequest = fetched.find((r) => r.url.pathname.endsWith(".data") && r.url.searchParams.has("after"));
    expect(dataRequest?.authorization).toMatch(/^Bearer ey/);
    await page.getByRole("button", { name: "Previous" }).click();
    await expect.poll(() => visibleEmails(page).then((e) => e[0])).toBe(emailOf(59));
    await waitForRows(page, 50);
  });

  it("narrows the rows by email search and by product", async () => {
    await page.getByLabel("Search by email").fill("VIP");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/[?&]q=VIP/);
    expect(await waitForRows(page, 3)).toEqual([emailOf(44), emailOf(21), emailOf(7)]);

    await page.getByLabel("Search by email").fill("");
    await page.getByLabel("Product").selectOption(PRODUCTS.round.productId);
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(new RegExp(`[?&]product=${PRODUCTS.round.productId}`));
    const round = SHOP_A_LEADS.map((l, i) => ({ ...l, i })).filter((l) => l.productId === PRODUCTS.round.productId).reverse();
    expect(round).toHaveLength(29);
    expect(await waitForRows(page, 29)).toEqual(round.map((l) => l.email));
    await screenshot(page, "leads-tab-filtered.png");

    // The export follows the filter.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export CSV" }).click(),
    ]);
    const rows = parseCsv((await readFile((await download.path())!)).subarray(3).toString("utf8"));
    expect(rows[0]).toEqual([...EXPORT_COLUMNS]);
    expect(rows).toHaveLength(1 + 29);
    const productId = EXPORT_COLUMNS.indexOf("product_id");
    expect(rows.slice(1).every((r) => r[productId] === PRODUCTS.round.productId)).toBe(true);
    expect(rows.slice(1).map((r) => r[EXPORT_COLUMNS.indexOf("email")])).toEqual(round.map((l) => l.email));
  });

  it("shows the empty state to an installed shop without leads", async () => {
    const other = await tb.newContext();
    const empty = await other.newPage();
    await provideSessionTokens(empty, () => sessionToken(SHOP_C));
    const response = await empty.goto(server.url + embeddedAdminPath(SHOP_C, await sessionToken(SHOP_C), "/app/leads"));
    expect(response?.status()).toBe(200);
    await empty.getByText("No try-on leads yet").waitFor();
    const text = await empty.locator("body").innerText();
    expect(text).not.toMatch(/@example\.(com|org)/);
    await expectPolarisStyles(empty);
    await screenshot(empty, "leads-empty.png");
    await other.close();
  });

  it("shows no lead data for a forged session token", async () => {
    const other = await tb.newContext();
    const forged = await other.newPage();
    const token = await forgedToken(SHOP_A);
    await provideSessionTokens(forged, async () => token);
    const documents: { url: string; status: number }[] = [];
    forged.on("response", (r) => {
      if (r.request().resourceType() === "document") documents.push({ url: r.url(), status: r.status() });
    });
    await forged.goto(server.url + embeddedAdminPath(SHOP_A, token, "/app/leads"));
    // The library sends the document to its bounce page to fetch a new token; no app page is rendered.
    expect(documents[0]?.status).toBe(302);
    expect(new URL(forged.url()).pathname).toBe("/auth/session-token");
    const html = await forged.content();
    expect(html).not.toMatch(/example\.(com|org)|Aviator|Leads/);

    // Data and export requests with the forged bearer token are refused.
    const results = await forged.evaluate(async () => {
      const data = await fetch("/app/leads.data?_routes=routes%2Fapp.leads._index");
      const exp = await fetch("/app/leads/export.data", { method: "POST", body: new URLSearchParams() });
      return { data: data.status, dataBody: await data.text(), exp: exp.status, expBody: await exp.text() };
    });
    expect(results.data).toBe(401);
    expect(results.exp).toBe(401);
    expect(results.dataBody + results.expBody).not.toMatch(/example\.(com|org)|downloadUrl/);
    const record = await standInRecord(forged);
    expect(record?.authorizedFetches.length).toBeGreaterThanOrEqual(2);
    await screenshot(forged, "leads-forged-token.png");
    await other.close();
  });

  it("sent nothing off the machine: App Bridge was served locally, everything else stayed on loopback", async () => {
    expect(tb.appBridgeServed()).toBeGreaterThan(0);
    expect(tb.offMachineRequests).toEqual([]);
    const record = await standInRecord(page);
    expect(record?.idTokenCalls).toBeGreaterThan(0);
  });

  it("ran the Leads tab without script errors (no hydration mismatch, no failed requests)", () => {
    expect(pageProblems).toEqual([]);
  });
});
