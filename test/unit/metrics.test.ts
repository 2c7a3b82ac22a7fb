import { afterEach, describe, expect, it } from "vitest";
import { metricsText, recordCaptureAnswer, recordDeliveryAttempt, recordLeadDelivered, watchQueue, watchReadiness, type WatchedQueue } from "../../app/lib/metrics.server";
import { parseMetrics } from "../support/prometheus";

/**
 * The registry's own rules: labels stay within their fixed sets whatever a caller passes, and the figures read
 * at scrape time (queue depth, the oldest waiting job, readiness) are right, and never hold a scrape up.
 */

const scrape = async () => parseMetrics((await metricsText()).body);
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function fakeQueue(counts: Record<string, number>, oldest: { timestamp: number; delay?: number; processedOn?: number } | null): WatchedQueue {
  return {
    getJobCounts: async () => counts,
    getJobs: async () => (oldest ? [oldest] : []),
  };
}

describe("metrics registry", () => {
  it("keeps labels to their fixed sets: an unknown kind is other, a status out of range is other", async () => {
    const before = await scrape();
    recordDeliveryAttempt("https://crm.example/hook?token=secret", "delivered", 120);
    recordLeadDelivered("someone@example.com", 1_500);
    recordCaptureAnswer(99_999);
    const after = await scrape();
    expect(after.value("tryon_deliveries_total", { kind: "other", outcome: "delivered" }) - before.value("tryon_deliveries_total", { kind: "other", outcome: "delivered" })).toBe(1);
    expect(after.value("tryon_delivery_attempt_duration_seconds_sum", { kind: "other" }) - before.value("tryon_delivery_attempt_duration_seconds_sum", { kind: "other" })).toBeCloseTo(0.12, 6);
    expect(after.value("tryon_lead_delivery_latency_seconds_bucket", { kind: "other", le: "2" }) - before.value("tryon_lead_delivery_latency_seconds_bucket", { kind: "other", le: "2" })).toBe(1);
    expect(after.value("tryon_lead_delivery_latency_seconds_bucket", { kind: "other", le: "1" }) - before.value("tryon_lead_delivery_latency_seconds_bucket", { kind: "other", le: "1" })).toBe(0);
    expect(after.value("tryon_capture_responses_total", { status: "other" }) - before.value("tryon_capture_responses_total", { status: "other" })).toBe(1);
    // None of it reached a label (values may hold any digits: process memory, start time).
    const labels = (after.text.match(/\{[^}]*\}/g) ?? []).join("\n");
    expect(labels).toContain('status="other"');
    expect(labels).not.toMatch(/crm\.example|someone@|99999/);
  });

  it("reads queue depth and the age of the oldest due job at the scrape", async () => {
    const now = Date.now();
    // Added 60 s ago with a 20 s delay: due for 40 s.
    cleanups.push(watchQueue("deliveries", fakeQueue({ waiting: 3, prioritized: 2, delayed: 7, active: 1 }, { timestamp: now - 60_000, delay: 20_000 })));
    // Parked again 10 s ago for 4 s (moveToDelayed keeps the new delay): due for 6 s, though added an hour ago.
    cleanups.push(watchQueue("tagging", fakeQueue({ waiting: 1, delayed: 0, active: 0 }, { timestamp: now - 3_600_000, delay: 4_000, processedOn: now - 10_000 })));
    const scraped = await scrape();
    expect(scraped.value("tryon_queue_jobs", { queue: "deliveries", state: "waiting" })).toBe(5);
    expect(scraped.value("tryon_queue_jobs", { queue: "deliveries", state: "delayed" })).toBe(7);
    expect(scraped.value("tryon_queue_jobs", { queue: "deliveries", state: "active" })).toBe(1);
    expect(scraped.value("tryon_queue_oldest_waiting_age_seconds", { queue: "deliveries" })).toBeGreaterThanOrEqual(40);
    expect(scraped.value("tryon_queue_oldest_waiting_age_seconds", { queue: "deliveries" })).toBeLessThan(45);
    expect(scraped.value("tryon_queue_oldest_waiting_age_seconds", { queue: "tagging" })).toBeGreaterThanOrEqual(6);
    expect(scraped.value("tryon_queue_oldest_waiting_age_seconds", { queue: "tagging" })).toBeLessThan(10);
  });

  it("answers 0 for an empty queue, and leaves out a queue or a probe that does not answer rather than waiting on it", async () => {
    cleanups.push(watchQueue("tagging", fakeQueue({ waiting: 0, delayed: 0, active: 0 }, null)));
    const never = new Promise<never>(() => undefined);
    cleanups.push(watchQueue("deliveries", { getJobCounts: () => never, getJobs: () => never }));
    cleanups.push(watchReadiness(async () => ({ database: true, redis: false, migrations: true })));
    const started = Date.now();
    const scraped = await scrape();
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(scraped.has("tryon_queue_oldest_waiting_age_seconds", { queue: "tagging" })).toBe(true);
    expect(scraped.value("tryon_queue_oldest_waiting_age_seconds", { queue: "tagging" })).toBe(0);
    expect(scraped.has("tryon_queue_jobs", { queue: "deliveries" })).toBe(false);
    expect(scraped.value("tryon_ready", { check: "database" })).toBe(1);
    expect(scraped.value("tryon_ready", { check: "redis" })).toBe(0);
  });
});
