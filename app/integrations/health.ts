/**
 * How the Leads tab describes a webhook: not connected, healthy, failing (a run of failed attempts) or
 * paused (by the merchant, or by the worker after a 410 Gone).
 */

export type WebhookHealth = "not_connected" | "healthy" | "failing" | "paused";

/** Consecutive failed attempts after which the endpoint is shown as failing and the Leads tab warns. */
export const FAILING_AFTER_CONSECUTIVE_FAILURES = 5;

export function webhookHealth(endpoint: { state: string; consecutiveFailures: number } | null): WebhookHealth {
  if (!endpoint || endpoint.state === "disconnected") return "not_connected";
  if (endpoint.state === "paused") return "paused";
  return endpoint.consecutiveFailures >= FAILING_AFTER_CONSECUTIVE_FAILURES ? "failing" : "healthy";
}
