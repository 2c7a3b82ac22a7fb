/**
 * The Leads tab's chart at scale: a shop with 1,000,000 leads over the past year (about 82,000 in the
 * chart's 30 days) and webhook deliveries for one lead in eighteen, on PostgreSQL by default. Measures
 * the chart's figures (`cachedLeadsActivity`, the very function the Leads loader starts) cold (cache
 * cleared before each call) and cached, against the Leads page loader itself (the real route loader,
 * session token and all: the page's budget), timed in the same run, and prints the figures as ratios.
 *
 *   npm run bench:chart                     PostgreSQL: scratch database tryon_bench_chart
 *   npm run bench:chart -- --db=sqlite      SQLite: temp file
 *   --leads=N          the shop's leads (1,000,000)
 *   --rounds=N         timed rounds of each measure (cold: N/5)
 *   --keep / --reuse   keep the scratch database / reuse a kept one (skips seeding)
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import pg from "pg";
import { createClient } from "@libsql/client";
import { makeProducts } from "./leads-data";
import { analyze, bulkLoadLeads, createScratch, seedDeliveries, seededLeadCount, type Provider } from "./leads-seed";

const args = new Map(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k, v ?? "true"] as const;
}));
const provider: Provider = (args.get("db") ?? "postgresql").toLowerCase().startsWith("sqlite") ? "sqlite" : "postgresql";
const LEADS = Number(args.get("leads") ?? 1_000_000);
const ROUNDS = Number(args.get("rounds") ?? 200);
const COLD_ROUNDS = Math.max(5, Math.floor(ROUNDS / 5));
const WARMUP = 10;
const KEEP = args.has("keep");
const REUSE = args.has("reuse");

const SHOP = "bench-chart.myshopify.com";
const API_KEY = "bench-api-key";
const API_SECRET = "bench-api-secret";
const APP_URL = "https://bench.tryon-leads.example";
/** The data set ends now (start of this UTC hour), so the chart's window, which ends today, is full. */
const DATA_END = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

const scratch = await createScratch(provider, { reuse: REUSE, name: "tryon_bench_chart" });
let reused = false;
if (!scratch.fresh) {
  reused = (await seededLeadCount(provider, scratch.url, SHOP)) === LEADS;
  if (!reused) {
    log("the kept database does not hold this data set: seeding afresh");
    Object.assign(scratch, await createScratch(provider, { reuse: false, name: "tryon_bench_chart" }));
  }
}
Object.assign(process.env, {
  NODE_ENV: "production",
  SHOPIFY_API_KEY: API_KEY,
  SHOPIFY_API_SECRET: API_SECRET,
  SHOPIFY_APP_URL: APP_URL,
  SCOPES: "write_customers",
  DATABASE_URL: scratch.url,
  ENCRYPTION_KEYS: `1:${randomBytes(32).toString("base64")}`,
  RUN_WORKER_IN_PROCESS: "false",
  TRUSTED_PROXY_HOPS: "1",
  LOG_LEVEL: "silent",
});

const { migrateDatabase } = await import("../app/lib/db-migrate.server");
await migrateDatabase(scratch.url);
const { getDb, prepareDb } = await import("../app/lib/db.server");
const { ensureShop } = await import("../app/shops/shops.server");
const { cachedLeadsActivity, clearLeadsActivityCache } = await import("../app/leads/activity.server");
const { getJwt } = await import("@shopify/shopify-api/test-helpers");

const db = getDb();
let failed = false;

try {
  await prepareDb(db, scratch.url);
  const shop = await ensureShop(db, SHOP);
  if (reused) log(`reusing the kept ${provider} database (${fmt(LEADS)} leads)`);
  else await seed(shop.id);
  const session = {
    shop: SHOP, state: "installed", isOnline: false, scope: "write_customers", accessToken: "shpat_bench",
    expires: new Date(Date.now() + 24 * 3600_000), refreshToken: "shprt_bench", refreshTokenExpires: new Date(Date.now() + 30 * 24 * 3600_000),
  };
  await db.session.upsert({ where: { id: `offline_${SHOP}` }, create: { id: `offline_${SHOP}`, ...session }, update: session });

  const { loader } = await import("../app/routes/app.leads._index");
  const token = (await getJwt(SHOP.replace(/\.myshopify\.com$/, ""), API_KEY, API_SECRET)).token;
  const callLoader = async () => {
    const request = new Request(`${APP_URL}/app/leads`, { headers: { Authorization: `Bearer ${token}` } });
    const t = performance.now();
    const result = await loader({ request, params: {}, context: {} });
    const ms = performance.now() - t;
    if (result instanceof Response) throw new Error(`loader answered ${result.status}`);
    if (result.page.rows.length === 0) throw new Error("the loader found no leads");
    await result.activity; // settles the chart's figures outside the timing, so the next call starts clean
    return ms;
  };
  const cold = async () => {
    clearLeadsActivityCache();
    const t = performance.now();
    const activity = await cachedLeadsActivity(db, shop.id);
    return { ms: performance.now() - t, activity };
  };
  const cached = async () => {
    const t = performance.now();
    await cachedLeadsActivity(db, shop.id);
    return performance.now() - t;
  };

  log(`warm-up: ${WARMUP} rounds of each ...`);
  for (let i = 0; i < WARMUP; i++) {
    await callLoader();
    await cold();
    await cached();
  }
  // Interleaved, so drift in the machine's load hits every measure alike. The loader runs with the chart's
  // figures cached (as on every view within the minute); the cold rounds clear the cache first.
  const times = { loader: [] as number[], cold: [] as number[], cached: [] as number[] };
  let sample = (await cold()).activity;
  for (let round = 0; round < ROUNDS; round++) {
    if (round % Math.max(1, Math.floor(ROUNDS / COLD_ROUNDS)) === 0) {
      const c = await cold();
      times.cold.push(c.ms);
      sample = c.activity;
    }
    times.loader.push(await callLoader());
    times.cached.push(await cached());
  }
  const deliveredDays = sample.destinations[0]?.delivered.filter((n) => n > 0).length ?? 0;
  const out: string[] = [];
  out.push("");
  out.push(`Leads chart figures on ${provider}: ${fmt(LEADS)} leads in the shop, ${fmt(sample.totalLeads)} in the chart's 30 days, ` +
    `${sample.destinations.length} destination(s), deliveries on ${deliveredDays} days, latency on ${sample.latencyP50.filter((v) => v !== null).length} days`);
  out.push(`load average ${fmt(os.loadavg()[0], 2)}; ${ROUNDS} loader and cached rounds, ${times.cold.length} cold rounds; ms`);
  out.push("");
  const row = (name: string, values: number[]) =>
    `  ${name.padEnd(44)} p50 ${fmt(percentile(values, 50), 3).padStart(9)}   p95 ${fmt(percentile(values, 95), 3).padStart(9)}`;
  out.push(row("Leads page loader (the budget)", times.loader));
  out.push(row("chart figures, cold (cache cleared)", times.cold));
  out.push(row("chart figures, cached", times.cached));
  out.push("");
  const budget50 = percentile(times.loader, 50);
  const budget95 = percentile(times.loader, 95);
  out.push(`  cold   / loader: p50 ${fmt(percentile(times.cold, 50) / budget50, 2)}x   p95 ${fmt(percentile(times.cold, 95) / budget95, 2)}x`);
  out.push(`  cached / loader: p50 ${fmt(percentile(times.cached, 50) / budget50, 4)}x   p95 ${fmt(percentile(times.cached, 95) / budget95, 4)}x`);
  out.push("");
  out.push("The loader does not wait for the chart's figures: they stream to the page after it (a deferred promise).");
  console.log(out.join("\n"));
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await db.$disconnect().catch(() => undefined);
  if (!KEEP) await scratch.drop().catch((e) => log(`could not drop the scratch database: ${e}`));
  else log(`kept the scratch database (rerun with --reuse to skip seeding)`);
}
process.exit(failed ? 1 : 0);

async function seed(shopId: string) {
  const products = makeProducts(200);
  await db.triedProduct.createMany({
    data: products.map((p) => ({ shopId, productId: p.productId, title: p.title, url: p.url, lastTriedAt: DATA_END })),
  });
  log(`seeding ${fmt(LEADS)} leads into ${provider} ...`);
  let lastPrint = 0;
  const load = await bulkLoadLeads(provider, scratch.url, [{ shopId, count: LEADS, seed: 1 }], products, DATA_END, (done, total) => {
    if (done - lastPrint >= 250_000 || done === total) {
      lastPrint = done;
      log(`  ${fmt(done)} / ${fmt(total)}`);
    }
  });
  const endpoint = await db.destination.create({
    data: { shopId, name: "CRM", url: "https://hooks.example/leads", secretCiphertext: "bench-not-a-secret", secretKeyVersion: 1 },
  });
  const deliveries = await seedDeliveries(provider, scratch.url, shopId, endpoint.id);
  // Delivered ones get a delivery time 0.2 to 4.3 s after capture, varying by id.
  if (provider === "postgresql") {
    const c = new pg.Client({ connectionString: scratch.url });
    await c.connect();
    await c.query(`UPDATE "Delivery" SET "deliveredAt" = "createdAt" + ((200 + (hashtext("id") & 4095)) * interval '1 millisecond') WHERE "status" = 'delivered'`);
    await c.end();
  } else {
    const c = createClient({ url: scratch.url });
    await c.execute(`UPDATE "Delivery" SET "deliveredAt" = strftime('%Y-%m-%dT%H:%M:%f', julianday("createdAt") + (200 + (unicode(substr("id", -3, 1)) * 37) % 4096) / 86400000.0) || '+00:00' WHERE "status" = 'delivered'`);
    c.close();
  }
  await analyze(provider, scratch.url);
  log(`seeded ${fmt(load.rows)} leads and ${fmt(deliveries)} deliveries`);
}

function percentile(values: number[], p: number) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}
