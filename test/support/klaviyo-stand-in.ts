import { createServer, type Server } from "node:https";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createWebhookSender } from "../../app/delivery/http-sender.server";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { KLAVIYO_BASE_URL, type KlaviyoExchange } from "../../app/destinations/klaviyo/klaviyo-api";
import {
  checkBulkSubscribe, checkCreateEvent, checkProfileDeletion,
  type DeletionWrite, type EventWrite, type SubscriptionWrite,
} from "./klaviyo-stand-in-checks";
import { accountsAnswer, jsonApi, KLAVIYO_ORIGIN, klaviyoErrors, listsAnswer, type StandInAccount } from "./klaviyo-stand-in-answers";
import { getTestCertificates } from "./test-certificates";

export type { StandInAccount, StandInList } from "./klaviyo-stand-in-answers";

/**
 * A local Klaviyo for tests: real HTTPS on loopback (trusting `standIn.ca`), checking what Klaviyo checks
 * and answering the way Klaviyo answers, so that tests against it can fail.
 *
 * - `Authorization: Klaviyo-API-Key <key>`: another scheme, or an unknown key, is 401; a key without the
 *   endpoint's scope (keys are configured with their scopes) is 403.
 * - A `revision` header naming a GA revision; JSON:API `content-type` on writes; JSON:API bodies with the
 *   required attributes per endpoint (klaviyo-stand-in-checks.ts). Problems are 400s in Klaviyo's error
 *   shape (`errors[]` with id, status, code, title, detail, source.pointer).
 * - Create Event keeps one event per profile, metric and unique_id (or per second without one), as Klaviyo
 *   does, and still answers 202 to the repeat.
 * - An optional rate limit per account and endpoint in fixed windows of one second and one minute: over
 *   it, 429 with Retry-After (whole seconds to the end of the window). Klaviyo's windows follow the clock;
 *   here each opens with its first request, so a test's timing never straddles a boundary by chance.
 * - Records every request (`requests`) and every write it accepted (`events`, `subscriptions`, `deletions`).
 *
 * The known revisions, scopes and limits here are written from Klaviyo's documentation, not imported
 * from the app, so a wrong constant in the app fails a test.
 */

/** GA revisions Klaviyo still serves, from its changelog (each is supported for two years). */
export const KLAVIYO_GA_REVISIONS = [
  "2026-10-15", "2026-07-15", "2026-04-15", "2026-01-15", "2025-10-15", "2025-07-15", "2025-04-15", "2025-01-15",
] as const;

type Operation = "get_accounts" | "get_lists" | "create_event" | "bulk_subscribe_profiles" | "request_profile_deletion";

const ROUTES: Record<string, { method: "GET" | "POST"; operation: Operation; scopes: string[] }> = {
  "/api/accounts": { method: "GET", operation: "get_accounts", scopes: ["accounts:read"] },
  "/api/lists": { method: "GET", operation: "get_lists", scopes: ["lists:read"] },
  "/api/events": { method: "POST", operation: "create_event", scopes: ["events:write"] },
  "/api/profile-subscription-bulk-create-jobs": { method: "POST", operation: "bulk_subscribe_profiles", scopes: ["lists:write", "profiles:write", "subscriptions:write"] },
  "/api/data-privacy-deletion-jobs": { method: "POST", operation: "request_profile_deletion", scopes: ["data-privacy:write"] },
};

export const ALL_SCOPES = [...new Set(Object.values(ROUTES).flatMap((r) => r.scopes))];

export interface StandInKey {
  key: string;
  scopes: readonly string[];
  /** Account id; default the first account. */
  account?: string;
}

export interface StandInRateLimit {
  burstPerSecond: number;
  steadyPerMinute: number;
}

export interface KlaviyoStandInOptions {
  keys: StandInKey[];
  /** Default: one account, `acct_demo`, "Demo Store", no lists. */
  accounts?: StandInAccount[];
  /** Applied per account and endpoint; default none. */
  rateLimit?: StandInRateLimit;
}

/** An answer forced on the next request (before any check), e.g. an outage or a proxy's page. */
export type ScriptedAnswer = { status: number; headers?: Record<string, string>; body?: string } | { hang: true };

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** What the stand-in answered. */
  status: number;
}

export interface RecordedEvent extends EventWrite {
  account: string;
}
export interface RecordedSubscription extends SubscriptionWrite {
  account: string;
}
export interface RecordedDeletion extends DeletionWrite {
  account: string;
}

export interface KlaviyoStandIn {
  /** e.g. `https://127.0.0.1:41234` */
  url: string;
  ca: string;
  requests: RecordedRequest[];
  events: RecordedEvent[];
  subscriptions: RecordedSubscription[];
  deletions: RecordedDeletion[];
  /** Answers the next requests, whatever they are, with these. */
  failNext(...answers: ScriptedAnswer[]): void;
  /** Answers the next requests to this path (e.g. `/api/profile-subscription-bulk-create-jobs`) with these. */
  failNextOn(path: string, ...answers: ScriptedAnswer[]): void;
  close(): Promise<void>;
}

export async function startKlaviyoStandIn(options: KlaviyoStandInOptions): Promise<KlaviyoStandIn> {
  const { ca, cert, key } = getTestCertificates();
  const accounts = options.accounts ?? [{ id: "acct_demo", organizationName: "Demo Store" }];
  const keys = new Map(options.keys.map((k) => [k.key, { scopes: new Set(k.scopes), account: k.account ?? accounts[0].id }]));
  const requests: RecordedRequest[] = [];
  const events: RecordedEvent[] = [];
  const subscriptions: RecordedSubscription[] = [];
  const deletions: RecordedDeletion[] = [];
  const eventKeys = new Set<string>();
  const scripted: { answer: ScriptedAnswer; path?: string }[] = [];
  /** Fixed windows, each opened by the first request after the previous one closed (so tests are deterministic). */
  const windows = new Map<string, { start: number; count: number }>();

  /** Counts a request against both windows; the seconds to wait when either is full. */
  function throttled(account: string, operation: Operation, now: number): number | null {
    const limit = options.rateLimit;
    if (!limit) return null;
    const checks = [
      { id: `${account}|${operation}|second`, size: 1_000, max: limit.burstPerSecond },
      { id: `${account}|${operation}|minute`, size: 60_000, max: limit.steadyPerMinute },
    ];
    const open = checks.map(({ id, size, max }) => {
      const counter = windows.get(id);
      return { id, size, max, counter: counter && now - counter.start < size ? counter : { start: now, count: 0 } };
    });
    const full = open.filter((w) => w.counter.count >= w.max);
    if (full.length > 0) return Math.max(...full.map((w) => Math.max(1, Math.ceil((w.counter.start + w.size - now) / 1000))));
    for (const w of open) windows.set(w.id, { start: w.counter.start, count: w.counter.count + 1 });
    return null;
  }

  function rateHeaders(account: string, operation: Operation, now: number): Record<string, string> {
    const limit = options.rateLimit;
    if (!limit) return {};
    const minute = windows.get(`${account}|${operation}|minute`);
    const used = minute && now - minute.start < 60_000 ? minute.count : 0;
    return {
      "ratelimit-limit": String(limit.steadyPerMinute),
      "ratelimit-remaining": String(Math.max(0, limit.steadyPerMinute - used)),
      "ratelimit-reset": String(minute ? Math.ceil((minute.start + 60_000 - now) / 1000) : 60),
    };
  }

  function handle(req: IncomingMessage, res: ServerResponse, url: URL, rawBody: Buffer): number {
    const route = ROUTES[url.pathname.replace(/\/$/, "")];
    if (!route) return klaviyoErrors(res, 404, "not_found", "Not found.", "Not found.");
    if (req.method !== route.method) return klaviyoErrors(res, 405, "method_not_allowed", "Method not allowed.", `Method "${req.method}" not allowed.`);

    const auth = /^Klaviyo-API-Key (\S+)$/.exec(req.headers.authorization ?? "");
    if (!auth) return klaviyoErrors(res, 401, "not_authenticated", "Authentication credentials were not provided.", "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.");
    const caller = keys.get(auth[1]);
    if (!caller) return klaviyoErrors(res, 401, "authentication_failed", "Incorrect authentication credentials.", "Incorrect authentication credentials.");

    const revision = req.headers.revision;
    if (typeof revision !== "string" || !(KLAVIYO_GA_REVISIONS as readonly string[]).includes(revision)) {
      return klaviyoErrors(res, 400, "invalid", "Invalid input.", revision ? `Invalid revision header: ${String(revision)}` : "Missing revision header.");
    }
    if (!route.scopes.every((s) => caller.scopes.has(s))) {
      return klaviyoErrors(res, 403, "permission_denied", "You do not have permission to perform this action.", "You do not have permission to perform this action.");
    }
    const now = Date.now();
    const wait = throttled(caller.account, route.operation, now);
    if (wait !== null) {
      return klaviyoErrors(res, 429, "throttled", "Request was throttled.", `Request was throttled. Expected available in ${wait} second${wait === 1 ? "" : "s"}.`, { "retry-after": String(wait) });
    }
    const limits = rateHeaders(caller.account, route.operation, now);
    const accept = req.headers.accept;
    if (accept && !/application\/(vnd\.api\+)?json|\*\/\*/.test(accept)) return klaviyoErrors(res, 406, "not_acceptable", "Not acceptable.", "Could not satisfy the request Accept header.", limits);
    const account = accounts.find((a) => a.id === caller.account)!;
    if (route.method === "GET") return route.operation === "get_accounts" ? accountsAnswer(res, account, url, limits) : listsAnswer(res, account, url, limits);

    if (req.headers["content-type"] !== "application/vnd.api+json") {
      return klaviyoErrors(res, 415, "unsupported_media_type", "Unsupported media type.", `Unsupported media type "${req.headers["content-type"] ?? ""}" in request.`, limits);
    }
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString("utf8"));
    } catch {
      return klaviyoErrors(res, 400, "parse_error", "Malformed request.", "JSON parse error.", limits);
    }
    const at = new Date(now);
    if (route.operation === "create_event") {
      const checked = checkCreateEvent(body, at);
      if (!checked.ok) return klaviyoErrors(res, 400, "invalid", "Invalid input.", checked.problems, limits);
      const event = checked.value;
      const dedupe = `${caller.account}|${event.metric}|${event.profileKey}|${event.uniqueId ?? `time:${Math.floor(Date.parse(event.time ?? at.toISOString()) / 1000)}`}`;
      if (!eventKeys.has(dedupe)) {
        eventKeys.add(dedupe);
        events.push({ ...event, account: caller.account });
      }
      return jsonApi(res, 202, undefined, limits);
    }
    if (route.operation === "bulk_subscribe_profiles") {
      const checked = checkBulkSubscribe(body, at);
      if (!checked.ok) return klaviyoErrors(res, 400, "invalid", "Invalid input.", checked.problems, limits);
      const { listId } = checked.value;
      if (listId && !(account.lists ?? []).some((l) => l.id === listId)) {
        return klaviyoErrors(res, 404, "not_found", "Not found.", [{ detail: `A list with id ${listId} does not exist.`, pointer: "/data/relationships/list/data/id" }], limits);
      }
      subscriptions.push({ ...checked.value, account: caller.account });
      return jsonApi(res, 202, undefined, limits);
    }
    const checked = checkProfileDeletion(body);
    if (!checked.ok) return klaviyoErrors(res, 400, "invalid", "Invalid input.", checked.problems, limits);
    deletions.push({ ...checked.value, account: caller.account });
    return jsonApi(res, 202, undefined, limits);
  }

  const server: Server = createServer({ ca, cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks);
      const url = new URL(req.url ?? "/", KLAVIYO_ORIGIN);
      const record: RecordedRequest = { method: req.method ?? "", path: url.pathname, query: url.searchParams, headers: req.headers, rawBody, status: 0 };
      requests.push(record);
      const at = scripted.findIndex((s) => s.path === undefined || s.path === url.pathname);
      const script = at === -1 ? undefined : scripted.splice(at, 1)[0].answer;
      if (script && "hang" in script) return;
      if (script) {
        res.writeHead(script.status, script.headers);
        res.end(script.body ?? "");
        record.status = script.status;
        return;
      }
      record.status = handle(req, res, url, rawBody);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    ca,
    requests, events, subscriptions, deletions,
    failNext: (...answers) => void scripted.push(...answers.map((answer) => ({ answer }))),
    failNextOn: (path, ...answers) => void scripted.push(...answers.map((answer) => ({ answer, path }))),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * What a test passes as the transport: the product's own sender (SSRF guard, deadline) allowed to dial
 * loopback and trusting the test CA, with Klaviyo's fixed base URL rewritten to the stand-in. A request
 * anywhere else is a bug in the code under test and throws.
 */
export function standInExchange(standIn: KlaviyoStandIn, options: { deadlineMs?: number } = {}): { exchange: KlaviyoExchange; close(): void } {
  const sender = createWebhookSender({
    extraCa: standIn.ca,
    policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }),
    deadlineMs: options.deadlineMs ?? 3_000,
  });
  return {
    exchange: (request) => {
      if (!request.url.startsWith(`${KLAVIYO_BASE_URL}/`)) throw new Error(`a request left Klaviyo's base URL: ${request.url}`);
      return sender.exchange({ ...request, url: `${standIn.url}${request.url.slice(KLAVIYO_BASE_URL.length)}` });
    },
    close: () => sender.close(),
  };
}
