import type { LoaderFunctionArgs } from "@remix-run/node";
import { getConfig } from "../lib/config.server";
import { getDb } from "../lib/db.server";
import { exportLeadsCsv } from "../leads/export.server";
import { InvalidTicketError, verifyExportTicket } from "../leads/export-ticket.server";

// The CSV download. Its only credential is the signed ticket from /app/leads/export, which names the shop.
export const loader = async ({ request }: LoaderFunctionArgs) => {
  const ticket = new URL(request.url).searchParams.get("ticket");
  if (!ticket) return new Response("Missing download ticket", { status: 401 });
  let claims;
  try {
    claims = verifyExportTicket(ticket, getConfig().SHOPIFY_API_SECRET);
  } catch (error) {
    if (error instanceof InvalidTicketError) {
      return new Response(`Download link ${error.message === "expired ticket" ? "expired" : "is not valid"}; export again from the Leads tab`, { status: 403 });
    }
    throw error;
  }
  const stamp = new Date().toISOString().slice(0, 10);
  return new Response(exportLeadsCsv({ db: getDb(), shopId: claims.shopId, filters: claims.filters, signal: request.signal }), {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="tryon-leads-${stamp}.csv"`,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    },
  });
};
