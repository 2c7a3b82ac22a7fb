import type { LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { readAdminParam } from "../lib/admin-input.server";
import { requireAdminShop } from "../shops/admin.server";
import { latestBackfill, type BackfillView } from "../destinations/backfill.server";
import { getWebhookServices } from "../destinations/services.server";

/**
 * The progress of a destination's latest "Send earlier leads" run, which its page polls while the run goes on
 * instead of reloading everything on the page (delivery log, last 24 hours) every two seconds. Looked up with
 * the shop of the verified session only: another shop's destination has no run here.
 */

export interface BackfillProgress {
  backfill: BackfillView | null;
}

export const loader = async ({ request, params }: LoaderFunctionArgs) => {
  const { shop } = await requireAdminShop(request);
  const destinationId = readAdminParam(params, "id", { maxLength: 64 });
  const { db } = getWebhookServices();
  const backfill = await latestBackfill(db, shop.id, destinationId);
  return data<BackfillProgress>({ backfill }, { headers: { "Cache-Control": "no-store" } });
};
