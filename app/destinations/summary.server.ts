import type { Db } from "../lib/db.server";
import { findLiveEndpoint } from "./endpoints.server";
import type { WebhookHealth } from "./health";

/** The Integrations section of the Leads tab: one line per integration, without secrets or full URLs. */
export interface IntegrationsSummary {
  webhook: {
    health: WebhookHealth;
    /** Only the host: a CRM URL's path or query may carry an access token. */
    host: string | null;
    consecutiveFailures: number;
    pausedReason: string | null;
  };
}

export async function integrationsSummary(db: Db, shopId: string): Promise<IntegrationsSummary> {
  const endpoint = await findLiveEndpoint(db, shopId);
  return {
    webhook: {
      health: endpoint?.health ?? "not_connected",
      host: endpoint ? new URL(endpoint.url).host : null,
      consecutiveFailures: endpoint?.consecutiveFailures ?? 0,
      pausedReason: endpoint?.pausedReason ?? null,
    },
  };
}
