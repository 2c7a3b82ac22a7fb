/** Shared by the chart and its placeholder, so both take the same room. */
export const CHART_HEIGHT = 220;
export const CHART_TITLES = ["Leads per day", "Delivered and failed, per destination", "Time from capture to delivered"] as const;

const dayFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });

/** `2026-03-31` → `Mar 31`. */
export function formatDay(day: string): string {
  return dayFormat.format(new Date(`${day}T00:00:00.000Z`));
}

/** Milliseconds in words a merchant reads: `850 ms`, `1.2 s`, `3 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
