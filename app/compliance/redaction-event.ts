import { PAYLOAD_VERSION } from "../delivery/payload";

/**
 * The `lead_redacted` webhook body: tells the merchant's CRM that a lead it may hold was erased here, so it
 * can erase it too. The lead id only (what receivers upsert on), never the email or anything else about
 * the shopper. Sent only when the merchant has turned it on.
 */
export interface LeadRedactedBody {
  version: typeof PAYLOAD_VERSION;
  event: "lead_redacted";
  lead_id: string;
  shop: string;
  redacted_at: string;
}

export function buildLeadRedactedBody(leadId: string, shopDomain: string, at: Date): LeadRedactedBody {
  return { version: PAYLOAD_VERSION, event: "lead_redacted", lead_id: leadId, shop: shopDomain, redacted_at: at.toISOString() };
}

/** Serialised once and stored: these exact bytes are signed and sent at every attempt. */
export function serializeRedactedBody(body: LeadRedactedBody): string {
  return JSON.stringify(body);
}
