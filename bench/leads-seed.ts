import { existsSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createClient, type Client as LibsqlClient, type InValue } from "@libsql/client";
import pg from "pg";
import { generateLeads, type BenchLead, type BenchProduct } from "./leads-data";

/**
 * Scratch databases for the benchmark and a fast bulk loader for leads: multi-row inserts from arrays
 * (`unnest`) on two connections for PostgreSQL, multi-row inserts in one write transaction for SQLite.
 * Secondary indexes on "Lead" are dropped during the load and rebuilt from their own definitions after,
 * which is how a bulk import is done; the rebuilt indexes are exactly the migrated ones.
 */

export type Provider = "postgresql" | "sqlite";

export interface Scratch {
  provider: Provider;
  url: string;
  drop(): Promise<void>;
}

export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
export const BENCH_DB = "tryon_bench";

/** `name`: the scratch database's (or file's) own name, so that two benchmarks never share one. */
export async function createScratch(provider: Provider, opts: { reuse: boolean; name?: string }): Promise<Scratch & { fresh: boolean }> {
  const name = opts.name ?? BENCH_DB;
  if (provider === "postgresql") {
    const url = POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    let fresh = true;
    try {
      const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
      if (exists && opts.reuse) fresh = false;
      else {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${name}`);
      }
    } finally {
      await admin.end();
    }
    return {
      provider, url, fresh,
      drop: async () => {
        const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const file = path.join(os.tmpdir(), `${name === BENCH_DB ? "tryon-bench" : name}.sqlite`);
  const remove = () => {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
  };
  const fresh = !(opts.reuse && existsSync(file));
  if (fresh) remove();
  return { provider, url: `file:${file}`, fresh, drop: async () => remove() };
}

const LEAD_COLUMNS = [
  "id", "shopId", "email", "emailSearch", "productId", "productTitle", "productUrl", "variantId", "variantTitle",
  "resultContext", "consent", "tagged", "taggedAt", "customerId", "taggingState", "utmSource", "utmMedium", "utmCampaign", "utmTerm",
  "utmContent", "pageUrl", "idempotencyKey", "capturedAt",
] as const;
type LeadColumn = (typeof LEAD_COLUMNS)[number];
const BOOL_COLUMNS = new Set<LeadColumn>(["consent", "tagged"]);
const TIME_COLUMNS = new Set<LeadColumn>(["taggedAt", "capturedAt"]);

export interface ShopPlan {
  shopId: string;
  count: number;
  seed: number;
}

export interface LoadResult {
  rows: number;
  insertMs: number;
  indexMs: number;
}

/** Loads every planned shop's leads, then rebuilds the indexes and refreshes planner statistics. */
export async function bulkLoadLeads(
  provider: Provider, url: string, plans: ShopPlan[], products: BenchProduct[], end: Date,
  progress: (done: number, total: number) => void,
): Promise<LoadResult> {
  return provider === "postgresql" ? loadPostgres(url, plans, products, end, progress) : loadSqlite(url, plans, products, end, progress);
}

async function loadPostgres(
  url: string, plans: ShopPlan[], products: BenchProduct[], end: Date, progress: (done: number, total: number) => void,
): Promise<LoadResult> {
  const total = plans.reduce((s, p) => s + p.count, 0);
  const conns = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
  await Promise.all(conns.map((c) => c.connect()));
  const [main] = conns;
  const t0 = performance.now();
  const indexes = (await main.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'Lead' AND indexname <> 'Lead_pkey'`,
  )).rows;
  for (const ix of indexes) await main.query(`DROP INDEX "${ix.indexname}"`);
  for (const c of conns) await c.query("SET synchronous_commit = off");

  const types = LEAD_COLUMNS.map((c) => (BOOL_COLUMNS.has(c) ? "bool[]" : "text[]"));
  const select = LEAD_COLUMNS.map((c, i) => (TIME_COLUMNS.has(c) ? `u.c${i}::timestamp(3)` : `u.c${i}`)).join(", ");
  const sql = `INSERT INTO "Lead" (${LEAD_COLUMNS.map((c) => `"${c}"`).join(", ")})
    SELECT ${select} FROM unnest(${types.map((t, i) => `$${i + 1}::${t}`).join(", ")}) AS u(${LEAD_COLUMNS.map((_, i) => `c${i}`).join(", ")})`;

  // Two statements in flight (one per connection): one core builds batches while PostgreSQL inserts the last.
  const inFlight: Promise<unknown>[] = [];
  let done = 0;
  let turn = 0;
  for (const plan of plans) {
    for (const batch of generateLeads({ count: plan.count, products, seed: plan.seed, end, batchSize: 5000 })) {
      const arrays = LEAD_COLUMNS.map((col) => batch.map((lead) => pgValue(col, lead, plan.shopId)));
      if (inFlight.length === conns.length) await inFlight.shift();
      const conn = conns[turn++ % conns.length];
      inFlight.push(conn.query(sql, arrays).then(() => progress((done += batch.length), total)));
    }
  }
  await Promise.all(inFlight);
  const insertMs = performance.now() - t0;

  const t1 = performance.now();
  await main.query("SET maintenance_work_mem = '512MB'");
  await conns[1].query("SET maintenance_work_mem = '512MB'");
  // Rebuild two at a time, one per connection.
  const queue = [...indexes];
  await Promise.all(conns.map(async (c) => {
    for (let ix = queue.shift(); ix; ix = queue.shift()) await c.query(ix.indexdef);
  }));
  const indexMs = performance.now() - t1;
  await Promise.all(conns.map((c) => c.end()));
  return { rows: done, insertMs, indexMs };
}

function pgValue(col: LeadColumn, lead: BenchLead, shopId: string): string | boolean | null {
  if (col === "shopId") return shopId;
  const v = lead[col];
  if (v === null) return null;
  if (v instanceof Date) return v.toISOString().slice(0, 23);
  return v;
}

async function loadSqlite(
  url: string, plans: ShopPlan[], products: BenchProduct[], end: Date, progress: (done: number, total: number) => void,
): Promise<LoadResult> {
  const total = plans.reduce((s, p) => s + p.count, 0);
  const client: LibsqlClient = createClient({ url });
  const t0 = performance.now();
  await client.execute("PRAGMA journal_mode = WAL");
  await client.execute("PRAGMA synchronous = OFF");
  await client.execute("PRAGMA cache_size = -262144");
  const indexes = (await client.execute(
    `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'Lead' AND sql IS NOT NULL`,
  )).rows.map((r) => ({ name: String(r.name), sql: String(r.sql) }));
  for (const ix of indexes) await client.execute(`DROP INDEX "${ix.name}"`);

  // Multi-row inserts with the values written out as SQL literals: binding a million rows' values one by
  // one through the driver costs more than SQLite parsing them.
  const perStatement = 1000;
  const head = `INSERT INTO "Lead" (${LEAD_COLUMNS.map((c) => `"${c}"`).join(",")}) VALUES `;
  let done = 0;
  const tx = await client.transaction("write");
  try {
    for (const plan of plans) {
      for (const batch of generateLeads({ count: plan.count, products, seed: plan.seed, end, batchSize: perStatement })) {
        const rows = batch.map((lead) => `(${LEAD_COLUMNS.map((col) => sqliteLiteral(sqliteValue(col, lead, plan.shopId))).join(",")})`);
        await tx.execute(head + rows.join(","));
        done += batch.length;
        if (done % 50_000 < perStatement) progress(done, total);
      }
    }
    await tx.commit();
  } catch (error) {
    await tx.rollback();
    throw error;
  }
  progress(done, total);
  const insertMs = performance.now() - t0;
  const t1 = performance.now();
  for (const ix of indexes) await client.execute(ix.sql);
  await client.execute("PRAGMA synchronous = NORMAL");
  const indexMs = performance.now() - t1;
  client.close();
  return { rows: done, insertMs, indexMs };
}

function sqliteLiteral(value: InValue): string {
  if (value === null) return "NULL";
  if (typeof value === "number") return String(value);
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** SQLite as Prisma stores it: booleans as 0/1, DateTime as ISO text with an explicit UTC offset. */
function sqliteValue(col: LeadColumn, lead: BenchLead, shopId: string): InValue {
  if (col === "shopId") return shopId;
  const v = lead[col];
  if (v === null) return null;
  if (v instanceof Date) return v.toISOString().replace("Z", "+00:00");
  if (typeof v === "boolean") return v ? 1 : 0;
  return v;
}

/**
 * Webhook deliveries for about one lead in eighteen (statuses mixed), so the Leads page's delivery
 * lookup reads real rows. Plain SQL that both databases accept.
 */
export async function seedDeliveries(provider: Provider, url: string, shopId: string, destinationId: string): Promise<number> {
  const sql = `INSERT INTO "Delivery" ("id", "shopId", "destinationId", "leadId", "event", "payload", "status", "attemptCount", "nextAttemptAt", "createdAt", "updatedAt")
    SELECT 'd' || "id", "shopId", ?, "id", 'lead_captured', '{"event":"lead_captured","lead":{"id":"' || "id" || '"}}',
      CASE substr("id", length("id") - 1, 1) WHEN 'a' THEN 'failed' WHEN 'b' THEN 'retrying' ELSE 'delivered' END,
      1, "capturedAt", "capturedAt", "capturedAt"
    FROM "Lead" WHERE "shopId" = ? AND substr("id", length("id"), 1) IN ('a', 'b')`;
  if (provider === "postgresql") {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const res = await c.query(sql.replace("?", "$1").replace("?", "$2"), [destinationId, shopId]);
    await c.end();
    return res.rowCount ?? 0;
  }
  const c = createClient({ url });
  const res = await c.execute({ sql, args: [destinationId, shopId] });
  c.close();
  return res.rowsAffected;
}

/** Planner statistics (and, on PostgreSQL, the visibility map) as a settled production table would have. */
export async function analyze(provider: Provider, url: string): Promise<void> {
  if (provider === "postgresql") {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query("VACUUM (ANALYZE)");
    await c.end();
    return;
  }
  const c = createClient({ url });
  await c.execute("ANALYZE");
  await c.execute("PRAGMA wal_checkpoint(TRUNCATE)");
  c.close();
}

/** How many leads a kept scratch database holds for a shop (0 when it has no schema yet). */
export async function seededLeadCount(provider: Provider, url: string, domain: string): Promise<number> {
  const sql = `SELECT count(*) AS "n" FROM "Lead" JOIN "Shop" ON "Shop"."id" = "Lead"."shopId" WHERE "Shop"."domain" = `;
  try {
    if (provider === "postgresql") {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return Number((await c.query(`${sql}$1`, [domain])).rows[0].n);
      } finally {
        await c.end();
      }
    }
    const c = createClient({ url });
    try {
      return Number((await c.execute({ sql: `${sql}?`, args: [domain] })).rows[0].n);
    } finally {
      c.close();
    }
  } catch {
    return 0;
  }
}
