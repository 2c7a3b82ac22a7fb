import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import express from "express";
import { EXTENSION_DIR, escapeHtml, renderBlock } from "./storefront-liquid";

/**
 * A stand-in storefront on 127.0.0.1 for the widget's browser tests: a theme-like product page with the
 * extension's block rendered from its Liquid (the block's schema stylesheet linked in the head, as Shopify
 * does for app embeds), the extension's assets, a stub try-on vendor, and a scriptable stand-in for the app
 * proxy route that records every body the widget posts.
 */

export const SHOP_URL = "https://aviator-demo.myshopify.com";
export const SHOP_PRIVACY_URL = "/policies/privacy-policy";
export const PRODUCT = {
  id: 8123456789012,
  title: "Aviator Classic frames",
  handle: "aviator-classic",
  variants: [
    { id: 45000000000001, title: "Gold / Green lens" },
    { id: 45000000000002, title: "Silver / Grey lens" },
    { id: 45000000000003, title: "Black / Polarized" },
  ],
} as const;
export const PROXY_PATH = "/apps/tryon-leads/capture";

export interface BlockSettings {
  heading: string | null;
  accent_color: string;
  privacy_url: string | null;
}
export const DEFAULT_SETTINGS: BlockSettings = { heading: null, accent_color: "#1d4ed8", privacy_url: null };

export interface CapturedRequest {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  raw: string;
  headers: IncomingHttpHeaders;
  query: Record<string, unknown>;
}

/** How the stand-in app proxy answers the next request; without a script it accepts the lead. */
export type ScriptedResponse =
  | { status: number; json?: unknown; headers?: Record<string, string> }
  | { status: number; html: string }
  | { drop: true };

export interface Storefront {
  origin: string;
  captured: CapturedRequest[];
  /** Queues answers for the next capture requests, in order. */
  script(...responses: ScriptedResponse[]): void;
  /** Merchant settings of the app embed for pages rendered from now on. */
  settings: BlockSettings;
  /** Renders the block's script without its markup and config (a theme where the embed broke). */
  withoutBlockMarkup: boolean;
  productUrl(query?: string, locale?: string): string;
  /** Forgets captured requests, unused scripted answers and settings, between tests. */
  reset(): void;
  close(): Promise<void>;
}

/** CSS of the kind themes ship, deliberately heavy-handed on bare elements. */
const THEME_CSS = `
  body { margin: 0; font-family: Georgia, "Times New Roman", serif; color: #222; background: #faf7f2; }
  .theme-header { padding: 18px 32px; background: #222; color: #fff; font-size: 20px; letter-spacing: .08em; }
  main.product { display: grid; grid-template-columns: 1fr 1fr; gap: 40px; padding: 40px 32px; max-width: 1100px; }
  .product__media { aspect-ratio: 1; border-radius: 8px; background: linear-gradient(135deg, #d9d2c5, #b9b0a0);
    display: grid; place-items: center; color: #443; font-size: 22px; }
  h1 { font-size: 40px; margin: 0 0 12px; }
  h2 { font-size: 44px; text-transform: uppercase; letter-spacing: .2em; margin: 40px 0; }
  label { display: block; text-transform: uppercase; letter-spacing: .15em; font-size: 11px; }
  input, select { border: 0; border-bottom: 2px solid #000; border-radius: 0; padding: 14px 4px; background: #eee; }
  button { border-radius: 0; background: #000; color: #fff; padding: 16px 28px; text-transform: uppercase; border: 0; }
  .theme-button { display: block; margin: 16px 0; width: 100%; }
  p { margin: 0 0 24px; font-size: 17px; }
`;

const VENDOR_SCRIPT = `
  // A try-on vendor's widget: shows a result, then tells the page about it.
  document.getElementById("vendor-tryon").addEventListener("click", function () {
    var media = document.querySelector(".product__media");
    media.textContent = "Your try-on result";
    var select = document.getElementById("variant-select");
    document.dispatchEvent(new CustomEvent("tryon:result", { detail: {
      productId: "gid://shopify/Product/${PRODUCT.id}",
      variantId: "gid://shopify/ProductVariant/" + select.value,
      resultId: "res_4821",
      resultUrl: "https://cdn.tryon-vendor.example/results/res_4821.jpg",
      model: "eyewear-v3",
      vendor: "demo-vendor",
      photo: "data:image/jpeg;base64," + "A".repeat(30000),
      selfieUpload: { name: "me.jpg", size: 30000 },
      timings: { renderMs: 812 }
    } }));
  });
  // The theme keeps ?variant= in the address bar, as many themes do.
  document.getElementById("variant-select").addEventListener("change", function (e) {
    var url = new URL(location.href);
    url.searchParams.set("variant", e.target.value);
    history.replaceState(null, "", url);
  });
`;

function page(options: { locale: string; query: URLSearchParams; settings: BlockSettings; withoutBlockMarkup: boolean }) {
  const prefix = options.locale === "en" ? "" : `/${options.locale}`;
  const requested = Number(options.query.get("variant"));
  const selected = PRODUCT.variants.find((v) => v.id === requested) ?? PRODUCT.variants[0];
  const context = {
    product: {
      id: PRODUCT.id,
      title: PRODUCT.title,
      url: `${prefix}/products/${PRODUCT.handle}`,
      has_only_default_variant: false,
      selected_or_first_available_variant: selected,
      variants: PRODUCT.variants,
    },
    shop: { url: SHOP_URL, privacy_policy: { url: SHOP_PRIVACY_URL } },
    request: { locale: { iso_code: options.locale } },
    block: { settings: options.settings },
  };
  const block = renderBlock(context, options.locale);
  const stylesheet = String(block.schema.stylesheet);
  const embed = options.withoutBlockMarkup
    ? `<script src="/assets/tryon-leads.js" defer></script>`
    : block.html;
  const optionsHtml = PRODUCT.variants
    .map((v) => `<option value="${v.id}"${v.id === selected.id ? " selected" : ""}>${escapeHtml(v.title)}</option>`)
    .join("");
  return `<!doctype html>
<html lang="${options.locale}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(PRODUCT.title)}</title>
  <style>${THEME_CSS}</style>
  <link rel="stylesheet" href="/assets/${stylesheet}" id="app-embed-stylesheet">
</head>
<body>
  <header class="theme-header"><a href="${prefix}/" style="color:inherit">Aviator Demo</a></header>
  <main class="product">
    <div class="product__media" aria-label="Product image">Aviator Classic</div>
    <div>
      <h1>${escapeHtml(PRODUCT.title)}</h1>
      <p class="price">€129.00</p>
      <form action="${prefix}/cart/add" method="post" class="product-form">
        <label for="variant-select">Color</label>
        <select name="id" id="variant-select">${optionsHtml}</select>
        <button type="submit" class="theme-button">Add to cart</button>
      </form>
      <button type="button" id="vendor-tryon" class="theme-button">Try it on</button>
      <h2 class="theme-heading">Details</h2>
      <p>Hand-finished metal frames.</p>
    </div>
  </main>
  <script>${VENDOR_SCRIPT}</script>
  ${embed}
</body>
</html>`;
}

export async function startStorefront(): Promise<Storefront> {
  const app = express();
  const queue: ScriptedResponse[] = [];
  const captured: CapturedRequest[] = [];
  const leads = new Map<string, string>();
  const state = { settings: { ...DEFAULT_SETTINGS }, withoutBlockMarkup: false };

  // A fresh connection for every request: Chromium silently resends a request whose reused keep-alive
  // connection drops, which would blur how many attempts the widget itself made.
  app.use((_req, res, next) => {
    res.set("Connection", "close");
    next();
  });
  app.use("/assets", express.static(path.join(EXTENSION_DIR, "assets"), { fallthrough: false }));

  app.get(["/products/:handle", "/:locale/products/:handle"], (req, res) => {
    const locale = req.params.locale ?? "en";
    if (req.params.handle !== PRODUCT.handle || !/^[a-z]{2}$/.test(locale)) return res.sendStatus(404);
    const query = new URLSearchParams(req.url.split("?")[1] ?? "");
    res.type("html").send(page({ locale, query, settings: state.settings, withoutBlockMarkup: state.withoutBlockMarkup }));
  });

  app.post(PROXY_PATH, express.text({ type: "*/*", limit: "64kb" }), (req, res) => {
    const raw = typeof req.body === "string" ? req.body : "";
    let body: unknown = null;
    try {
      body = JSON.parse(raw);
    } catch {
      /* recorded as null */
    }
    captured.push({ body, raw, headers: req.headers, query: req.query as Record<string, unknown> });
    const next = queue.shift();
    if (next && "drop" in next) {
      req.socket.destroy();
      return;
    }
    if (next && "html" in next) return res.status(next.status).type("html").send(next.html);
    if (next) {
      res.status(next.status).set(next.headers ?? {});
      return next.json === undefined ? res.end() : res.json(next.json);
    }
    const key = (body as { idempotencyKey?: string } | null)?.idempotencyKey ?? randomUUID();
    const seen = leads.get(key);
    if (seen) return res.status(200).json({ ok: true, leadId: seen });
    const leadId = `lead_${leads.size + 1}`;
    leads.set(key, leadId);
    return res.status(201).json({ ok: true, leadId });
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    origin,
    captured,
    script: (...responses) => queue.push(...responses),
    get settings() {
      return state.settings;
    },
    set settings(value) {
      state.settings = value;
    },
    get withoutBlockMarkup() {
      return state.withoutBlockMarkup;
    },
    set withoutBlockMarkup(value) {
      state.withoutBlockMarkup = value;
    },
    productUrl: (query = "", locale = "en") =>
      `${origin}${locale === "en" ? "" : `/${locale}`}/products/${PRODUCT.handle}${query ? `?${query.replace(/^\?/, "")}` : ""}`,
    reset() {
      captured.length = 0;
      queue.length = 0;
      state.settings = { ...DEFAULT_SETTINGS };
      state.withoutBlockMarkup = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
