/**
 * The path merchants run, end to end, under load: storefront leads enter through the signed app-proxy capture
 * route of the production build, worker processes tag each shopper in Shopify (a stand-in with Shopify's
 * latency and cost-based leaky bucket) and deliver the lead to the shop's destinations (HTTPS receivers on
 * loopback). Latency runs from the start of the capture request to the receiver's arrival of the delivery.
 *
 * Processes: the production build's `server.mjs` (1 web process, RUN_WORKER_IN_PROCESS=false), --workers worker
 * processes (`runWorkerProcess`, as `npm run worker` runs it), PostgreSQL (a throwaway database, dropped at the
 * end) and Redis (keys under a prefix of the run's own, deleted at the end). This process paces the captures
 * and hosts the Admin API stand-in and the receivers (one per destination, kept-alive TLS, a throwaway CA).
 *
 * Scenarios, in this order, in one run, each after a warm-up (--warmup) and from a drained backlog:
 *  a  healthy     --rate leads/s for --seconds over --shops shops whose receivers answer 200 at once: the floor.
 *  b  faults      the same load over the same shops plus two more: one shop's receiver hangs (status line and
 *                 headers, then one byte a second) and one fails 30% of requests with 500. Fairness ratio = healthy
 *                 shops' p99 here / their p99 in (a).
 *  c  two dest.   the same load over --shops other shops, each with two webhook destinations (two receivers).
 *  d  saturation  healthy shops at rising offered rates (--sat-rates, --sat-seconds each) until the latency runs
 *                 away (p99 over --runaway-ms or under 99% delivered within the wait): throughput achieved.
 *  f  flash sale  --flash-rate leads/s for --flash-seconds over the healthy shops, half of it at two of them
 *                 (--flash-hot): more than Shopify tags for those two (their cost bucket empties in seconds), well
 *                 under what the machine's CPU carries. Buckets full at the start. Deliveries/s, the hot shops'
 *                 and the others' latency, throttled answers. Run after (d)'s whole-run costs are taken.
 *     memory      worker processes stopped, --memory-leads captures queued: Redis bytes per waiting job.
 *  e  naive       the product's processes stopped; a hand-written pipeline (bench/delivery-naive-web.ts: check
 *                 the signature, insert, queue.add; bench/delivery-naive-worker.ts, 2 processes: tag with a
 *                 search and a create, sign, POST, BullMQ retries) under (a)'s load, then (d)'s steps and (f).
 *
 * Prints per-shop and aggregated p50/p95/p99, throughput, the targets marked PASS or FAIL, the load average and
 * core count at start and end, and the per-lead costs a capacity model needs. Exits 0 unless the run broke.
 *
 *   npm run bench:delivery
 *   --rate=50 --seconds=30        offered rate and length of scenarios a, b, c, e
 *   --shops=22                    healthy shops (b adds two bad ones; c uses as many other shops)
 *   --workers=2                   product worker processes (naive: 2 as well)
 *   --sat-rates=25,50,75,100,150,200,300  --sat-seconds=12  --runaway-ms=5000
 *   --admin-latency=150           the Admin API stand-in's latency per call (ms)
 *   --naive-concurrency=50        jobs in flight per naive worker process
 *   --flash-rate=120 --flash-seconds=40 --flash-hot=2 --flash-wait=40
 *   --memory-leads=1000           --log=info (the product processes' LOG_LEVEL)   --json=FILE
 *   --warmup=20                   seconds at 25 leads/s through each side before measuring (cold processes are slow)
 *   --only=product                skip the naive pipeline      --cpu-prof=DIR  V8 CPU profiles of the product's processes
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { TEST_API_KEY, TEST_API_SECRET, TEST_APP_URL } from "../test/support/test-app";

// ---------------------------------------------------------------- options

const args = new Map(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k, v ?? "true"] as const;
}));
const RATE = Number(args.get("rate") ?? 50);
const SECONDS = Number(args.get("seconds") ?? 30);
const SHOPS = Math.max(20, Number(args.get("shops") ?? 22));
const WORKERS = Math.max(2, Number(args.get("workers") ?? 2));
const SAT_RATES = (args.get("sat-rates") ?? "25,50,75,100,150,200,300").split(",").map(Number).filter((r) => r > 0);
const SAT_SECONDS = Number(args.get("sat-seconds") ?? 12);
const RUNAWAY_MS = Number(args.get("runaway-ms") ?? 5000);
const ADMIN_LATENCY_MS = Number(args.get("admin-latency") ?? 150);
const NAIVE_CONCURRENCY = Number(args.get("naive-concurrency") ?? 50);
const MEMORY_LEADS = Number(args.get("memory-leads") ?? 1000);
const FLASH_RATE = Number(args.get("flash-rate") ?? 120);
const FLASH_SECONDS = Number(args.get("flash-seconds") ?? 40);
const FLASH_HOT = Math.max(1, Number(args.get("flash-hot") ?? 2));
/** Seconds to wait for (f)'s deliveries after its last capture (the naive pipeline's retries span 15 s). */
const FLASH_WAIT_SECONDS = Number(args.get("flash-wait") ?? 40);
const LOG_LEVEL = args.get("log") ?? "info";
const JSON_FILE = args.get("json");
/** Leads at 25/s through each side before anything is measured: the processes' code is compiled by then (JIT, Prisma's query plans). */
const WARMUP_SECONDS = Number(args.get("warmup") ?? 20);
const ONLY = args.get("only");
const CPU_PROF_DIR = args.get("cpu-prof");
/** No saturation step starts after this much of the run: the product's, then the naive pipeline's. */
const BUDGET_MS = { product: 5.5 * 60_000, naive: 9.5 * 60_000 };

const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const RUN_ID = randomBytes(3).toString("hex");
const SCRATCH_DB = `tryon_bench_e2e_${RUN_ID}`;
const PREFIX = `tryon-bench-${RUN_ID}`;
const scratchUrl = POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${SCRATCH_DB}`);
const caFile = path.join(os.tmpdir(), `tryon-bench-e2e-ca-${RUN_ID}.pem`);

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "∞");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
/** Thrown to end the run early (--only=product) with the figures reported. */
class Done extends Error {}
const loadAtStart = os.loadavg();
const cores = os.cpus().length;

// ---------------------------------------------------------------- scratch database, settings, helpers

await adminQuery(`CREATE DATABASE ${SCRATCH_DB}`);
Object.assign(process.env, {
  NODE_ENV: "production",
  SHOPIFY_API_KEY: TEST_API_KEY,
  SHOPIFY_API_SECRET: TEST_API_SECRET,
  SHOPIFY_APP_URL: TEST_APP_URL,
  SCOPES: "write_customers",
  DATABASE_URL: scratchUrl,
  REDIS_URL,
  ENCRYPTION_KEYS: `1:${randomBytes(32).toString("base64")}`,
  QUEUE_PREFIX: PREFIX,
  RUN_WORKER_IN_PROCESS: "false",
  // Shopify's app proxy is the one hop in front of the app here.
  TRUSTED_PROXY_HOPS: "1",
  // The default (600 a minute per shop) would refuse the saturation steps' captures before anything else
  // saturates: 20-odd shops stand for the thousands a real app spreads its traffic over.
  CAPTURE_LIMIT_PER_SHOP: "1000000/1m",
  // Several worker processes on one machine: none of them serves the operator's port here.
  WORKER_HTTP_PORT: "0",
  LOG_LEVEL,
});

// App and test-support modules read the settings on import: load them only now.
const { migrateDatabase } = await import("../app/lib/db-migrate.server");
const { getDb } = await import("../app/lib/db.server");
const { installShop } = await import("../test/support/shopify");
const { addEndpoint } = await import("../test/support/delivery");
const { FakeAdminApi } = await import("../test/support/fake-admin-api");
const { respond, startHttpsReceiver } = await import("../test/support/https-receiver");
const { postCapture, startServerMjs } = await import("../test/support/web-process");
const { startWorkerProcess } = await import("../test/support/worker-processes");
const { startTsxChild } = await import("../test/support/child-process");
const { default: buildOnce } = await import("../test/support/production-build");
type HttpsReceiver = import("../test/support/https-receiver").HttpsReceiver;
type TsxChild = import("../test/support/child-process").TsxChild;
type WebProcess = import("../test/support/web-process").WebProcess;

await migrateDatabase(scratchUrl);
const db = getDb();
const redis = new Redis(REDIS_URL);

interface Destination { label: string; receiver: HttpsReceiver; url: string; secret: string }
interface BenchShop { domain: string; shopId: string; token: string; kind: "healthy" | "hang" | "flaky" | "dual"; destinations: Destination[] }
interface CapturedLeadRecord { shop: BenchShop; startedAt: number; phase: string }

const leads = new Map<string, CapturedLeadRecord>();
/** `${leadId} ${destination label}` → when a 2xx-answered request for it reached the receiver (ms). */
const arrivals = new Map<string, number>();
const untagged = new Set<string>();
const receivers: { label: string; receiver: HttpsReceiver }[] = [];
let unverified = 0;
let failedRequests = 0;

const children: { kill(): void }[] = [];
let adminApiServer: { url: string; close(): Promise<void> } | undefined;
let cleaning: Promise<void> | undefined;
let broken = false;
let stoppingProduct = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(1));
  });
}

interface Figures { n: number; missing: number; p50: number; p95: number; p99: number; max: number }
interface PhaseResult {
  side: "product" | "naive";
  name: string;
  rate: number;
  seconds: number;
  captured: number;
  captureErrors: number;
  captureP99: number;
  producerLagMs: number;
  expected: number;
  delivered: number;
  /** Deliveries that reached their receivers per second, from the first capture to the last arrival. */
  deliveredPerSec: number;
  healthy: Figures;
  perShop: { shop: string; kind: string; figures: Figures }[];
  untaggedShare: number;
  loadAvg: number;
  cpuMsPerLead?: Record<string, number>;
  dbWritesPerLead?: number;
  dbCommitsPerLead?: number;
  adminCallsPerLead?: number;
  /** Commands the Redis server ran during the phase, per lead offered (the benchmark's own few included). */
  redisCommandsPerLead?: number;
  /** (f): the Admin API stand-in's THROTTLED answers during the phase. */
  throttled?: number;
  /** Latency figures by the phase's own grouping of shops ((f): the hot shops and the others). */
  groups?: Record<string, Figures & { untaggedShare: number }>;
  /** Where the time goes (product): p50 and p99 of each stage, ms. */
  stages?: Record<string, { p50: number; p99: number }>;
}
const results: PhaseResult[] = [];
const notes: string[] = [];
interface Totals { adminCallsPerLead?: number; attemptMedianMs?: number; leads: number; delivered: number; attempts: number; cpuMs: Record<string, number>; rows: number; commits: number; seconds: number }
const totals: Partial<Record<"product" | "naive", Totals>> = {};
let memory: { leads: number; jobs: number; keysDelta: number; usageDelta: number; usedMemoryDelta: number } | undefined;

try {
  buildOnce();
  const api = new FakeAdminApi({ latencyMs: ADMIN_LATENCY_MS });
  adminApiServer = await api.serve();

  // ---------------------------------------------------------------- shops, destinations, receivers
  const newReceiver = async (label: string) => {
    const receiver = await startHttpsReceiver({ keepAlive: true, keepAliveTimeoutMs: 30_000 });
    receivers.push({ label, receiver });
    return receiver;
  };
  const makeShop = async (name: string, kind: BenchShop["kind"], destinationCount: number): Promise<BenchShop> => {
    const domain = `${name}.myshopify.com`;
    const shop = await installShop(domain);
    const destinations: Destination[] = [];
    for (let d = 1; d <= destinationCount; d++) {
      const label = `${name}#${d}`;
      const receiver = await newReceiver(label);
      const url = receiver.urlFor(`/crm/${name}/${d}`);
      const endpoint = await addEndpoint(shop, url);
      receiver.setSecrets([endpoint.secret]);
      destinations.push({ label, receiver, url, secret: endpoint.secret });
    }
    return { domain, shopId: shop.id, token: `shpat_${name}_token`, kind, destinations };
  };
  const healthy: BenchShop[] = [];
  for (let i = 1; i <= SHOPS; i++) healthy.push(await makeShop(`bench-healthy-${i}`, "healthy", 1));
  const hang = await makeShop("bench-hang", "hang", 1);
  const flaky = await makeShop("bench-flaky", "flaky", 1);
  const dual: BenchShop[] = [];
  for (let i = 1; i <= SHOPS; i++) dual.push(await makeShop(`bench-two-${i}`, "dual", 2));
  const ca = receivers[0].receiver.ca;
  writeFileSync(caFile, ca);
  log(`${receivers.length} receivers, ${healthy.length + 2 + dual.length} shops; Admin API stand-in at ${adminApiServer.url} (${ADMIN_LATENCY_MS} ms a call)`);

  // ---------------------------------------------------------------- the product's processes
  const env: Record<string, string> = { LOG_LEVEL, RUN_WORKER_IN_PROCESS: "false" };
  if (CPU_PROF_DIR) env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${path.resolve(CPU_PROF_DIR)}`;
  let web: WebProcess;
  const workers: TsxChild[] = [];
  {
    const t = Date.now();
    const [w] = await Promise.all([
      startServerMjs(env),
      ...Array.from({ length: WORKERS }, async () => {
        const worker = await startWorkerProcess({ loopbackCa: ca, adminApiUrl: adminApiServer!.url }, env);
        workers.push(worker);
        children.push(worker);
      }),
    ]);
    web = w;
    children.push(web);
    log(`web process pid ${web.pid} at ${web.url}, ${WORKERS} worker processes (pids ${workers.map((w) => w.pid).join(", ")}), started in ${fmt((Date.now() - t) / 1000, 1)} s`);
  }
  const productPids = () => ({ web: [web.pid], workers: workers.map((w) => w.pid) });
  const productStart = await costMark(productPids());
  // What the web process said about failed captures (its log lines of level warn and above, messages only).
  void web.exited.then(({ code, signal }) => { if (!stoppingProduct) log(`the web process exited (${code ?? signal}): ${web.output().slice(-1500)}`); });
  const webComplaints = () => {
    const counts = new Map<string, number>();
    for (const text of web.output().split("\n")) {
      if (!text.startsWith("{")) continue;
      try {
        const entry = JSON.parse(text) as { level: number; msg: string };
        if (entry.level >= 40) counts.set(entry.msg, (counts.get(entry.msg) ?? 0) + 1);
      } catch {
        // a line cut short
      }
    }
    return [...counts.entries()].map(([msg, n]) => `${n}x "${msg}"`).join(", ") || "none";
  };

  // ---------------------------------------------------------------- scenarios
  const runPhase = async (
    side: "product" | "naive", name: string, baseUrl: string, shops: BenchShop[], rate: number, seconds: number,
    options: {
      waitFor?: (s: BenchShop) => boolean; waitMs?: number; record?: boolean; pids?: Record<string, number[]>; measureDb?: boolean;
      groupOf?: (s: BenchShop) => string;
    } = {},
  ): Promise<PhaseResult> => {
    const waitFor = options.waitFor ?? (() => true);
    const loadAvg = os.loadavg()[0];
    const cpuBefore = options.pids ? cpuOf(options.pids) : undefined;
    const benchBefore = processCpuMs(process.pid);
    const machineBefore = machineBusyMs();
    const redisBefore = await redisCpuMs();
    const redisCommandsBefore = await redisCommands();
    const pgBefore = await postgresCpu();
    const dbBefore = options.measureDb ? await dbWrites() : undefined;
    const adminCallsBefore = api.calls.filter((c) => c.outcome === "answered").length;
    const produced = await produce(`${side}:${name}`, baseUrl, shops, rate, seconds);
    const expectedKeys: string[] = [];
    for (const id of produced.ids) {
      const lead = leads.get(id)!;
      if (waitFor(lead.shop)) for (const d of lead.shop.destinations) expectedKeys.push(`${id} ${d.label}`);
    }
    const deadline = Date.now() + (options.waitMs ?? 20_000);
    for (;;) {
      collect();
      if (expectedKeys.every((k) => arrivals.has(k)) || Date.now() > deadline) break;
      await sleep(200);
    }
    collect();
    const cpuAfter = options.pids ? cpuOf(options.pids) : undefined;
    const benchMs = processCpuMs(process.pid) - benchBefore;
    const machineMs = machineBusyMs() - machineBefore;
    const redisMs = (await redisCpuMs()) - redisBefore;
    const redisCommandCount = (await redisCommands()) - redisCommandsBefore;
    const pgMs = postgresCpuSince(pgBefore, await postgresCpu());
    if (options.measureDb) await sleep(1000); // the statistics collector's flush
    const dbAfter = options.measureDb ? await dbWrites() : undefined;

    const perShopLatencies = new Map<BenchShop, { lat: number[]; missing: number }>();
    const healthyLat: number[] = [];
    let healthyMissing = 0;
    let delivered = 0;
    let last = produced.startedAt;
    let untaggedCount = 0;
    const groups = new Map<string, { lat: number[]; missing: number; untagged: number }>();
    for (const id of produced.ids) {
      const lead = leads.get(id)!;
      const entry = perShopLatencies.get(lead.shop) ?? { lat: [], missing: 0 };
      perShopLatencies.set(lead.shop, entry);
      const groupName = options.groupOf?.(lead.shop);
      const group = groupName === undefined ? undefined : groups.get(groupName) ?? { lat: [], missing: 0, untagged: 0 };
      if (groupName !== undefined && group) groups.set(groupName, group);
      for (const d of lead.shop.destinations) {
        const at = arrivals.get(`${id} ${d.label}`);
        if (at === undefined) {
          entry.missing++;
          if (group) group.missing++;
          if (lead.shop.kind === "healthy" || lead.shop.kind === "dual") healthyMissing++;
          continue;
        }
        delivered++;
        last = Math.max(last, at);
        if (untagged.has(`${id} ${d.label}`)) untaggedCount++;
        entry.lat.push(at - lead.startedAt);
        if (group) {
          group.lat.push(at - lead.startedAt);
          if (untagged.has(`${id} ${d.label}`)) group.untagged++;
        }
        if (lead.shop.kind === "healthy" || lead.shop.kind === "dual") healthyLat.push(at - lead.startedAt);
      }
    }
    const result: PhaseResult = {
      side, name, rate, seconds,
      captured: produced.ids.length, captureErrors: produced.errors, captureP99: percentile(produced.durations, 99), producerLagMs: produced.lagMs,
      expected: expectedKeys.length, delivered,
      deliveredPerSec: delivered / ((last - produced.startedAt) / 1000),
      healthy: figures(healthyLat, healthyMissing),
      perShop: [...perShopLatencies.entries()].map(([shop, e]) => ({ shop: shop.domain.replace(".myshopify.com", ""), kind: shop.kind, figures: figures(e.lat, e.missing) })),
      untaggedShare: delivered ? untaggedCount / delivered : 0,
      loadAvg,
    };
    if (groups.size) {
      result.groups = Object.fromEntries([...groups.entries()].map(([k, g]) => [k, { ...figures(g.lat, g.missing), untaggedShare: g.lat.length ? g.untagged / g.lat.length : 0 }]));
    }
    // Per lead offered: a capture the client gave up on (timeout) was mostly still written, tagged and delivered.
    const offered = Math.max(1, produced.ids.length + produced.errors);
    if (cpuBefore && cpuAfter) {
      const n = offered;
      result.cpuMsPerLead = {
        web: (cpuAfter.web - cpuBefore.web) / n,
        workers: (cpuAfter.workers - cpuBefore.workers) / n,
        postgres: pgMs / n,
        redis: redisMs / n,
        bench: benchMs / n,
        machine: machineMs / n,
      };
    }
    result.redisCommandsPerLead = redisCommandCount / offered;
    if (dbBefore && dbAfter) {
      result.dbWritesPerLead = (dbAfter.rows - dbBefore.rows) / offered;
      result.dbCommitsPerLead = (dbAfter.commits - dbBefore.commits) / offered;
    }
    result.adminCallsPerLead = (api.calls.filter((c) => c.outcome === "answered").length - adminCallsBefore) / offered;
    log(`${side} ${name}: ${fmt(produced.ids.length)} captured (${produced.errors} errors, lag ≤ ${fmt(produced.lagMs)} ms), ` +
      `${fmt(delivered)}/${fmt(expectedKeys.length)} expected deliveries, healthy p50 ${fmt(result.healthy.p50)} p99 ${fmt(result.healthy.p99)} ms, ` +
      `${fmt(result.deliveredPerSec)} deliveries/s, load ${fmt(loadAvg, 1)}`);
    if (produced.errors && side === "product") log(`web process warnings so far: ${webComplaints()}`);
    if (side === "product") result.stages = await stagesOf(produced.ids.filter((id) => leads.get(id)!.shop.kind !== "hang" && leads.get(id)!.shop.kind !== "flaky"));
    if (options.record ?? true) results.push(result);
    return result;
  };

  /** Rising offered rates until the latency runs away; the best delivered rate is the throughput. */
  const saturate = async (side: "product" | "naive", baseUrl: string, pids: Record<string, number[]>) => {
    for (const rate of SAT_RATES) {
      if (Date.now() - started > BUDGET_MS[side]) {
        notes.push(`${side} saturation stopped before ${rate}/s: the run's time budget is spent`);
        break;
      }
      const r = await runPhase(side, `sat ${rate}/s`, baseUrl, healthy, rate, SAT_SECONDS, { waitMs: 2 * RUNAWAY_MS, pids });
      if (r.healthy.p99 > RUNAWAY_MS || r.delivered < 0.99 * r.expected || r.captureErrors > 0.01 * r.captured) {
        log(`${side}: the latency ran away at ${rate}/s`);
        break;
      }
    }
    // The last step's backlog drains before anything else is measured.
    await drainAll(`${side}:sat`, 60_000);
  };

  /**
   * A flash sale at FLASH_HOT shops: half the load goes to them, more than Shopify's bucket lets either side tag
   * for them; the other shops share the rest. Every bucket starts full. What each side delivers meanwhile.
   */
  const flashSale = async (side: "product" | "naive", baseUrl: string, pids: Record<string, number[]>) => {
    for (const shop of healthy) api.setPlan(shop.domain, "standard");
    const hot = healthy.slice(0, FLASH_HOT);
    const others = healthy.slice(FLASH_HOT);
    // Captures go round the list in turn: each hot shop appears often enough that the hot ones get half of them.
    const weight = Math.max(1, Math.round(others.length / hot.length));
    const order = [...others, ...hot.flatMap((shop) => Array.from({ length: weight }, () => shop))];
    const throttledBefore = api.calls.filter((c) => c.outcome === "throttled").length;
    const r = await runPhase(side, "f flash sale", baseUrl, order, FLASH_RATE, FLASH_SECONDS, {
      waitMs: FLASH_WAIT_SECONDS * 1000, pids, groupOf: (shop) => (hot.includes(shop) ? "hot" : "others"),
    });
    r.throttled = api.calls.filter((c) => c.outcome === "throttled").length - throttledBefore;
    log(`${side} flash sale: ${fmt(r.throttled)} throttled answers; hot shops ${hot.map((s) => s.domain.replace(".myshopify.com", "")).join(", ")}`);
  };

  log(`warm-up: ${WARMUP_SECONDS} s at 25 leads/s`);
  await runPhase("product", "warm-up", web.url, healthy, 25, WARMUP_SECONDS, { record: false });
  await drainAll("product:warm-up", 30_000);

  await runPhase("product", "a healthy", web.url, healthy, RATE, SECONDS, { pids: productPids(), measureDb: true });

  // Each scenario starts from an empty backlog (captures the client gave up on are still delivered meanwhile).
  await drainAll("product:a healthy", 30_000);
  hang.destinations[0].receiver.setDefault(respond.trickle({ phase: "body", intervalMs: 1000 }));
  flaky.destinations[0].receiver.enqueue(...Array.from({ length: 5000 }, () => (Math.random() < 0.3 ? respond.status(500, "unavailable") : respond.ok())));
  await runPhase("product", "b faults", web.url, [...healthy, hang, flaky], RATE, SECONDS, { waitFor: (s) => s.kind === "healthy", pids: productPids() });
  // The hanging receiver recovers, so the breaker's probes and the retries empty its backlog instead of
  // holding connections through the next scenarios. The flaky one stays flaky (its retries come a minute later).
  hang.destinations[0].receiver.setDefault(respond.ok());

  await drainAll("product:b faults", 30_000);
  await runPhase("product", "c two dest.", web.url, dual, RATE, SECONDS, { pids: productPids() });
  await drainAll("product:c two dest.", 30_000);
  await saturate("product", web.url, productPids());
  totals.product = await costSince(productStart, productPids());
  // The floor: what one lead cannot go faster than, tagging (its Admin API calls, each at the stand-in's latency)
  // and one attempt (its median duration over the product's whole run, as the worker timed it).
  totals.product.adminCallsPerLead = api.calls.filter((x) => x.outcome === "answered").length / Math.max(1, totals.product.leads);
  totals.product.attemptMedianMs = await attemptMedianMs();
  await flashSale("product", web.url, productPids());

  // ---------------------------------------------------------------- Redis bytes per waiting job
  await stopGracefully(workers.map((w) => ({ pid: w.pid, exited: w.exited, kill: w.kill })));
  {
    const before = await prefixUsage();
    const usedBefore = await usedMemory();
    await produce("product:memory", web.url, healthy, 200, MEMORY_LEADS / 200);
    await sleep(500);
    const after = await prefixUsage();
    const usedAfter = await usedMemory();
    memory = {
      leads: MEMORY_LEADS,
      jobs: after.jobKeys - before.jobKeys,
      keysDelta: after.keys - before.keys,
      usageDelta: after.bytes - before.bytes,
      usedMemoryDelta: usedAfter - usedBefore,
    };
    log(`memory: ${fmt(memory.jobs)} job hashes waiting for ${MEMORY_LEADS} leads, ${fmt(memory.usageDelta / Math.max(1, memory.jobs))} B a job (MEMORY USAGE), ` +
      `used_memory +${fmt(memory.usedMemoryDelta / MEMORY_LEADS)} B a lead`);
  }
  stoppingProduct = true;
  await stopGracefully([{ pid: web.pid, exited: web.exited, kill: web.kill }]);
  if (ONLY === "product") {
    report(api);
    throw new Done();
  }

  // ---------------------------------------------------------------- the naive pipeline
  const naiveShops = Object.fromEntries(healthy.map((s) => [s.domain, { shopId: s.shopId, domain: s.domain, url: s.destinations[0].url, secret: s.destinations[0].secret, token: s.token }]));
  const naiveSettings = { queueName: "naive-leads", prefix: PREFIX, concurrency: NAIVE_CONCURRENCY, adminApiUrl: adminApiServer.url, shops: naiveShops };
  const naiveEnv = { NODE_EXTRA_CA_CERTS: caFile, NODE_ENV: "production" };
  const [naiveWeb, ...naiveWorkers] = await Promise.all([
    startTsxChild("bench/delivery-naive-web.ts", naiveSettings, { env: naiveEnv, timeoutMs: 90_000 }),
    ...Array.from({ length: WORKERS }, () => startTsxChild("bench/delivery-naive-worker.ts", naiveSettings, { env: naiveEnv, timeoutMs: 90_000 })),
  ]);
  children.push(naiveWeb, ...naiveWorkers);
  const naiveUrl = `http://127.0.0.1:${/ready \d+ (\d+)/.exec(naiveWeb.stdout())![1]}`;
  const naivePids = { web: [naiveWeb.pid], workers: naiveWorkers.map((w) => w.pid) };
  const naiveStart = await costMark(naivePids);
  log(`naive: web pid ${naiveWeb.pid} at ${naiveUrl}, workers ${naiveWorkers.map((w) => w.pid).join(", ")} (concurrency ${NAIVE_CONCURRENCY} each)`);
  await runPhase("naive", "warm-up", naiveUrl, healthy, 25, WARMUP_SECONDS, { record: false });
  await drainAll("naive:warm-up", 30_000);
  await runPhase("naive", "a healthy", naiveUrl, healthy, RATE, SECONDS, { pids: naivePids, measureDb: true });
  await drainAll("naive:a healthy", 30_000);
  await saturate("naive", naiveUrl, naivePids);
  totals.naive = await costSince(naiveStart, naivePids);
  await flashSale("naive", naiveUrl, naivePids);
  for (const child of [naiveWeb, ...naiveWorkers]) child.kill();
  await Promise.all([naiveWeb, ...naiveWorkers].map((c) => c.exited));

  report(api);
} catch (error) {
  if (!(error instanceof Done)) {
    broken = true;
    console.error(error);
  }
} finally {
  await cleanUp();
}
process.exit(broken ? 1 : 0);

// ---------------------------------------------------------------- producing and collecting

/** SIGTERM, as a deployment stops a process (it finishes what is in flight); SIGKILL if it is still there 25 s later. */
async function stopGracefully(processes: { pid: number; exited: Promise<unknown>; kill(): void }[]) {
  await Promise.all(processes.map(async (p) => {
    try {
      process.kill(p.pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => p.kill(), 25_000);
    await p.exited;
    clearTimeout(timer);
  }));
}

/**
 * Captures open loop through the capture route: capture i starts at i/rate seconds whatever became of the
 * earlier ones, round robin over the shops, each with its own shopper, address and idempotency key.
 */
async function produce(phase: string, baseUrl: string, shops: BenchShop[], rate: number, seconds: number) {
  const count = Math.round(rate * seconds);
  const ids: string[] = [];
  const durations: number[] = [];
  let errors = 0;
  let lagMs = 0;
  let firstError = "";
  const startedAt = Date.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < count; i++) {
    const due = startedAt + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const t = Date.now();
    lagMs = Math.max(lagMs, t - due);
    const shop = shops[i % shops.length];
    const p = postCapture(baseUrl, shop.domain).then(
      (r) => {
        durations.push(Date.now() - t);
        if (r.status === 201 && r.leadId) {
          leads.set(r.leadId, { shop, startedAt: t, phase });
          ids.push(r.leadId);
        } else {
          errors++;
          firstError ||= `status ${r.status}`;
        }
      },
      (error: unknown) => {
        errors++;
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        firstError ||= `${String(error)}${cause ? ` (${cause.code ?? cause.message})` : ""}`;
      },
    ).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  if (firstError) log(`${phase}: first capture error: ${firstError}`);
  return { ids, durations, errors, lagMs, startedAt };
}

/** Moves what the receivers got since the last call into `arrivals` (2xx-answered requests only). */
function collect(): void {
  for (const { label, receiver } of receivers) {
    for (const request of receiver.requests.splice(0)) {
      const ok = request.answer.kind === "status" && request.answer.status < 300;
      if (!ok) {
        failedRequests++;
        continue;
      }
      let body: { lead_id?: string; tagged_in_shopify?: boolean };
      try {
        body = JSON.parse(request.body);
      } catch {
        continue;
      }
      if (!body.lead_id) continue;
      const key = `${body.lead_id} ${label}`;
      if (!arrivals.has(key)) arrivals.set(key, request.receivedAt.getTime());
      if (body.tagged_in_shopify === false) untagged.add(key);
      // The naive pipeline signs its own way; only the product's deliveries are checked.
      if (request.headers["x-tryoncloud-delivery-id"] && !request.contract.verified) unverified++;
    }
  }
}

/** Waits until every lead of the phases named so captured for a healthy shop has reached each of its destinations (or the time is up). */
async function drainAll(phasePrefix: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    collect();
    let pending = 0;
    for (const [id, lead] of leads) {
      if (!lead.phase.startsWith(phasePrefix) || (lead.shop.kind !== "healthy" && lead.shop.kind !== "dual")) continue;
      for (const d of lead.shop.destinations) if (!arrivals.has(`${id} ${d.label}`)) pending++;
    }
    if (pending === 0) return;
    if (Date.now() > deadline) {
      notes.push(`${pending} deliveries of healthy shops still pending after a ${timeoutMs / 1000} s drain`);
      return;
    }
    await sleep(500);
  }
}

// ---------------------------------------------------------------- figures and report

function percentile(values: number[], p: number) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Percentiles with every missing delivery counted as infinitely late. */
function figures(latencies: number[], missing: number): Figures {
  const all = [...latencies, ...Array.from({ length: missing }, () => Infinity)];
  return {
    n: latencies.length, missing,
    p50: percentile(all, 50), p95: percentile(all, 95), p99: percentile(all, 99),
    max: all.length ? Math.max(...all) : NaN,
  };
}

/**
 * The share of deliveries sent before their shopper was tagged. The naive pipeline only sends after tagging, but
 * its body is built at capture and always says `tagged_in_shopify: false`, so its share says nothing.
 */
function untaggedText(side: "product" | "naive", share: number): string {
  return side === "naive" ? "n/a" : `${fmt(share * 100, 1)}%`;
}

function report(api: InstanceType<typeof FakeAdminApi>) {
  const out: string[] = [];
  const line = (cells: (string | number)[], widths: number[]) =>
    out.push(cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  "));
  const loadAtEnd = os.loadavg();
  out.push("");
  out.push(`Capture → receiver, ${SHOPS} healthy shops (+2 bad in b; ${SHOPS} other shops with two webhooks in c), ${WORKERS} worker processes, ` +
    `Admin API stand-in ${ADMIN_LATENCY_MS} ms a call; latency in ms (missing deliveries count as ∞)`);
  const w = [9, 14, 9, 7, 11, 7, 7, 7, 7, 8, 9, 5];
  line(["side", "scenario", "captured", "errors", "delivered", "p50", "p95", "p99", "max", "per s", "untagged", "load"], w);
  for (const r of results) {
    line([r.side, r.name, fmt(r.captured), fmt(r.captureErrors), `${fmt(r.delivered)}/${fmt(r.expected)}`, fmt(r.healthy.p50), fmt(r.healthy.p95),
      fmt(r.healthy.p99), fmt(r.healthy.max), fmt(r.deliveredPerSec), untaggedText(r.side, r.untaggedShare), fmt(r.loadAvg, 1)], w);
  }
  for (const r of results.filter((x) => !x.name.startsWith("sat"))) {
    out.push("");
    out.push(`Per shop, ${r.side} ${r.name}:`);
    const sw = [20, 8, 6, 8, 7, 7, 7];
    line(["shop", "kind", "n", "missing", "p50", "p95", "p99"], sw);
    for (const s of r.perShop.sort((a, b) => a.shop.localeCompare(b.shop, "en", { numeric: true }))) {
      line([s.shop, s.kind, s.figures.n, s.figures.missing, fmt(s.figures.p50), fmt(s.figures.p95), fmt(s.figures.p99)], sw);
    }
  }

  const find = (side: string, name: string) => results.find((r) => r.side === side && r.name === name);
  const a = find("product", "a healthy");
  const b = find("product", "b faults");
  const c = find("product", "c two dest.");
  const naiveA = find("naive", "a healthy");
  const sat = (side: string) => {
    const steps = results.filter((r) => r.side === side && r.name.startsWith("sat"));
    const best = steps.reduce<PhaseResult | undefined>((m, r) => (!m || r.deliveredPerSec > m.deliveredPerSec ? r : m), undefined);
    const sustained = steps.filter((r) => r.healthy.p99 <= RUNAWAY_MS && r.delivered >= 0.99 * r.expected).map((r) => r.rate);
    return { best, sustained: sustained.length ? Math.max(...sustained) : 0 };
  };
  const satProduct = sat("product");
  const satNaive = sat("naive");

  out.push("");
  out.push("Where the time goes (product; p50 / p99 ms): capture request start → lead row written (capturedAt) → shopper tagged (taggedAt) → first attempt started → arrival");
  for (const r of results.filter((x) => x.stages)) {
    out.push(`  ${r.name.padEnd(14)} ` + Object.entries(r.stages!).map(([k, v]) => `${k} ${fmt(v.p50)} / ${fmt(v.p99)}`).join(", "));
  }
  out.push("");
  out.push("Per-lead costs (CPU ms a lead, this machine; database rows written and commits a lead):");
  for (const r of [a, c, naiveA, satProduct.best, satNaive.best]) {
    if (!r?.cpuMsPerLead) continue;
    const cpu = r.cpuMsPerLead;
    const rest = cpu.machine - cpu.web - cpu.workers - cpu.postgres - cpu.redis - cpu.bench;
    out.push(`  ${r.side} ${r.name}: web ${fmt(cpu.web, 2)}, workers ${fmt(cpu.workers, 2)}, PostgreSQL ${fmt(cpu.postgres, 2)}, Redis ${fmt(cpu.redis, 2)}` +
      `; the benchmark's own process ${fmt(cpu.bench, 2)}, the rest of the machine ${fmt(rest, 2)} (kernel, other processes); machine busy ${fmt(cpu.machine, 2)}` +
      (r.dbWritesPerLead !== undefined ? `; ${fmt(r.dbWritesPerLead, 1)} rows written, ${fmt(r.dbCommitsPerLead!, 1)} commits` : "") +
      `; ${fmt(r.adminCallsPerLead ?? 0, 2)} Admin API calls answered; ${fmt(r.redisCommandsPerLead ?? NaN, 1)} Redis commands`);
  }
  for (const side of ["product", "naive"] as const) {
    const t = totals[side];
    if (!t) continue;
    out.push(`  ${side}, whole run (${fmt(t.leads)} leads written in ${fmt(t.seconds)} s, ${fmt(t.delivered)} delivered${t.attempts ? `, ${fmt(t.attempts)} attempts` : ""}): ` +
      Object.entries(t.cpuMs).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(", ") + ` CPU ms a lead; ${fmt(t.rows, 1)} rows written, ${fmt(t.commits, 1)} commits a lead`);
  }
  if (memory) {
    out.push(`  Redis, workers stopped, ${fmt(memory.leads)} leads captured: ${fmt(memory.jobs)} job hashes (${fmt(memory.jobs / memory.leads, 2)} a lead), ` +
      `${fmt(memory.usageDelta / Math.max(1, memory.jobs))} B a waiting job by MEMORY USAGE (${fmt(memory.usageDelta / memory.leads)} B a lead), ` +
      `used_memory +${fmt(memory.usedMemoryDelta / memory.leads)} B a lead`);
  }
  const throttled = api.calls.filter((x) => x.outcome === "throttled").length;
  out.push(`  Admin API stand-in: ${fmt(api.calls.length)} calls, ${fmt(throttled)} throttled (cost-based bucket, standard plan: 2,000 points, 100 a second)`);

  const targets: [string, string, boolean][] = [];
  if (a) {
    const calls = totals.product?.adminCallsPerLead ?? 0;
    const attempt = totals.product?.attemptMedianMs ?? 0;
    const floor = ADMIN_LATENCY_MS * calls + attempt;
    targets.push([`healthy p99 at ${RATE}/s <= 1 s`, `${fmt(a.healthy.p99)} ms`, a.healthy.p99 <= 1000]);
    targets.push([`healthy p99 at ${RATE}/s <= 2x floor`, `${fmt(a.healthy.p99 / floor, 2)}x (floor ${fmt(floor)} ms = ${fmt(calls, 2)} calls x ${ADMIN_LATENCY_MS} + attempt ${fmt(attempt)})`, a.healthy.p99 <= 2 * floor]);
  }
  if (a && b) {
    const ratio = b.healthy.p99 / a.healthy.p99;
    targets.push(["fairness: healthy p99 with bad / without <= 1.5", `${fmt(ratio, 2)} (${fmt(b.healthy.p99)} / ${fmt(a.healthy.p99)} ms)`, ratio <= 1.5]);
  }
  if (satProduct.best && satNaive.best) {
    const ratio = satProduct.best.deliveredPerSec / satNaive.best.deliveredPerSec;
    targets.push(["saturation throughput >= 1.3x naive", `${fmt(ratio, 2)}x (${fmt(satProduct.best.deliveredPerSec)} vs ${fmt(satNaive.best.deliveredPerSec)} /s)`, ratio >= 1.3]);
  }
  out.push("");
  out.push(`Saturation: product ${fmt(satProduct.best?.deliveredPerSec ?? NaN)} deliveries/s at best (sustained up to ${fmt(satProduct.sustained)} leads/s offered), ` +
    `naive ${fmt(satNaive.best?.deliveredPerSec ?? NaN)} (sustained up to ${fmt(satNaive.sustained)} leads/s)`);
  const flash = { product: find("product", "f flash sale"), naive: find("naive", "f flash sale") };
  for (const side of ["product", "naive"] as const) {
    const f = flash[side];
    if (!f?.groups) continue;
    const group = (name: string) => {
      const g = f.groups![name];
      return g ? `${fmt(g.n)} delivered, ${fmt(g.missing)} missing, p50 ${fmt(g.p50)} p99 ${fmt(g.p99)} ms, untagged ${untaggedText(side, g.untaggedShare)}` : "none";
    };
    out.push(`Flash sale (${FLASH_RATE}/s for ${FLASH_SECONDS} s, half at ${FLASH_HOT} shops), ${side}: ${fmt(f.deliveredPerSec)} deliveries/s, ` +
      `${fmt(f.delivered)}/${fmt(f.expected)} within ${FLASH_WAIT_SECONDS} s of the last capture; hot shops ${group("hot")}; the others ${group("others")}; ` +
      `${fmt(f.throttled ?? 0)} throttled answers`);
  }
  if (flash.product && flash.naive) {
    out.push(`Flash sale, product ÷ naive: deliveries/s ${fmt(flash.product.deliveredPerSec / flash.naive.deliveredPerSec, 2)}x, ` +
      `delivered within the wait ${fmt(flash.product.delivered / Math.max(1, flash.naive.delivered), 2)}x`);
  }
  if (a && naiveA) out.push(`At ${RATE}/s: product healthy p99 ${fmt(a.healthy.p99)} ms vs naive ${fmt(naiveA.healthy.p99)} ms (${fmt(a.healthy.p99 / naiveA.healthy.p99, 2)}x)`);
  if (c && a) out.push(`Two destinations: p99 ${fmt(c.healthy.p99)} ms, ${fmt(c.healthy.p99 / a.healthy.p99, 2)}x one destination's`);
  out.push("");
  const tw = [48, 70, 6];
  line(["target", "measured", "result"], tw);
  for (const [name, measured, ok] of targets) line([name, measured, ok ? "PASS" : "FAIL"], tw);
  out.push("");
  out.push(`Checks: ${unverified} product deliveries failed signature verification; ${fmt(failedRequests)} requests answered with a failure or left hanging (bad receivers).`);
  for (const note of notes) out.push(`Note: ${note}`);
  out.push(`Machine: ${cores} cores; load average (1, 5, 15 min) ${loadAtStart.map((l) => fmt(l, 2)).join(", ")} at start, ` +
    `${loadAtEnd.map((l) => fmt(l, 2)).join(", ")} at end. Run took ${fmt((Date.now() - started) / 1000)} s.`);
  out.push("");
  process.stdout.write(out.join("\n") + "\n");
  if (JSON_FILE) {
    writeFileSync(JSON_FILE, JSON.stringify({ rate: RATE, seconds: SECONDS, shops: SHOPS, workers: WORKERS, cores, loadAtStart, loadAtEnd, results, memory, totals,
      targets: targets.map(([name, measured, pass]) => ({ name, measured, pass })) }, null, 2));
  }
}

// ---------------------------------------------------------------- machine, Redis and database

interface CostMark { at: number; cpu: Record<string, number>; redisMs: number; pg: Map<number, number>; rows: number; commits: number; leads: number; tagged: number }

/** Everything a side's processes, PostgreSQL and Redis have used so far. */
async function costMark(pids: Record<string, number[]>): Promise<CostMark> {
  const w = await dbWrites();
  return {
    at: Date.now(), cpu: cpuOf(pids), redisMs: await redisCpuMs(), pg: await postgresCpu(), rows: w.rows, commits: w.commits,
    leads: await db.lead.count(), tagged: await db.lead.count({ where: { tagged: true } }),
  };
}

/**
 * A side's whole-run cost per lead: CPU of its processes, PostgreSQL's and Redis's, rows written and commits,
 * over every lead it wrote (captures the client gave up on included), once its work has gone quiet.
 */
async function costSince(start: CostMark, pids: Record<string, number[]>): Promise<Totals> {
  let last = -1;
  for (let i = 0; i < 30; i++) {
    const rows = (await dbWrites()).rows;
    if (rows === last) break;
    last = rows;
    await sleep(2000);
  }
  const end = await costMark(pids);
  const leadCount = end.leads - start.leads;
  // The product's deliveries have rows of their own; the naive pipeline marks its lead once the receiver took it.
  const product = start.leads === 0;
  const delivered = product ? await db.delivery.count({ where: { status: "delivered" } }) : end.tagged - start.tagged;
  const attempts = product ? await db.deliveryAttempt.count() : 0;
  const n = Math.max(1, leadCount);
  const cpuMs: Record<string, number> = {};
  for (const role of Object.keys(end.cpu)) cpuMs[role] = (end.cpu[role] - start.cpu[role]) / n;
  cpuMs.postgres = postgresCpuSince(start.pg, end.pg) / n;
  cpuMs.redis = (end.redisMs - start.redisMs) / n;
  return { leads: leadCount, delivered, attempts, cpuMs, rows: (end.rows - start.rows) / n, commits: (end.commits - start.commits) / n, seconds: (end.at - start.at) / 1000 };
}

/** CPU time (ms) of processes by role, from the kernel. */
function cpuOf(pids: Record<string, number[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([role, list]) => [role, list.reduce((sum, pid) => sum + processCpuMs(pid), 0)]));
}

/** Busy CPU time (ms) of the whole machine, every core, kernel included, from /proc/stat. */
function machineBusyMs(): number {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy
  const busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + (ticks[7] ?? 0);
  return busy * 10; // USER_HZ is 100 on Linux
}

function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks: USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** Commands the Redis server has run since it started (every client's: the run is alone on it). */
async function redisCommands(): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.info("stats"))?.[1] ?? 0);
}

async function redisCpuMs(): Promise<number> {
  const info = await redis.info("cpu");
  const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1000;
}

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0);
}

/** MEMORY USAGE summed over this run's keys, and how many of them are job hashes. */
async function prefixUsage(): Promise<{ keys: number; jobKeys: number; bytes: number }> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${PREFIX}:*`, "COUNT", 2000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  let bytes = 0;
  let jobKeys = 0;
  for (let i = 0; i < keys.length; i += 500) {
    const slice = keys.slice(i, i + 500);
    const pipeline = redis.pipeline();
    for (const key of slice) pipeline.memory("USAGE", key, "SAMPLES", "0");
    for (const key of slice) pipeline.type(key);
    const answers = (await pipeline.exec()) ?? [];
    slice.forEach((key, j) => {
      bytes += Number(answers[j]?.[1] ?? 0);
      // A job is a hash named by its id; a queue's own hashes (meta, and the like) have names without digits.
      if (answers[slice.length + j]?.[1] === "hash" && /:[^:]*\d[^:]*$/.test(key)) jobKeys++;
    });
  }
  return { keys: keys.length, jobKeys, bytes };
}

async function postgresCpu(): Promise<Map<number, number>> {
  const rows = await db.$queryRawUnsafe<{ pid: number }[]>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  );
  return new Map(rows.map((r) => [Number(r.pid), processCpuMs(Number(r.pid))]));
}

function postgresCpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) ms += Math.max(0, now - (before.get(pid) ?? 0));
  return ms;
}

/** Rows inserted, updated and deleted in the scratch database, and its commits, so far. */
async function dbWrites(): Promise<{ rows: number; commits: number }> {
  const [t] = await db.$queryRawUnsafe<{ rows: bigint }[]>(
    `SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint AS rows FROM pg_stat_user_tables`,
  );
  const [c] = await db.$queryRawUnsafe<{ commits: bigint }[]>(`SELECT xact_commit::bigint AS commits FROM pg_stat_database WHERE datname = current_database()`);
  return { rows: Number(t.rows), commits: Number(c.commits) };
}

/**
 * The stages of each delivery of these leads, from the rows the product wrote (its processes share this
 * machine's clock): capture start → capturedAt → taggedAt (untagged deliveries skip it) → the first attempt's
 * start → the receiver's arrival.
 */
async function stagesOf(ids: string[]): Promise<Record<string, { p50: number; p99: number }>> {
  const stages: Record<string, number[]> = { "to row": [], "row→tagged": [], "tagged→attempt": [], "row→attempt (untagged)": [], "attempt→arrival": [] };
  for (let i = 0; i < ids.length; i += 2000) {
    const rows = await db.lead.findMany({
      where: { id: { in: ids.slice(i, i + 2000) } },
      select: {
        id: true, capturedAt: true, taggedAt: true,
        deliveries: { select: { destinationId: true, destination: { select: { url: true } }, attempts: { where: { number: 1 }, select: { startedAt: true } } } },
      },
    });
    for (const row of rows) {
      const lead = leads.get(row.id)!;
      stages["to row"].push(row.capturedAt.getTime() - lead.startedAt);
      for (const d of row.deliveries) {
        const attempt = d.attempts[0]?.startedAt.getTime();
        if (attempt === undefined) continue;
        if (row.taggedAt && row.taggedAt.getTime() <= attempt) {
          stages["row→tagged"].push(row.taggedAt.getTime() - row.capturedAt.getTime());
          stages["tagged→attempt"].push(attempt - row.taggedAt.getTime());
        } else {
          stages["row→attempt (untagged)"].push(attempt - row.capturedAt.getTime());
        }
        const destination = lead.shop.destinations.find((x) => x.url === d.destination.url);
        const at = destination && arrivals.get(`${row.id} ${destination.label}`);
        if (at) stages["attempt→arrival"].push(at - attempt);
      }
    }
  }
  return Object.fromEntries(Object.entries(stages).filter(([, v]) => v.length).map(([k, v]) => [k, { p50: percentile(v, 50), p99: percentile(v, 99) }]));
}

/** The median duration of every delivery attempt so far (one attempt, as the worker timed it). */
async function attemptMedianMs(): Promise<number> {
  const [row] = await db.$queryRawUnsafe<{ p50: number | null }[]>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY "durationMs")::float AS p50 FROM "DeliveryAttempt"`,
  );
  return row?.p50 ?? 0;
}

/** Child processes, this run's Redis keys, the scratch database and the CA file go, once, however the run ends. */
async function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of children) child.kill();
    for (const { receiver } of receivers) await receiver.close().catch(() => undefined);
    await adminApiServer?.close().catch(() => undefined);
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${PREFIX}:*`, "COUNT", 2000).catch(() => ["0", []] as [string, string[]]);
      if (keys.length) await redis.unlink(...keys).catch(() => undefined);
      cursor = next;
    } while (cursor !== "0");
    redis.disconnect();
    await db.$disconnect().catch(() => undefined);
    await adminQuery(`DROP DATABASE IF EXISTS ${SCRATCH_DB} WITH (FORCE)`).catch((e) => log(`could not drop the scratch database: ${e}`));
    rmSync(caFile, { force: true });
  })();
  return cleaning;
}

async function adminQuery(sql: string) {
  const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
