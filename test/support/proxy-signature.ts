import { createHmac } from "node:crypto";

/**
 * Shopify's app proxy signature, computed as Shopify computes it for the requests it forwards:
 * `signature` = hex HMAC-SHA256 (app secret) of the sorted `key=value` pairs joined with nothing, the
 * values of a repeated key joined by commas.
 */
export function signProxyQuery(params: [string, string][], secret: string): string {
  const grouped = new Map<string, string[]>();
  for (const [k, v] of params) grouped.set(k, [...(grouped.get(k) ?? []), v]);
  const message = [...grouped.entries()]
    .map(([k, values]) => `${k}=${values.join(",")}`)
    .sort()
    .join("");
  return createHmac("sha256", secret).update(message).digest("hex");
}
