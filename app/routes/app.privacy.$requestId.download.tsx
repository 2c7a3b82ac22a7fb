import type { LoaderFunctionArgs } from "@remix-run/node";
import { requireAdminShop } from "../shops/admin.server";
import { readAdminParam } from "../lib/admin-input.server";
import { getDb } from "../lib/db.server";
import { buildDataReport } from "../compliance/data-report.server";
import { DataRequestClosedError, DataRequestNotFoundError } from "../compliance/errors";

// The data held about the shopper of one open data request, as a JSON attachment. Only the session token's
// shop can read its own requests; an id of another shop's request is "not found".
export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const requestId = readAdminParam(params, "requestId", { maxLength: 64 });
  try {
    const report = await buildDataReport(getDb(), { shopId: shop.id, requestId });
    return new Response(JSON.stringify(report, null, 2), {
      headers: {
        "Content-Type": "application/json; charset=utf-8",
        "Content-Disposition": `attachment; filename="data-request-${report.request.shopify_request_id}.json"`,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
      },
    });
  } catch (error) {
    if (error instanceof DataRequestNotFoundError) return new Response("Data request not found", { status: 404 });
    if (error instanceof DataRequestClosedError) {
      return new Response("This request was marked done and its copy of the customer's email erased", { status: 410 });
    }
    throw error;
  }
};
