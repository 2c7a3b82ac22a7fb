import { authenticate } from "../shopify.server";
import { ensureShop, type ShopRef } from "../shops/shops.server";
import { getDb } from "./db.server";

/**
 * Authenticates an embedded-admin request from its session token and returns the shop it is for.
 * The shop comes only from the verified token (its `dest` claim, through the library), never from a
 * form field, query parameter or header the client controls.
 */
export async function requireAdminShop(request: Request): Promise<{ shop: ShopRef; admin: Awaited<ReturnType<typeof authenticate.admin>> }> {
  const admin = await authenticate.admin(request);
  const shop = await ensureShop(getDb(), admin.session.shop);
  return { shop, admin };
}
