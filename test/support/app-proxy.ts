import { randomBytes, randomUUID } from "node:crypto";
import { signProxyQuery as signWith } from "./proxy-signature";
import { TEST_API_SECRET, TEST_APP_URL } from "./test-app";

export function signProxyQuery(params: [string, string][], secret = TEST_API_SECRET): string {
  return signWith(params, secret);
}


export interface ProxyRequestOptions {
  timestamp?: number;
  /** Parameters appended after signing (tampering). */
  appendAfterSigning?: [string, string][];
  secret?: string;
  signature?: string;
  headers?: Record<string, string>;
  rawBody?: string;
}

export function proxyRequest(shop: string, body: unknown, options: ProxyRequestOptions = {}): Request {
  const params: [string, string][] = [
    ["shop", shop],
    ["logged_in_customer_id", ""],
    ["path_prefix", "/apps/tryon-leads"],
    ["timestamp", String(options.timestamp ?? Math.trunc(Date.now() / 1000))],
  ];
  const signature = options.signature ?? signProxyQuery(params, options.secret);
  const query = new URLSearchParams([...params, ["signature", signature], ...(options.appendAfterSigning ?? [])]);
  return new Request(`${TEST_APP_URL}/proxy/capture?${query}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Forwarded-For": randomIp(), ...options.headers },
    body: options.rawBody ?? JSON.stringify(body),
  });
}

export function randomIp(): string {
  const b = randomBytes(2);
  return `198.51.${b[0]}.${b[1]}`;
}

export function captureBody(overrides: Record<string, unknown> = {}) {
  return {
    email: `shopper-${randomBytes(4).toString("hex")}@example.com`,
    consent: true,
    product: { id: "gid://shopify/Product/42", title: "Aviator Gold", url: "https://store.example/products/aviator", variant: { id: "gid://shopify/ProductVariant/7", title: "Gold / M" } },
    tryOn: { resultId: "res_1", model: "glasses-v2" },
    utm: { source: "newsletter", campaign: "spring" },
    pageUrl: "https://store.example/products/aviator?utm_source=newsletter&utm_campaign=spring",
    idempotencyKey: randomUUID(),
    locale: "en",
    ...overrides,
  };
}
