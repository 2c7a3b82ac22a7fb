import type { AttemptFailure } from "../../delivery/types";
import { classifyKlaviyoResult } from "./classify";
import { KLAVIYO_OPERATION_SCOPES, keyLastFour, KlaviyoKeyFormatError, normaliseApiKey, type KlaviyoExchange, type KlaviyoOperation } from "./klaviyo-api";
import { jsonDocumentOf } from "./klaviyo-text";
import { buildGetAccountsRequest, buildGetListsRequest } from "./requests";

/**
 * Checking a pasted key before it is saved, with harmless reads only, and saying in plain words what is
 * wrong for a merchant without a developer.
 *
 * What can be known up front: that the key is a valid private key (Get Accounts, which Klaviyo documents
 * for exactly this), that it may read accounts and, when list subscription is on, lists (Get Lists).
 * What cannot: the write scopes (events:write, profiles:write, subscriptions:write, lists:write,
 * data-privacy:write). Klaviyo has no endpoint that reports a key's scopes, and the only way to test a
 * write permission is to write. So the result names them as unconfirmed, and the first send that lacks
 * one answers 403, which pauses the destination with "Klaviyo rejected the key" (see classify.ts).
 */

export interface KlaviyoFeatures {
  /** Subscribe consenting shoppers to a chosen list. */
  listSubscription: boolean;
  /** Ask Klaviyo to delete the profile when a shopper's data is erased here. */
  profileDeletion: boolean;
}

/** Every scope the chosen features need, the key check's own `accounts:read` first. */
export function requiredKlaviyoScopes(features: KlaviyoFeatures): string[] {
  const operations: KlaviyoOperation[] = ["get_accounts", "create_event"];
  if (features.listSubscription) operations.push("get_lists", "bulk_subscribe_profiles");
  if (features.profileDeletion) operations.push("request_profile_deletion");
  return [...new Set(operations.flatMap((o) => KLAVIYO_OPERATION_SCOPES[o]))];
}

export interface KlaviyoAccount {
  id: string;
  /** The organization name set in Klaviyo, to show the merchant which account the key opens. */
  organizationName: string | null;
  testAccount: boolean;
}

export type KlaviyoKeyProblem = "invalid_key" | "missing_scope" | "unreachable" | "rate_limited" | "unexpected";

export type KlaviyoKeyCheck =
  | {
      ok: true;
      /** The key as it should be stored (trimmed). */
      apiKey: string;
      keyLastFour: string;
      account: KlaviyoAccount;
      /** Shown by a harmless read to be granted. */
      confirmedScopes: string[];
      /** Needed, but Klaviyo offers no way to check them without writing; the first send will tell. */
      unconfirmedScopes: string[];
      message: string;
    }
  | {
      ok: false;
      problem: KlaviyoKeyProblem;
      message: string;
      /** With `missing_scope`: the scopes a read was refused for. */
      missingScopes?: string[];
      /** With `rate_limited`: how long Klaviyo asked us to wait. */
      retryAfterMs?: number;
    };

export interface KeyCheckParams {
  /** As pasted. */
  apiKey: string;
  features: KlaviyoFeatures;
  /** For an admin page, a sender with a short deadline (a few seconds) suits better than the worker's. */
  exchange: KlaviyoExchange;
  now?: () => Date;
}

export async function checkKlaviyoKey(params: KeyCheckParams): Promise<KlaviyoKeyCheck> {
  const now = params.now ?? (() => new Date());
  const required = requiredKlaviyoScopes(params.features);
  let apiKey: string;
  try {
    apiKey = normaliseApiKey(params.apiKey);
  } catch (error) {
    if (!(error instanceof KlaviyoKeyFormatError)) throw error;
    return { ok: false, problem: "invalid_key", message: `${notAKey} ${whereKeysAre}` };
  }

  const accounts = await params.exchange(buildGetAccountsRequest(apiKey));
  const accountsResult = classifyKlaviyoResult(accounts, { operation: "get_accounts", apiKey, now: now() });
  if (!accountsResult.ok) return problemOf(accountsResult, "get_accounts", required, apiKey);
  const account = accounts.ok ? accountOf(accounts.body) : null;
  if (!account) return { ok: false, problem: "unexpected", message: "Klaviyo accepted the key but its answer did not name an account. Try again in a minute." };

  const confirmed = [...KLAVIYO_OPERATION_SCOPES.get_accounts];
  if (params.features.listSubscription) {
    const lists = await params.exchange(buildGetListsRequest(apiKey));
    const listsResult = classifyKlaviyoResult(lists, { operation: "get_lists", apiKey, now: now() });
    if (!listsResult.ok) return problemOf(listsResult, "get_lists", required, apiKey);
    confirmed.push(...KLAVIYO_OPERATION_SCOPES.get_lists);
  }

  const unconfirmed = required.filter((s) => !confirmed.includes(s));
  const where = account.organizationName ? ` for ${account.organizationName}` : "";
  return {
    ok: true,
    apiKey,
    keyLastFour: keyLastFour(apiKey),
    account,
    confirmedScopes: confirmed,
    unconfirmedScopes: unconfirmed,
    message:
      `Klaviyo accepted the key${where}. Klaviyo does not let apps check write permissions in advance, so make sure the key also has ` +
      `${unconfirmed.join(", ")}; if one is missing, the first send pauses this destination and says so. A test send confirms it.`,
  };
}

const notAKey = "This is not a Klaviyo private API key.";
const whereKeysAre = "In Klaviyo, open Settings, then API keys, create a private API key and paste all of it (it starts with pk_).";

function problemOf(failure: AttemptFailure, operation: KlaviyoOperation, required: string[], apiKey: string): KlaviyoKeyCheck {
  const scopeList = required.join(", ");
  switch (failure.errorCode) {
    case "credentials_rejected": {
      if (failure.statusCode === 401) {
        const hint = apiKey.startsWith("pk_") ? "Check that you copied all of it, and that it was not deleted in Klaviyo." : "Private API keys start with pk_; the six-character public key (site ID) does not work here.";
        return { ok: false, problem: "invalid_key", message: `Klaviyo did not accept this key. ${hint} ${whereKeysAre}` };
      }
      const missing = [...KLAVIYO_OPERATION_SCOPES[operation]];
      return {
        ok: false,
        problem: "missing_scope",
        missingScopes: missing,
        message: `This key lacks the ${missing.join(", ")} permission. In Klaviyo, create a private API key with these scopes: ${scopeList}, and paste it here.`,
      };
    }
    case "rate_limited":
      return {
        ok: false,
        problem: "rate_limited",
        ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
        message: "Klaviyo asks us to wait before checking again (it allows one key check per second and 15 a minute per account). Try again in a minute; nothing was saved.",
      };
    case "request_rejected":
      return { ok: false, problem: "unexpected", message: `Klaviyo refused the key check (${statusOf(failure)}). ${tryAgain}` };
    case "timeout":
      return { ok: false, problem: "unreachable", message: `Klaviyo did not answer in time. ${tryAgain}` };
    case "http_status":
    case "redirect":
      return { ok: false, problem: "unreachable", message: `Klaviyo could not take the key check right now (${statusOf(failure)}). ${tryAgain}` };
    default:
      return { ok: false, problem: "unreachable", message: `We could not connect to Klaviyo. ${tryAgain}` };
  }
}

const tryAgain = "Try again in a minute; nothing was saved.";

function statusOf(failure: AttemptFailure): string {
  return failure.statusCode ? `HTTP ${failure.statusCode}` : failure.errorCode;
}

function accountOf(body: Buffer): KlaviyoAccount | null {
  const data = (jsonDocumentOf(body) as { data?: unknown } | null | undefined)?.data;
  const first: unknown = Array.isArray(data) ? data[0] : undefined;
  if (typeof first !== "object" || first === null) return null;
  const { id, attributes } = first as { id?: unknown; attributes?: { test_account?: unknown; contact_information?: { organization_name?: unknown } } };
  if (typeof id !== "string" || id.length === 0) return null;
  const name = attributes?.contact_information?.organization_name;
  return { id, organizationName: typeof name === "string" && name.trim() ? name.trim() : null, testAccount: attributes?.test_account === true };
}
