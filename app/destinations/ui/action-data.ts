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
