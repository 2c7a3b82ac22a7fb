import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { APP_BRIDGE_URL, serveAppBridgeStandIn } from "../support/app-bridge-stand-in";

/**
 * Chromium for browser tests: Debian's build, headless, with a fresh profile, background services off,
 * and host resolution limited to loopback, so that nothing the browser does can leave the machine.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Headless Chromium with its background services off (this machine's closed network refuses them) and
 * host resolution limited to loopback: even a preconnect or DNS prefetch to another host fails.
 */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
];

/**
 * The URL path the Shopify admin opens in its iframe for the app: `path` with what the admin adds (embedded,
 * the shop, its base64 host, a session token).
 */
export function embeddedAdminPath(shop: string, idToken: string, path: string): string {
  const store = shop.replace(/\.myshopify\.com$/, "");
  const params = new URLSearchParams({
    embedded: "1",
    shop,
    host: Buffer.from(`admin.shopify.com/store/${store}`).toString("base64").replace(/=+$/, ""),
    id_token: idToken,
  });
  return `${path}?${params}`;
}

export const ARTIFACTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../test-artifacts");

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, name);
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh context in which App Bridge is the local stand-in and every off-machine request is refused. */
  newContext(): Promise<BrowserContext>;
  /** Requests that tried to leave the machine (all refused), besides the App Bridge script served locally. */
  offMachineRequests: string[];
  /** How many times the App Bridge stand-in was served in place of the CDN script. */
  appBridgeServed(): number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export async function launchBrowser(): Promise<TestBrowser> {
  // Playwright keeps its own fresh profile per launch; the downloads land in a directory of our own.
  const downloadsPath = mkdtempSync(path.join(os.tmpdir(), "tryon-browser-"));
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    downloadsPath,
    args: CHROMIUM_ARGS,
  });
  // A merchant's desktop Chrome. Headless Chromium names itself "HeadlessChrome", which the Shopify library
  // treats as a bot and answers 410 Gone without authenticating.
  const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${browser.version()} Safari/537.36`;
  const offMachineRequests: string[] = [];
  const served: Array<() => number> = [];

  return {
    browser,
    offMachineRequests,
    appBridgeServed: () => served.reduce((n, f) => n + f(), 0),
    async newContext() {
      const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 }, userAgent });
      await context.route("**/*", async (route) => {
        const url = new URL(route.request().url());
        if (LOOPBACK.has(url.hostname) || url.href === APP_BRIDGE_URL) return route.fallback();
        offMachineRequests.push(`${route.request().method()} ${url.href}`);
        return route.abort("blockedbyclient");
      });
      served.push((await serveAppBridgeStandIn(context)).served);
      return context;
    },
    async close() {
      await browser.close();
      rmSync(downloadsPath, { recursive: true, force: true });
    },
  };
}

/** Waits until the app's page is interactive (React has hydrated it): typing earlier may be undone. */
export async function waitForHydration(page: Page): Promise<void> {
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === "true", undefined, { timeout: 30_000 });
}

/**
 * A full-page screenshot into test-artifacts/, taken with the viewport grown to the page's height, so that
 * sticky parts (a table's pagination bar) sit where a merchant sees them instead of over the middle.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const viewport = page.viewportSize()!;
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: viewport.width, height: Math.max(viewport.height, height) });
  await page.screenshot({ path: artifactPath(name), fullPage: true });
  await page.setViewportSize(viewport);
}
