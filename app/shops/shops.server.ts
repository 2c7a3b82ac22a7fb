import { postgresPoolsOf, type Db } from "../lib/db.server";

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
  const existing = await findShop(db, domain);
  if (existing) {
    if (existing.uninstalled) {
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

/**
 * Every storefront capture looks its shop up: on PostgreSQL with one prepared statement on the statement
 * pool (see createStatementPool; the domain is a unique key), elsewhere through Prisma.
 */
async function findShop(db: Db, domain: string): Promise<{ id: string; domain: string; uninstalled: boolean } | null> {
  const pool = postgresPoolsOf(db)?.durable;
  if (!pool) {
    const row = await db.shop.findUnique({ where: { domain }, select: { id: true, domain: true, uninstalledAt: true } });
    return row && { id: row.id, domain: row.domain, uninstalled: row.uninstalledAt !== null };
  }
  const { rows } = await pool.query<{ id: string; domain: string; uninstalled: boolean }>({
    name: "tryon_shop_by_domain",
    text: `SELECT "id", "domain", "uninstalledAt" IS NOT NULL AS "uninstalled" FROM "Shop" WHERE "domain" = $1`,
    values: [domain],
  });
  return rows[0] ?? null;
}
