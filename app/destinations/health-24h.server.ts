import type { Db } from "../lib/db.server";
import { formatDuration } from "../lib/format-duration";
import { percentileCont, sqlDialectOf, sqlMillisBetween, sqlParams, sqlTime } from "../lib/sql-dialect";
import { IntegrationEndpointNotFoundError } from "./errors";

/**
 * How one destination did over the last 24 hours, in one line a merchant reads:
 * "98% delivered in the last 24 hours · 95% within 1.2 s · oldest waiting lead retries at 14:07 UTC".
 *
 * - delivered share: of the leads sent to it in the window (deliveries made in the last 24 hours) that have
 *   an outcome so far (delivered, failed for good, or waiting for a retry), how many were delivered;
 * - 95% within: the 95th percentile of capture to delivered, over the window's delivered leads whose
 *   delivery was made with the lead (not "Send earlier leads" or a later "Send to…");
 * - the oldest lead still waiting for it (queued or retrying, made at any time), and when it is tried next
 *   (the later of its own retry time and the receiver's pause, when it stopped answering).
 * Each part is an index range: (destinationId, createdAt) for the window and the waiting lead. PostgreSQL
 * computes the percentile; SQLite reads at most LATENCY_SAMPLE_LIMIT latencies, the newest first.
 */

const WINDOW_MS = 24 * 3_600_000;
const OWN_DELIVERY_WINDOW_MS = 60_000;
const LATENCY_SAMPLE_LIMIT = 10_000;

export interface DestinationHealth24h {
  destinationId: string;
  /** Leads sent in the window that have an outcome so far, and how many of them were delivered. */
  settled: number;
  delivered: number;
  failed: number;
  retrying: number;
  /** delivered / settled, 0..1; null when nothing was settled. */
  deliveredShare: number | null;
  p95Ms: number | null;
  /** Leads waiting for this destination (queued or retrying), and when the oldest one is tried next. */
  waiting: number;
  oldestWaitingRetryAt: string | null;
  /** The whole line, in plain words. */
  line: string;
}

export async function destinationHealth24h(input: { db: Db; shopId: string; destinationId: string; now?: Date }): Promise<DestinationHealth24h> {
  const { db, shopId, destinationId } = input;
  const now = input.now ?? new Date();
  const destination = await db.destination.findFirst({
    where: { id: destinationId, shopId },
    select: { id: true, circuitOpenedAt: true, circuitRetryAt: true },
  });
  if (!destination) throw new IntegrationEndpointNotFoundError();
  const since = new Date(now.getTime() - WINDOW_MS);
  const dialect = sqlDialectOf(db);

  const outcomes = db.delivery.groupBy({
    by: ["status"],
    where: { destinationId, shopId, event: "lead_captured", createdAt: { gte: since }, status: { in: ["delivered", "failed", "retrying"] } },
    _count: { _all: true },
  });
  const waitingCount = db.delivery.count({ where: { destinationId, shopId, status: { in: ["pending", "retrying"] } } });
  const oldestWaiting = db.delivery.findFirst({
    where: { destinationId, shopId, status: { in: ["pending", "retrying"] } },
    orderBy: { createdAt: "asc" },
    select: { nextAttemptAt: true },
  });
  const p95 = (async (): Promise<number | null> => {
    const p = sqlParams(dialect);
    const latency = sqlMillisBetween(dialect, `l."capturedAt"`, `d."deliveredAt"`);
    const own = dialect === "postgresql"
      ? `d."createdAt" < l."capturedAt" + interval '${OWN_DELIVERY_WINDOW_MS} milliseconds'`
      : `${sqlMillisBetween(dialect, `l."capturedAt"`, `d."createdAt"`)} < ${OWN_DELIVERY_WINDOW_MS}`;
    const where = `d."destinationId" = ${p.add(destinationId)} AND d."createdAt" >= ${p.add(sqlTime(dialect, since), "time")}
      AND d."status" = 'delivered' AND d."event" = 'lead_captured' AND d."backfillId" IS NULL AND d."deliveredAt" IS NOT NULL AND ${own}`;
    if (dialect === "postgresql") {
      const rows = await db.$queryRawUnsafe<{ p95: number | string | null }[]>(
        `SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY ${latency}) AS "p95" FROM "Delivery" d JOIN "Lead" l ON l."id" = d."leadId" WHERE ${where}`,
        ...p.values,
      );
      const value = rows[0]?.p95;
      return value === null || value === undefined ? null : Number(value);
    }
    const rows = await db.$queryRawUnsafe<{ ms: number }[]>(
      `SELECT ${latency} AS "ms" FROM "Delivery" d JOIN "Lead" l ON l."id" = d."leadId" WHERE ${where} ORDER BY d."createdAt" DESC LIMIT ${LATENCY_SAMPLE_LIMIT}`,
      ...p.values,
    );
    return percentileCont(rows.map((r) => Math.max(0, Number(r.ms))), 0.95);
  })();

  const [counts, waiting, oldest, p95Ms] = await Promise.all([outcomes, waitingCount, oldestWaiting, p95]);
  const countOf = (status: string) => counts.find((c) => c.status === status)?._count._all ?? 0;
  const delivered = countOf("delivered");
  const failed = countOf("failed");
  const retrying = countOf("retrying");
  const settled = delivered + failed + retrying;
  let retryAt: Date | null = oldest?.nextAttemptAt ?? null;
  if (retryAt && destination.circuitOpenedAt && destination.circuitRetryAt && destination.circuitRetryAt > retryAt) retryAt = destination.circuitRetryAt;
  const health = {
    destinationId,
    settled,
    delivered,
    failed,
    retrying,
    deliveredShare: settled ? delivered / settled : null,
    p95Ms: p95Ms === null ? null : Math.round(p95Ms),
    waiting,
    oldestWaitingRetryAt: retryAt?.toISOString() ?? null,
  };
  return { ...health, line: healthLine24h(health, now) };
}

const clock = new Intl.DateTimeFormat("en", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" });
const date = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });

/** A share as a whole percent that never rounds a failure away: 99.6% is "99%", only all of them is "100%". */
function percent(share: number): string {
  return `${share === 1 ? 100 : Math.min(99, Math.floor(share * 100))}%`;
}

/** The line for the figures above; `now` decides whether a time needs its date. */
export function healthLine24h(health: Omit<DestinationHealth24h, "line">, now: Date): string {
  const parts: string[] = [];
  if (health.deliveredShare === null) parts.push("No leads sent in the last 24 hours");
  else parts.push(`${percent(health.deliveredShare)} delivered in the last 24 hours`);
  if (health.p95Ms !== null) parts.push(`95% within ${formatDuration(health.p95Ms)}`);
  if (health.oldestWaitingRetryAt) {
    const at = new Date(health.oldestWaitingRetryAt);
    if (at.getTime() <= now.getTime()) parts.push("oldest waiting lead is being sent now");
    else {
      const sameDay = at.toISOString().slice(0, 10) === now.toISOString().slice(0, 10);
      parts.push(`oldest waiting lead retries at ${sameDay ? "" : `${date.format(at)}, `}${clock.format(at)} UTC`);
    }
  } else if (health.deliveredShare !== null) {
    parts.push("no lead waiting");
  }
  return parts.join(" · ");
}
