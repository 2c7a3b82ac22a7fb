/**
 * Leads at scale: seeds a shop with 1,000,000 leads (and one with 1,000), then measures
 *  - the CSV export end to end over HTTP (the real Remix resource route, served by Express in a separate
 *    process): rows/s, and that process's resident memory idle vs at its peak during the download;
 *  - the Leads page loader (the real route loader, session token and all) for the first page, a deep
 *    page, an email search and a product filter, on the 1M-lead shop against the 1k-lead shop.
 * Before timing, it checks that the export's bytes equal a reference built record by record with Prisma
 * and `csvRow` for several filter sets. Prints a table of figures with each target marked PASS or MISS;
 * exits 0 unless the run itself broke.
 *
 *   npm run bench:leads                     PostgreSQL (production): scratch database tryon_bench
 *   npm run bench:leads -- --db=sqlite      SQLite: temp file
 *   --leads=N --small=N   shop sizes (1,000,000 and 1,000)
 *   --rounds=N            timed loader rounds per scenario (300)
 *   --only=seed|export|loader  run one part
 *   --keep / --reuse      keep the scratch database / reuse a kept one (skips seeding)
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { makeProducts } from "./leads-data";
import { downloadCsv, downloadThrottled } from "./leads-download";
import { analyze, bulkLoadLeads, createScratch, seedDeliveries, seededLeadCount, type Provider } from "./leads-seed";

// ---------------------------------------------------------------- options

const args = new Map(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k, v ?? "true"] as const;
}));
const provider: Provider = (args.get("db") ?? "postgresql").toLowerCase().startsWith("sqlite") ? "sqlite" : "postgresql";
const BIG = Number(args.get("leads") ?? 1_000_000);
const SMALL = Number(args.get("small") ?? 1_000);
const ROUNDS = Number(args.get("rounds") ?? 300);
const WARMUP_ROUNDS = 30;
const ONLY = args.get("only");
const KEEP = args.has("keep");
const SLOW_CLIENT_MBPS = 4;
const SLOW_CLIENT_MS = 5000;
const REUSE = args.has("reuse");

const BIG_SHOP = "bench-big.myshopify.com";
const SMALL_SHOP = "bench-small.myshopify.com";
const API_KEY = "bench-api-key";
const API_SECRET = "bench-api-secret";
const APP_URL = "https://bench.tryon-leads.example";
/** The newest capture time in the data set: fixed, so every run sees the same data. */
const DATA_END = new Date(Date.UTC(2026, 10, 1));

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number) => `${fmt(bytes / 1048576, 1)} MB`;
const load1 = () => os.loadavg()[0];

// ---------------------------------------------------------------- scratch database and app settings

const scratch = await createScratch(provider, { reuse: REUSE });
let reused = false;
if (!scratch.fresh) {
  reused = (await seededLeadCount(provider, scratch.url, BIG_SHOP)) === BIG;
  if (!reused) {
    log("the kept database does not hold this data set: seeding afresh");
    Object.assign(scratch, await createScratch(provider, { reuse: false }));
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
  // Required in production; the bench's requests come straight from this process.
  TRUSTED_PROXY_HOPS: "1",
  LOG_LEVEL: "silent",
});

// App modules read their settings on import: load them only now.
const { migrateDatabase } = await import("../app/lib/db-migrate.server");
await migrateDatabase(scratch.url); // on a kept database, only migrations added since
const { getDb, prepareDb } = await import("../app/lib/db.server");
const { ensureShop } = await import("../app/shops/shops.server");
const { createExportTicket } = await import("../app/leads/export-ticket.server");
const { exportLeadsCsv } = await import("../app/leads/export.server");
const { encodeCursor, leadsWhere } = await import("../app/leads/leads.server");
const { csvRow } = await import("../app/leads/csv");
const { EXPORT_COLUMNS } = await import("../app/leads/export.server");
const { getJwt } = await import("@shopify/shopify-api/test-helpers");
type LeadFilters = import("../app/leads/filters").LeadFilters;

const db = getDb();
const products = makeProducts(200);
const child: { proc?: ChildProcess } = {};
const loadAtStart = load1();
let failed = false;

interface SeedFigures { rows: number; insertMs: number; indexMs: number; analyzeMs: number; deliveries: number }
interface ExportFigures {
  rows: number; bytes: number; totalMs: number; firstByteMs: number; rowsPerSec: number;
  idleRss: number; peakRss: number; rssRatio: number; hwmReset: boolean; samples: number;
  idleMemory: NodeJS.MemoryUsage | null; peakMemory: Record<string, number>;
  cpuMs: { server: number; database: number | null; client: number }; load: number;
  slow: SlowClientFigures; slowPiped: SlowClientFigures;
}
interface SlowClientFigures { readBytes: number; baseRss: number; peakRss: number; cpuAfterHangUpMs: number }
interface LoaderFigures { name: string; rowsBig: number; rowsSmall: number; smallP50: number; smallP95: number; bigP50: number; bigP95: number }

try {
  // ---------------------------------------------------------------- seed
  let seed: SeedFigures | null = null;
  await prepareDb(db, scratch.url);
  const bigShop = await ensureShop(db, BIG_SHOP);
  const smallShop = await ensureShop(db, SMALL_SHOP);
  if (reused) log(`reusing the kept ${provider} database (${fmt(BIG)} leads)`);
  else seed = await seedShops(bigShop.id, smallShop.id);
  await storeOfflineSessions();

  // ---------------------------------------------------------------- same bytes as the record-by-record reference
  const check = ONLY === "seed" ? null : await checkExportMatchesReference(bigShop.id, smallShop.id);

  const exported = ONLY && ONLY !== "export" ? null : await benchExport(bigShop.id, smallShop.id);
  const loader = ONLY && ONLY !== "loader" ? null : await benchLoader(bigShop.id, smallShop.id);

  report(seed, check, exported, loader);
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  if (child.proc && child.proc.exitCode === null) child.proc.kill();
  await db.$disconnect().catch(() => undefined);
  if (!KEEP) await scratch.drop().catch((e) => log(`could not drop the scratch database: ${e}`));
  else log(`kept the scratch database ${provider === "postgresql" ? scratch.url : scratch.url.replace(/^file:/, "")} (rerun with --reuse to skip seeding)`);
}
process.exit(failed ? 1 : 0);

// ---------------------------------------------------------------- phases

async function seedShops(bigShopId: string, smallShopId: string): Promise<SeedFigures> {
  for (const shopId of [bigShopId, smallShopId]) {
    // Both shops have the same catalogue, so the page's product list costs the same on each.
    await db.triedProduct.createMany({
      data: products.map((p) => ({ shopId, productId: p.productId, title: p.title, url: p.url, lastTriedAt: DATA_END })),
    });
  }
  log(`seeding ${fmt(BIG)} + ${fmt(SMALL)} leads into ${provider} ...`);
  let lastPrint = 0;
  const load = await bulkLoadLeads(provider, scratch.url, [
    { shopId: smallShopId, count: SMALL, seed: 2 },
    { shopId: bigShopId, count: BIG, seed: 1 },
  ], products, DATA_END, (done, total) => {
    if (done - lastPrint >= 250_000 || done === total) {
      lastPrint = done;
      log(`  ${fmt(done)} / ${fmt(total)}`);
    }
  });
  let deliveries = 0;
  for (const shopId of [bigShopId, smallShopId]) {
    const endpoint = await db.destination.create({
      data: { shopId, url: "https://hooks.example/leads", secretCiphertext: "bench-not-a-secret", secretKeyVersion: 1 },
    });
    deliveries += await seedDeliveries(provider, scratch.url, shopId, endpoint.id);
  }
  const t = performance.now();
  await analyze(provider, scratch.url);
  const analyzeMs = performance.now() - t;
  log(`seeded ${fmt(load.rows)} leads (insert ${fmt(load.insertMs / 1000, 1)} s, indexes ${fmt(load.indexMs / 1000, 1)} s, ` +
    `analyze ${fmt(analyzeMs / 1000, 1)} s) and ${fmt(deliveries)} deliveries`);
  return { ...load, analyzeMs, deliveries };
}

/** An offline session per shop, as token exchange would have stored it, valid for the whole run. */
async function storeOfflineSessions() {
  for (const shop of [BIG_SHOP, SMALL_SHOP]) {
    const data = {
      shop, state: "installed", isOnline: false, scope: "write_customers", accessToken: `shpat_${shop.split(".")[0]}`,
      expires: new Date(Date.now() + 24 * 3600_000), refreshToken: `shprt_${shop.split(".")[0]}`,
      refreshTokenExpires: new Date(Date.now() + 30 * 24 * 3600_000),
    };
    await db.session.upsert({ where: { id: `offline_${shop}` }, create: { id: `offline_${shop}`, ...data }, update: data });
  }
}

/**
 * The export's bytes against the plainest possible implementation: Prisma records under `leadsWhere`,
 * one `csvRow` each. Several filter sets, including ones that span many batches of the big shop.
 */
async function checkExportMatchesReference(bigShopId: string, smallShopId: string) {
  const someEmail = (await db.lead.findFirst({ where: { shopId: bigShopId }, orderBy: { capturedAt: "desc" }, skip: 4321, select: { emailSearch: true } }))!.emailSearch;
  // [shop, filters, batch size]: small batches walk the keyset across many batches and ties on capturedAt.
  const cases: [string, LeadFilters, number | undefined][] = [
    [smallShopId, {}, undefined],
    [smallShopId, {}, 37],
    [smallShopId, { q: "ann" }, undefined],
    [smallShopId, { from: "2026-03-01", to: "2026-06-30" }, 50],
    [bigShopId, { q: someEmail }, undefined],
    [bigShopId, { q: "zo" }, undefined],
    [bigShopId, { product: products[0].productId, from: "2026-05-01", to: "2026-05-31" }, undefined],
    [bigShopId, { product: products[0].productId, from: "2026-05-01", to: "2026-05-31" }, 499],
    [bigShopId, { product: products[4].productId, q: "m", to: "2026-02-01" }, undefined],
    [bigShopId, { from: "2026-10-25", to: "2026-10-31" }, undefined],
  ];
  let rows = 0;
  const mismatches: string[] = [];
  for (const [shopId, filters, batchSize] of cases) {
    const actual = Buffer.from(await new Response(exportLeadsCsv({ db, shopId, filters, batchSize })).arrayBuffer());
    const found = await db.lead.findMany({
      where: leadsWhere(shopId, filters),
      orderBy: [{ capturedAt: "desc" }, { id: "desc" }],
    });
    let text = "\ufeff" + csvRow(EXPORT_COLUMNS);
    for (const l of found) {
      text += csvRow([
        l.id, l.capturedAt.toISOString(), l.email, l.productId, l.productTitle, l.productUrl, l.variantId, l.variantTitle,
        l.tagged ? "yes" : "no", l.consent ? "yes" : "no", l.utmSource, l.utmMedium, l.utmCampaign, l.utmTerm, l.utmContent, l.pageUrl,
      ]);
    }
    rows += found.length;
    if (!actual.equals(Buffer.from(text, "utf8"))) mismatches.push(`${shopId === bigShopId ? "1M" : "1k"} ${JSON.stringify(filters)} batch ${batchSize ?? "default"}`);
  }
  log(`export bytes vs reference: ${cases.length - mismatches.length}/${cases.length} filter/batch sets identical (${fmt(rows)} rows)`);
  return { cases: cases.length, rows, mismatches };
}

interface ExportServer { proc: ChildProcess; pid: number; url: (shopId: string) => string }

/** The export server in a child process of its own; `sender` picks how it writes response bodies. */
async function startExportServer(sender: "remix-express" | "pipeline"): Promise<ExportServer> {
  const server = await bundleServer();
  const proc = fork(server.file, [], {
    env: { ...process.env, LEADS_BENCH_SENDER: sender }, cwd: process.cwd(), execArgv: server.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  child.proc = proc;
  const port = await new Promise<number>((resolve, reject) => {
    proc.on("message", (m: { type: string; port?: number; message?: string }) => {
      if (m.type === "ready") resolve(m.port!);
      if (m.type === "error") log(`server error: ${m.message}`);
    });
    proc.once("exit", (code) => reject(new Error(`export server exited with ${code}`)));
  });
  const url = (shopId: string) =>
    `http://127.0.0.1:${port}/exports/leads.csv?ticket=${encodeURIComponent(createExportTicket({ shopId, filters: {}, appSecret: API_SECRET }))}`;
  return { proc, pid: proc.pid!, url };
}

async function stopExportServer(server: ExportServer) {
  server.proc.send({ type: "stop" });
  await new Promise((r) => server.proc.once("exit", r));
  child.proc = undefined;
}

async function warmUp(server: ExportServer, smallShopId: string) {
  for (let i = 0; i < 5; i++) {
    const warm = await downloadCsv(server.url(smallShopId));
    if (warm.status !== 200 || warm.records !== SMALL + 1) throw new Error(`warm-up export: status ${warm.status}, ${warm.records} records`);
  }
  await sleep(1500);
}

/** A client on a slow link that gives up: how much the server holds for it, and whether the server stops working. */
async function slowClient(server: ExportServer, bigShopId: string): Promise<SlowClientFigures> {
  const baseRss = procStatus(server.pid).rss;
  let peakRss = baseRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, procStatus(server.pid).rss)), 20);
  const readBytes = await downloadThrottled(server.url(bigShopId), SLOW_CLIENT_MBPS * 1048576, SLOW_CLIENT_MS);
  await sleep(200);
  clearInterval(sampler);
  const cpuAtHangUp = procCpuMs(server.pid);
  await sleep(2000);
  return { readBytes, baseRss, peakRss, cpuAfterHangUpMs: procCpuMs(server.pid) - cpuAtHangUp };
}

async function benchExport(bigShopId: string, smallShopId: string): Promise<ExportFigures> {
  const server = await startExportServer("remix-express");
  const { pid } = server;
  log("export: warming the server up on the 1k-lead shop ...");
  await warmUp(server, smallShopId);
  const idleSamples: number[] = [];
  for (let i = 0; i < 10; i++) {
    idleSamples.push(procStatus(pid).rss);
    await sleep(100);
  }
  const idleRss = median(idleSamples);
  const idleMemory = await childMemory(server.proc);
  const hwmReset = resetPeak(pid);

  log(`export: downloading ${fmt(BIG)} leads ...`);
  const dbPids = await databaseBackendPids();
  const cpuBefore = { server: procCpuMs(pid), database: sumCpuMs(dbPids), client: clientCpuMs() };
  const loads: number[] = [];
  let sampledPeak = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, procStatus(pid).rss);
    samples++;
  }, 20);
  // The child's own view every 100 ms, to tell the V8 heap from buffers (such as bytes queued on the socket).
  const peakMemory: Record<string, number> = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const onMemory = (m: { type: string; usage?: NodeJS.MemoryUsage }) => {
    if (m.type !== "memory" || !m.usage) return;
    for (const key of Object.keys(peakMemory)) peakMemory[key] = Math.max(peakMemory[key], m.usage[key as keyof NodeJS.MemoryUsage]);
  };
  server.proc.on("message", onMemory);
  const memorySampler = setInterval(() => {
    server.proc.send({ type: "memory" });
    loads.push(load1());
  }, 100);
  let big;
  try {
    big = await downloadCsv(server.url(bigShopId));
  } finally {
    clearInterval(sampler);
    clearInterval(memorySampler);
  }
  const cpuMs = {
    server: procCpuMs(pid) - cpuBefore.server,
    database: dbPids.length ? sumCpuMs(dbPids) - cpuBefore.database : null,
    client: clientCpuMs() - cpuBefore.client,
  };
  const peakRss = Math.max(sampledPeak, hwmReset ? procStatus(pid).hwm : 0);
  await sleep(150);
  server.proc.off("message", onMemory);
  if (big.status !== 200) throw new Error(`export answered ${big.status}`);
  if (!big.bom) throw new Error("export did not start with a UTF-8 byte order mark");
  const rows = big.records - 1;
  if (rows !== BIG) throw new Error(`export returned ${rows} rows, expected ${BIG}`);

  log(`export: a client reading ${SLOW_CLIENT_MBPS} MB/s that hangs up after ${SLOW_CLIENT_MS / 1000} s ...`);
  await sleep(500);
  const slow = await slowClient(server, bigShopId);
  await stopExportServer(server);

  log("export: the same slow client against a sender that waits for the socket ...");
  const piped = await startExportServer("pipeline");
  await warmUp(piped, smallShopId);
  const slowPiped = await slowClient(piped, bigShopId);
  await stopExportServer(piped);

  return {
    rows, bytes: big.bytes, totalMs: big.totalMs, firstByteMs: big.firstByteMs, rowsPerSec: rows / (big.totalMs / 1000),
    idleRss, peakRss, rssRatio: peakRss / idleRss, hwmReset, samples, idleMemory, peakMemory, cpuMs, slow, slowPiped,
    load: loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : load1(),
  };
}

async function benchLoader(bigShopId: string, smallShopId: string): Promise<LoaderFigures[]> {
  // Imported only now: the Shopify app's session storage checks its table when it loads.
  const { loader } = await import("../app/routes/app.leads._index");
  log(`loader: ${WARMUP_ROUNDS} warm-up + ${ROUNDS} timed rounds per scenario ...`);
  const tokens = new Map<string, string>();
  for (const shop of [BIG_SHOP, SMALL_SHOP]) {
    tokens.set(shop, (await getJwt(shop.replace(/\.myshopify\.com$/, ""), API_KEY, API_SECRET)).token);
  }
  const order = [{ capturedAt: "desc" as const }, { id: "desc" as const }];
  const cursorAt = async (shopId: string, offset: number) => {
    const row = await db.lead.findFirst({ where: { shopId }, orderBy: order, skip: offset, select: { capturedAt: true, id: true } });
    if (!row) throw new Error("no row for the deep cursor");
    return encodeCursor(row);
  };
  const someEmail = async (shopId: string, count: number) =>
    (await db.lead.findFirst({ where: { shopId }, orderBy: order, skip: Math.floor(count / 3), select: { emailSearch: true } }))!.emailSearch;
  const query = (params: Record<string, string>) => new URLSearchParams(params).toString();
  const scenariosFor = async (shopId: string, count: number) => ({
    "first page": query({}),
    "deep page (90% down)": query({ after: await cursorAt(shopId, Math.floor(count * 0.9)) }),
    "search: prefix \"ann\"": query({ q: "ann" }),
    "search: one address": query({ q: await someEmail(shopId, count) }),
    "product filter (top product)": query({ product: products[0].productId }),
  });
  const scenarios = { big: await scenariosFor(bigShopId, BIG), small: await scenariosFor(smallShopId, SMALL) };
  const names = Object.keys(scenarios.big) as (keyof typeof scenarios.big)[];
  const timings = new Map<string, number[]>();
  const rowsSeen = new Map<string, number>();
  const call = async (shop: string, search: string) => {
    const request = new Request(`${APP_URL}/app/leads${search ? `?${search}` : ""}`, { headers: { Authorization: `Bearer ${tokens.get(shop)}` } });
    const t = performance.now();
    let result;
    try {
      result = await loader({ request, params: {}, context: {} });
    } catch (thrown) {
      if (thrown instanceof Response) throw new Error(`loader answered ${thrown.status} for ${shop} ?${search}`);
      throw thrown;
    }
    const ms = performance.now() - t;
    if (result instanceof Response) throw new Error(`loader answered ${result.status} for ${shop} ?${search}`);
    return { ms, rows: result.page.rows.length };
  };
  // Interleaved: every round runs each scenario on both shops, so drift in machine load hits all alike.
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    for (const name of names) {
      for (const [size, shop] of [["big", BIG_SHOP], ["small", SMALL_SHOP]] as const) {
        const { ms, rows } = await call(shop, scenarios[size][name]);
        if (round < WARMUP_ROUNDS) continue;
        const key = `${size}:${name}`;
        (timings.get(key) ?? timings.set(key, []).get(key)!).push(ms);
        rowsSeen.set(key, rows);
      }
    }
  }
  return names.map((name) => {
    const b = timings.get(`big:${name}`)!;
    const s = timings.get(`small:${name}`)!;
    return {
      name, rowsBig: rowsSeen.get(`big:${name}`)!, rowsSmall: rowsSeen.get(`small:${name}`)!,
      smallP50: percentile(s, 50), smallP95: percentile(s, 95), bigP50: percentile(b, 50), bigP95: percentile(b, 95),
    };
  });
}

function report(
  seed: SeedFigures | null, check: { cases: number; rows: number; mismatches: string[] } | null,
  exported: ExportFigures | null, loader: LoaderFigures[] | null,
) {
  const out: string[] = [];
  const line = (cells: string[], widths: number[]) =>
    out.push(cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "));
  out.push("");
  out.push(`Try-on Leads benchmark: ${provider === "postgresql" ? "PostgreSQL" : "SQLite"}, ${fmt(BIG)} leads vs ${fmt(SMALL)} leads; ` +
    `Node ${process.version}, ${os.cpus().length} CPUs, load average ${fmt(loadAtStart, 1)} at start`);
  if (seed) {
    out.push(`Seed: ${fmt(seed.rows)} leads in ${fmt((seed.insertMs + seed.indexMs + seed.analyzeMs) / 1000, 1)} s ` +
      `(insert ${fmt(seed.insertMs / 1000, 1)} s = ${fmt(seed.rows / (seed.insertMs / 1000))} rows/s, index rebuild ${fmt(seed.indexMs / 1000, 1)} s, ` +
      `vacuum/analyze ${fmt(seed.analyzeMs / 1000, 1)} s), ${fmt(seed.deliveries)} deliveries`);
  } else out.push("Seed: reused from a kept database");
  if (check) {
    out.push(`Export bytes identical to a record-by-record Prisma + csvRow reference: ${check.cases - check.mismatches.length}/${check.cases} filter/batch sets ` +
      `(${fmt(check.rows)} rows)${check.mismatches.length ? `; DIFFERENT: ${check.mismatches.join("; ")}` : ""}`);
  }

  const targets: [string, string, boolean][] = [];
  if (exported) {
    const e = exported;
    out.push("");
    out.push("CSV export over HTTP (Express + Remix request handler + exports/leads.csv route, in its own process)");
    out.push(`  ${fmt(e.rows)} rows, ${mb(e.bytes)}, first byte ${fmt(e.firstByteMs, 1)} ms, total ${fmt(e.totalMs / 1000, 2)} s: ` +
      `${fmt(e.rowsPerSec)} rows/s (${fmt(e.bytes / 1048576 / (e.totalMs / 1000), 1)} MB/s), load average ${fmt(e.load, 1)} meanwhile`);
    out.push(`  CPU time: server ${fmt(e.cpuMs.server / 1000, 2)} s, ` +
      `${e.cpuMs.database === null ? "" : `database ${fmt(e.cpuMs.database / 1000, 2)} s, `}client ${fmt(e.cpuMs.client / 1000, 2)} s`);
    out.push(`  server RSS idle ${mb(e.idleRss)}, peak ${mb(e.peakRss)} (${e.hwmReset ? "kernel peak mark reset before the download, and " : ""}` +
      `${e.samples} samples at 20 ms): peak/idle ${fmt(e.rssRatio, 2)}x`);
    if (e.idleMemory) {
      const m = e.idleMemory;
      const p = e.peakMemory;
      out.push(`  server heap used/total, array buffers: idle ${mb(m.heapUsed)}/${mb(m.heapTotal)}, ${mb(m.arrayBuffers)}; ` +
        `peaks while downloading ${mb(p.heapUsed)}/${mb(p.heapTotal)}, ${mb(p.arrayBuffers)}`);
    }
    const slowLine = (label: string, f: SlowClientFigures, idle: number) =>
      out.push(`  ${label}: read ${mb(f.readBytes)}; server RSS ${mb(f.baseRss)} -> peak ${mb(f.peakRss)} (${fmt(f.peakRss / idle, 2)}x idle); ` +
        `server CPU in the 2 s after the hang-up ${fmt(f.cpuAfterHangUpMs / 1000, 2)} s`);
    out.push(`  slow client (${SLOW_CLIENT_MBPS} MB/s, hangs up after ${SLOW_CLIENT_MS / 1000} s), informational:`);
    slowLine("  production sender (Remix Express adapter)", e.slow, e.idleRss);
    slowLine("  sender that waits for the socket (pipeline)", e.slowPiped, e.slowPiped.baseRss);
    targets.push(
      ["export throughput >= 200,000 rows/s", `${fmt(e.rowsPerSec)} rows/s`, e.rowsPerSec >= 200_000],
      ["export peak RSS <= 2x idle", `${fmt(e.rssRatio, 2)}x (${mb(e.idleRss)} -> ${mb(e.peakRss)})`, e.rssRatio <= 2],
    );
  }
  if (loader) {
    out.push("");
    out.push(`Leads page loader, the real route loader (session token, offline session, shop, page, deliveries, products); ${ROUNDS} rounds; ms`);
    const w = [36, 8, 8, 8, 8, 9, 9];
    line(["scenario [rows 1M/1k]", "1k p50", "1k p95", "1M p50", "1M p95", "p50 1M/1k", "p95 1M/1k"], w);
    for (const r of loader) {
      line([`${r.name} [${r.rowsBig}/${r.rowsSmall}]`, fmt(r.smallP50, 2), fmt(r.smallP95, 2), fmt(r.bigP50, 2), fmt(r.bigP95, 2),
        `${fmt(r.bigP50 / r.smallP50, 2)}x`, `${fmt(r.bigP95 / r.smallP95, 2)}x`], w);
    }
    const first = loader.find((r) => r.name === "first page")!;
    const deep = loader.find((r) => r.name.startsWith("deep page"))!;
    targets.push(
      ["first page 1M <= 1.2x 1k (p50)", `${fmt(first.bigP50 / first.smallP50, 2)}x (${fmt(first.bigP50, 2)} vs ${fmt(first.smallP50, 2)} ms)`, first.bigP50 / first.smallP50 <= 1.2],
      ["deep page 1M <= 1.2x 1k (p50)", `${fmt(deep.bigP50 / deep.smallP50, 2)}x (${fmt(deep.bigP50, 2)} vs ${fmt(deep.smallP50, 2)} ms)`, deep.bigP50 / deep.smallP50 <= 1.2],
    );
  }
  out.push("");
  const tw = [36, 40, 6];
  line(["target", "measured", "result"], tw);
  for (const [name, measured, ok] of targets) line([name, measured, ok ? "PASS" : "MISS"], tw);
  out.push("");
  process.stdout.write(out.join("\n") + "\n");

  const dir = path.join("bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `leads-${provider}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({
    db: provider, leads: BIG, smallLeads: SMALL, rounds: ROUNDS, loadAtStart, seed, check, export: exported, loader,
    targets: targets.map(([name, measured, pass]) => ({ name, measured, pass })),
  }, null, 2));
  log(`figures saved to ${file}`);
}

// ---------------------------------------------------------------- helpers

/**
 * Bundles the server's TypeScript (esbuild, which Vite and tsx bring) so the child runs on plain Node with
 * no transpiler in its memory; without esbuild, the child runs the source through tsx instead.
 */
async function bundleServer(): Promise<{ file: string; execArgv: string[] }> {
  const source = path.join("bench", "leads-export-server.ts");
  try {
    const { build } = await import("esbuild");
    const outfile = path.join("node_modules", ".cache", "tryon-bench", "leads-export-server.mjs");
    await build({ entryPoints: [source], outfile, bundle: true, platform: "node", format: "esm", target: "node22", packages: "external", logLevel: "warning" });
    return { file: outfile, execArgv: [] };
  } catch (error) {
    log(`could not bundle the export server (${(error as Error).message}); running it through tsx, whose loader adds to its memory`);
    return { file: source, execArgv: ["--import", "tsx"] };
  }
}

function procStatus(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** Resets the kernel's peak-RSS mark (VmHWM) so that it covers the download only. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    const s = procStatus(pid);
    return s.hwm <= s.rss * 1.05;
  } catch {
    return false;
  }
}

function procCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks: USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

function sumCpuMs(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + procCpuMs(pid), 0);
}

function clientCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** PostgreSQL server processes serving the scratch database (the export server's connections among them). */
async function databaseBackendPids(): Promise<number[]> {
  if (provider !== "postgresql") return [];
  const c = new pg.Client({ connectionString: scratch.url });
  await c.connect();
  try {
    const rows = (await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).rows;
    return rows.map((r) => r.pid).filter((pid) => procCpuMs(pid) >= 0);
  } finally {
    await c.end();
  }
}

function childMemory(proc: ChildProcess): Promise<NodeJS.MemoryUsage | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 2000);
    const onMessage = (m: { type: string; usage?: NodeJS.MemoryUsage }) => {
      if (m.type !== "memory") return;
      clearTimeout(timer);
      proc.off("message", onMessage);
      resolve(m.usage ?? null);
    };
    proc.on("message", onMessage);
    proc.send({ type: "memory" });
  });
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

function median(values: number[]) {
  return percentile(values, 50);
}

function percentile(values: number[], p: number) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}
