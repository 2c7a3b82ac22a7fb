import type { DeliveryStatus } from "../../delivery/types";
import type { WebhookHealth } from "../health";

/** Display helpers shared by the Leads tab and the webhook page. Times are shown in UTC, labelled so. */

const dateTime = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" });

export function formatUtc(iso: string): string {
  return `${dateTime.format(new Date(iso))} UTC`;
}

type Tone = "success" | "critical" | "attention" | "info" | "warning" | undefined;

export const HEALTH_BADGE: Record<WebhookHealth, { tone: Tone; label: string }> = {
  not_connected: { tone: undefined, label: "Not connected" },
  healthy: { tone: "success", label: "Healthy" },
  failing: { tone: "critical", label: "Failing" },
  paused: { tone: "warning", label: "Paused" },
};

export const STATUS_BADGE: Record<DeliveryStatus, { tone: Tone; label: string }> = {
  pending: { tone: "info", label: "Queued" },
  delivering: { tone: "info", label: "Sending" },
  retrying: { tone: "warning", label: "Retrying" },
  delivered: { tone: "success", label: "Delivered" },
  failed: { tone: "critical", label: "Failed" },
  cancelled: { tone: undefined, label: "Cancelled" },
};

/** Today as a UTC day, YYYY-MM-DD. */
export function utcDay(date: Date = new Date()): string {
  return date.toISOString().slice(0, 10);
}
