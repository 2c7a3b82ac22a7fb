import type { AttemptFailure } from "../../delivery/types";
import { classifyKlaviyoResult } from "./classify";
import { KLAVIYO_BASE_URL, KLAVIYO_OPERATION_SCOPES, KLAVIYO_PATHS, normaliseApiKey, type KlaviyoExchange } from "./klaviyo-api";
import { jsonDocumentOf } from "./klaviyo-text";
import { buildGetListsRequest } from "./requests";

/**
 * The account's lists, for the merchant to pick the one consenting shoppers join. Klaviyo pages them ten
 * at a time, so the walk stops at a cap and says so; it asks for the newest first, so a list the merchant
 * has just made for try-on leads is always among those shown.
 */

/** Ten pages of Klaviyo's ten: a second or two of reads, far more lists than a picker can show usefully. */
export const MAX_KLAVIYO_LISTS = 100;

export interface KlaviyoList {
  id: string;
  name: string;
  /** "double_opt_in" lists email the shopper to confirm before they are subscribed. */
  optInProcess: "single_opt_in" | "double_opt_in" | null;
}

export type KlaviyoListsResult =
  | { ok: true; lists: KlaviyoList[]; /** More lists exist than were fetched. */ truncated: boolean }
  | { ok: false; /** Plain words; never the key. */ message: string; keyRejected: boolean };

export async function fetchKlaviyoLists(params: {
  apiKey: string;
  exchange: KlaviyoExchange;
  /** Default MAX_KLAVIYO_LISTS. */
  maxLists?: number;
  now?: () => Date;
}): Promise<KlaviyoListsResult> {
  const now = params.now ?? (() => new Date());
  const apiKey = normaliseApiKey(params.apiKey);
  const max = params.maxLists ?? MAX_KLAVIYO_LISTS;
  const lists: KlaviyoList[] = [];
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const answer = await params.exchange(buildGetListsRequest(apiKey, cursor));
    const result = classifyKlaviyoResult(answer, { operation: "get_lists", apiKey, now: now() });
    if (!result.ok) return failureOf(result);
    const page = answer.ok ? pageOf(answer.body) : null;
    if (!page) return { ok: false, keyRejected: false, message: "Klaviyo's list of lists could not be read. Try again in a minute." };
    for (const list of page.lists) {
      if (lists.length === max) return { ok: true, lists, truncated: true };
      lists.push(list);
    }
    // A cursor seen before would walk in a circle.
    if (!page.nextCursor || seenCursors.has(page.nextCursor)) return { ok: true, lists, truncated: false };
    if (lists.length === max) return { ok: true, lists, truncated: true };
    seenCursors.add(page.nextCursor);
    cursor = page.nextCursor;
  }
}

function failureOf(failure: AttemptFailure): KlaviyoListsResult {
  if (failure.errorCode === "credentials_rejected") {
    const scopes = [...KLAVIYO_OPERATION_SCOPES.get_lists, ...KLAVIYO_OPERATION_SCOPES.bulk_subscribe_profiles].join(", ");
    const message = failure.statusCode === 401
      ? "Klaviyo rejected the key. Connect a new private API key to pick a list."
      : `This key may not read lists. To subscribe shoppers to a list, create a private API key with ${scopes}.`;
    return { ok: false, keyRejected: true, message };
  }
  if (failure.errorCode === "rate_limited") return { ok: false, keyRejected: false, message: "Klaviyo asks us to wait a moment. Try again in a minute." };
  return { ok: false, keyRejected: false, message: "We could not load your Klaviyo lists right now. Try again in a minute." };
}

interface ListsPage {
  lists: KlaviyoList[];
  nextCursor: string | null;
}

function pageOf(body: Buffer): ListsPage | null {
  const document = jsonDocumentOf(body) as { data?: unknown; links?: { next?: unknown } } | null | undefined;
  if (!document || !Array.isArray(document.data)) return null;
  const lists: KlaviyoList[] = [];
  for (const item of document.data as unknown[]) {
    const { type, id, attributes } = (item ?? {}) as { type?: unknown; id?: unknown; attributes?: { name?: unknown; opt_in_process?: unknown } };
    if (type !== "list" || typeof id !== "string" || id.length === 0) continue;
    const optIn = attributes?.opt_in_process;
    lists.push({
      id,
      name: typeof attributes?.name === "string" && attributes.name.trim() ? attributes.name : "(unnamed list)",
      optInProcess: optIn === "single_opt_in" || optIn === "double_opt_in" ? optIn : null,
    });
  }
  return { lists, nextCursor: cursorOf(document.links?.next) };
}

/**
 * Only the cursor is taken from Klaviyo's `links.next`; the next request is built again on the fixed base
 * URL, so an answer can never send the key anywhere else.
 */
function cursorOf(next: unknown): string | null {
  if (typeof next !== "string" || !URL.canParse(next)) return null;
  const url = new URL(next);
  const base = new URL(KLAVIYO_BASE_URL);
  if (url.origin !== base.origin || url.pathname.replace(/\/$/, "") !== KLAVIYO_PATHS.lists) return null;
  const cursor = url.searchParams.get("page[cursor]");
  return cursor && cursor.length > 0 ? cursor : null;
}
