import { readFileSync } from "node:fs";
import type { BrowserContext, Page } from "playwright-core";

/** Where the app (through AppProvider) and the library's bounce page load App Bridge from. */
export const APP_BRIDGE_URL = "https://cdn.shopify.com/shopifycloud/app-bridge.js";

const STAND_IN_SOURCE = readFileSync(new URL("./app-bridge-stand-in.page.js", import.meta.url), "utf8");

/**
 * Answers every request for App Bridge's CDN script in `context` with the local stand-in, so that the
 * request never leaves the machine. Returns how many times it was served.
 */
export async function serveAppBridgeStandIn(context: BrowserContext): Promise<{ served: () => number }> {
  let served = 0;
  await context.route(APP_BRIDGE_URL, async (route) => {
    served += 1;
    await route.fulfill({
      status: 200,
      contentType: "text/javascript; charset=utf-8",
      headers: { "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" },
      body: STAND_IN_SOURCE,
    });
  });
  return { served: () => served };
}

/**
 * Gives the stand-in on `page` its session-token source: each `shopify.idToken()` call (and so each
 * same-origin fetch) asks Node for a token, as App Bridge asks the admin for one.
 */
export async function provideSessionTokens(page: Page, mint: () => Promise<string>): Promise<void> {
  await page.exposeFunction("appBridgeStandInIdToken", mint);
}

/** What a resource picker answers: the chosen resources (GIDs), or undefined when the merchant closes it. */
export type PickedResource = { id: string; title?: string; [field: string]: unknown };

/**
 * Answers `shopify.resourcePicker(options)` on `page` with what `choose` returns for those options, as the
 * admin's picker answers with the merchant's choice.
 */
export async function provideResourcePicker(page: Page, choose: (options: Record<string, unknown>) => PickedResource[] | undefined): Promise<void> {
  await page.exposeFunction("appBridgeStandInResourcePicker", (options: Record<string, unknown>) => choose(options) ?? null);
}

/** What the stand-in saw in the page: token requests, same-origin fetches it authorised, toasts shown, pickers opened. */
export interface StandInRecord {
  idTokenCalls: number;
  authorizedFetches: string[];
  toasts: { id: number; message: string; isError: boolean }[];
  resourcePickers: Record<string, unknown>[];
}

export async function standInRecord(page: Page): Promise<StandInRecord | undefined> {
  return page.evaluate(() => (window as unknown as { appBridgeStandIn?: StandInRecord }).appBridgeStandIn);
}
