import type { Db } from "../lib/db.server";
import { MAX_DESTINATIONS_PER_SHOP, type DestinationKind } from "../delivery/destination-rules";
import { listLiveDestinations, type EndpointView } from "./endpoints.server";
import { healthLine, type WebhookHealth } from "./health";
import { parseKlaviyoSettings } from "./klaviyo/destination";

/** One destination as the Leads tab lists it: what it is, where it sends, how it is doing. */
export interface DestinationLine {
  id: string;
  kind: DestinationKind;
  name: string;
  /** Where it sends, in words safe to show: a host (never a path or query), or the Klaviyo account. */
  target: string;
  health: WebhookHealth;
  /** Whether its breaker holds deliveries because it stopped answering. */
  waiting: boolean;
  consecutiveFailures: number;
  pausedReason: string | null;
  /** The plain-words state line (health.ts); null when all is well. */
  healthLine: string | null;
}

export interface DestinationsSummary {
  destinations: DestinationLine[];
  /** How many a shop may connect at once. */
  limit: number;
}

export function targetOf(view: EndpointView): string {
  if (view.kind === "klaviyo") {
    const settings = parseKlaviyoSettings(JSON.stringify(view.settings));
    return settings.accountName ? `${settings.accountName} account` : "";
  }
  try {
    return new URL(view.url).host;
  } catch {
    return "";
  }
}

export async function destinationsSummary(db: Db, shopId: string, now: Date = new Date()): Promise<DestinationsSummary> {
  const live = await listLiveDestinations(db, shopId, now);
  return {
    limit: MAX_DESTINATIONS_PER_SHOP,
    destinations: live.map((view) => ({
      id: view.id,
      kind: view.kind,
      name: view.name,
      target: targetOf(view),
      health: view.health,
      waiting: view.state === "active" && view.circuit !== null,
      consecutiveFailures: view.consecutiveFailures,
      pausedReason: view.pausedReason,
      healthLine: healthLine(view, now),
    })),
  };
}
