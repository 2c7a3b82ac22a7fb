import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { artifactPath, launchStorefrontBrowser, type StorefrontBrowser } from "../support/storefront-browser";
import { PRODUCT, SHOP_URL, startStorefront, type Storefront } from "../support/storefront-server";
import { storefrontTranslations } from "../support/storefront-liquid";

/**
 * The storefront widget in Chromium on a stand-in product page rendered from the block's Liquid, posting
 * to a stand-in app proxy route on loopback.
 */

const EN = storefrontTranslations("en") as { tryon_leads: { form: Record<string, string>; messages: Record<string, string> } };
const FR = storefrontTranslations("fr") as typeof EN;
const M = EN.tryon_leads.messages;
const [V1, V2, V3] = PRODUCT.variants;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let shop: Storefront;
let browser: StorefrontBrowser;
let current: { page: Page; pageErrors: string[] } | null = null;

beforeAll(async () => {
  [shop, browser] = await Promise.all([startStorefront(), launchStorefrontBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await shop?.close();
});

afterEach(async () => {
  // Whatever a test did, the page threw nothing and nothing tried to leave the machine.
  const errors = current?.pageErrors ?? [];
  await current?.page.close();
  current = null;
  shop.reset();
  expect(errors).toEqual([]);
  expect(browser.offMachineRequests).toEqual([]);
});

async function openProductPage(query = "", locale = "en"): Promise<Page> {
  current = await browser.newPage();
  await current.page.goto(shop.productUrl(query, locale));
  await current.page.waitForFunction(() => typeof window.TryOnLeads?.open === "function");
  return current.page;
}

/** What a try-on vendor's script does once the result is on screen. */
async function tryOnResult(page: Page, detail: Record<string, unknown> = {}) {
  await page.evaluate((d) => document.dispatchEvent(new CustomEvent("tryon:result", { detail: d })), detail);
}

const widget = (page: Page) => page.locator("#tryon-leads");
const live = (page: Page) => page.locator("[data-tol-live]");
const focusedId = (page: Page) => page.evaluate(() => document.activeElement?.id ?? "");

async function waitForCaptures(n: number) {
  await expect.poll(() => shop.captured.length).toBe(n);
  return shop.captured;
}

async function fillAndSend(page: Page, email = "shopper@example.com") {
  await page.fill("#tol-email", email);
  await page.check("#tol-consent");
  await page.click("[data-tol-submit]");
}

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: artifactPath(`widget-${name}.png`), animations: "disabled" });
}

declare global {
  interface Window {
    TryOnLeads?: { open(detail?: unknown): boolean; close(): void };
  }
}

describe("storefront widget", () => {
  it("asks for an email with unticked consent after a try-on result and posts the lead through the app proxy", async () => {
    const page = await openProductPage(
      `variant=${V2.id}&utm_source=newsletter&utm_medium=email&utm_campaign=spring-frames&email=leak%40example.com#reviews`,
    );
    await expect.poll(() => widget(page).isVisible()).toBe(false);

    await page.click("#vendor-tryon"); // the vendor's button: shows a result and dispatches tryon:result
    await widget(page).waitFor({ state: "visible" });
    expect(await focusedId(page)).toBe("tol-email");
    expect(await page.isChecked("#tol-consent")).toBe(false);
    expect(await page.locator(".tol__panel").getAttribute("aria-labelledby")).toBe("tol-heading");
    await screenshot(page, "open");

    // Without consent nothing is sent and the checkbox says why, accessibly.
    await page.fill("#tol-email", "shopper@example.com");
    await page.click("[data-tol-submit]");
    await expect.poll(() => page.textContent("#tol-consent-error")).toBe(M.consent_required);
    expect(await page.getAttribute("#tol-consent", "aria-invalid")).toBe("true");
    expect(await page.getAttribute("#tol-consent", "aria-describedby")).toBe("tol-consent-error");
    expect(await focusedId(page)).toBe("tol-consent");
    await expect.poll(() => live(page).textContent()).toBe(M.consent_required);
    await screenshot(page, "consent-required");
    expect(shop.captured).toHaveLength(0);

    await page.check("#tol-consent");
    expect(await page.getAttribute("#tol-consent", "aria-invalid")).toBeNull();
    expect(await page.isHidden("#tol-consent-error")).toBe(true);
    await page.click("[data-tol-submit]");

    await expect.poll(() => live(page).textContent()).toBe(M.success);
    expect(await page.isVisible("#tol-success")).toBe(true);
    expect(await page.isHidden("[data-tol-form]")).toBe(true);
    expect(await focusedId(page)).toBe("tol-success");
    await screenshot(page, "success");

    const [request] = await waitForCaptures(1);
    expect(request!.headers["content-type"]).toMatch(/^application\/json/);
    const body = request!.body;
    expect(Object.keys(body).sort()).toEqual(
      ["consent", "email", "idempotencyKey", "locale", "pageUrl", "product", "tryOn", "utm"].sort(),
    );
    expect(body).toMatchObject({
      email: "shopper@example.com",
      consent: true,
      product: {
        id: String(PRODUCT.id),
        title: PRODUCT.title,
        url: `${SHOP_URL}/products/${PRODUCT.handle}`,
        variant: { id: String(V2.id), title: V2.title }, // ?variant= selected it, and the vendor tried it on
      },
      utm: { source: "newsletter", medium: "email", campaign: "spring-frames" },
      locale: "en",
    });
    expect(body.utm).toEqual({ source: "newsletter", medium: "email", campaign: "spring-frames" });
    expect(body.idempotencyKey).toMatch(UUID);
    // The page URL keeps the campaign and variant but not the email in the query or the fragment.
    expect(body.pageUrl).toBe(
      `${shop.origin}/products/${PRODUCT.handle}?variant=${V2.id}&utm_source=newsletter&utm_medium=email&utm_campaign=spring-frames`,
    );
    expect(request!.raw).not.toContain("leak");
    // The try-on detail arrives without the photo and within 2 KB.
    expect(body.tryOn).toEqual({
      productId: `gid://shopify/Product/${PRODUCT.id}`,
      variantId: `gid://shopify/ProductVariant/${V2.id}`,
      resultId: "res_4821",
      resultUrl: "https://cdn.tryon-vendor.example/results/res_4821.jpg",
      model: "eyewear-v3",
      vendor: "demo-vendor",
      timings: { renderMs: 812 },
    });
    expect(JSON.stringify(body.tryOn).length).toBeLessThanOrEqual(2048);
    expect(request!.raw).not.toContain("data:image");

    // Another try-on of the same product in this visit does not ask again.
    await tryOnResult(page, { resultId: "res_2" });
    expect(await page.isVisible("#tol-success")).toBe(true);
    await page.keyboard.press("Escape");
    expect(await widget(page).isVisible()).toBe(false);
    await tryOnResult(page, { resultId: "res_3" });
    expect(await widget(page).isVisible()).toBe(false);
  });

  it("sends the variant the shopper is looking at, from the product form, theme events or the address bar", async () => {
    const page = await openProductPage();
    const variantSent = async (detail: Record<string, unknown> = { resultId: "manual" }) => {
      const n = shop.captured.length;
      await page.evaluate((d) => window.TryOnLeads!.open(d), detail);
      await fillAndSend(page);
      await waitForCaptures(n + 1);
      await page.locator("#tol-success").waitFor({ state: "visible" });
      return shop.captured.at(-1)!.body.product.variant;
    };

    expect(await variantSent()).toEqual({ id: String(V1.id), title: V1.title }); // Liquid's selected variant

    await page.selectOption("#variant-select", String(V3.id)); // the product form's variant input changes
    expect(await variantSent()).toEqual({ id: String(V3.id), title: V3.title });

    await page.evaluate((id) => {
      document.dispatchEvent(new CustomEvent("variant:change", { detail: { variant: { id } } }));
    }, V2.id);
    expect(await variantSent()).toEqual({ id: String(V2.id), title: V2.title });

    // A theme that only rewrites ?variant= in the address bar.
    await page.evaluate((id) => history.replaceState(null, "", `?variant=${id}`), V1.id);
    expect(await variantSent()).toEqual({ id: String(V1.id), title: V1.title });

    // The try-on's own variant wins over the page's for that result.
    expect(await variantSent({ variantId: `gid://shopify/ProductVariant/${V3.id}` })).toEqual({ id: String(V3.id), title: V3.title });
    const keys = new Set(shop.captured.map((c) => c.body.idempotencyKey));
    expect(keys.size).toBe(5); // every submission has a key of its own
  });

  it("remembers the visit's campaign after the shopper moves on to a page without UTM parameters", async () => {
    const page = await openProductPage("utm_source=instagram&utm_campaign=summer&utm_content=reel-2");
    await page.goto(shop.productUrl("ref=nav"));
    await page.waitForFunction(() => typeof window.TryOnLeads?.open === "function");
    await tryOnResult(page, { resultId: "r" });
    await fillAndSend(page);
    const [request] = await waitForCaptures(1);
    expect(request!.body.utm).toEqual({ source: "instagram", campaign: "summer", content: "reel-2" });
    expect(request!.body.pageUrl).toBe(`${shop.origin}/products/${PRODUCT.handle}?ref=nav`);
  });

  it("shows the app's email error next to the field, then sends the corrected email as a new submission", async () => {
    const page = await openProductPage();
    shop.script({ status: 422, json: { error: { field: "email", message: "Email is not a valid email address" } } });
    await tryOnResult(page, { resultId: "r" });
    await fillAndSend(page, "shopper@example.con");
    await expect.poll(() => page.textContent("#tol-email-error")).toBe(M.email_invalid);
    expect(await page.getAttribute("#tol-email", "aria-invalid")).toBe("true");
    expect(await page.getAttribute("#tol-email", "aria-describedby")).toBe("tol-email-error");
    expect(await focusedId(page)).toBe("tol-email");
    await expect.poll(() => live(page).textContent()).toBe(M.email_invalid);
    await screenshot(page, "email-error");

    await page.fill("#tol-email", "shopper@example.com");
    expect(await page.getAttribute("#tol-email", "aria-invalid")).toBeNull();
    await page.click("[data-tol-submit]");
    await expect.poll(() => live(page).textContent()).toBe(M.success);
    const [first, second] = await waitForCaptures(2);
    expect(second!.body.email).toBe("shopper@example.com");
    expect(second!.body.idempotencyKey).not.toBe(first!.body.idempotencyKey);
  });

  it("checks the email in the browser before sending anything", async () => {
    const page = await openProductPage();
    await tryOnResult(page); // a vendor that sends no detail at all
    await page.check("#tol-consent");
    await page.click("[data-tol-submit]");
    await expect.poll(() => page.textContent("#tol-email-error")).toBe(M.email_required);
    await page.fill("#tol-email", "not-an-email");
    await page.click("[data-tol-submit]");
    await expect.poll(() => page.textContent("#tol-email-error")).toBe(M.email_invalid);
    expect(await page.getAttribute("#tol-email", "aria-invalid")).toBe("true");
    expect(shop.captured).toHaveLength(0);
    await page.fill("#tol-email", "  shopper@example.com ");
    await page.click("[data-tol-submit]");
    const [request] = await waitForCaptures(1);
    expect(request!.body.email).toBe("shopper@example.com");
    expect(request!.body.tryOn).toBeNull();
  });

  it("asks the shopper to wait when rate limited and resends the same submission afterwards", async () => {
    const page = await openProductPage();
    shop.script({ status: 429, json: { error: { message: "Too many requests" } }, headers: { "Retry-After": "1" } });
    await tryOnResult(page, { resultId: "r" });
    await fillAndSend(page);
    await expect.poll(() => page.textContent("#tol-form-error")).toBe(M.rate_limited);
    await expect.poll(() => live(page).textContent()).toBe(M.rate_limited);
    expect(await page.getAttribute("[data-tol-submit]", "aria-disabled")).toBe("true");
    await screenshot(page, "rate-limited");

    await page.click("[data-tol-submit]", { force: true }); // still waiting: nothing is sent
    await page.waitForTimeout(100);
    expect(shop.captured).toHaveLength(1);

    await expect.poll(() => page.getAttribute("[data-tol-submit]", "aria-disabled"), { timeout: 3000 }).toBeNull();
    await page.click("[data-tol-submit]");
    await expect.poll(() => live(page).textContent()).toBe(M.success);
    const [first, second] = await waitForCaptures(2);
    expect(second!.body.idempotencyKey).toBe(first!.body.idempotencyKey);
  });

  it("offers a retry after a server error that reuses the idempotency key", async () => {
    const page = await openProductPage();
    shop.script({ status: 500, json: { error: { message: "Internal error" } } });
    await tryOnResult(page, { resultId: "r" });
    await fillAndSend(page);
    await expect.poll(() => page.textContent("#tol-form-error")).toBe(M.generic);
    await expect.poll(() => live(page).textContent()).toBe(M.generic);
    expect((await page.textContent("[data-tol-submit]"))?.trim()).toBe(EN.tryon_leads.form.retry);
    await screenshot(page, "server-error");

    await page.click("[data-tol-submit]");
    await expect.poll(() => live(page).textContent()).toBe(M.success);
    const [first, second] = await waitForCaptures(2);
    expect(first!.body.idempotencyKey).toMatch(UUID);
    expect(second!.body.idempotencyKey).toBe(first!.body.idempotencyKey);
    expect(second!.body).toEqual(first!.body);
  });

  it("sends the lead once more under a fresh key when the app says the key was used for another submission", async () => {
    const page = await openProductPage();
    const conflict = { status: 409, json: { error: { field: "idempotencyKey", message: "This idempotency key was already used for a different submission" } } };
    shop.script(conflict);
    await tryOnResult(page, { resultId: "r" });
    await fillAndSend(page);
    await expect.poll(() => live(page).textContent()).toBe(M.success);
    const [first, second] = await waitForCaptures(2);
    expect(second!.body.idempotencyKey).toMatch(UUID);
    expect(second!.body.idempotencyKey).not.toBe(first!.body.idempotencyKey);
    expect({ ...second!.body, idempotencyKey: null }).toEqual({ ...first!.body, idempotencyKey: null });
  });

  it("after a second conflict shows the generic error, and Try again sends under another fresh key", async () => {
    const page = await openProductPage();
    const conflict = { status: 409, json: { error: { field: "idempotencyKey", message: "conflict" } } };
    shop.script(conflict, conflict);
    await tryOnResult(page, { resultId: "r" });
    await fillAndSend(page);
    await expect.poll(() => page.textContent("#tol-form-error")).toBe(M.generic);
    await page.waitForTimeout(100);
    expect(shop.captured).toHaveLength(2); // one automatic resend, then it stops
    await page.click("[data-tol-submit]");
    await expect.poll(() => live(page).textContent()).toBe(M.success);
    const keys = (await waitForCaptures(3)).map((c) => c.body.idempotencyKey);
    expect(new Set(keys).size).toBe(3);
  });

  it("retries a dropped connection once with the same key and fails gracefully while the app is down", async () => {
    const page = await openProductPage();
    const appDown = "<!doctype html><title>Bad gateway</title><h1>This app is not responding</h1>";
    shop.script({ drop: true }, { drop: true }, { status: 502, html: appDown }, { status: 404, html: appDown });
    await tryOnResult(page, { resultId: "r" });
    await fillAndSend(page);
    await expect.poll(() => page.textContent("#tol-form-error")).toBe(M.generic);
    expect(shop.captured).toHaveLength(2); // the automatic retry, then it stops

    await page.click("[data-tol-submit]"); // 502 with an HTML page
    await waitForCaptures(3);
    await expect.poll(() => live(page).textContent()).toBe(M.generic);
    await page.click("[data-tol-submit]"); // 404: the proxy has no app behind it
    await waitForCaptures(4);
    await expect.poll(() => page.textContent("#tol-form-error")).toBe(M.generic);
    await page.click("[data-tol-submit]"); // back up
    await expect.poll(() => live(page).textContent()).toBe(M.success);
    const keys = (await waitForCaptures(5)).map((c) => c.body.idempotencyKey);
    expect(new Set(keys).size).toBe(1);
  });

  it("works with the keyboard alone", async () => {
    const page = await openProductPage();
    // Tab from the top of the page to the vendor's try-on button.
    for (let i = 0; i < 10 && (await focusedId(page)) !== "vendor-tryon"; i++) await page.keyboard.press("Tab");
    expect(await focusedId(page)).toBe("vendor-tryon");
    await page.keyboard.press("Enter");
    await widget(page).waitFor({ state: "visible" });
    expect(await focusedId(page)).toBe("tol-email");
    await page.keyboard.type("keys@example.com");

    // Escape closes the panel and gives focus back; a new result opens it with the email kept.
    await page.keyboard.press("Escape");
    expect(await widget(page).isVisible()).toBe(false);
    expect(await focusedId(page)).toBe("vendor-tryon");
    await page.keyboard.press("Enter");
    await widget(page).waitFor({ state: "visible" });
    expect(await focusedId(page)).toBe("tol-email");
    expect(await page.inputValue("#tol-email")).toBe("keys@example.com");
    const ring = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement!);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    expect(ring.style).toBe("solid");
    expect(ring.width).toBeGreaterThanOrEqual(2);

    await page.keyboard.press("Tab");
    expect(await focusedId(page)).toBe("tol-consent");
    await page.keyboard.press("Space");
    expect(await page.isChecked("#tol-consent")).toBe(true);
    await screenshot(page, "keyboard-focus");
    await page.keyboard.press("Tab"); // privacy policy link
    expect(await page.evaluate(() => document.activeElement?.className)).toBe("tol__link");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.hasAttribute("data-tol-submit"))).toBe(true);
    await page.keyboard.press("Enter");
    await expect.poll(() => live(page).textContent()).toBe(M.success);
    expect(await focusedId(page)).toBe("tol-success");
    expect((await waitForCaptures(1))[0]!.body.email).toBe("keys@example.com");

    await page.keyboard.press("Escape");
    expect(await widget(page).isVisible()).toBe(false);
    expect(await focusedId(page)).toBe("vendor-tryon");
  });

  it("speaks the storefront's language and takes the merchant's heading, accent color and privacy link", async () => {
    shop.settings = { heading: "Envie de ce style ?", accent_color: "#ffd400", privacy_url: "https://aviator-demo.myshopify.com/pages/vie-privee" };
    const page = await openProductPage("", "fr");
    await tryOnResult(page, { resultId: "r" });
    await widget(page).waitFor({ state: "visible" });
    expect(await page.textContent("#tol-heading")).toBe("Envie de ce style ?");
    expect(await page.textContent("label[for=tol-email]")).toBe(FR.tryon_leads.form.email_label);
    expect(await page.textContent("label[for=tol-consent]")).toBe(FR.tryon_leads.form.consent_label);
    expect(await page.getAttribute(".tol__link", "href")).toBe("https://aviator-demo.myshopify.com/pages/vie-privee");
    // A light accent gets dark button text.
    expect(await page.evaluate(() => getComputedStyle(document.querySelector("[data-tol-submit]")!).color)).toBe("rgb(0, 0, 0)");

    await page.fill("#tol-email", "client@example.fr");
    await page.click("[data-tol-submit]");
    await expect.poll(() => page.textContent("#tol-consent-error")).toBe(FR.tryon_leads.messages.consent_required);
    await screenshot(page, "fr");
    await page.check("#tol-consent");
    await page.click("[data-tol-submit]");
    await expect.poll(() => live(page).textContent()).toBe(FR.tryon_leads.messages.success);
    const [request] = await waitForCaptures(1);
    expect(request!.body.locale).toBe("fr");
    expect(request!.body.product.url).toBe(`${SHOP_URL}/fr/products/${PRODUCT.handle}`);
  });

  it("leaves the theme's styles alone, keeps readable contrast and honours reduced motion", async () => {
    const page = await openProductPage();
    const themeStyles = () =>
      page.evaluate(() =>
        ["body", "h1", ".theme-heading", "label[for=variant-select]", "#variant-select", "#vendor-tryon", "p.price"].map((sel) => {
          const s = getComputedStyle(document.querySelector(sel)!);
          const props = ["font", "letterSpacing", "textTransform", "color", "backgroundColor", "border", "borderRadius", "margin", "padding", "display", "boxSizing", "outline", "textAlign"] as const;
          return [sel, ...props.map((p) => s[p])].join("|");
        }),
      );
    await tryOnResult(page, { resultId: "r" });
    const withWidget = await themeStyles();
    await page.evaluate(() => document.getElementById("app-embed-stylesheet")!.remove());
    expect(await themeStyles()).toEqual(withWidget);
    await page.reload();
    await page.waitForFunction(() => typeof window.TryOnLeads?.open === "function");
    await tryOnResult(page, { resultId: "r" });
    await page.click("[data-tol-submit]"); // show the error texts too

    const ratios = await page.evaluate(() => {
      const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
      const lum = (c: string) =>
        rgb(c)
          .map((v) => v / 255)
          .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
          .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i]!, 0);
      const ratio = (a: string, b: string) => {
        const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
        return (x! + 0.05) / (y! + 0.05);
      };
      const panel = getComputedStyle(document.querySelector(".tol__panel")!).backgroundColor;
      const out: Record<string, number> = {};
      for (const sel of ["#tol-heading", "#tol-intro", "label[for=tol-email]", "label[for=tol-consent]", "#tol-email-error", "#tol-consent-error", ".tol__link"]) {
        out[sel] = ratio(getComputedStyle(document.querySelector(sel)!).color, panel);
      }
      const button = getComputedStyle(document.querySelector("[data-tol-submit]")!);
      out.button = ratio(button.color, button.backgroundColor);
      return out;
    });
    for (const [sel, ratio] of Object.entries(ratios)) expect(ratio, sel).toBeGreaterThanOrEqual(4.5);

    await page.emulateMedia({ reducedMotion: "reduce" });
    expect(await page.evaluate(() => getComputedStyle(document.querySelector(".tol__panel")!).animationName)).toBe("none");
    await page.emulateMedia({ reducedMotion: "no-preference" });
    expect(await page.evaluate(() => getComputedStyle(document.querySelector(".tol__panel")!).animationName)).toBe("tol-in");

    await page.setViewportSize({ width: 390, height: 760 });
    await screenshot(page, "mobile");
  });

  it("does nothing harmful where the embed's markup is missing", async () => {
    shop.withoutBlockMarkup = true;
    const page = await openProductPage();
    expect(await page.evaluate(() => window.TryOnLeads!.open({ resultId: "r" }))).toBe(false);
    await tryOnResult(page, { resultId: "r" });
    expect(await page.locator(".tol").count()).toBe(0);
    expect(shop.captured).toHaveLength(0);
  });
});
