import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { getDb } from "../../app/lib/db.server";
import { startBuiltAppServer as startAppServer, type BuiltAppServer as AppServer } from "../support/app-server";
import { provideSessionTokens } from "../support/app-bridge-stand-in";
import { installShop, sessionToken } from "../support/shopify";
import { launchBrowser, screenshot, type TestBrowser, waitForHydration, embeddedAdminPath } from "../browser/browser";

/** The Settings page as a merchant uses it in the Shopify admin: alerts by email, on a server without SMTP. */

const SHOP = "settings-browser.myshopify.com";
const db = getDb();

describe("the Settings page in a real browser", () => {
  let server: AppServer;
  let tb: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let shop: { id: string; domain: string };
  const problems: string[] = [];

  const stored = () => db.shop.findUniqueOrThrow({ where: { id: shop.id }, select: { alertsEnabled: true, alertEmail: true } });

  beforeAll(async () => {
    shop = await installShop(SHOP);
    // The store's email as read from Shopify earlier (the page's own read is covered in settings-page.test.ts;
    // the production build's Shopify client does not go through the in-process Admin API stand-in).
    await db.shop.update({ where: { id: shop.id }, data: { ownerEmail: "owner@settings-browser.example", ownerEmailCheckedAt: new Date() } });
    [server, tb] = await Promise.all([startAppServer(), launchBrowser()]);
    context = await tb.newContext();
    page = await context.newPage();
    await provideSessionTokens(page, () => sessionToken(SHOP));
    page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  });

  afterAll(async () => {
    await tb?.close();
    await server?.close();
  });

  it("says plainly that email is not set up, and shows alerts on with the store's email as the default", async () => {
    const response = await page.goto(server.url + embeddedAdminPath(SHOP, await sessionToken(SHOP), "/app/settings"));
    expect(response?.status()).toBe(200);
    await waitForHydration(page);
    await page.getByRole("heading", { name: "Alerts by email" }).waitFor();
    await expect.poll(() => page.getByText("Email sending is not set up for this app").isVisible()).toBe(true);
    await expect.poll(() => page.getByText("No alert emails are sent, whatever you choose below").isVisible()).toBe(true);
    expect(await page.getByLabel("Email me when leads stop reaching a destination").isChecked()).toBe(true);
    const field = page.getByLabel("Send alerts to");
    expect(await field.getAttribute("placeholder")).toBe("owner@settings-browser.example");
    await expect.poll(() => page.getByText("Leave empty to use your store's email (owner@settings-browser.example).").isVisible()).toBe(true);
    await screenshot(page, "settings.png");
  });

  it("shows the refusal of a malformed address next to the field and keeps what was saved", async () => {
    await page.getByLabel("Send alerts to").fill("ops at shop");
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.getByText("Enter one email address, such as you@example.com").isVisible()).toBe(true);
    expect(await stored()).toEqual({ alertsEnabled: true, alertEmail: null });
  });

  it("saves an address and turning alerts off", async () => {
    await page.getByLabel("Send alerts to").fill("ops@settings-browser.example");
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.getByText("Saved").isVisible()).toBe(true);
    expect(await stored()).toEqual({ alertsEnabled: true, alertEmail: "ops@settings-browser.example" });

    await page.getByLabel("Email me when leads stop reaching a destination").uncheck();
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(async () => (await stored()).alertsEnabled).toBe(false);
    expect(problems).toEqual([]);
  });
});
