import { setAbstractFetchFunc } from "@shopify/shopify-api/runtime";

/**
 * A local stand-in for Shopify's Admin GraphQL API, served through the library's own fetch hook, so the
 * app's real Admin client (offline session, API version, headers) runs unchanged. It answers the customer
 * operations the app uses, keeps customers in memory per shop, and can be told to fail.
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
}

export class FakeAdminApi {
  readonly customers = new Map<string, FakeCustomer[]>();
  readonly calls: AdminCall[] = [];
  /** Failures to answer with, consumed one per request, before normal handling. */
  failures: ("http500" | "graphqlError" | "throttled")[] = [];
  private nextId = 1;

  install(): void {
    setAbstractFetchFunc(async (input, init) => this.handle(new Request(input as RequestInfo, init)));
  }

  addCustomer(shop: string, email: string, tags: string[] = [], marketingState = "NOT_SUBSCRIBED"): FakeCustomer {
    const customer = { id: `gid://shopify/Customer/${this.nextId++}`, email, tags, marketingState };
    this.customers.set(shop, [...(this.customers.get(shop) ?? []), customer]);
    return customer;
  }

  private async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const match = /^\/admin\/api\/[^/]+\/graphql\.json$/.exec(url.pathname);
    if (!url.hostname.endsWith(".myshopify.com") || !match) {
      throw new Error(`the fake Admin API does not serve ${request.method} ${url.origin}${url.pathname}`);
    }
    const shop = url.hostname;
    const { query, variables = {} } = (await request.json()) as { query: string; variables?: Record<string, any> };
    const operation = /(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? "anonymous";
    this.calls.push({ shop, operation, variables, accessToken: request.headers.get("x-shopify-access-token") });
    const failure = this.failures.shift();
    if (failure === "http500") return new Response("Internal Server Error", { status: 500 });
    if (failure === "throttled") return Response.json({ errors: [{ message: "Throttled", extensions: { code: "THROTTLED" } }] });
    if (failure === "graphqlError") return Response.json({ errors: [{ message: "Internal error" }] });
    return Response.json({ data: this.answer(shop, operation, variables) });
  }

  private answer(shop: string, operation: string, v: Record<string, any>): Record<string, unknown> {
    const list = this.customers.get(shop) ?? [];
    const view = (c: FakeCustomer) => ({ id: c.id, tags: [...c.tags], emailMarketingConsent: { marketingState: c.marketingState } });
    switch (operation) {
      case "FindTryOnCustomer": {
        const email = /^email:"(.*)"$/.exec(v.query)?.[1]?.replace(/\\(.)/g, "$1");
        const found = list.filter((c) => c.email.toLowerCase() === email?.toLowerCase());
        return { customers: { nodes: found.map(view) } };
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
      default:
        throw new Error(`the fake Admin API does not know ${operation}`);
    }
  }
}
