/**
 * How the Leads tab describes a destination: not connected, healthy, failing (a run of failed attempts, or its
 * breaker holding deliveries because it stopped answering) or paused (by the merchant, or after a 410 Gone or
 * a rejected key), and the one line a merchant reads to know what is going on.
 */

export type WebhookHealth = "not_connected" | "healthy" | "failing" | "paused";

/** Consecutive failed attempts after which the destination is shown as failing and the Leads tab warns. */
export const FAILING_AFTER_CONSECUTIVE_FAILURES = 5;

export function webhookHealth(
  destination: { state: string; consecutiveFailures: number; circuitOpenedAt?: Date | null } | null,
): WebhookHealth {
  if (!destination || destination.state === "disconnected") return "not_connected";
  if (destination.state === "paused") return "paused";
  if (destination.circuitOpenedAt) return "failing";
  return destination.consecutiveFailures >= FAILING_AFTER_CONSECUTIVE_FAILURES ? "failing" : "healthy";
}

const clock = new Intl.DateTimeFormat("en", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" });

/** `14:02 UTC`, or a date as well when it is not today. */
function when(iso: string, now: Date): string {
  const at = new Date(iso);
  const sameDay = at.toISOString().slice(0, 10) === now.toISOString().slice(0, 10);
  const time = `${clock.format(at)} UTC`;
  return sameDay ? time : `${at.toISOString().slice(0, 10)} ${time}`;
}

/**
 * One plain sentence on the destination's state: "Not answering since 14:02 UTC: deliveries are waiting;
 * next try at 14:07 UTC." Null when all is well and there is nothing to say.
 */
export function healthLine(
  view: {
    state: "active" | "paused";
    health: WebhookHealth;
    pausedReason: string | null;
    consecutiveFailures: number;
    circuit: { openedAt: string; retryAt: string | null } | null;
  },
  now: Date = new Date(),
): string | null {
  if (view.state === "paused") return view.pausedReason ?? "Paused: nothing is sent until you resume it. Leads are kept.";
  if (view.circuit) {
    const next = view.circuit.retryAt && new Date(view.circuit.retryAt) > now ? `; next try at ${when(view.circuit.retryAt, now)}` : "; trying again now";
    return `Not answering since ${when(view.circuit.openedAt, now)}: deliveries are waiting${next}.`;
  }
  if (view.health === "failing") {
    return `The last ${view.consecutiveFailures} attempts failed. Deliveries are retried on schedule; check the delivery log.`;
  }
  return null;
}
