import type { ActionFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { requireAdminShop } from "../lib/admin.server";
import { getConfig } from "../lib/config.server";
import { InvalidFiltersError, parseLeadFilters } from "../leads/filters";
import { createExportTicket } from "../leads/export-ticket.server";

// Issues a one-minute download ticket for the verified shop; the browser then downloads the CSV with it.
export const action = async ({ request }: ActionFunctionArgs) => {
  if (request.method !== "POST") return data({ error: "Use POST" }, { status: 405 });
  const { shop } = await requireAdminShop(request);
  const form = await request.formData();
  const params = new URLSearchParams();
  for (const key of ["q", "product", "from", "to"]) {
    const value = form.get(key);
    if (typeof value === "string") params.set(key, value);
  }
  try {
    const filters = parseLeadFilters(params);
    const ticket = createExportTicket({ shopId: shop.id, filters, appSecret: getConfig().SHOPIFY_API_SECRET });
    return { downloadUrl: `/exports/leads.csv?${new URLSearchParams({ ticket })}` };
  } catch (error) {
    if (error instanceof InvalidFiltersError) return data({ error: error.message }, { status: 422 });
    throw error;
  }
};
