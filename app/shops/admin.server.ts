import { authenticate } from "../shopify.server";
import { ensureShop, type ShopRef } from "./shops.server";
import { getConfig } from "../lib/config.server";
import { getDb } from "../lib/db.server";
import { presentedSessionToken, sessionTokenClaimsProblem } from "../lib/session-token-claims";

/**
 * Every admin route authenticates through here: the session token's shop claims are checked first (a
 * token naming no shop, or two different ones, is a 401 rather than a library error), then the Shopify
 * library verifies the token and loads the session.
 */
export async function authenticateAdmin(request: Request): ReturnType<typeof authenticate.admin> {
  const token = presentedSessionToken(request);
  if (token !== null && sessionTokenClaimsProblem(token, getConfig().SHOP_CUSTOM_DOMAIN) !== null) {
    // As the library answers a token it cannot verify; App Bridge retries once with a fresh token.
    throw new Response(undefined, { status: 401, statusText: "Unauthorized", headers: { "X-Shopify-Retry-Invalid-Session-Request": "1" } });
  }
  return authenticate.admin(request);
}

/**
 * Authenticates an embedded-admin request from its session token and returns the shop it is for.
 * The shop comes only from the verified token (its `dest` claim, through the library), never from a
 * form field, query parameter or header the client controls.
 */
export async function requireAdminShop(request: Request): Promise<{ shop: ShopRef; admin: Awaited<ReturnType<typeof authenticate.admin>> }> {
  const admin = await authenticateAdmin(request);
  const shop = await ensureShop(getDb(), admin.session.shop);
  return { shop, admin };
}
