import type { Db } from "../lib/db.server";
import { csvRow } from "./csv";
import type { LeadFilters } from "./filters";
import { cursorWhere, leadsWhere, type LeadCursor } from "./leads.server";

export const EXPORT_COLUMNS = [
  "lead_id", "captured_at", "email", "product_id", "product_title", "product_url", "variant_id", "variant_title",
  "tagged_in_shopify", "consent", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "page_url",
] as const;

/** Rows fetched per query while streaming: big enough to amortise a round trip, small enough to keep memory flat. */
export const EXPORT_BATCH_SIZE = 2000;

/**
 * Every lead of a shop (or the filtered set) as CSV, newest first, streamed batch by batch with a keyset,
 * so memory holds one batch whatever the row count. Starts with a UTF-8 byte order mark so Excel reads
 * accented names correctly.
 */
export function exportLeadsCsv({ db, shopId, filters, batchSize = EXPORT_BATCH_SIZE }: {
  db: Db; shopId: string; filters: LeadFilters; batchSize?: number;
}): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const where = leadsWhere(shopId, filters);
  let cursor: LeadCursor | null = null;
  let started = false;
  let finished = false;

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode("\ufeff" + csvRow(EXPORT_COLUMNS)));
        return;
      }
      if (finished) return;
      const batch = await db.lead.findMany({
        where: cursor ? { AND: [where, cursorWhere(cursor, "after")] } : where,
        orderBy: [{ capturedAt: "desc" }, { id: "desc" }],
        take: batchSize,
        select: {
          id: true, capturedAt: true, email: true, productId: true, productTitle: true, productUrl: true,
          variantId: true, variantTitle: true, tagged: true, consent: true, utmSource: true, utmMedium: true,
          utmCampaign: true, utmTerm: true, utmContent: true, pageUrl: true,
        },
      });
      let chunk = "";
      for (const l of batch) {
        chunk += csvRow([
          l.id, l.capturedAt.toISOString(), l.email, l.productId, l.productTitle, l.productUrl, l.variantId,
          l.variantTitle, l.tagged ? "yes" : "no", l.consent ? "yes" : "no", l.utmSource, l.utmMedium,
          l.utmCampaign, l.utmTerm, l.utmContent, l.pageUrl,
        ]);
      }
      if (chunk) controller.enqueue(encoder.encode(chunk));
      const last = batch[batch.length - 1];
      if (batch.length < batchSize || !last) {
        finished = true;
        controller.close();
      } else {
        cursor = { capturedAt: last.capturedAt, id: last.id };
      }
    },
  });
}
