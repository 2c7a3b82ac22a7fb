import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { getDb } from "../../app/lib/db.server";
import { deliveryJobId } from "../../app/delivery/queue.server";
import { closeProducers, getProducers } from "../../app/runtime/producers.server";
import { startBuiltAppServer, type BuiltAppServer } from "../support/app-server";
import { provideSessionTokens } from "../support/app-bridge-stand-in";
import { seedActivity } from "../support/activity";
import { addEndpoint } from "../support/delivery";
import { installShop, sessionToken } from "../support/shopify";
import { launchBrowser, screenshot, type TestBrowser, waitForHydration, embeddedAdminPath } from "../browser/browser";

/** The chart at the top of the Leads tab, and Send to… on a row, in Chromium against the production build. */

const BUSY_SHOP = "chart-busy.myshopify.com";
const EMPTY_SHOP = "chart-empty.myshopify.com";
const ONE_DAY_SHOP = "chart-one-day.myshopify.com";
const db = getDb();

describe("the Leads tab's chart in a real browser", () => {
  let server: BuiltAppServer;
  let tb: TestBrowser;
  let context: BrowserContext;
  const sentDeliveries: string[] = [];

  const open = async (shop: string): Promise<Page> => {
    const page = await context.newPage();
    await provideSessionTokens(page, () => sessionToken(shop));
    // Layout shifts from the start of the page's life, read back once the chart has settled.
    await page.addInitScript(() => {
      const w = window as unknown as { __cls: number };
      w.__cls = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries() as unknown as { value: number; hadRecentInput: boolean }[]) {
          if (!entry.hadRecentInput) w.__cls += entry.value;
        }
      }).observe({ type: "layout-shift", buffered: true });
    });
    const response = await page.goto(server.url + embeddedAdminPath(shop, await sessionToken(shop), "/app/leads"));
    expect(response?.status()).toBe(200);
    await waitForHydration(page);
    return page;
  };
  const cls = (page: Page) => page.evaluate(() => (window as unknown as { __cls: number }).__cls);

  beforeAll(async () => {
    const busy = await installShop(BUSY_SHOP);
    const crm = await addEndpoint(busy, "https://crm.example/hook");
    const sheet = await addEndpoint(busy, "https://sheet.example/hook");
    await db.destination.update({ where: { id: crm.id }, data: { name: "Acme CRM" } });
    await db.destination.update({ where: { id: sheet.id }, data: { name: "Order sheet" } });
    await seedActivity({
      shopId: busy.id, destinationIds: [crm.id, sheet.id], now: new Date(),
      leadsPerDay: (back) => (back < 30 ? 3 + ((back * 7) % 9) : 0),
      latencyMs: (back, i) => 400 + ((back * 131 + i * 97) % 1800),
      failed: (back, i, d) => d === 1 && (back + i) % 5 === 0,
    });
    await installShop(EMPTY_SHOP);
    const oneDay = await installShop(ONE_DAY_SHOP);
    await seedActivity({ shopId: oneDay.id, destinationIds: [], now: new Date(), leadsPerDay: (back) => (back === 2 ? 4 : 0) });
    [server, tb] = await Promise.all([startBuiltAppServer(), launchBrowser()]);
    context = await tb.newContext();
  });

  afterAll(async () => {
    for (const id of sentDeliveries) await (await getProducers().deliveryQueue.getJob(deliveryJobId(id, 1)))?.remove().catch(() => undefined);
    await closeProducers();
    await tb?.close();
    await server?.close();
  });

  it("shows leads, deliveries per destination and latency over 30 days, without moving the table", async () => {
    const page = await open(BUSY_SHOP);
    const chart = page.getByTestId("leads-chart");
    await chart.locator("[data-testid=chart-deliveries] svg").first().waitFor({ timeout: 30_000 });
    await chart.locator("[data-testid=chart-latency] svg").first().waitFor();
    expect(await chart.locator("[data-testid=chart-leads] svg").count()).toBeGreaterThan(0);
    await page.getByRole("columnheader", { name: "Email" }).waitFor();
    await screenshot(page, "leads-chart-30-days.png");
    const legend = await chart.getByTestId("chart-deliveries").innerText();
    expect(legend).toContain("Acme CRM: delivered");
    expect(legend).toContain("Order sheet: failed");
    expect(await chart.getByTestId("chart-latency").innerText()).toContain("95% of leads within");
    // The charts fill the space the placeholder held: the table below never moved.
    expect(await cls(page)).toBeLessThan(0.05);

    // The next page of leads keeps the chart drawn: it is neither blanked nor drawn again.
    await page.evaluate(() => {
      const w = window as unknown as { __chartGone: boolean };
      w.__chartGone = false;
      const root = document.querySelector("[data-testid=chart-deliveries]")!;
      new MutationObserver(() => {
        if (!document.querySelector("[data-testid=chart-deliveries] svg")) w.__chartGone = true;
      }).observe(root, { childList: true, subtree: true });
      root.setAttribute("data-original", "1");
    });
    const firstEmail = await page.locator(".Polaris-IndexTable__TableRow").first().innerText();
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForURL(/after=/);
    await expect.poll(() => page.locator(".Polaris-IndexTable__TableRow").first().innerText()).not.toBe(firstEmail);
    await page.waitForTimeout(500);
    expect(await page.locator("[data-testid=chart-deliveries][data-original] svg").count()).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { __chartGone: boolean }).__chartGone)).toBe(false);
    await page.close();
  }, 90_000);

  it("sends a lead to a chosen destination from its row and says so in a toast", async () => {
    const page = await open(BUSY_SHOP);
    await page.getByRole("button", { name: "Send this lead to a destination" }).first().click();
    await page.getByRole("menuitem", { name: "Acme CRM" }).click();
    await expect.poll(() => page.evaluate(() => (window as unknown as { appBridgeStandIn: { toasts: { message: string }[] } }).appBridgeStandIn.toasts.map((t) => t.message)))
      .toEqual(["Sending this lead to Acme CRM again."]);
    const newest = await db.lead.findFirstOrThrow({ where: { shop: { domain: BUSY_SHOP } }, orderBy: [{ capturedAt: "desc" }, { id: "desc" }] });
    const delivery = await db.delivery.findFirstOrThrow({ where: { leadId: newest.id, destination: { name: "Acme CRM" } } });
    sentDeliveries.push(delivery.id);
    expect(delivery.status).toBe("pending");
    await page.close();
  }, 60_000);

  it("says in plain words that there is nothing to chart on an empty shop", async () => {
    const page = await open(EMPTY_SHOP);
    await page.getByText("No leads in the last 30 days yet.", { exact: false }).waitFor();
    expect(await page.getByTestId("leads-chart").locator("svg").count()).toBe(0);
    expect(await cls(page)).toBeLessThan(0.05);
    await screenshot(page, "leads-chart-empty-shop.png");
    await page.close();
  }, 60_000);

  it("says so instead of drawing a chart when every lead came on one day", async () => {
    const page = await open(ONE_DAY_SHOP);
    await page.getByText(/All 4 leads of the last 30 days came on [A-Z][a-z]{2} \d{1,2}\. The chart appears once/).waitFor();
    expect(await page.getByTestId("leads-chart").locator("svg").count()).toBe(0);
    await screenshot(page, "leads-chart-one-day.png");
    await page.close();
  }, 60_000);
});
