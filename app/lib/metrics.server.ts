import type { JobType } from "bullmq";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * What the app tells an operator, in Prometheus's text format (served at /metrics by the web process and by each
 * worker process on its own port). One registry per process. Domain code records through the small functions
 * below, which take only values of small fixed sets (a destination kind, an outcome, a status code, a queue): no
 * shop, shopper, URL or destination ever becomes a label, so the number of series stays fixed and no personal
 * data leaves through a scrape. Queue depths and readiness are read when Prometheus scrapes, not before.
 */

export const DESTINATION_KINDS = ["webhook", "klaviyo", "http_request"] as const;
export const DELIVERY_OUTCOMES = ["delivered", "retry", "failed", "paused", "superseded", "secret_unreadable"] as const;
export const TAGGING_OUTCOMES = ["tagged", "retry", "failed", "throttled", "skipped"] as const;
export const THROTTLE_REASONS = ["throttled", "low_bucket"] as const;
export const QUEUE_LABELS = ["deliveries", "tagging"] as const;
export const READINESS_CHECKS = ["database", "redis", "migrations"] as const;

export type DeliveryOutcomeLabel = (typeof DELIVERY_OUTCOMES)[number];
export type TaggingOutcomeLabel = (typeof TAGGING_OUTCOMES)[number];
export type ThrottleReason = (typeof THROTTLE_REASONS)[number];
export type QueueLabel = (typeof QUEUE_LABELS)[number];
export type ReadinessCheck = (typeof READINESS_CHECKS)[number];

/** The part of a BullMQ queue read at scrape time. */
export interface WatchedQueue {
  getJobCounts(...types: JobType[]): Promise<Record<string, number>>;
  getJobs(types: JobType[], start?: number, end?: number, asc?: boolean): Promise<{ timestamp: number; delay?: number; processedOn?: number }[]>;
}

/** Readiness as a probe reports it: one entry per check, true when it passed. */
export type ReadinessProbe = () => Promise<Record<ReadinessCheck, boolean>>;

/** A scrape never waits longer than this on Redis or the database; what did not answer is left out. */
const COLLECT_TIMEOUT_MS = 2_000;

interface AppMetrics {
  registry: Registry;
  leadsCaptured: Counter;
  captureResponses: Counter<"status">;
  deliveries: Counter<"kind" | "outcome">;
  attemptDuration: Histogram<"kind">;
  deliveryLatency: Histogram<"kind">;
  reconcilerRequeues: Counter<"queue">;
  deliveriesExpired: Counter;
  taggings: Counter<"outcome">;
  shopifyThrottles: Counter<"reason">;
  queues: Map<QueueLabel, WatchedQueue>;
  readiness: Set<ReadinessProbe>;
}

declare global {
  // One set of metrics per process, shared by the server build and anything else that loads this module.
  var __tryonMetrics: AppMetrics | undefined;
}

function create(): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const queues = new Map<QueueLabel, WatchedQueue>();
  const readiness = new Set<ReadinessProbe>();
  const registers = [registry];
  const metrics: AppMetrics = {
    registry,
    queues,
    readiness,
    leadsCaptured: new Counter({
      name: "tryon_leads_captured_total", help: "Leads stored by the storefront capture (a repeated submission is not counted again).", registers,
    }),
    captureResponses: new Counter({
      name: "tryon_capture_responses_total", help: "Answers of the storefront capture route, by HTTP status code.", labelNames: ["status"], registers,
    }),
    deliveries: new Counter({
      name: "tryon_deliveries_total",
      help: "Delivery attempts by destination kind and outcome: delivered, retry (failed, tried again later), failed (no attempt left), paused (the destination answered 410 or refused its credentials), superseded (another worker recorded it first), secret_unreadable (a master key is missing).",
      labelNames: ["kind", "outcome"], registers,
    }),
    attemptDuration: new Histogram({
      name: "tryon_delivery_attempt_duration_seconds", help: "Duration of one delivery attempt (DNS, connect, TLS and the answer), by destination kind.",
      labelNames: ["kind"], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers,
    }),
    deliveryLatency: new Histogram({
      name: "tryon_lead_delivery_latency_seconds", help: "From a lead delivery's making to delivered, by destination kind: from the capture for a new lead, from the click for a \"Send to\" of an earlier one; backfills of earlier leads are not counted, and a delivery sent again by hand counts again, from its making.",
      labelNames: ["kind"], buckets: [0.5, 1, 2, 3, 5, 10, 30, 60, 300, 1800, 7200, 21600, 86400], registers,
    }),
    reconcilerRequeues: new Counter({
      name: "tryon_reconciler_requeued_total", help: "Jobs the reconcilers queued again because Redis had lost them or their worker died, by queue.",
      labelNames: ["queue"], registers,
    }),
    deliveriesExpired: new Counter({
      name: "tryon_reconciler_expired_deliveries_total", help: "Deliveries failed because their destination did not answer for their whole retry window.", registers,
    }),
    taggings: new Counter({
      name: "tryon_taggings_total",
      help: "Tagging jobs by outcome: tagged, retry (failed, tried again), failed (given up), throttled (Shopify asked to wait), skipped (lead gone or shop uninstalled).",
      labelNames: ["outcome"], registers,
    }),
    shopifyThrottles: new Counter({
      name: "tryon_shopify_throttled_total",
      help: "Times a shop's calls to Shopify were held: throttled (Shopify answered THROTTLED or 429) or low_bucket (its cost bucket ran low).",
      labelNames: ["reason"], registers,
    }),
  };
  new Gauge({
    name: "tryon_queue_jobs", help: "Jobs in a queue by state (waiting, delayed, active), read from Redis at scrape time.",
    labelNames: ["queue", "state"], registers,
    async collect() {
      this.reset();
      await Promise.all([...queues].map(async ([label, queue]) => {
        const counts = await withTimeout(queue.getJobCounts("waiting", "prioritized", "delayed", "active")).catch(() => null);
        if (!counts) return;
        this.set({ queue: label, state: "waiting" }, (counts.waiting ?? 0) + (counts.prioritized ?? 0));
        this.set({ queue: label, state: "delayed" }, counts.delayed ?? 0);
        this.set({ queue: label, state: "active" }, counts.active ?? 0);
      }));
    },
  });
  new Gauge({
    name: "tryon_queue_oldest_waiting_age_seconds",
    help: "How long the oldest job waiting in a queue has been due (0 when none waits), read from Redis at scrape time.",
    labelNames: ["queue"], registers,
    async collect() {
      this.reset();
      await Promise.all([...queues].map(async ([label, queue]) => {
        const oldest = await withTimeout(queue.getJobs(["wait"], 0, 0, true)).catch(() => null);
        if (!oldest) return;
        this.set({ queue: label }, oldest[0] ? Math.max(0, Date.now() - dueAt(oldest[0])) / 1000 : 0);
      }));
    },
  });
  new Gauge({
    name: "tryon_ready", help: "Whether this process's readiness check passes (1) or fails (0), by check: database, redis, migrations.",
    labelNames: ["check"], registers,
    async collect() {
      this.reset();
      for (const probe of readiness) {
        const checks = await probe().catch(() => null);
        for (const check of READINESS_CHECKS) this.set({ check }, checks?.[check] ? 1 : 0);
      }
    },
  });
  return metrics;
}

/**
 * When a waiting job became due: added with a delay, parked again (moveToDelayed records the new delay and the
 * job was last taken at processedOn), or neither.
 */
function dueAt(job: { timestamp: number; delay?: number; processedOn?: number }): number {
  const delay = Number(job.delay) || 0;
  return Math.max(job.timestamp + delay, job.processedOn ? job.processedOn + delay : 0);
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), COLLECT_TIMEOUT_MS);
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (error: unknown) => { clearTimeout(timer); reject(error); },
    );
  });
}

function metrics(): AppMetrics {
  globalThis.__tryonMetrics ??= create();
  return globalThis.__tryonMetrics;
}

const kindLabel = (kind: string) => ((DESTINATION_KINDS as readonly string[]).includes(kind) ? kind : "other");

/** An HTTP status as a label: the code itself, which the route only ever picks from a handful. */
const statusLabel = (status: number) => (Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : "other");

export function recordCaptureAnswer(status: number): void {
  metrics().captureResponses.inc({ status: statusLabel(status) });
}

export function recordLeadCaptured(): void {
  metrics().leadsCaptured.inc();
}

/** One attempt's outcome; its duration when something was sent. */
export function recordDeliveryAttempt(kind: string, outcome: DeliveryOutcomeLabel, durationMs?: number): void {
  const m = metrics();
  m.deliveries.inc({ kind: kindLabel(kind), outcome });
  if (durationMs !== undefined) m.attemptDuration.observe({ kind: kindLabel(kind) }, Math.max(0, durationMs) / 1000);
}

/** A lead reached a destination, `latencyMs` after its delivery was made (at capture, or at a "Send to"). */
export function recordLeadDelivered(kind: string, latencyMs: number): void {
  metrics().deliveryLatency.observe({ kind: kindLabel(kind) }, Math.max(0, latencyMs) / 1000);
}

export function recordReconcilerRequeues(queue: QueueLabel, count: number): void {
  if (count > 0) metrics().reconcilerRequeues.inc({ queue }, count);
}

export function recordDeliveriesExpired(count: number): void {
  if (count > 0) metrics().deliveriesExpired.inc(count);
}

export function recordTagging(outcome: TaggingOutcomeLabel): void {
  metrics().taggings.inc({ outcome });
}

export function recordShopifyThrottle(reason: ThrottleReason): void {
  metrics().shopifyThrottles.inc({ reason });
}

/** Reports a queue's depth at every scrape until the returned function is called. */
export function watchQueue(label: QueueLabel, queue: WatchedQueue): () => void {
  const { queues } = metrics();
  queues.set(label, queue);
  return () => {
    if (queues.get(label) === queue) queues.delete(label);
  };
}

/** Reports readiness at every scrape (tryon_ready) until the returned function is called. */
export function watchReadiness(probe: ReadinessProbe): () => void {
  const { readiness } = metrics();
  readiness.add(probe);
  return () => void readiness.delete(probe);
}

/** Everything this process exports, in Prometheus's text format. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  const { registry } = metrics();
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** Every metric this process exports with the label names it may carry (for checks of alert rules against them). */
export function metricLabelNames(): Map<string, string[]> {
  return new Map(metrics().registry.getMetricsAsArray().map((m) => [m.name, [...((m as { labelNames?: string[] }).labelNames ?? [])]]));
}
