import type { Db } from "../lib/db.server";
import { percentileCont, sqlDay, sqlDayGroup, sqlDialectOf, sqlMillisBetween, sqlParams, sqlTime } from "../lib/sql-dialect";
import { TtlCache } from "../lib/ttl-cache";

/**
 * The figures behind the chart at the top of the Leads tab, for the last 30 UTC days (today included):
 * leads captured per day, deliveries that ended delivered or failed per destination and day, and how long
 * a lead took from capture to delivered (median and 95th percentile) per day.
 *
 * Each figure is one aggregate statement grouped by UTC day over an index range: leads by
 * (shopId, capturedAt); deliveries by (shopId, status, createdAt). A delivery counts on the day it was made,
 * which for a lead's own delivery is the day it was captured. Latency counts only deliveries made with the
 * lead (not "Send earlier leads" or a later "Send to…", whose wait is the merchant's choice). PostgreSQL
 * computes the percentiles itself (percentile_cont); on SQLite they come from the newest
 * LATENCY_SAMPLE_LIMIT delivered leads of the window.
 */

export const ACTIVITY_DAYS = 30;
const DAY_MS = 86_400_000;
/** SQLite has no percentile function: at most this many latencies are read to compute them. */
export const LATENCY_SAMPLE_LIMIT = 20_000;
/** A delivery made within this long of its lead's capture is the lead's own (see above). */
const OWN_DELIVERY_WINDOW_MS = 60_000;

export interface DestinationActivity {
  id: string;
  name: string;
  /** One number per day, in `days` order. */
  delivered: number[];
  failed: number[];
}

export interface LeadsActivity {
  /** The 30 UTC days, oldest first, as `YYYY-MM-DD`. */
  days: string[];
  leads: number[];
  totalLeads: number;
  /** Days with at least one lead. */
  activeDays: number;
  destinations: DestinationActivity[];
  /** Capture to delivered, in milliseconds, per day; null on a day with no delivered lead. */
  latencyP50: (number | null)[];
  latencyP95: (number | null)[];
}

export function activityDays(now: Date): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: ACTIVITY_DAYS }, (_, i) => new Date(today - (ACTIVITY_DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10));
}

export async function leadsActivity(db: Db, shopId: string, now: Date = new Date()): Promise<LeadsActivity> {
  const dialect = sqlDialectOf(db);
  const days = activityDays(now);
  const index = new Map(days.map((d, i) => [d, i]));
  const since = new Date(`${days[0]}T00:00:00.000Z`);
  const until = new Date(Date.parse(`${days[days.length - 1]}T00:00:00.000Z`) + DAY_MS);

  const leadsSql = () => {
    const p = sqlParams(dialect);
    const sql = `SELECT ${sqlDay(dialect, `"capturedAt"`)} AS "day", COUNT(*) AS "n" FROM "Lead"
      WHERE "shopId" = ${p.add(shopId)} AND "capturedAt" >= ${p.add(sqlTime(dialect, since), "time")} AND "capturedAt" < ${p.add(sqlTime(dialect, until), "time")}
      GROUP BY ${sqlDayGroup(dialect, `"capturedAt"`)}`;
    return db.$queryRawUnsafe<{ day: string; n: number | bigint }[]>(sql, ...p.values);
  };
  const deliveriesSql = () => {
    const p = sqlParams(dialect);
    const sql = `SELECT "destinationId", ${sqlDay(dialect, `"createdAt"`)} AS "day", "status", COUNT(*) AS "n" FROM "Delivery"
      WHERE "shopId" = ${p.add(shopId)} AND "status" IN ('delivered', 'failed')
        AND "createdAt" >= ${p.add(sqlTime(dialect, since), "time")} AND "createdAt" < ${p.add(sqlTime(dialect, until), "time")}
        AND "event" = 'lead_captured'
      GROUP BY "destinationId", ${sqlDayGroup(dialect, `"createdAt"`)}, "status"`;
    return db.$queryRawUnsafe<{ destinationId: string; day: string; status: string; n: number | bigint }[]>(sql, ...p.values);
  };
  const latencySql = async (): Promise<{ day: string; p50: number | null; p95: number | null }[]> => {
    const p = sqlParams(dialect);
    const latency = sqlMillisBetween(dialect, `l."capturedAt"`, `d."deliveredAt"`);
    const own = dialect === "postgresql"
      ? `d."createdAt" < l."capturedAt" + interval '${OWN_DELIVERY_WINDOW_MS} milliseconds'`
      : `${sqlMillisBetween(dialect, `l."capturedAt"`, `d."createdAt"`)} < ${OWN_DELIVERY_WINDOW_MS}`;
    const where = `d."shopId" = ${p.add(shopId)} AND d."status" = 'delivered'
        AND d."createdAt" >= ${p.add(sqlTime(dialect, since), "time")} AND d."createdAt" < ${p.add(sqlTime(dialect, until), "time")}
        AND d."event" = 'lead_captured' AND d."backfillId" IS NULL AND d."deliveredAt" IS NOT NULL AND ${own}`;
    if (dialect === "postgresql") {
      const sql = `SELECT ${sqlDay(dialect, `d."createdAt"`)} AS "day",
          percentile_cont(0.5) WITHIN GROUP (ORDER BY ${latency}) AS "p50",
          percentile_cont(0.95) WITHIN GROUP (ORDER BY ${latency}) AS "p95"
        FROM "Delivery" d JOIN "Lead" l ON l."id" = d."leadId" WHERE ${where} GROUP BY ${sqlDayGroup(dialect, `d."createdAt"`)}`;
      const rows = await db.$queryRawUnsafe<{ day: string; p50: number | string | null; p95: number | string | null }[]>(sql, ...p.values);
      return rows.map((r) => ({ day: r.day, p50: r.p50 === null ? null : Number(r.p50), p95: r.p95 === null ? null : Number(r.p95) }));
    }
    const sql = `SELECT ${sqlDay(dialect, `d."createdAt"`)} AS "day", ${latency} AS "ms"
      FROM "Delivery" d JOIN "Lead" l ON l."id" = d."leadId" WHERE ${where}
      ORDER BY d."createdAt" DESC LIMIT ${LATENCY_SAMPLE_LIMIT}`;
    const rows = await db.$queryRawUnsafe<{ day: string; ms: number }[]>(sql, ...p.values);
    const byDay = new Map<string, number[]>();
    for (const r of rows) (byDay.get(r.day) ?? byDay.set(r.day, []).get(r.day)!).push(Math.max(0, Number(r.ms)));
    return [...byDay].map(([day, values]) => ({ day, p50: percentileCont(values, 0.5), p95: percentileCont(values, 0.95) }));
  };

  const [leadRows, deliveryRows, latencyRows] = await Promise.all([leadsSql(), deliveriesSql(), latencySql()]);

  const leads = days.map(() => 0);
  for (const r of leadRows) {
    const i = index.get(r.day);
    if (i !== undefined) leads[i] += Number(r.n);
  }
  const byDestination = new Map<string, { delivered: number[]; failed: number[] }>();
  for (const r of deliveryRows) {
    const i = index.get(r.day);
    if (i === undefined) continue;
    let series = byDestination.get(r.destinationId);
    if (!series) byDestination.set(r.destinationId, (series = { delivered: days.map(() => 0), failed: days.map(() => 0) }));
    series[r.status === "delivered" ? "delivered" : "failed"][i] += Number(r.n);
  }
  const names = byDestination.size
    ? await db.destination.findMany({ where: { shopId, id: { in: [...byDestination.keys()] } }, select: { id: true, name: true, createdAt: true }, orderBy: { createdAt: "asc" } })
    : [];
  const latencyP50: (number | null)[] = days.map(() => null);
  const latencyP95: (number | null)[] = days.map(() => null);
  for (const r of latencyRows) {
    const i = index.get(r.day);
    if (i === undefined) continue;
    latencyP50[i] = r.p50 === null ? null : Math.round(r.p50);
    latencyP95[i] = r.p95 === null ? null : Math.round(r.p95);
  }
  return {
    days,
    leads,
    totalLeads: leads.reduce((a, b) => a + b, 0),
    activeDays: leads.filter((n) => n > 0).length,
    destinations: names.map((d) => ({ id: d.id, name: d.name, ...byDestination.get(d.id)! })),
    latencyP50,
    latencyP95,
  };
}

/** How long the chart's figures are reused for a shop: a minute-old chart is fine, a query per page view is not. */
export const ACTIVITY_CACHE_TTL_MS = 60_000;
const cache = new TtlCache<LeadsActivity>({ ttlMs: ACTIVITY_CACHE_TTL_MS, maxEntries: 1_000 });

/** `leadsActivity`, reused for ACTIVITY_CACHE_TTL_MS per shop in this process. */
export function cachedLeadsActivity(db: Db, shopId: string): Promise<LeadsActivity> {
  return cache.getOrLoad(shopId, () => leadsActivity(db, shopId));
}

/** Forgets every shop's cached figures. */
export function clearLeadsActivityCache(): void {
  cache.clear();
}
