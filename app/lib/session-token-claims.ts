/**
 * A plausibility check of a session token's shop claims, run before the Shopify library verifies the
 * token. The library checks the signature, audience and lifetime, then turns `dest` into a shop with
 * `new URL()` and its shop-name check, which throw plain errors (a 500) for a `dest` that is not a shop
 * URL, and it does not compare `iss` with `dest` at all. Shopify issues `dest` as `https://{shop}` and
 * `iss` as `https://{shop}/admin` for the same shop; a token that says otherwise is refused (401), forged
 * or not (an `iss` written without its scheme, as Shopify's own test helper writes it, is read as https).
 * Accepting is still the library's job: this only refuses, on claims read before verification.
 */
import type { DomainTransformation } from "@shopify/shopify-api";

const SHOP_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** A shop's host: `{name}.myshopify.com`, or `{name}.{customDomain}` when the app is set up for one (SHOP_CUSTOM_DOMAIN). */
export function isShopDomain(host: string, customDomain?: string): boolean {
  return [customDomain, "myshopify.com"].some((domain) => domain && host.endsWith(`.${domain}`) && SHOP_NAME.test(host.slice(0, -domain.length - 1)));
}

/**
 * What the Shopify library needs to accept `{name}.{customDomain}` shops as this module does: version 15 of
 * `@shopify/shopify-api` reads `domainTransformations` (an identity one here), no longer `customShopDomains`.
 */
export function customShopDomainConfig(customDomain: string | undefined): { domainTransformations?: DomainTransformation[] } {
  if (!customDomain) return {};
  const escaped = customDomain.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return { domainTransformations: [{ match: new RegExp(`^([a-zA-Z0-9][a-zA-Z0-9-_]*)\\.${escaped}$`), transform: `$1.${customDomain}` }] };
}

/** Why a token's claims are not those of a Shopify admin session token for a shop, or null if they could be. */
export function sessionTokenClaimsProblem(token: string, customDomain?: string): string | null {
  const parts = token.split(".");
  if (parts.length !== 3) return "not a JWT";
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    return "unreadable claims";
  }
  if (typeof claims !== "object" || claims === null) return "unreadable claims";
  const { dest, iss } = claims as { dest?: unknown; iss?: unknown };
  const destUrl = httpsUrl(dest);
  if (!destUrl || !isShopDomain(destUrl.hostname, customDomain) || destUrl.port || destUrl.username || !["", "/"].includes(destUrl.pathname)) {
    return "dest is not a shop";
  }
  const issUrl = httpsUrl(typeof iss === "string" && !/^[a-z][a-z0-9+.-]*:/i.test(iss) ? `https://${iss}` : iss);
  if (!issUrl || issUrl.host !== destUrl.host || issUrl.username || issUrl.pathname !== "/admin") return "iss is not the shop's admin";
  return null;
}

function httpsUrl(value: unknown): URL | null {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

/** The session token a request presents: the Authorization bearer (fetch and data requests) or `id_token` (document loads). */
export function presentedSessionToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (header) return /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? header;
  return new URL(request.url).searchParams.get("id_token");
}
