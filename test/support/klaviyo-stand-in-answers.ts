import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Problem } from "./klaviyo-stand-in-checks";

/**
 * How the Klaviyo stand-in answers: JSON:API documents and Klaviyo-shaped errors, and the two reads
 * (Get Accounts with sparse fieldsets, Get Lists with cursor pages of at most ten), shaped after Klaviyo's
 * OpenAPI response schemas.
 */

/** Where Klaviyo's answers point (`links`), whatever address the stand-in listens on. */
export const KLAVIYO_ORIGIN = "https://a.klaviyo.com";

export interface StandInList {
  id: string;
  name: string;
  optInProcess?: "single_opt_in" | "double_opt_in";
}

export interface StandInAccount {
  id: string;
  organizationName: string;
  testAccount?: boolean;
  /** Oldest first. */
  lists?: StandInList[];
}

export function jsonApi(res: ServerResponse, status: number, document: unknown, headers: Record<string, string> = {}): number {
  const body = document === undefined ? "" : JSON.stringify(document);
  res.writeHead(status, { ...(body ? { "content-type": "application/vnd.api+json" } : {}), ...headers });
  res.end(body);
  return status;
}

export function klaviyoErrors(res: ServerResponse, status: number, code: string, title: string, problems: Problem[] | string, headers: Record<string, string> = {}): number {
  const items = (typeof problems === "string" ? [{ detail: problems, pointer: "" }] : problems).map((p) => ({
    id: randomUUID(), status, code, title, detail: p.detail, ...(p.pointer ? { source: { pointer: p.pointer } } : {}), links: {}, meta: {},
  }));
  return jsonApi(res, status, { errors: items }, headers);
}

const ACCOUNT_FIELDS = [
  "test_account", "contact_information", "contact_information.default_sender_name", "contact_information.default_sender_email",
  "contact_information.website_url", "contact_information.organization_name", "contact_information.street_address",
  "industry", "timezone", "preferred_currency", "public_api_key", "locale",
];

export function accountsAnswer(res: ServerResponse, account: StandInAccount, url: URL, headers: Record<string, string>): number {
  const attributes: Record<string, unknown> = {
    test_account: account.testAccount ?? false,
    contact_information: {
      default_sender_name: account.organizationName, default_sender_email: "owner@demo-store.example", website_url: null,
      organization_name: account.organizationName, street_address: { address1: null, address2: null, city: null, region: null, country: "US", zip: null },
    },
    industry: null, timezone: "US/Eastern", preferred_currency: "USD", public_api_key: "AbC123", locale: "en-US",
  };
  const fields = url.searchParams.get("fields[account]");
  let shown = attributes;
  if (fields) {
    const wanted = fields.split(",");
    const unknown = wanted.find((f) => !ACCOUNT_FIELDS.includes(f));
    if (unknown) return klaviyoErrors(res, 400, "invalid", "Invalid input.", [{ detail: `'${unknown}' is not a valid field for the resource 'account'.`, pointer: "" }], headers);
    shown = {};
    for (const field of wanted) {
      const [top, sub] = field.split(".");
      if (!sub) shown[top] = attributes[top];
      else shown[top] = { ...(shown[top] as object), [sub]: (attributes[top] as Record<string, unknown>)[sub] };
    }
  }
  const self = `${KLAVIYO_ORIGIN}/api/accounts/${account.id}/`;
  return jsonApi(res, 200, { data: [{ type: "account", id: account.id, attributes: shown, links: { self } }], links: { self: `${KLAVIYO_ORIGIN}/api/accounts/` } }, headers);
}

const LIST_FIELDS = ["created", "id", "name", "opt_in_process", "updated"];
const LIST_SORTS = ["created", "-created", "id", "-id", "name", "-name", "updated", "-updated"];

export function listsAnswer(res: ServerResponse, account: StandInAccount, url: URL, headers: Record<string, string>): number {
  const q = url.searchParams;
  const size = q.has("page[size]") ? Number(q.get("page[size]")) : 10;
  if (!Number.isInteger(size) || size < 1 || size > 10) return klaviyoErrors(res, 400, "invalid", "Invalid input.", [{ detail: "page[size] must be between 1 and 10.", pointer: "" }], headers);
  const sort = q.get("sort");
  if (sort !== null && !LIST_SORTS.includes(sort)) return klaviyoErrors(res, 400, "invalid", "Invalid input.", [{ detail: `'${sort}' is not a valid sort field.`, pointer: "" }], headers);
  const fields = q.get("fields[list]")?.split(",");
  const unknown = fields?.find((f) => !LIST_FIELDS.includes(f));
  if (unknown) return klaviyoErrors(res, 400, "invalid", "Invalid input.", [{ detail: `'${unknown}' is not a valid field for the resource 'list'.`, pointer: "" }], headers);
  const cursor = q.get("page[cursor]");
  const offset = cursor === null ? 0 : Number(Buffer.from(cursor, "base64url").toString("utf8").replace(/^offset:/, ""));
  if (!Number.isInteger(offset) || offset < 0) return klaviyoErrors(res, 400, "invalid", "Invalid input.", [{ detail: "Invalid page cursor.", pointer: "" }], headers);

  const created = (i: number) => new Date(Date.UTC(2026, 0, 1 + i)).toISOString();
  let all = (account.lists ?? []).map((l, i) => ({ ...l, created: created(i) }));
  if (sort) {
    const key = sort.replace(/^-/, "") as "created" | "id" | "name" | "updated";
    const field = key === "updated" ? "created" : key;
    all = [...all].sort((x, y) => String(x[field]).localeCompare(String(y[field])) * (sort.startsWith("-") ? -1 : 1));
  }
  const page = all.slice(offset, offset + size);
  const data = page.map((l) => {
    const attributes: Record<string, unknown> = { name: l.name, created: l.created, updated: l.created, opt_in_process: l.optInProcess ?? "single_opt_in" };
    const shown = fields ? Object.fromEntries(Object.entries(attributes).filter(([k]) => fields.includes(k))) : attributes;
    return { type: "list", id: l.id, attributes: shown, links: { self: `${KLAVIYO_ORIGIN}/api/lists/${l.id}/` } };
  });
  const linkTo = (at: number) => {
    const next = new URLSearchParams(q);
    next.set("page[cursor]", Buffer.from(`offset:${at}`).toString("base64url"));
    return `${KLAVIYO_ORIGIN}/api/lists/?${next.toString()}`;
  };
  const links = {
    self: `${KLAVIYO_ORIGIN}/api/lists/?${q.toString()}`,
    ...(offset + size < all.length ? { next: linkTo(offset + size) } : {}),
    ...(offset > 0 ? { prev: linkTo(Math.max(0, offset - size)) } : {}),
  };
  return jsonApi(res, 200, { data, links }, headers);
}

