import type { Db } from "../lib/db.server";

/** The shop's privacy settings: whether erasures are announced to its CRM with `lead_redacted` events. */

export async function getPrivacySettings(db: Db, shopId: string): Promise<{ sendRedactionEvents: boolean }> {
  return db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { sendRedactionEvents: true } });
}

export async function setRedactionEvents(db: Db, shopId: string, enabled: boolean): Promise<void> {
  await db.shop.update({ where: { id: shopId }, data: { sendRedactionEvents: enabled } });
}
