import type { TestSendResult } from "../test-send.server";

/** What the webhook page's action answers, by intent. Only connect and rotate ever carry a secret. */
export type WebhookActionData =
  | { intent: "connect"; destinationId: string; secret: string }
  | { intent: "rotate"; destinationId: string; secret: string; previousSecretUntil: string | null }
  | { intent: "disconnect"; cancelled: number }
  | { intent: "pause" }
  | { intent: "resume"; woken: number }
  | { intent: "send_test"; result: TestSendResult }
  | { intent: "replay"; deliveryId: string }
  | { intent: "count_failed"; count: number; since: string }
  | { intent: "replay_failed"; replayed: number; since: string }
  | { intent: string; error: string };

export function errorOf(data: unknown): string | null {
  return data && typeof data === "object" && "error" in data && typeof data.error === "string" ? data.error : null;
}

/** What a destination's own page answers besides the webhook intents. Never a key or a secret but a rotated one. */
export type DestinationActionData =
  | WebhookActionData
  | { intent: "rename"; name: string }
  | { intent: "filters"; events: string[]; productIds: string[] | null }
  | { intent: "klaviyo_settings"; message: string }
  | { intent: "klaviyo_lists"; lists: { id: string; name: string; optInProcess: string | null }[]; truncated: boolean }
  | { intent: "backfill_count"; since: string; count: number }
  | { intent: "backfill_start"; total: number }
  | { intent: "backfill_cancel" }
  | { intent: string; error: string; field?: string };

/** What the Add destination page answers. The webhook's secret is in the connect answer only. */
export type NewDestinationActionData =
  | { intent: "connect_webhook"; destinationId: string; name: string; secret: string }
  | { intent: "connect_klaviyo"; destinationId: string; name: string; message: string; unconfirmedScopes: string[] }
  | { intent: "klaviyo_lists"; lists: { id: string; name: string; optInProcess: string | null }[]; truncated: boolean }
  | { intent: string; error: string; field?: string };
