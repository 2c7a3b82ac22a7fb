import type { Db } from "../lib/db.server";

export interface ShopRef {
  id: string;
  domain: string;
}

/**
 * The shop row for a verified shop domain, created on first sight. Callers pass only a domain taken
 * from a verified session token, app-proxy signature or webhook HMAC. A shop marked uninstalled is being
 * used again, so it was reinstalled: the mark is cleared (its waiting deliveries go out again) and the
 * install time moves to now.
 */
export async function ensureShop(db: Db, domain: string): Promise<ShopRef> {
  const existing = await db.shop.findUnique({ where: { domain }, select: { id: true, domain: true, uninstalledAt: true } });
  if (existing) {
    if (existing.uninstalledAt) {
      await db.shop.updateMany({ where: { id: existing.id, uninstalledAt: { not: null } }, data: { uninstalledAt: null, installedAt: new Date() } });
    }
    return { id: existing.id, domain: existing.domain };
  }
  return db.shop.upsert({
    where: { domain },
    create: { domain },
    update: {},
    select: { id: true, domain: true },
  });
}
