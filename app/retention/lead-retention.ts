/**
 * A shop's own lead retention: "delete leads older than N months", off unless the merchant turns it on.
 * Shopify asks apps to keep personal data no longer than needed; how long is the merchant's call.
 */

/** The longest retention the app accepts: ten years is already longer than any merchant asks for. */
export const MAX_LEAD_RETENTION_MONTHS = 120;

/** The periods the privacy page offers; the domain accepts any whole number up to the maximum. */
export const LEAD_RETENTION_CHOICES = [1, 3, 6, 12, 18, 24, 36] as const;

export type LeadRetentionInput = { ok: true; months: number | null } | { ok: false; error: string };

/**
 * The setting as the privacy page's form sends it: "off", or a whole number of months. Anything else is
 * refused with a sentence the page can show as it is.
 */
export function parseLeadRetention(raw: unknown): LeadRetentionInput {
  if (raw === "off") return { ok: true, months: null };
  if (typeof raw !== "string" || !/^\d{1,4}$/.test(raw.trim())) {
    return { ok: false, error: `Choose "Keep leads" or a number of months from 1 to ${MAX_LEAD_RETENTION_MONTHS}.` };
  }
  const months = Number(raw.trim());
  if (months < 1 || months > MAX_LEAD_RETENTION_MONTHS) {
    return { ok: false, error: `Choose a number of months from 1 to ${MAX_LEAD_RETENTION_MONTHS}.` };
  }
  return { ok: true, months };
}

/**
 * The capture time before which a shop's leads are deleted: `months` calendar months before `now`, in UTC.
 * On a day the earlier month does not have (31 March less one month), the month's last day is used, so
 * the cut-off never moves into the following month.
 */
export function leadCutoff(now: Date, months: number): Date {
  const target = new Date(now.getTime());
  const day = target.getUTCDate();
  target.setUTCDate(1);
  target.setUTCMonth(target.getUTCMonth() - months);
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target;
}
