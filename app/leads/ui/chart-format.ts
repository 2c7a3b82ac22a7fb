/** Shared by the chart and its placeholder, so both take the same room. */
export const CHART_HEIGHT = 220;
export const CHART_TITLES = ["Leads per day", "Delivered and failed, per destination", "Time from capture to delivered"] as const;

const dayFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });

/** `2026-03-31` → `Mar 31`. */
export function formatDay(day: string): string {
  return dayFormat.format(new Date(`${day}T00:00:00.000Z`));
}

export { formatDuration } from "../../lib/format-duration";
