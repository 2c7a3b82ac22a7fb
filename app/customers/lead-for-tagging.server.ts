import { postgresPoolsOf, type Db } from "../lib/db.server";
import type { LeadBodySource } from "../delivery/payload";

/** A lead as the tagging job reads it: the fields of its deliveries' body, where tagging stands, and its shop. */
export interface LeadForTagging extends LeadBodySource {
  taggingState: string;
  shop: { domain: string; uninstalledAt: Date | null };
}

/**
 * The lead and its shop in one read. On PostgreSQL a prepared statement on the statement pool (see
 * createStatementPool: the shop is reached through its key); elsewhere Prisma.
 */
export async function readLeadForTagging(db: Db, leadId: string): Promise<LeadForTagging | null> {
  const pool = postgresPoolsOf(db)?.durable;
  if (!pool) {
    return db.lead.findUnique({ where: { id: leadId }, include: { shop: { select: { domain: true, uninstalledAt: true } } } });
  }
  // Timestamps are read as UTC instants (TIMESTAMP(3) columns hold UTC without a zone, as Prisma writes them).
  const { rows } = await pool.query<Omit<LeadForTagging, "shop"> & { shopDomain: string; shopUninstalledAt: Date | null }>({
    name: "tryon_read_lead_for_tagging",
    text: `
      SELECT l."id", l."email", l."productId", l."productTitle", l."productUrl", l."variantId", l."variantTitle", l."resultContext",
        l."tagged", l."consent", l."capturedAt" AT TIME ZONE 'UTC' AS "capturedAt", l."utmSource", l."utmMedium", l."utmCampaign",
        l."utmTerm", l."utmContent", l."pageUrl", l."taggingState",
        s."domain" AS "shopDomain", s."uninstalledAt" AT TIME ZONE 'UTC' AS "shopUninstalledAt"
      FROM "Lead" AS l
        CROSS JOIN LATERAL (SELECT "domain", "uninstalledAt" FROM "Shop" WHERE "id" = l."shopId" LIMIT 1) AS s
      WHERE l."id" = $1`,
    values: [leadId],
  });
  const row = rows[0];
  if (!row) return null;
  const { shopDomain, shopUninstalledAt, ...lead } = row;
  return { ...lead, shop: { domain: shopDomain, uninstalledAt: shopUninstalledAt } };
}
