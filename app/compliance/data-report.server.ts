import { systemClock, type Clock } from "../delivery/clock";
import type { Db } from "../lib/db.server";
import { findOpenDataRequest, shopperOf } from "./data-requests.server";
import { leadsOfShopper } from "./shopper-match";

/**
 * What the app holds about the shopper of an open data request, as one JSON document for the merchant to
 * pass on: every lead (product, try-on context, consent, UTM, page, Shopify tagging) and a summary of each
 * webhook delivery that carried it. Endpoint URLs appear by host only (a path may hold the CRM's token);
 * signing secrets, stored payloads and response bodies are not personal data of the shopper and stay out.
 */

export const DATA_REPORT_VERSION = 1;

export interface DataReport {
  version: typeof DATA_REPORT_VERSION;
  shop: string;
  generated_at: string;
  request: { id: string; shopify_request_id: string; received_at: string };
  customer: { shopify_customer_id: string | null; email: string | null };
  leads: LeadReport[];
}

interface LeadReport {
  lead_id: string;
  email: string;
  captured_at: string;
  product: { id: string; title: string; url: string; variant: { id: string; title: string | null } | null };
  try_on: unknown;
  consent: { given: boolean; captured_at: string };
  utm: { source: string | null; medium: string | null; campaign: string | null; term: string | null; content: string | null };
  page_url: string | null;
  tagged_in_shopify: boolean;
  tagged_at: string | null;
  shopify_customer: string | null;
  deliveries: DeliverySummary[];
}

interface DeliverySummary {
  delivery_id: string;
  event: string;
  endpoint_host: string | null;
  status: string;
  attempts: number;
  created_at: string;
  delivered_at: string | null;
}

export async function buildDataReport(db: Db, input: { shopId: string; requestId: string; clock?: Clock }): Promise<DataReport> {
  const request = await findOpenDataRequest(db, input.shopId, input.requestId);
  const shop = await db.shop.findUniqueOrThrow({ where: { id: input.shopId }, select: { domain: true } });
  const leads = await db.lead.findMany({
    where: leadsOfShopper(input.shopId, shopperOf(request)),
    orderBy: [{ capturedAt: "asc" }, { id: "asc" }],
    include: {
      deliveries: {
        orderBy: { createdAt: "asc" },
        select: {
          id: true, event: true, status: true, attemptCount: true, createdAt: true, deliveredAt: true,
          destination: { select: { url: true } },
        },
      },
    },
  });
  return {
    version: DATA_REPORT_VERSION,
    shop: shop.domain,
    generated_at: (input.clock ?? systemClock).now().toISOString(),
    request: { id: request.id, shopify_request_id: request.shopifyRequestId, received_at: request.createdAt.toISOString() },
    customer: { shopify_customer_id: request.customerId, email: request.customerEmail },
    leads: leads.map((lead) => ({
      lead_id: lead.id,
      email: lead.email,
      captured_at: lead.capturedAt.toISOString(),
      product: {
        id: lead.productId,
        title: lead.productTitle,
        url: lead.productUrl,
        variant: lead.variantId ? { id: lead.variantId, title: lead.variantTitle } : null,
      },
      try_on: parseContext(lead.resultContext),
      consent: { given: lead.consent, captured_at: lead.capturedAt.toISOString() },
      utm: { source: lead.utmSource, medium: lead.utmMedium, campaign: lead.utmCampaign, term: lead.utmTerm, content: lead.utmContent },
      page_url: lead.pageUrl,
      tagged_in_shopify: lead.tagged,
      tagged_at: lead.taggedAt?.toISOString() ?? null,
      shopify_customer: lead.customerId,
      deliveries: lead.deliveries.map((d) => ({
        delivery_id: d.id,
        event: d.event,
        endpoint_host: hostOf(d.destination.url),
        status: d.status,
        attempts: d.attemptCount,
        created_at: d.createdAt.toISOString(),
        delivered_at: d.deliveredAt?.toISOString() ?? null,
      })),
    })),
  };
}

function parseContext(raw: string | null): unknown {
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}
