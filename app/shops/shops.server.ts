import type { Db } from "../lib/db.server";

export interface ShopRef {
  id: string;
  domain: string;
}

/**
 * The shop row for a verified shop domain, created on first sight. Callers pass only a domain taken
 * from a verified session token, app-proxy signature or webhook HMAC.
 */
export async function ensureShop(db: Db, domain: string): Promise<ShopRef> {
  const existing = await db.shop.findUnique({ where: { domain }, select: { id: true, domain: true } });
  if (existing) return existing;
  return db.shop.upsert({
    where: { domain },
    create: { domain },
    update: {},
    select: { id: true, domain: true },
  });
}
