import { PAYLOAD_VERSION } from "../delivery/payload";

/**
 * The `lead_redacted` webhook body: tells the merchant's CRM that a lead it may hold was erased here, so it
 * can erase it too. The lead id only (what receivers upsert on), never the email or anything else about
 * the shopper. Sent to the destinations whose events include it.
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

/**
 * What a Klaviyo destination needs to erase the shopper on its side (Klaviyo's Request Profile Deletion is
 * keyed by email): the one body that carries an email after an erasure. It lives only while the request to
 * Klaviyo is pending and is emptied once Klaviyo has accepted it.
 */
export interface ProfileErasureBody {
  version: typeof PAYLOAD_VERSION;
  event: "lead_redacted";
  lead_ids: string[];
  shop: string;
  redacted_at: string;
  email: string;
}

export function buildProfileErasureBody(email: string, leadIds: string[], shopDomain: string, at: Date): ProfileErasureBody {
  return { version: PAYLOAD_VERSION, event: "lead_redacted", lead_ids: leadIds, shop: shopDomain, redacted_at: at.toISOString(), email };
}
