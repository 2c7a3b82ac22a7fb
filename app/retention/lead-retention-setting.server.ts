import type { Db } from "../lib/db.server";
import { MAX_LEAD_RETENTION_MONTHS } from "./lead-retention";

/** The shop's lead retention as stored on its row: null keeps leads until erasure or uninstall. */

export async function getLeadRetention(db: Db, shopId: string): Promise<{ months: number | null }> {
  const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { leadRetentionMonths: true } });
  return { months: shop.leadRetentionMonths };
}

export class LeadRetentionOutOfRangeError extends Error {
  constructor(months: number) {
    super(`lead retention must be off or 1 to ${MAX_LEAD_RETENTION_MONTHS} whole months, got ${months}`);
    this.name = "LeadRetentionOutOfRangeError";
  }
}

export async function setLeadRetention(db: Db, shopId: string, months: number | null): Promise<void> {
  // Callers parse the form first; this guards the column for every other caller (scripts, tests).
  if (months !== null && (!Number.isInteger(months) || months < 1 || months > MAX_LEAD_RETENTION_MONTHS)) {
    throw new LeadRetentionOutOfRangeError(months);
  }
  await db.shop.update({ where: { id: shopId }, data: { leadRetentionMonths: months } });
}
