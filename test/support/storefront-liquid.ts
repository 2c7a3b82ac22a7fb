import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A deliberately small Liquid renderer for the theme app extension's block, so that browser tests load the
 * block exactly as written rather than a hand-made copy of it. It knows only the Liquid the block uses
 * (comment, assign, if/unless with comparisons and `blank`, for with forloop, the schema tag, and the
 * filters t, json, escape, default, append, asset_url) and throws on anything else, so the block cannot
 * grow a construct that the tests would silently render wrong.
 */

export const EXTENSION_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../extensions/tryon-lead-capture",
);
export const BLOCK_FILE = path.join(EXTENSION_DIR, "blocks/tryon-lead-capture.liquid");

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type LiquidContext = Record<string, unknown>;

export interface RenderOptions {
  /** Storefront translations (a locales/*.json file merged over en.default.json, as Shopify falls back). */
  translations: Record<string, Json>;
  /** What `asset_url` produces for a file name; Shopify's CDN URL, a local path in tests. */
  assetUrl: (file: string) => string;
}

export class LiquidError extends Error {}

// ---------------------------------------------------------------------------------------------- parsing

type Node =
  | { kind: "text"; text: string }
  | { kind: "output"; expr: string }
  | { kind: "assign"; name: string; expr: string }
  | { kind: "if"; branches: Array<{ cond: string | null; body: Node[] }>; negate: boolean }
  | { kind: "for"; item: string; collection: string; body: Node[] };

interface Token {
  type: "text" | "tag" | "output";
  value: string;
  trimLeft: boolean;
  trimRight: boolean;
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const re = /\{%(-?)([\s\S]*?)(-?)%\}|\{\{(-?)([\s\S]*?)(-?)\}\}/g;
  let last = 0;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    if (m.index > last) tokens.push({ type: "text", value: source.slice(last, m.index), trimLeft: false, trimRight: false });
    if (m[2] !== undefined) tokens.push({ type: "tag", value: m[2].trim(), trimLeft: m[1] === "-", trimRight: m[3] === "-" });
    else tokens.push({ type: "output", value: m[5]!.trim(), trimLeft: m[4] === "-", trimRight: m[6] === "-" });
    last = re.lastIndex;
  }
  if (last < source.length) tokens.push({ type: "text", value: source.slice(last), trimLeft: false, trimRight: false });
  // Whitespace control: {%- and -%} strip the neighbouring text's whitespace.
  tokens.forEach((t, i) => {
    if (t.type === "text") return;
    const before = tokens[i - 1];
    const after = tokens[i + 1];
    if (t.trimLeft && before?.type === "text") before.value = before.value.replace(/\s+$/, "");
    if (t.trimRight && after?.type === "text") after.value = after.value.replace(/^\s+/, "");
  });
  return tokens;
}

/** Splits the template into the renderable part and the JSON of its {% schema %} tag. */
export function parseBlock(source: string): { nodes: Node[]; schema: Record<string, unknown> | null } {
  const tokens = tokenize(source);
  let pos = 0;
  let schema: Record<string, unknown> | null = null;

  function parse(until: string[]): { nodes: Node[]; end: string | null } {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t.type === "text") {
        nodes.push({ kind: "text", text: t.value });
        continue;
      }
      if (t.type === "output") {
        nodes.push({ kind: "output", expr: t.value });
        continue;
      }
      const [word = "", ...rest] = t.value.split(/\s+/);
      const args = rest.join(" ");
      if (until.includes(word)) {
        pos--;
        return { nodes, end: word };
      }
      switch (word) {
        case "comment":
          while (pos < tokens.length && !(tokens[pos]!.type === "tag" && tokens[pos]!.value === "endcomment")) pos++;
          pos++;
          break;
        case "schema": {
          const body = tokens[pos++];
          const end = tokens[pos++];
          if (body?.type !== "text" || end?.value !== "endschema") throw new LiquidError("{% schema %} must hold only JSON");
          schema = JSON.parse(body.value) as Record<string, unknown>;
          break;
        }
        case "assign": {
          const m = /^([\w]+)\s*=\s*([\s\S]+)$/.exec(args);
          if (!m) throw new LiquidError(`Bad assign: ${t.value}`);
          nodes.push({ kind: "assign", name: m[1]!, expr: m[2]! });
          break;
        }
        case "if":
        case "unless": {
          const branches: Array<{ cond: string | null; body: Node[] }> = [];
          let cond: string | null = args;
          for (;;) {
            const part = parse(["elsif", "else", `end${word}`]);
            branches.push({ cond, body: part.nodes });
            const endTag = tokens[pos++]!;
            if (part.end === `end${word}`) break;
            if (part.end === null) throw new LiquidError(`Unclosed {% ${word} %}`);
            cond = part.end === "else" ? null : endTag.value.replace(/^elsif\s+/, "");
          }
          nodes.push({ kind: "if", branches, negate: word === "unless" });
          break;
        }
        case "for": {
          const m = /^(\w+)\s+in\s+([\w.]+)$/.exec(args);
          if (!m) throw new LiquidError(`Bad for: ${t.value}`);
          const part = parse(["endfor"]);
          if (part.end !== "endfor") throw new LiquidError("Unclosed {% for %}");
          pos++;
          nodes.push({ kind: "for", item: m[1]!, collection: m[2]!, body: part.nodes });
          break;
        }
        default:
          throw new LiquidError(`Unsupported tag {% ${word} %}`);
      }
    }
    return { nodes, end: null };
  }

  const { nodes } = parse([]);
  return { nodes, schema };
}

// ---------------------------------------------------------------------------------------------- evaluation

const BLANK = Symbol("blank");

function isBlank(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return true;
  if (typeof v === "string") return v.trim() === "";
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

/** Splits on a separator outside quotes. */
function splitOutside(s: string, sep: string): string[] {
  const out: string[] = [];
  let quote: string | null = null;
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      cur += c;
    } else if (s.startsWith(sep, i)) {
      out.push(cur);
      cur = "";
      i += sep.length - 1;
    } else cur += c;
  }
  out.push(cur);
  return out.map((p) => p.trim());
}

function lookup(scope: LiquidContext, expr: string): unknown {
  const e = expr.trim();
  if (/^'[^']*'$|^"[^"]*"$/.test(e)) return e.slice(1, -1);
  if (/^-?\d+(\.\d+)?$/.test(e)) return Number(e);
  if (e === "true") return true;
  if (e === "false") return false;
  if (e === "nil" || e === "null") return null;
  if (e === "blank" || e === "empty") return BLANK;
  if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(e)) throw new LiquidError(`Unsupported expression: ${e}`);
  let value: unknown = scope;
  for (const key of e.split(".")) {
    if (value === null || value === undefined) return null;
    value = (value as Record<string, unknown>)[key];
  }
  return value ?? null;
}

function translate(translations: Record<string, Json>, key: string): string {
  let value: Json | undefined = translations;
  for (const part of key.split(".")) value = value && typeof value === "object" && !Array.isArray(value) ? value[part] : undefined;
  if (typeof value !== "string") throw new LiquidError(`Translation missing: ${key}`);
  return value;
}

/** JSON for a <script> element, as Shopify's json filter writes it: <, > and & encoded. */
export function liquidJson(value: unknown): string {
  return JSON.stringify(value ?? null)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026");
}

export function escapeHtml(value: unknown): string {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

function evaluate(scope: LiquidContext, expr: string, options: RenderOptions): unknown {
  const [head = "", ...filters] = splitOutside(expr, "|");
  let value = lookup(scope, head);
  for (const filter of filters) {
    const m = /^(\w+)\s*(?::\s*([\s\S]*))?$/.exec(filter);
    if (!m) throw new LiquidError(`Bad filter: ${filter}`);
    const args = m[2] ? splitOutside(m[2], ",").map((a) => lookup(scope, a)) : [];
    switch (m[1]) {
      case "t":
        value = translate(options.translations, String(value));
        break;
      case "json":
        value = new RawJson(liquidJson(value));
        break;
      case "escape":
        value = escapeHtml(value);
        break;
      case "default":
        // Liquid's default: nil, false and empty strings or lists give way to the argument.
        value = value === null || value === undefined || value === false || value === "" || (Array.isArray(value) && !value.length) ? args[0] : value;
        break;
      case "append":
        value = String(value ?? "") + String(args[0] ?? "");
        break;
      case "asset_url":
        value = options.assetUrl(String(value));
        break;
      default:
        throw new LiquidError(`Unsupported filter: ${m[1]}`);
    }
  }
  return value;
}

class RawJson {
  constructor(readonly text: string) {}
  toString() {
    return this.text;
  }
}

function condition(scope: LiquidContext, cond: string, options: RenderOptions): boolean {
  const ors = splitOutside(cond, " or ");
  if (ors.length > 1) return ors.some((c) => condition(scope, c, options));
  const ands = splitOutside(cond, " and ");
  if (ands.length > 1) return ands.every((c) => condition(scope, c, options));
  const m = /^(.+?)\s*(==|!=|>=|<=|>|<)\s*(.+)$/.exec(cond.trim());
  if (!m) {
    const v = evaluate(scope, cond, options);
    return v !== null && v !== undefined && v !== false;
  }
  const a = evaluate(scope, m[1]!, options);
  const b = evaluate(scope, m[3]!, options);
  const eq = () => (a === BLANK ? isBlank(b) : b === BLANK ? isBlank(a) : a === b);
  switch (m[2]) {
    case "==":
      return eq();
    case "!=":
      return !eq();
    case ">":
      return Number(a) > Number(b);
    case "<":
      return Number(a) < Number(b);
    case ">=":
      return Number(a) >= Number(b);
    default:
      return Number(a) <= Number(b);
  }
}

function output(value: unknown): string {
  if (value === null || value === undefined || value === BLANK) return "";
  if (Array.isArray(value)) return value.map(output).join("");
  return String(value);
}

function run(nodes: Node[], scope: LiquidContext, options: RenderOptions): string {
  let html = "";
  for (const node of nodes) {
    switch (node.kind) {
      case "text":
        html += node.text;
        break;
      case "output":
        html += output(evaluate(scope, node.expr, options));
        break;
      case "assign": {
        const v = evaluate(scope, node.expr, options);
        scope[node.name] = v instanceof RawJson ? v.text : v;
        break;
      }
      case "if":
        for (const b of node.branches) {
          const pass = b.cond === null || condition(scope, b.cond, options) !== node.negate;
          if (pass) {
            html += run(b.body, scope, options);
            break;
          }
        }
        break;
      case "for": {
        const list = lookup(scope, node.collection);
        const items = Array.isArray(list) ? list : [];
        items.forEach((item, index) => {
          const inner: LiquidContext = Object.create(scope) as LiquidContext;
          inner[node.item] = item;
          inner.forloop = { index: index + 1, index0: index, first: index === 0, last: index === items.length - 1, length: items.length };
          html += run(node.body, inner, options);
        });
        break;
      }
    }
  }
  return html;
}

export function renderLiquid(source: string, context: LiquidContext, options: RenderOptions) {
  const { nodes, schema } = parseBlock(source);
  return { html: run(nodes, { ...context }, options), schema };
}

// ---------------------------------------------------------------------------------------------- the block

function deepMerge(base: Record<string, Json>, over: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && b && typeof b === "object" && !Array.isArray(b)
        ? deepMerge(b as Record<string, Json>, v as Record<string, Json>)
        : v;
  }
  return out;
}

export function readJson<T = Record<string, Json>>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

export function localeFiles(kind: "storefront" | "schema"): string[] {
  return readdirSync(path.join(EXTENSION_DIR, "locales"))
    .filter((f) => f.endsWith(".json") && f.endsWith(".schema.json") === (kind === "schema"))
    .sort();
}

/** Storefront translations for a locale as Shopify resolves them: the locale's file over the default. */
export function storefrontTranslations(locale: string): Record<string, Json> {
  const fallback = readJson(path.join(EXTENSION_DIR, "locales/en.default.json"));
  const file = path.join(EXTENSION_DIR, `locales/${locale}.json`);
  if (locale === "en") return fallback;
  return deepMerge(fallback, readJson(file));
}

export interface BlockRender {
  html: string;
  schema: Record<string, unknown>;
}

/** Renders the extension's block with a storefront context, as Shopify would on a product page. */
export function renderBlock(context: LiquidContext, locale = "en", assetBase = "/assets/"): BlockRender {
  const source = readFileSync(BLOCK_FILE, "utf8");
  const { html, schema } = renderLiquid(source, context, {
    translations: storefrontTranslations(locale),
    assetUrl: (file) => `${assetBase}${file}`,
  });
  if (!schema) throw new LiquidError("The block has no {% schema %}");
  return { html, schema };
}
