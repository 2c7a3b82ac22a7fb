import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../browser/browser";

/**
 * Debian's Chromium for the storefront widget's tests: headless, a fresh profile directory of its own,
 * background services off, and every request that is not for loopback refused, so nothing leaves the machine.
 */
const ARTIFACTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../test-artifacts");
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, name);
}

export interface StorefrontBrowser {
  context: BrowserContext;
  /** Requests that tried to leave the machine; all were refused. */
  offMachineRequests: string[];
  /** A new tab (so a fresh sessionStorage) that records uncaught page errors. */
  newPage(): Promise<{ page: Page; pageErrors: string[] }>;
  close(): Promise<void>;
}

export async function launchStorefrontBrowser(): Promise<StorefrontBrowser> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), "tryon-storefront-profile-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1280, height: 800 },
    locale: "en-US",
    args: CHROMIUM_ARGS,
  });
  const offMachineRequests: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (LOOPBACK.has(url.hostname)) return route.fallback();
    offMachineRequests.push(`${route.request().method()} ${url.href}`);
    return route.abort("blockedbyclient");
  });

  return {
    context,
    offMachineRequests,
    async newPage() {
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (err) => pageErrors.push(err.message));
      return { page, pageErrors };
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
