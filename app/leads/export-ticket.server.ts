import { createHmac, timingSafeEqual } from "node:crypto";
import { leadFiltersSchema, type LeadFilters } from "./filters";

/**
 * A short-lived, signed download ticket for the CSV export. Inside the embedded admin a request carries
 * a session token in a header, which a browser download cannot send; so an authenticated action issues a
 * ticket bound to the verified shop and the filters, and the download URL presents it. The ticket is an
 * HMAC over its claims with a key derived from the app secret, valid for `EXPORT_TICKET_TTL_MS`.
 */
export const EXPORT_TICKET_TTL_MS = 60_000;

export class InvalidTicketError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "InvalidTicketError";
  }
}

interface TicketClaims {
  shopId: string;
  filters: LeadFilters;
  exp: number;
}

function ticketKey(appSecret: string): Buffer {
  return createHmac("sha256", appSecret).update("tryon-leads/export-ticket/v1").digest();
}

export function createExportTicket(params: { shopId: string; filters: LeadFilters; appSecret: string; now?: number }): string {
  const claims: TicketClaims = {
    shopId: params.shopId,
    filters: params.filters,
    exp: (params.now ?? Date.now()) + EXPORT_TICKET_TTL_MS,
  };
  const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const mac = createHmac("sha256", ticketKey(params.appSecret)).update(body).digest("base64url");
  return `${body}.${mac}`;
}

export function verifyExportTicket(ticket: string, appSecret: string, now = Date.now()): { shopId: string; filters: LeadFilters } {
  const [body, mac, extra] = ticket.split(".");
  if (!body || !mac || extra !== undefined) throw new InvalidTicketError("malformed ticket");
  const expected = createHmac("sha256", ticketKey(appSecret)).update(body).digest();
  const given = Buffer.from(mac, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InvalidTicketError("bad signature");
  let claims: TicketClaims;
  try {
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as TicketClaims;
  } catch {
    throw new InvalidTicketError("malformed ticket");
  }
  if (typeof claims.exp !== "number" || claims.exp < now) throw new InvalidTicketError("expired ticket");
  const filters = leadFiltersSchema.safeParse(claims.filters ?? {});
  if (typeof claims.shopId !== "string" || !filters.success) throw new InvalidTicketError("malformed ticket");
  return { shopId: claims.shopId, filters: filters.data };
}
