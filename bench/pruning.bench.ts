/**
 * Retention at scale on PostgreSQL: seeds a scratch database with a few hundred thousand leads, their
 * deliveries and attempt records spread over 200 days, then runs the pruning job's own batch functions
 * and prints
 *  - the time of one batch, per phase (a shop's expired leads; attempt records; delivered bodies):
 *    median, p95 and worst, which is also the longest any one statement holds its row locks;
 *  - the latency of a worker's writes (record an attempt, update its delivery) made meanwhile on other
 *    rows, against the same writes on an idle database, and how often any session waited for a lock;
 *  - the plans of the batch queries, to show they walk the age indexes.
 *
 *   npm run bench:pruning                    300,000 leads (2 attempts each), batches of 1,000
 *   --leads=N --batch=N --keep               sizes; keep the scratch database tryon_bench_pruning
 *
 * One run (2 cores shared with other work, load average 9.4; PostgreSQL on the same machine), batches of
 * 1,000: an attempt batch took 67 ms median / 121 ms p95 / 205 ms worst, a body batch 129 / 201 / 342 ms,
 * a batch of 100 expired leads (with their 100 deliveries and 200 attempts) 46 / 96 / 230 ms. The worker's
 * writes on other rows went from p99 23 ms idle to p99 86 ms meanwhile, from sharing the CPU: no session
 * waited for a lock in any of 1,983 samples, since a batch locks only the old rows it changes. Batch times
 * stay flat as the tables shrink: each batch is an index range scan that stops after its rows.
 */
import os from "node:os";
import pg from "pg";
import { createDb } from "../app/lib/db.server";
import { migrateDatabase } from "../app/lib/db-migrate.server";
import type { BatchStep } from "../app/retention/batches";
import { pruneAttemptBatch, prunePayloadBatch } from "../app/retention/delivery-history.server";
import { pruneLeadBatch } from "../app/retention/expired-leads.server";
import { leadCutoff } from "../app/retention/lead-retention";
import { POSTGRES_ADMIN_URL } from "./leads-seed";

const args = new Map(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k, v ?? "true"] as const;
}));
const LEADS = Number(args.get("leads") ?? 300_000);
const BATCH = Number(args.get("batch") ?? 1_000);
const KEEP = args.has("keep");
/** A shop with a 6-month lead retention gets a sixth as many leads, all 8 months old. */
const EXPIRED_LEADS = Math.round(LEADS / 6);
const NOW = new Date(Date.UTC(2026, 10, 1));
const RETENTION_DAYS = 90;

const ADMIN_URL = POSTGRES_ADMIN_URL;
const NAME = "tryon_bench_pruning";
const URL = ADMIN_URL.replace(/\/[^/]*$/, `/${NAME}`);

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- seed

// Captures spread evenly over the 200 days before NOW; each lead delivered a minute after capture, after
// a 503 and a 200; one in 50 failed instead. Bodies and excerpts of a realistic size.
const SEED = `
INSERT INTO "Shop" ("id", "domain", "leadRetentionMonths") VALUES ('shop-keeps', 'keeps.myshopify.com', NULL), ('shop-6m', 'six-months.myshopify.com', 6);
INSERT INTO "Destination" ("id", "shopId", "url", "secretCiphertext", "secretKeyVersion")
  VALUES ('ep-keeps', 'shop-keeps', 'https://crm.example/keeps', 'x', 1), ('ep-6m', 'shop-6m', 'https://crm.example/6m', 'x', 1);
INSERT INTO "Lead" ("id", "shopId", "email", "emailSearch", "productId", "productTitle", "productUrl", "consent", "tagged", "capturedAt")
  SELECT 'lead-' || g, 'shop-keeps', 'shopper' || g || '@example.org', 'shopper' || g || '@example.org', 'gid://shopify/Product/' || (g % 500),
    'Aviator frames', 'https://keeps.myshopify.com/products/aviator', true, true,
    $1::timestamp(3) - (g::float / ${LEADS} * 200) * interval '1 day'
  FROM generate_series(1, ${LEADS}) AS g;
INSERT INTO "Lead" ("id", "shopId", "email", "emailSearch", "productId", "productTitle", "productUrl", "consent", "tagged", "capturedAt")
  SELECT 'old-lead-' || g, 'shop-6m', 'old' || g || '@example.org', 'old' || g || '@example.org', 'gid://shopify/Product/1',
    'Aviator frames', 'https://six-months.myshopify.com/products/aviator', true, true,
    $1::timestamp(3) - interval '240 days' - g * interval '1 second'
  FROM generate_series(1, ${EXPIRED_LEADS}) AS g;
INSERT INTO "Delivery" ("id", "shopId", "destinationId", "leadId", "event", "payload", "status", "attemptCount", "nextAttemptAt",
    "deliveredAt", "createdAt", "updatedAt")
  SELECT 'd-' || l."id", l."shopId", CASE l."shopId" WHEN 'shop-6m' THEN 'ep-6m' ELSE 'ep-keeps' END, l."id", 'lead_captured',
    '{"version":1,"event":"lead_captured","lead_id":"' || l."id" || '","email":"' || l."email" || '","product":' || repeat('x', 560) || '}',
    CASE WHEN hashtext(l."id") % 50 = 0 THEN 'failed' ELSE 'delivered' END, 2, l."capturedAt",
    CASE WHEN hashtext(l."id") % 50 = 0 THEN NULL ELSE l."capturedAt" + interval '61 seconds' END, l."capturedAt", l."capturedAt"
  FROM "Lead" AS l;
INSERT INTO "DeliveryAttempt" ("id", "deliveryId", "number", "startedAt", "durationMs", "address", "statusCode", "responseExcerpt", "errorCode")
  SELECT 'a-' || d."id" || '-' || n, d."id", n, d."createdAt" + (n - 1) * interval '60 seconds', 120, '203.0.113.7',
    CASE n WHEN 1 THEN 503 ELSE 200 END, '{"status":"' || repeat('r', 180) || '"}', CASE n WHEN 1 THEN 'http_status' END
  FROM "Delivery" AS d CROSS JOIN generate_series(1, 2) AS n;
`;

async function seed(client: pg.Client) {
  const started = performance.now();
  await client.query("BEGIN");
  for (const statement of SEED.split(";\n").map((s) => s.trim()).filter(Boolean)) {
    await client.query(statement, statement.includes("$1") ? [NOW.toISOString().slice(0, 23).replace("T", " ")] : []);
  }
  await client.query("COMMIT");
  await client.query("VACUUM ANALYZE");
  log(`seeded in ${fmt((performance.now() - started) / 1000, 1)} s`);
}

// ---------------------------------------------------------------- measurements

interface Timing {
  batches: number;
  rows: number;
  durations: number[];
  totalMs: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function timeBatches(limit: number, step: (limit: number) => Promise<BatchStep>): Promise<Timing> {
  const timing: Timing = { batches: 0, rows: 0, durations: [], totalMs: 0 };
  const started = performance.now();
  for (;;) {
    const t0 = performance.now();
    const batch = await step(limit);
    timing.durations.push(performance.now() - t0);
    timing.batches++;
    timing.rows += batch.changed;
    if (batch.found < limit || batch.changed === 0) break;
  }
  timing.totalMs = performance.now() - started;
  timing.durations.sort((a, b) => a - b);
  return timing;
}

/** A worker's two writes per attempt on recent rows, back to back, until `until` resolves. */
async function workerWrites(client: pg.Client, until: Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  let done = false;
  void until.finally(() => (done = true));
  const recent = (await client.query<{ id: string }>(
    `SELECT "id" FROM "Delivery" WHERE "createdAt" > $1::timestamp(3) - interval '30 days' LIMIT 2000`, [NOW.toISOString()],
  )).rows.map((r) => r.id);
  let i = 0;
  while (!done) {
    const id = recent[i++ % recent.length];
    const t0 = performance.now();
    await client.query(
      `INSERT INTO "DeliveryAttempt" ("id", "deliveryId", "number", "startedAt", "durationMs", "statusCode") VALUES ($1, $2, 99, now(), 100, 200)`,
      [`bench-${i}-${Math.random().toString(36).slice(2)}`, id],
    );
    await client.query(`UPDATE "Delivery" SET "updatedAt" = now(), "lastStatusCode" = 200 WHERE "id" = $1`, [id]);
    latencies.push(performance.now() - t0);
  }
  return latencies.sort((a, b) => a - b);
}

/** How many times, sampled every 20 ms until `until` resolves, some session of the database waited for a lock. */
async function lockWaits(monitor: pg.Client, until: Promise<unknown>): Promise<{ samples: number; waiting: number }> {
  let done = false;
  void until.finally(() => (done = true));
  const result = { samples: 0, waiting: 0 };
  while (!done) {
    const { rows } = await monitor.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [NAME],
    );
    result.samples++;
    if (rows[0].n > 0) result.waiting++;
    await new Promise((r) => setTimeout(r, 20));
  }
  return result;
}

async function explain(client: pg.Client, sql: string, params: unknown[]): Promise<string> {
  const { rows } = await client.query(`EXPLAIN ${sql}`, params);
  return rows.map((r: Record<string, string>) => r["QUERY PLAN"]).filter((line) => /Scan|Limit/.test(line)).map((l) => `    ${l.trim()}`).join("\n");
}

// ---------------------------------------------------------------- run

await admin(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
await admin(`CREATE DATABASE ${NAME}`);
await migrateDatabase(URL);
const client = new pg.Client({ connectionString: URL });
await client.connect();
const writer = new pg.Client({ connectionString: URL });
await writer.connect();
const db = createDb(URL);

try {
  log(`seeding ${fmt(LEADS + EXPIRED_LEADS)} leads, as many deliveries, ${fmt(2 * (LEADS + EXPIRED_LEADS))} attempt records`);
  await seed(client);
  const historyCutoff = new Date(NOW.getTime() - RETENTION_DAYS * 86_400_000);
  const leadsCutoff = leadCutoff(NOW, 6);
  const load = os.loadavg()[0];

  const plans = [
    ["attempts", `SELECT "id" FROM "DeliveryAttempt" WHERE "startedAt" < $1 ORDER BY "startedAt" LIMIT ${BATCH}`, [historyCutoff]],
    ["bodies", `SELECT "id" FROM "Delivery" WHERE "payloadPrunedAt" IS NULL AND "deliveredAt" < $1 AND ("event" = 'test' OR ("event" = 'lead_captured' AND "leadId" IS NOT NULL)) ORDER BY "payloadPrunedAt", "deliveredAt" LIMIT ${BATCH}`, [historyCutoff]],
    ["leads", `SELECT "id" FROM "Lead" WHERE "shopId" = 'shop-6m' AND "capturedAt" < $1 ORDER BY "capturedAt" LIMIT ${BATCH / 10}`, [leadsCutoff]],
  ] as const;
  const planText: string[] = [];
  for (const [name, sql, params] of plans) planText.push(`  ${name}:\n${await explain(client, sql, [...params])}`);

  const idle = await workerWrites(writer, new Promise((r) => setTimeout(r, 3_000)));

  const phases: Promise<Record<string, Timing>> = (async () => ({
    leads: await timeBatches(BATCH / 10, (limit) => pruneLeadBatch(db, "shop-6m", leadsCutoff, limit)),
    attempts: await timeBatches(BATCH, (limit) => pruneAttemptBatch(db, historyCutoff, limit)),
    bodies: await timeBatches(BATCH, (limit) => prunePayloadBatch(db, historyCutoff, NOW, limit)),
  }))();
  const [during, waits] = await Promise.all([workerWrites(writer, phases), lockWaits(client, phases)]);
  const results = await phases;

  const out: string[] = [];
  out.push(`Pruning on PostgreSQL: ${fmt(LEADS + EXPIRED_LEADS)} leads and deliveries, ${fmt(2 * (LEADS + EXPIRED_LEADS))} attempt records; batch ${fmt(BATCH)} rows (leads ${fmt(BATCH / 10)})`);
  out.push(`machine: ${os.cpus().length} cores, load average ${fmt(load, 1)} at start`);
  out.push("");
  out.push("phase      batches   rows pruned   batch median   p95        worst      whole phase");
  for (const [name, t] of Object.entries(results)) {
    out.push(
      `${name.padEnd(10)} ${fmt(t.batches).padStart(7)}   ${fmt(t.rows).padStart(11)}   ${`${fmt(quantile(t.durations, 0.5), 1)} ms`.padStart(12)}   ` +
      `${`${fmt(quantile(t.durations, 0.95), 1)} ms`.padEnd(10)} ${`${fmt(t.durations.at(-1) ?? 0, 1)} ms`.padEnd(10)} ${fmt(t.totalMs / 1000, 1)} s`,
    );
  }
  out.push("");
  out.push("a worker's attempt writes (insert attempt + update delivery) on other rows:");
  for (const [name, l] of [["idle", idle], ["while pruning", during]] as const) {
    out.push(`  ${name.padEnd(14)} n=${fmt(l.length)}  p50 ${fmt(quantile(l, 0.5), 1)} ms  p99 ${fmt(quantile(l, 0.99), 1)} ms  worst ${fmt(l.at(-1) ?? 0, 1)} ms`);
  }
  out.push(`  sessions waiting for a lock: in ${fmt(waits.waiting)} of ${fmt(waits.samples)} samples taken every 20 ms while pruning`);
  out.push("");
  out.push("plans of the batch queries (before pruning):");
  out.push(...planText);
  process.stdout.write(`${out.join("\n")}\n`);
} finally {
  await db.$disconnect();
  await client.end();
  await writer.end();
  if (!KEEP) await admin(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
}
