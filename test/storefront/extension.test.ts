import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  BLOCK_FILE,
  EXTENSION_DIR,
  LiquidError,
  localeFiles,
  parseBlock,
  readJson,
  renderBlock,
  renderLiquid,
} from "../support/storefront-liquid";

/** The theme app extension's files: the conventions Shopify expects, and block, script, styles and locales in step. */

const read = (rel: string) => readFileSync(path.join(EXTENSION_DIR, rel), "utf8");
const blockSource = readFileSync(BLOCK_FILE, "utf8");
const schema = parseBlock(blockSource).schema as {
  name: string;
  target: string;
  stylesheet: string;
  enabled_on: { templates: string[] };
  settings: Array<{ id: string; type: string; label: string; info?: string; default?: string }>;
};

function keysOf(obj: unknown, prefix = ""): string[] {
  if (!obj || typeof obj !== "object") return [prefix];
  return Object.entries(obj).flatMap(([k, v]) => keysOf(v, prefix ? `${prefix}.${k}` : k));
}

const context = (overrides: Record<string, unknown> = {}) => ({
  product: {
    id: 42,
    title: "Round frames",
    url: "/products/round",
    has_only_default_variant: false,
    selected_or_first_available_variant: { id: 7, title: "Tortoise" },
    variants: [
      { id: 7, title: "Tortoise" },
      { id: 8, title: "Black" },
    ],
  },
  shop: { url: "https://round-demo.myshopify.com", privacy_policy: { url: "/policies/privacy-policy" } },
  request: { locale: { iso_code: "en" } },
  block: { settings: { heading: null, accent_color: "#1d4ed8", privacy_url: null } },
  ...overrides,
});

function configOf(html: string) {
  const m = /<script type="application\/json" id="tryon-leads-config">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error("no config element");
  return JSON.parse(m[1]!) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe("theme app extension", () => {
  it("is a theme extension with an app embed for product pages", () => {
    expect(read("shopify.extension.toml")).toMatch(/^type\s*=\s*"theme"$/m);
    expect(read("shopify.extension.toml")).toMatch(/^name\s*=\s*"[^"]{1,30}"$/m);
    expect(schema.target).toBe("body");
    expect(schema.enabled_on).toEqual({ templates: ["product"] });
    expect(schema.name.length).toBeLessThanOrEqual(25);
    expect(existsSync(path.join(EXTENSION_DIR, "assets", schema.stylesheet))).toBe(true);
    expect(schema.settings.map((s) => [s.id, s.type])).toEqual([
      ["heading", "text"],
      ["accent_color", "color"],
      ["privacy_url", "url"],
    ]);
    // The script is loaded deferred, from the extension's assets.
    const scripts = [...blockSource.matchAll(/<script src="\{\{ '([^']+)' \| asset_url \}\}"( defer)?><\/script>/g)];
    expect(scripts.map((m) => [m[1], m[2]])).toEqual([["tryon-leads.js", " defer"]]);
    expect(existsSync(path.join(EXTENSION_DIR, "assets/tryon-leads.js"))).toBe(true);
    expect(existsSync(path.join(EXTENSION_DIR, "README.md"))).toBe(true);
  });

  it("has every theme editor label in each schema locale file, with the same keys", () => {
    const files = localeFiles("schema");
    expect(files).toContain("en.default.schema.json");
    expect(files.length).toBeGreaterThanOrEqual(2);
    const used = schema.settings.flatMap((s) => [s.label, s.info]).filter((v): v is string => typeof v === "string");
    expect(used.every((v) => v.startsWith("t:"))).toBe(true);
    const reference = keysOf(readJson(path.join(EXTENSION_DIR, "locales/en.default.schema.json"))).sort();
    expect(reference).toEqual([...new Set(used.map((v) => v.slice(2)))].sort());
    for (const file of files) expect(keysOf(readJson(path.join(EXTENSION_DIR, "locales", file))).sort(), file).toEqual(reference);
  });

  it("has every shopper-facing string in each storefront locale file, with no unused ones", () => {
    const files = localeFiles("storefront");
    expect(files).toContain("en.default.json");
    expect(files.length).toBeGreaterThanOrEqual(3);
    const used = [...blockSource.matchAll(/'([\w.]+)' \| t\b/g)].map((m) => m[1]!);
    const reference = keysOf(readJson(path.join(EXTENSION_DIR, "locales/en.default.json"))).sort();
    expect([...new Set(used)].sort()).toEqual(reference);
    for (const file of files) {
      const data = readJson(path.join(EXTENSION_DIR, "locales", file));
      expect(keysOf(data).sort(), file).toEqual(reference);
      expect(
        keysOf(data).filter((k) => !k.split(".").reduce<any>((o, p) => o[p], data)), // eslint-disable-line @typescript-eslint/no-explicit-any
        file,
      ).toEqual([]);
    }
    expect(readJson(path.join(EXTENSION_DIR, "locales/en.default.json"))).toMatchObject({
      tryon_leads: {
        form: { consent_label: "Email me about this product and offers" },
        messages: {
          success: "Thanks! Check your inbox.",
          rate_limited: "Too many tries, please wait a moment",
          generic: "Something went wrong, please try again",
        },
      },
    });
  });

  it("renders the block's markup with every element the script looks for", () => {
    const { html } = renderBlock(context());
    const script = read("assets/tryon-leads.js");
    const ids = [...script.matchAll(/"#(tol-[\w-]+)"/g), ...script.matchAll(/getElementById\("([\w-]+)"\)/g)].map((m) => m[1]!);
    const attrs = [...script.matchAll(/"\[(data-[\w-]+)\]"/g)].map((m) => m[1]!);
    expect(ids.length).toBeGreaterThan(4);
    expect(attrs).toEqual(expect.arrayContaining(["data-tryon-leads", "data-tol-form", "data-tol-submit", "data-tol-live", "data-tol-close"]));
    for (const id of ids) expect(html, id).toContain(`id="${id}"`);
    for (const attr of attrs) expect(html, attr).toMatch(new RegExp(`\\s${attr}[\\s>=]`));
    // Field errors are found as `#<input id>-error`.
    for (const input of ["tol-email", "tol-consent"]) expect(html).toContain(`id="${input}-error"`);
    // Every class the stylesheet styles is in the markup.
    const classes = new Set([...read("assets/tryon-leads.css").matchAll(/\.(tol[\w-]*)/g)].map((m) => m[1]!));
    for (const cls of classes) expect(html, cls).toMatch(new RegExp(`class="[^"]*\\b${cls}\\b`));
    // Labels and the live region.
    expect(html).toContain('<label class="tol__label" for="tol-email">');
    expect(html).toContain('<label class="tol__check-label" for="tol-consent">');
    expect(html).toMatch(/<input class="tol__checkbox" id="tol-consent" name="consent" type="checkbox" required>/);
    expect(html).toMatch(/role="status" aria-live="polite"/);
  });

  it("renders product data and translated strings as JSON that survives hostile titles", () => {
    const hostile = `Frames "Bold" </script><script>alert(1)</script> & more`;
    const base = context();
    const { html } = renderBlock({
      ...base,
      product: { ...base.product, title: hostile },
      block: { settings: { heading: `<img src=x onerror=alert(1)>`, accent_color: "#222222", privacy_url: "https://example.com/privacy?a=1&b=2" } },
    });
    expect(html).not.toContain("</script><script>");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain('href="https://example.com/privacy?a=1&amp;b=2"');
    const config = configOf(html);
    expect(config.product).toEqual({
      id: 42,
      title: hostile,
      url: "https://round-demo.myshopify.com/products/round",
      hasOnlyDefaultVariant: false,
      selectedVariantId: 7,
      variants: [
        { id: 7, title: "Tortoise" },
        { id: 8, title: "Black" },
      ],
    });
    expect(config.endpoint).toBe("/apps/tryon-leads/capture");
    expect(config.locale).toBe("en");
    expect(config.strings.success).toBe("Thanks! Check your inbox.");
  });

  it("falls back to the translated heading and the store's privacy policy, and translates for German", () => {
    const de = renderBlock({ ...context(), request: { locale: { iso_code: "de" } } }, "de").html;
    expect(de).toContain(">Gefällt Ihnen der Look?</h2>");
    expect(de).toContain('href="/policies/privacy-policy"');
    expect(configOf(de).strings.rateLimited).toBe("Zu viele Versuche, bitte warten Sie einen Moment");
    const noPolicy = renderBlock({ ...context(), shop: { url: "https://x.myshopify.com", privacy_policy: null } }).html;
    expect(noPolicy).not.toContain("tol__privacy");
  });

  it("renders only the Liquid it knows, so the tests cannot silently drift from the block", () => {
    const opts = { translations: {}, assetUrl: (f: string) => f };
    expect(() => renderLiquid("{{ product.title | upcase }}", {}, opts)).toThrow(LiquidError);
    expect(() => renderLiquid("{% render 'x' %}", {}, opts)).toThrow(LiquidError);
    expect(() => renderLiquid("{{ 'missing.key' | t }}", {}, opts)).toThrow(/Translation missing/);
    expect(renderLiquid("{%- if a != blank -%} yes {%- else -%} no {%- endif -%}", { a: " " }, opts).html).toBe("no");
    expect(renderLiquid("{% for v in l %}{{ v }}{% unless forloop.last %},{% endunless %}{% endfor %}", { l: [1, 2, 3] }, opts).html).toBe(
      "1,2,3",
    );
  });

  it("keeps its styles under its own prefix, and script and styles small", () => {
    const css = read("assets/tryon-leads.css").replace(/\/\*[\s\S]*?\*\//g, "");
    const selectors: string[] = [];
    const keyframes: string[] = [];
    // Walk the rules: selectors are what precedes a '{' that is not an at-rule.
    for (const m of css.matchAll(/([^{}]+)\{/g)) {
      const prelude = m[1]!.trim();
      if (prelude.startsWith("@keyframes")) keyframes.push(prelude.split(/\s+/)[1]!);
      else if (prelude.startsWith("@media")) continue;
      else if (/^(from|to|\d+%)$/.test(prelude)) continue;
      else selectors.push(...prelude.split(",").map((s) => s.trim()));
    }
    expect(selectors.length).toBeGreaterThan(20);
    for (const sel of selectors) expect(sel, sel).toMatch(/^\.tol(-live|__[\w-]+)?(?=$|[\s[:.])/);
    expect(keyframes.every((k) => k.startsWith("tol-"))).toBe(true);
    expect(css).toMatch(/@media \(prefers-reduced-motion: reduce\)/);

    const js = read("assets/tryon-leads.js");
    expect(gzipSync(js).length).toBeLessThan(6 * 1024);
    expect(js.length).toBeLessThan(16 * 1024);
    expect(gzipSync(css).length).toBeLessThan(2 * 1024);
    expect(css.length).toBeLessThan(6 * 1024);
    // No framework, no imports, no third-party hosts.
    expect(js).not.toMatch(/\bimport\b|\brequire\(/);
    expect(js.match(/https?:\/\/[^\s"')]+/g) ?? []).toEqual([]);
  });
});
