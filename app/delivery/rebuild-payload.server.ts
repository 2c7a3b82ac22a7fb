import type { Db } from "../lib/db.server";
import { DeliveryNotReplayableError } from "./errors";
import { buildLeadCapturedBody, buildTestBody, serializeBody } from "./payload";

/**
 * The body of a delivery whose stored body was pruned, made again for a replay: a lead's from the stored
 * lead as it is now (so `tagged_in_shopify` tells today's truth), a test's as a new test. Only those two
 * kinds are ever pruned; for anything else, or a lead that is gone, there is nothing to send.
 */
export async function rebuildPayload(
  db: Db,
  delivery: { event: string; leadId: string | null; shopId: string },
  now: Date,
): Promise<string> {
  if (delivery.event === "test") {
    const shop = await db.shop.findUniqueOrThrow({ where: { id: delivery.shopId }, select: { domain: true } });
    return serializeBody(buildTestBody(shop.domain, now));
  }
  if (delivery.event === "lead_captured" && delivery.leadId) {
    const lead = await db.lead.findFirst({
      where: { id: delivery.leadId, shopId: delivery.shopId },
      include: { shop: { select: { domain: true } } },
    });
    if (lead) return serializeBody(buildLeadCapturedBody(lead, lead.shop.domain));
  }
  throw new DeliveryNotReplayableError("payload_unavailable");
}
