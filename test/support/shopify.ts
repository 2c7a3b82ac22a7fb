import { Session } from "@shopify/shopify-api";
import { getJwt } from "@shopify/shopify-api/test-helpers";
import type { JwtPayload } from "@shopify/shopify-api";
import { getDb } from "../../app/lib/db.server";
import { ensureShop } from "../../app/shops/shops.server";
import { TEST_API_KEY, TEST_API_SECRET, TEST_APP_URL } from "./test-app";

/** Stores a valid offline session for a shop, as token exchange would have, and returns the shop row. */
export async function installShop(shop: string) {
  const db = getDb();
  const session = new Session({
    id: `offline_${shop}`,
    shop,
    state: "installed",
    isOnline: false,
    scope: "write_customers",
    accessToken: `shpat_${shop.split(".")[0]}_token`,
    expires: new Date(Date.now() + 24 * 3600_000),
    refreshToken: `shprt_${shop.split(".")[0]}_refresh`,
    refreshTokenExpires: new Date(Date.now() + 30 * 24 * 3600_000),
  });
  await db.session.upsert({
    where: { id: session.id },
    create: {
      id: session.id, shop, state: session.state, isOnline: false, scope: session.scope ?? null,
      accessToken: session.accessToken ?? "", expires: session.expires ?? null,
      refreshToken: session.refreshToken ?? null,
      refreshTokenExpires: session.refreshTokenExpires ?? null,
    },
    update: {},
  });
  return ensureShop(db, shop);
}

/** A session token exactly as App Bridge would send it for `shop`, signed with the app secret. */
export async function sessionToken(shop: string, overrides: Partial<JwtPayload> = {}): Promise<string> {
  // getJwt takes the store name and appends .myshopify.com itself.
  const { token } = await getJwt(shop.replace(/\.myshopify\.com$/, ""), TEST_API_KEY, TEST_API_SECRET, overrides);
  return token;
}

/** An embedded-admin fetch request (Remix data or action) carrying a session token. */
export async function adminRequest(
  pathAndQuery: string,
  shop: string,
  init: RequestInit & { token?: string; jwt?: Partial<JwtPayload> } = {},
): Promise<Request> {
  const token = init.token ?? (await sessionToken(shop, init.jwt));
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return new Request(new URL(pathAndQuery, TEST_APP_URL), { ...init, headers });
}

export async function formRequest(pathAndQuery: string, shop: string, fields: Record<string, string>, init: { token?: string } = {}) {
  return adminRequest(pathAndQuery, shop, {
    method: "POST",
    body: new URLSearchParams(fields),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    token: init.token,
  });
}
