import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { setAbstractFetchFunc } from "@shopify/shopify-api/runtime";

/**
 * A local stand-in for Shopify's Admin GraphQL API, served through the library's own fetch hook, so the
 * app's real Admin client (offline session, API version, headers) runs unchanged. It answers the customer
 * operations the app uses, keeps customers in memory per shop, and limits each shop as Shopify documents:
 * a leaky bucket of cost points per app and store, sized by the store's plan, that must hold a query's
 * requested cost before it runs and is refunded the difference with its actual cost afterwards. Every
 * answer reports `extensions.cost`; a query that does not fit gets Shopify's THROTTLED answer (HTTP 200),
 * or 429 with Retry-After in that mode. It can answer after a latency and be told to fail.
 *
 * In-process, `install()` routes the library's fetch here. For other OS processes, `serve()` exposes the same
 * handler over HTTP on loopback and `installForwardingFetch(url)`, called in the child, sends its calls there.
 */
export interface FakeCustomer {
  id: string;
  email: string;
  tags: string[];
  marketingState: string;
}

export interface AdminCall {
  shop: string;
  operation: string;
  variables: Record<string, any>;
  accessToken: string | null;
  /** When the call arrived (the stand-in's clock, ms). */
  at: number;
  outcome: "answered" | "throttled" | "failed";
}

/** Bucket size and restore rate (points per second) by plan, as Shopify publishes them for the GraphQL Admin API. */
export const PLANS = {
  standard: { size: 2_000, restoreRate: 100 },
  advanced: { size: 4_000, restoreRate: 200 },
  plus: { size: 20_000, restoreRate: 1_000 },
} as const;

export type Failure = "http500" | "graphqlError" | "throttled";

export type Plan = keyof typeof PLANS | { size: number; restoreRate: number };

export interface FakeAdminApiOptions {
  /** Added before every answer. @defaultValue 0 */
  latencyMs?: number;
  /** @defaultValue "standard" */
  defaultPlan?: Plan;
  /** How a query that does not fit is refused: Shopify's THROTTLED error with HTTP 200, or HTTP 429 with Retry-After. */
  throttleWith?: "graphql" | "http429";
  /** The stand-in's clock, in ms. @defaultValue performance.now */
  now?: () => number;
}

interface Bucket {
  size: number;
  restoreRate: number;
  available: number;
  at: number;
}

/** Requested and actual cost per operation, as Shopify's cost rules give them: a mutation costs 10, a small connection a few points. */
const COSTS: Record<string, { requested: number; actual: (data: Record<string, any>) => number }> = {
  // customers(first: 1): 2 for the connection, plus the customer and its consent object per node returned.
  FindTryOnCustomer: { requested: 4, actual: (data) => 2 + 2 * (data.customers?.nodes?.length ?? 0) },
  CreateTryOnCustomer: { requested: 10, actual: () => 10 },
  TagTryOnCustomer: { requested: 10, actual: () => 10 },
  RecordTryOnConsent: { requested: 10, actual: () => 10 },
  // shop { email contactEmail }: one object of scalar fields.
  ShopAlertEmail: { requested: 1, actual: () => 1 },
};

const THROTTLED_ERROR = { message: "Throttled", extensions: { code: "THROTTLED", documentation: "https://shopify.dev/api/usage/rate-limits" } };

export class FakeAdminApi {
  readonly customers = new Map<string, FakeCustomer[]>();
  readonly calls: AdminCall[] = [];
  /** Each shop's `email` and `contactEmail` as Shopify would answer them (both null when not set). */
  readonly shopEmails = new Map<string, { email: string | null; contactEmail: string | null }>();
  /** Failures to answer with, consumed one per request, before normal handling. */
  failures: Failure[] = [];
  latencyMs: number;
  throttleWith: "graphql" | "http429";
  private readonly buckets = new Map<string, Bucket>();
  private readonly plans = new Map<string, Plan>();
  private readonly revoked = new Set<string>();
  private readonly shopFailures = new Map<string, Failure[]>();
  private readonly defaultPlan: Plan;
  private readonly now: () => number;
  private nextId = 1;

  constructor(options: FakeAdminApiOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.throttleWith = options.throttleWith ?? "graphql";
    this.defaultPlan = options.defaultPlan ?? "standard";
    this.now = options.now ?? (() => performance.now());
  }

  install(): void {
    setAbstractFetchFunc(async (input, init) => this.handle(new Request(input as RequestInfo, init)));
  }

  /** Serves the same handler over HTTP on loopback, for worker processes (see installForwardingFetch). */
  async serve(): Promise<{ url: string; close(): Promise<void> }> {
    const server: Server = createServer(async (req, res) => {
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const host = String(req.headers["x-forwarded-host"] ?? "");
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
        const answer = await this.handle(new Request(`https://${host}${req.url}`, { method: req.method, headers, body: Buffer.concat(chunks) }));
        res.writeHead(answer.status, Object.fromEntries(answer.headers));
        res.end(Buffer.from(await answer.arrayBuffer()));
      } catch (error) {
        res.writeHead(400, { "content-type": "text/plain" }).end(error instanceof Error ? error.message : String(error));
      }
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  }

  addCustomer(shop: string, email: string, tags: string[] = [], marketingState = "NOT_SUBSCRIBED"): FakeCustomer {
    const customer = { id: `gid://shopify/Customer/${this.nextId++}`, email, tags, marketingState };
    this.customers.set(shop, [...(this.customers.get(shop) ?? []), customer]);
    return customer;
  }

  /** The shop's plan; its bucket starts full again. */
  setPlan(shop: string, plan: Plan): void {
    this.plans.set(shop, plan);
    this.buckets.delete(shop);
  }

  /** Sets the points left in the shop's bucket now (as if other calls had spent them). */
  setAvailable(shop: string, points: number): void {
    const bucket = this.bucketOf(shop);
    bucket.available = Math.max(0, Math.min(bucket.size, points));
  }

  /** The shop's bucket as Shopify would report it now. */
  throttleStatus(shop: string) {
    const bucket = this.bucketOf(shop);
    return { maximumAvailable: bucket.size, currentlyAvailable: Math.floor(bucket.available), restoreRate: bucket.restoreRate };
  }

  /** Failures for one shop's next requests (before any in `failures`). */
  fail(shop: string, ...failures: Failure[]): void {
    this.shopFailures.set(shop, [...(this.shopFailures.get(shop) ?? []), ...failures]);
  }

  /** The app loses access to the shop (uninstalled): its calls get 401, as Shopify answers a revoked token. */
  revoke(shop: string): void {
    this.revoked.add(shop);
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const match = /^\/admin\/api\/[^/]+\/graphql\.json$/.exec(url.pathname);
    if (!url.hostname.endsWith(".myshopify.com") || !match) {
      throw new Error(`the fake Admin API does not serve ${request.method} ${url.origin}${url.pathname}`);
    }
    const shop = url.hostname;
    const { query, variables = {} } = (await request.json()) as { query: string; variables?: Record<string, any> };
    const operation = /(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? "anonymous";
    const accessToken = request.headers.get("x-shopify-access-token");
    const call: AdminCall = { shop, operation, variables, accessToken, at: this.now(), outcome: "failed" };
    this.calls.push(call);
    const answer = this.answer(call, shop, operation, variables);
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    return answer;
  }

  private answer(call: AdminCall, shop: string, operation: string, variables: Record<string, any>): Response {
    if (!call.accessToken || this.revoked.has(shop)) {
      return Response.json({ errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" }, { status: 401 });
    }
    const failure = this.shopFailures.get(shop)?.shift() ?? this.failures.shift();
    if (failure === "http500") return new Response("Internal Server Error", { status: 500 });
    if (failure === "graphqlError") return Response.json({ errors: [{ message: "Internal error" }] });
    const cost = COSTS[operation];
    if (!cost) throw new Error(`the fake Admin API does not know ${operation}`);
    const bucket = this.bucketOf(shop);
    if (failure === "throttled" || bucket.available < cost.requested) {
      call.outcome = "throttled";
      return this.throttled(shop, cost.requested);
    }
    bucket.available -= cost.requested;
    const data = this.run(shop, operation, variables);
    const actual = cost.actual(data);
    bucket.available = Math.min(bucket.size, bucket.available + cost.requested - actual);
    call.outcome = "answered";
    return Response.json({ data, extensions: { cost: { requestedQueryCost: cost.requested, actualQueryCost: actual, throttleStatus: this.throttleStatus(shop) } } });
  }

  private throttled(shop: string, requested: number): Response {
    const status = this.throttleStatus(shop);
    const body = { errors: [THROTTLED_ERROR], extensions: { cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: status } } };
    if (this.throttleWith === "graphql") return Response.json(body);
    const seconds = Math.max(0.1, Math.ceil(((requested - status.currentlyAvailable) / status.restoreRate) * 10) / 10);
    return Response.json(body, { status: 429, headers: { "Retry-After": seconds.toFixed(1) } });
  }

  /** The shop's bucket, refilled for the time since it was last looked at. */
  private bucketOf(shop: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(shop);
    if (!bucket) {
      const plan = this.plans.get(shop) ?? this.defaultPlan;
      const { size, restoreRate } = typeof plan === "string" ? PLANS[plan] : plan;
      bucket = { size, restoreRate, available: size, at: now };
      this.buckets.set(shop, bucket);
    }
    bucket.available = Math.min(bucket.size, bucket.available + ((now - bucket.at) / 1000) * bucket.restoreRate);
    bucket.at = now;
    return bucket;
  }

  private run(shop: string, operation: string, v: Record<string, any>): Record<string, any> {
    const list = this.customers.get(shop) ?? [];
    const view = (c: FakeCustomer) => ({ id: c.id, tags: [...c.tags], emailMarketingConsent: { marketingState: c.marketingState } });
    switch (operation) {
      case "FindTryOnCustomer": {
        const email = /^email:"(.*)"$/.exec(v.query)?.[1]?.replace(/\\(.)/g, "$1");
        const found = list.filter((c) => c.email.toLowerCase() === email?.toLowerCase());
        return { customers: { nodes: found.slice(0, 1).map(view) } };
      }
      case "CreateTryOnCustomer": {
        if (list.some((c) => c.email.toLowerCase() === v.input.email.toLowerCase())) {
          return { customerCreate: { customer: null, userErrors: [{ field: ["email"], message: "Email has already been taken" }] } };
        }
        const c = this.addCustomer(shop, v.input.email, v.input.tags ?? [], v.input.emailMarketingConsent?.marketingState ?? "NOT_SUBSCRIBED");
        return { customerCreate: { customer: view(c), userErrors: [] } };
      }
      case "TagTryOnCustomer": {
        const c = list.find((x) => x.id === v.id);
        if (!c) return { tagsAdd: { node: null, userErrors: [{ field: ["id"], message: "Customer not found" }] } };
        for (const t of v.tags) if (!c.tags.includes(t)) c.tags.push(t);
        return { tagsAdd: { node: { id: c.id, tags: [...c.tags] }, userErrors: [] } };
      }
      case "RecordTryOnConsent": {
        const c = list.find((x) => x.id === v.input.customerId);
        if (!c) return { customerEmailMarketingConsentUpdate: { customer: null, userErrors: [{ field: ["customerId"], message: "Customer not found" }] } };
        c.marketingState = v.input.emailMarketingConsent.marketingState;
        return { customerEmailMarketingConsentUpdate: { customer: { id: c.id, emailMarketingConsent: { marketingState: c.marketingState } }, userErrors: [] } };
      }
      case "ShopAlertEmail": {
        const emails = this.shopEmails.get(shop) ?? { email: null, contactEmail: null };
        return { shop: { ...emails } };
      }
      default:
        throw new Error(`the fake Admin API does not know ${operation}`);
    }
  }
}

/**
 * For a process other than the stand-in's (a worker process in a benchmark or test): routes the Shopify
 * library's Admin API calls to `serve()`'s URL, telling it which shop each call was for.
 */
export function installForwardingFetch(baseUrl: string): void {
  setAbstractFetchFunc(async (input, init) => {
    const original = new Request(input as RequestInfo, init);
    const url = new URL(original.url);
    const headers = new Headers(original.headers);
    headers.set("x-forwarded-host", url.host);
    const body = original.method === "GET" || original.method === "HEAD" ? undefined : await original.arrayBuffer();
    return fetch(new URL(url.pathname + url.search, baseUrl), { method: original.method, headers, body });
  });
}
