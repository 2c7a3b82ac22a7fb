import type { ActionFunctionArgs } from "@remix-run/node";
import { requireAdminShop } from "../shops/admin.server";
import { readAdminForm, refusal } from "../lib/admin-input.server";
import { getConfig } from "../lib/config.server";
import { InvalidFiltersError, parseLeadFilters } from "../leads/filters";
import { createExportTicket } from "../leads/export-ticket.server";

// Issues a one-minute download ticket for the verified shop; the browser then downloads the CSV with it.
// A resource route: every answer is a Response with its real status (the Export button reads it with fetch).
export const action = async ({ request }: ActionFunctionArgs) => {
  if (request.method !== "POST") return refusal(405, "method", "Use POST");
  const { shop } = await requireAdminShop(request);
  const form = await readAdminForm(request);
  const params = new URLSearchParams();
  for (const key of ["q", "product", "from", "to"]) {
    const value = form.get(key);
    if (value !== null) params.set(key, value);
  }
  try {
    const filters = parseLeadFilters(params);
    const ticket = createExportTicket({ shopId: shop.id, filters, appSecret: getConfig().SHOPIFY_API_SECRET });
    return Response.json({ downloadUrl: `/exports/leads.csv?${new URLSearchParams({ ticket })}` }, { headers: { "Cache-Control": "no-store" } });
  } catch (error) {
    if (error instanceof InvalidFiltersError) return refusal(422, error.field, error.message);
    throw error;
  }
};
