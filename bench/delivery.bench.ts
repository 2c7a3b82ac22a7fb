/**
 * Webhook delivery under load: the product's pipeline against the one a developer would write by hand,
 * in the same run, on the same Redis, PostgreSQL scratch database and HTTPS receiver.
 *
 *  naive    insert the lead (Prisma); queue.add with the whole job in its data (JSON body, signing secret,
 *           URL; BullMQ's default options plus 5 attempts with exponential backoff); a BullMQ worker signs
 *           the body (HMAC-SHA256), POSTs it with fetch and marks the lead row delivered.
 *  product  recordLeadWithDeliveries (the lead, its product and its delivery rows in one statement, shared by
 *           the captures in flight at that moment), enqueueNewDeliveries after the commit (a job holding only
 *           its id); the real createDeliveryWorker with the real webhook sender (an exact-address allow-list
 *           for 127.0.0.1, kept-alive connections) claiming and recording attempts in one statement each.
 *
 * Both workers trust the receiver's test CA process-wide (NODE_EXTRA_CA_CERTS), so the product's sender runs
 * with no `ca` option, the code path production runs. One extra product phase ("sat, CA opt") passes the CA
 * in the sender's options (`extraCa`) instead: the sender then builds one TLS context with Node's root
 * certificates plus that CA, once.
 *
 * The machine is shared by five busy processes (producer, two workers taking turns, receiver, PostgreSQL,
 * Redis) on few cores, so throughput moves between runs by tens of percent; compare the two sides of
 * one run (the ratios), and run it more than once before concluding.
 *
 * Each side's worker runs in a child process of its own (plain Node, bundled once with esbuild, no
 * transpiler in memory), so "worker RSS" is that process's resident memory. The receiver is a third
 * process: it answers 200 at once and notes each request's arrival time and the body's lead id. The
 * producer (this process) captures leads open-loop at an offered rate; latency runs from the moment the
 * lead's insert returned to the producer to the request's arrival at the receiver (CLOCK_MONOTONIC, one
 * clock for every process). Saturation: the batch is captured and queued with the worker stopped (that is
 * also when Redis bytes per queued lead are taken, summing MEMORY USAGE over the queue's keys), then the
 * worker starts and the drain is timed; it runs twice per side, in the order A B B A, and the target
 * compares leads over drain time summed over both, so that a drift in the machine's speed during the run
 * weighs on both sides alike. Every phase has a queue of its own. Sides alternate in order.
 * Prints a table and the targets marked PASS or MISS; exits 0 unless the run itself broke.
 *
 *   npm run bench:delivery
 *   --rates=100,500,1000   offered rates, leads/s          --seconds=5    worth of leads per rate (1,000..3,000)
 *   --batch=8000           saturation batch                --concurrency=10  worker concurrency, both sides
 *   --shops=1              shops (one endpoint each) the leads are spread over, round robin
 *   --in-flight=32         captures in flight at most      --log=silent   product worker log level (info: as production)
 *   --ca-options-batch=300 an extra product saturation phase with the receiver's CA passed in the sender's
 *                          options (extraCa) instead of trusted process-wide; 0 skips it
 *   --only=naive|product   one side (no ratios)            --json=FILE    also write the figures as JSON
 *   --cpu-prof=DIR         write a V8 CPU profile of each worker process into DIR
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import {
  countDriverCalls, counters, monoMs, rssOf,
  type FromReceiver, type FromWorker, type ProcessStats, type ToReceiver, type ToWorker, type WorkerPhase,
} from "./delivery-common";
import type { NaiveJob } from "./delivery-naive-worker";

// ---------------------------------------------------------------- options

const args = new Map(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k, v ?? "true"] as const;
}));
const RATES = (args.get("rates") ?? "100,500,1000").split(",").map(Number).filter((r) => r > 0);
const SECONDS = Number(args.get("seconds") ?? 5);
const BATCH = Number(args.get("batch") ?? 8000);
const CONCURRENCY = Number(args.get("concurrency") ?? 10);
const SHOPS = Math.max(1, Number(args.get("shops") ?? 1));
const IN_FLIGHT = Number(args.get("in-flight") ?? 32);
const CA_OPTIONS_BATCH = Number(args.get("ca-options-batch") ?? 300);
const LOG_LEVEL = args.get("log") ?? "silent";
const ONLY = args.get("only");
const JSON_FILE = args.get("json");
const CPU_PROF_DIR = args.get("cpu-prof");
const WARMUP = 400;
const WARMUP_RATE = 200;
/** After the last capture, how long a phase may wait for the remaining arrivals. */
const drainTimeoutMs = (count: number) => Math.min(180_000, 30_000 + count * 40);
/** No new phase starts after this much of the run. */
const BUDGET_MS = 8 * 60_000;
const leadsAt = (rate: number) => Math.min(3000, Math.max(1000, Math.round(rate * SECONDS)));

const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const SCRATCH_DB = "tryon_bench_delivery";
const RUN_ID = randomBytes(3).toString("hex");
const PREFIX = `tryon-bench-${RUN_ID}`;
const NAIVE_JOB_OPTIONS = { attempts: 5, backoff: { type: "exponential", delay: 1000 } };

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number) => `${fmt(bytes / 1048576, 1)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = monoMs();
const loadAtStart = os.loadavg()[0];

type SideName = "naive" | "product";
const SIDES: SideName[] = ONLY === "naive" || ONLY === "product" ? [ONLY] : ["naive", "product"];

/** Request and answer over a child's IPC channel: messages are taken in order, by type. */
class Ipc<Out, In extends { type: string }> {
  private inbox: In[] = [];
  private waiters: { type: string; resolve: (m: In) => void }[] = [];
  private exited = false;
  constructor(readonly proc: ChildProcess, private readonly label: string) {
    proc.on("message", (m: In) => {
      if (m.type === "error") {
        log(`${label}: ${(m as unknown as { message: string }).message}`);
        broken = true;
        return;
      }
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
      else this.inbox.push(m);
    });
    proc.once("exit", (code) => {
      this.exited = true;
      if (code !== 0 && code !== null) log(`${label} exited with ${code}`);
    });
  }
  send(message: Out) {
    this.proc.send(message as object);
  }
  next(type: string, timeoutMs: number): Promise<In> {
    const i = this.inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    if (this.exited) return Promise.reject(new Error(`${this.label} has exited`));
    return new Promise((resolve, reject) => {
      const waiter = { type, resolve: (m: In) => { clearTimeout(timer); resolve(m); } };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.label}: no "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
  async stats(): Promise<ProcessStats> {
    this.send({ type: "stats" } as Out);
    return ((await this.next("stats", 10_000)) as unknown as { stats: ProcessStats }).stats;
  }
  async take() {
    this.send({ type: "take" } as Out);
    return (await this.next("arrivals", 10_000)) as unknown as Extract<FromReceiver, { type: "arrivals" }>;
  }
}

// ---------------------------------------------------------------- scratch database, settings, app modules

const scratchUrl = POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${SCRATCH_DB}`);
await adminQuery(`DROP DATABASE IF EXISTS ${SCRATCH_DB} WITH (FORCE)`);
await adminQuery(`CREATE DATABASE ${SCRATCH_DB}`);
const caFile = path.join(os.tmpdir(), `tryon-bench-delivery-ca-${RUN_ID}.pem`);

Object.assign(process.env, {
  NODE_ENV: "production",
  SHOPIFY_API_KEY: "bench-api-key",
  SHOPIFY_API_SECRET: "bench-api-secret",
  SHOPIFY_APP_URL: "https://bench.tryon-leads.example",
  SCOPES: "write_customers",
  DATABASE_URL: scratchUrl,
  REDIS_URL,
  ENCRYPTION_KEYS: `1:${randomBytes(32).toString("base64")}`,
  RUN_WORKER_IN_PROCESS: "false",
  LOG_LEVEL: "silent",
  QUEUE_PREFIX: PREFIX,
});

// App modules read their settings on import: load them only now.
const { migrateDatabase } = await import("../app/lib/db-migrate.server");
const { createDb } = await import("../app/lib/db.server");
const { ensureShop } = await import("../app/shops/shops.server");
const { connectEndpoint } = await import("../app/destinations/endpoints.server");
const { recordLeadWithDeliveries } = await import("../app/delivery/outbox.server");
const { createDeliveryQueue, enqueueNewDeliveries } = await import("../app/delivery/queue.server");
const { buildLeadCapturedBody, serializeBody } = await import("../app/delivery/payload");
const { createAddressPolicy } = await import("../app/delivery/ssrf.server");
const { getConfig } = await import("../app/lib/config.server");
const { getTestCertificates } = await import("../test/support/test-certificates");
type CapturedLead = import("../app/delivery/outbox.server").CapturedLead;

await migrateDatabase(scratchUrl);
// The naive pipeline's own bookkeeping: the status columns a hand-written app keeps on its lead table.
await scratchQuery(`ALTER TABLE "Lead" ADD COLUMN "webhookStatus" TEXT NOT NULL DEFAULT 'pending', ADD COLUMN "webhookDeliveredAt" TIMESTAMP(3)`);
await countDriverCalls();
const db = createDb(scratchUrl);
await db.$connect();
const admin = new Redis(REDIS_URL);
// Producers: the product's connects as the web process's does (app/runtime/producers.server.ts); the naive one
// with ioredis defaults.
const productRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
const naiveRedis = new Redis(REDIS_URL);

const children: ChildProcess[] = [];
let broken = false;
let cleaning: Promise<void> | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(1));
  });
}

interface Shop { id: string; domain: string; url: string; secret: string }
interface Side {
  name: SideName;
  worker: Ipc<ToWorker, FromWorker>;
  idleRss: number;
  open(queueName: string): { capture(input: CapturedLead): Promise<{ leadId: string; capturedAt: number }>; close(): Promise<void> };
}

interface QueueMemory { total: number; jobs: number; events: number; lists: number; other: number; keys: number }
interface PhaseResult {
  side: SideName;
  scenario: string;
  rate: number | null;
  leads: number;
  delivered: number;
  duplicates: number;
  /** Leads/s reaching the receiver: leads over (last arrival - first capture started) at a rate; over the drain at saturation. */
  deliveredPerSec: number;
  p50: number | null; p95: number | null; p99: number | null; max: number | null;
  /** How late the producer started captures against the schedule, worst case (ms). */
  producerLagMs: number;
  /** Captures + enqueues completed per second. */
  captureRate: number;
  captureP50: number; captureP99: number;
  captureErrors: number;
  workerRssPeak: number; workerRssMean: number;
  drainMs: number | null;
  queued: QueueMemory | null;
  usedMemoryDelta: number | null;
  retained: QueueMemory;
  perDelivery: { workerDbQueries: number; workerRedisCommands: number; workerCpuMs: number; receiverCpuMs: number; tlsHandshakes: number };
  perLead: { producerDbQueries: number; producerRedisCommands: number; producerCpuMs: number; postgresCpuMs: number; redisCpuMs: number; totalCpuMs: number };
  failedJobs: number;
}
const results: PhaseResult[] = [];
const skipped: string[] = [];

try {
  // ---------------------------------------------------------------- receiver, shops, workers
  const tls = getTestCertificates();
  writeFileSync(caFile, tls.ca);
  const files = await bundleChildren();
  const receiver = new Ipc<ToReceiver, FromReceiver>(spawnChild(files.receiver, { BENCH_TLS_CERT: tls.cert, BENCH_TLS_KEY: tls.key }), "receiver");
  const { port } = await receiver.next("ready", 20_000) as { port: number };
  const receiverUrl = `https://127.0.0.1:${port}`;

  const ring = { keys: getConfig().ENCRYPTION_KEYS, currentVersion: getConfig().currentKeyVersion };
  const policy = createAddressPolicy({ allowAddresses: ["127.0.0.1"] });
  const shops: Shop[] = [];
  for (let s = 0; s < SHOPS; s++) {
    const shop = await ensureShop(db, `bench-delivery-${s + 1}.myshopify.com`);
    const url = `${receiverUrl}/hooks/${s + 1}`;
    const { secret } = await connectEndpoint({ db, shop, url, ring, destination: { policy } });
    shops.push({ ...shop, url, secret });
  }
  const products = Array.from({ length: 50 }, (_, i) => ({
    id: `gid://shopify/Product/${7000 + i}`, title: `Frame model ${i + 1}`, variant: `gid://shopify/ProductVariant/${9000 + i}`,
  }));
  let leadNo = 0;
  const nextLead = (): CapturedLead => {
    const n = leadNo++;
    const shop = shops[n % shops.length];
    const product = products[(n * 7) % products.length];
    return {
      shopId: shop.id, shopDomain: shop.domain,
      email: `shopper${n}.${RUN_ID}@example.org`,
      productId: product.id, productTitle: product.title, productUrl: `https://${shop.domain}/products/frame-${(n * 7) % products.length}`,
      variantId: product.variant, variantTitle: "Gold / Large",
      resultContext: { fit: "good", frameWidthMm: 140, faceShape: "oval", style: "aviator" },
      consent: true,
      utm: { source: "instagram", medium: "social", campaign: "spring" },
      pageUrl: `https://${shop.domain}/products/frame-${(n * 7) % products.length}?utm_source=instagram`,
    };
  };
  const shopById = new Map(shops.map((s) => [s.id, s]));

  const sides: Side[] = [];
  for (const name of SIDES) {
    const env: Record<string, string> = name === "naive"
      ? { NODE_EXTRA_CA_CERTS: caFile }
      : { NODE_EXTRA_CA_CERTS: caFile, BENCH_TLS_CA: tls.ca, LOG_LEVEL };
    const proc = spawnChild(name === "naive" ? files.naive : files.product, env);
    const worker = new Ipc<ToWorker, FromWorker>(proc, `${name} worker`);
    await worker.next("ready", 30_000);
    await sleep(500);
    const idleRss = rssOf(proc.pid!);
    const open = name === "naive"
      ? (queueName: string) => {
        const queue = new Queue<NaiveJob>(queueName, { connection: naiveRedis, prefix: PREFIX });
        return {
          async capture(input: CapturedLead) {
            const lead = await db.lead.create({ data: naiveLeadRow(input) });
            const capturedAt = monoMs();
            const shop = shopById.get(input.shopId)!;
            const body = serializeBody(buildLeadCapturedBody(lead, input.shopDomain));
            await queue.add("webhook", { url: shop.url, secret: shop.secret, body, leadId: lead.id }, NAIVE_JOB_OPTIONS);
            return { leadId: lead.id, capturedAt };
          },
          close: () => queue.close(),
        };
      }
      : (queueName: string) => {
        const queue = createDeliveryQueue(productRedis, { name: queueName, prefix: PREFIX });
        return {
          async capture(input: CapturedLead) {
            const { lead, deliveryIds } = await recordLeadWithDeliveries(db, input);
            const capturedAt = monoMs();
            await enqueueNewDeliveries(queue, deliveryIds);
            return { leadId: lead.id, capturedAt };
          },
          close: () => queue.close(),
        };
      };
    sides.push({ name, worker, idleRss, open });
  }
  log(`receiver on ${receiverUrl}; ${SHOPS} shop(s) with one endpoint each; workers: ${sides.map((s) => `${s.name} pid ${s.worker.proc.pid}`).join(", ")}; ` +
    `concurrency ${CONCURRENCY} each`);

  // ---------------------------------------------------------------- phases
  const runPhase = async (
    side: Side, scenario: string, rate: number | null, count: number, options: { record?: boolean; caInOptions?: boolean } = {},
  ): Promise<void> => {
    if (monoMs() - started > BUDGET_MS) {
      skipped.push(`${scenario} ${side.name}`);
      log(`skipping ${scenario} ${side.name}: the run's time budget is spent`);
      return;
    }
    const queueName = `${side.name}-${scenario.replace(/[^a-z0-9]+/gi, "-")}`;
    const base = `${PREFIX}:${queueName}`;
    const phase: WorkerPhase = { queueName, prefix: PREFIX, concurrency: CONCURRENCY, autorun: rate !== null, caInOptions: options.caInOptions };
    side.worker.send({ type: "start", phase });
    await side.worker.next("started", 30_000);
    await receiver.take();
    const workerBefore = await side.worker.stats();
    const receiverBefore = await receiver.stats();
    const inputs = Array.from({ length: count }, nextLead);
    const producer = side.open(queueName);

    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssOf(side.worker.proc.pid!)), 100);
    const usedBefore = await usedMemory();
    const postgresBefore = await postgresCpu();
    const redisBefore = await redisCpuMs();
    const producerBefore = { ...counters, cpu: cpuMs() };
    const produced = await produce(inputs, rate, producer.capture);
    const perLead = {
      producerDbQueries: (counters.dbQueries - producerBefore.dbQueries) / count,
      producerRedisCommands: (counters.redisCommands - producerBefore.redisCommands) / count,
      producerCpuMs: (cpuMs() - producerBefore.cpu) / count,
    };
    let queued: QueueMemory | null = null;
    let usedMemoryDelta: number | null = null;
    let runAt = produced.startedAt;
    if (rate === null) {
      queued = await queueMemory(base);
      usedMemoryDelta = (await usedMemory()) - usedBefore;
      runAt = monoMs();
      side.worker.send({ type: "run" });
      await side.worker.next("running", 30_000);
    }
    const arrivals = await collectArrivals(receiver, produced.captured, drainTimeoutMs(count));
    clearInterval(sampler);
    side.worker.send({ type: "stop" });
    const { failedJobs } = await side.worker.next("stopped", 60_000) as { failedJobs: number };
    await producer.close();
    const workerAfter = await side.worker.stats();
    const receiverAfter = await receiver.stats();
    const postgresMs = postgresCpuSince(postgresBefore, await postgresCpu());
    const redisMs = (await redisCpuMs()) - redisBefore;
    const retained = await queueMemory(base);
    await deleteKeys(base);

    const latencies: number[] = [];
    let last = 0;
    for (const [leadId, at] of arrivals.first) {
      const captured = produced.captured.get(leadId);
      if (captured !== undefined) latencies.push(at - captured);
      last = Math.max(last, at);
    }
    const delivered = latencies.length;
    const result: PhaseResult = {
      side: side.name, scenario, rate, leads: count, delivered, duplicates: arrivals.duplicates,
      deliveredPerSec: delivered / ((last - runAt) / 1000),
      p50: rate === null ? null : percentile(latencies, 50),
      p95: rate === null ? null : percentile(latencies, 95),
      p99: rate === null ? null : percentile(latencies, 99),
      max: rate === null ? null : Math.max(...latencies),
      producerLagMs: produced.lagMs,
      captureRate: count / (produced.elapsedMs / 1000),
      captureP50: percentile(produced.durations, 50), captureP99: percentile(produced.durations, 99),
      captureErrors: produced.errors,
      workerRssPeak: Math.max(...rss, 0), workerRssMean: rss.length ? rss.reduce((a, b) => a + b, 0) / rss.length : 0,
      drainMs: rate === null ? last - runAt : null,
      queued, usedMemoryDelta, retained,
      perDelivery: {
        workerDbQueries: (workerAfter.dbQueries - workerBefore.dbQueries) / Math.max(1, delivered),
        workerRedisCommands: (workerAfter.redisCommands - workerBefore.redisCommands) / Math.max(1, delivered),
        workerCpuMs: (workerAfter.cpuMs - workerBefore.cpuMs) / Math.max(1, delivered),
        receiverCpuMs: (receiverAfter.cpuMs - receiverBefore.cpuMs) / Math.max(1, delivered),
        tlsHandshakes: arrivals.tlsHandshakes / Math.max(1, delivered),
      },
      perLead: { ...perLead, postgresCpuMs: postgresMs / count, redisCpuMs: redisMs / count, totalCpuMs: 0 },
      failedJobs,
    };
    result.perLead.totalCpuMs = perLead.producerCpuMs + result.perLead.postgresCpuMs + result.perLead.redisCpuMs +
      result.perDelivery.workerCpuMs + result.perDelivery.receiverCpuMs;
    log(`${scenario} ${side.name}: ${fmt(delivered)}/${fmt(count)} delivered, ${fmt(result.deliveredPerSec)} leads/s` +
      (rate === null ? `, drain ${fmt(result.drainMs! / 1000, 2)} s` : `, p50 ${fmt(result.p50!, 1)} p99 ${fmt(result.p99!, 1)} ms`) +
      `, worker RSS peak ${mb(result.workerRssPeak)}` + (produced.errors ? `, ${produced.errors} capture errors` : ""));
    if (delivered < count || produced.errors > 0) broken = true;
    if (options.record ?? true) results.push(result);
  };

  log(`warm-up: ${WARMUP} leads at ${WARMUP_RATE}/s per side ...`);
  for (const side of sides) await runPhase(side, "warm-up", WARMUP_RATE, WARMUP, { record: false });
  let turn = 0;
  for (const rate of RATES) {
    const ordered = turn++ % 2 === 0 ? sides : [...sides].reverse();
    for (const side of ordered) await runPhase(side, `${rate}/s`, rate, leadsAt(rate));
  }
  const ordered = turn % 2 === 0 ? sides : [...sides].reverse();
  for (const side of ordered) await runPhase(side, "saturation", null, BATCH);
  for (const side of [...ordered].reverse()) await runPhase(side, "sat, 2nd", null, BATCH);
  const product = sides.find((s) => s.name === "product");
  if (product && CA_OPTIONS_BATCH > 0) await runPhase(product, "sat, CA opt", null, CA_OPTIONS_BATCH, { caInOptions: true });

  const dbCheck = await checkDatabase();
  for (const side of sides) side.worker.send({ type: "exit" });
  receiver.send({ type: "exit" });
  await Promise.all(children.map((c) => c.exitCode !== null ? undefined : new Promise((r) => { c.once("exit", r); setTimeout(r, 10_000); })));
  report(sides, dbCheck);
} catch (error) {
  broken = true;
  console.error(error);
} finally {
  await cleanUp();
}
process.exit(broken ? 1 : 0);

/** Child processes, this run's Redis keys, the scratch database and the CA file go, once, however the run ends. */
async function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of children) if (child.exitCode === null) child.kill();
    await deleteKeys(PREFIX).catch(() => undefined);
    admin.disconnect();
    productRedis.disconnect();
    naiveRedis.disconnect();
    await db.$disconnect().catch(() => undefined);
    await adminQuery(`DROP DATABASE IF EXISTS ${SCRATCH_DB} WITH (FORCE)`).catch((e) => log(`could not drop the scratch database: ${e}`));
    rmSync(caFile, { force: true });
  })();
  return cleaning;
}

// ---------------------------------------------------------------- producing and collecting

/**
 * Captures every input, open loop: input i starts at i/rate seconds whatever became of the earlier ones
 * (at most IN_FLIGHT at once; past that the producer falls behind and says so in producerLagMs). Without
 * a rate, as fast as IN_FLIGHT allows.
 */
function produce(
  inputs: CapturedLead[],
  rate: number | null,
  capture: (input: CapturedLead) => Promise<{ leadId: string; capturedAt: number }>,
): Promise<{ captured: Map<string, number>; durations: number[]; errors: number; lagMs: number; elapsedMs: number; startedAt: number }> {
  const captured = new Map<string, number>();
  const durations: number[] = [];
  let errors = 0;
  let lagMs = 0;
  let next = 0;
  let inFlight = 0;
  let firstError: unknown;
  const startedAt = monoMs();
  return new Promise((resolve) => {
    const launch = (i: number) => {
      inFlight++;
      const t = monoMs();
      if (rate !== null) lagMs = Math.max(lagMs, t - (startedAt + (i * 1000) / rate));
      capture(inputs[i]).then(
        ({ leadId, capturedAt }) => {
          captured.set(leadId, capturedAt);
          durations.push(capturedAt - t);
        },
        (error: unknown) => {
          errors++;
          firstError ??= error;
        },
      ).finally(() => {
        inFlight--;
        if (next >= inputs.length && inFlight === 0) {
          if (firstError) log(`first capture error: ${String((firstError as Error)?.stack ?? firstError)}`);
          resolve({ captured, durations, errors, lagMs, elapsedMs: monoMs() - startedAt, startedAt });
        } else if (rate === null) tick();
      });
    };
    const tick = () => {
      const due = rate === null ? inputs.length : Math.min(inputs.length, Math.floor(((monoMs() - startedAt) * rate) / 1000) + 1);
      while (next < due && inFlight < IN_FLIGHT) launch(next++);
      if (rate !== null && next < inputs.length) setTimeout(tick, 1);
    };
    tick();
  });
}

/** Takes the receiver's arrivals every 50 ms until every captured lead has arrived or the time is up. */
async function collectArrivals(receiver: Ipc<ToReceiver, FromReceiver>, captured: Map<string, number>, timeoutMs: number) {
  const first = new Map<string, number>();
  let duplicates = 0;
  let tlsHandshakes = 0;
  const deadline = monoMs() + timeoutMs;
  for (;;) {
    const batch = await receiver.take();
    tlsHandshakes += batch.tlsHandshakes;
    batch.leadIds.forEach((id, i) => {
      if (first.has(id)) duplicates++;
      else first.set(id, batch.times[i]);
    });
    if (first.size >= captured.size || monoMs() > deadline) break;
    await sleep(50);
  }
  return { first, duplicates, tlsHandshakes };
}

// ---------------------------------------------------------------- Redis and database

/** MEMORY USAGE (every element counted) of each key of one queue, by kind. */
async function queueMemory(base: string): Promise<QueueMemory> {
  const keys = await keysUnder(base);
  const usage: QueueMemory = { total: 0, jobs: 0, events: 0, lists: 0, other: 0, keys: keys.length };
  for (let i = 0; i < keys.length; i += 500) {
    const slice = keys.slice(i, i + 500);
    const pipeline = admin.pipeline();
    for (const key of slice) pipeline.memory("USAGE", key, "SAMPLES", "0");
    const answers = (await pipeline.exec()) ?? [];
    slice.forEach((key, j) => {
      const bytes = Number(answers[j]?.[1] ?? 0);
      const rest = key.slice(base.length + 1);
      usage.total += bytes;
      if (rest === "events") usage.events += bytes;
      else if (["wait", "paused", "active", "completed", "failed", "delayed", "prioritized", "marker", "stalled"].includes(rest)) usage.lists += bytes;
      else if (!rest.includes(":") && !["meta", "id", "pc", "stalled-check"].includes(rest)) usage.jobs += bytes;
      else usage.other += bytes;
    });
  }
  return usage;
}

async function keysUnder(base: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  for (let round = 0; round < 100_000; round++) {
    const [next, batch] = await admin.scan(cursor, "MATCH", `${base}:*`, "COUNT", 2000);
    keys.push(...batch);
    cursor = next;
    if (cursor === "0") break;
  }
  return keys;
}

async function deleteKeys(base: string): Promise<void> {
  const keys = await keysUnder(base);
  for (let i = 0; i < keys.length; i += 1000) await admin.unlink(...keys.slice(i, i + 1000));
}

/** Redis-wide used_memory: other clients of a shared Redis move it too, so it is reported, not judged. */
async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await admin.info("memory"))?.[1] ?? 0);
}

async function checkDatabase() {
  const rows = await db.$queryRawUnsafe<{ status: string; n: bigint }[]>(`SELECT "status", count(*) AS n FROM "Delivery" GROUP BY "status"`);
  const naive = await db.$queryRawUnsafe<{ status: string; n: bigint }[]>(
    `SELECT "webhookStatus" AS status, count(*) AS n FROM "Lead" l WHERE NOT EXISTS (SELECT 1 FROM "Delivery" d WHERE d."leadId" = l."id") GROUP BY 1`,
  );
  const attempts = Number((await db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "DeliveryAttempt"`))[0].n);
  return {
    product: Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])),
    naive: Object.fromEntries(naive.map((r) => [r.status, Number(r.n)])),
    attempts,
  };
}

/** CPU time (ms) the Redis server has used since it started (INFO cpu); other clients of a shared Redis count too. */
async function redisCpuMs(): Promise<number> {
  const info = await admin.info("cpu");
  const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1000;
}

/** CPU time (ms) of every PostgreSQL backend serving the scratch database, by process id. */
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

function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks: USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

function naiveLeadRow(input: CapturedLead) {
  return {
    shopId: input.shopId, email: input.email, emailSearch: input.email.toLowerCase(),
    productId: input.productId, productTitle: input.productTitle, productUrl: input.productUrl,
    variantId: input.variantId ?? null, variantTitle: input.variantTitle ?? null,
    resultContext: input.resultContext ? JSON.stringify(input.resultContext) : null, consent: true,
    utmSource: input.utm?.source ?? null, utmMedium: input.utm?.medium ?? null, utmCampaign: input.utm?.campaign ?? null,
    pageUrl: input.pageUrl ?? null,
  };
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

async function scratchQuery(sql: string) {
  const c = new pg.Client({ connectionString: scratchUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- child processes

/** Bundles the three child processes once so they run on plain Node, with no transpiler in their memory. */
async function bundleChildren() {
  const { build } = await import("esbuild");
  const outdir = path.join("node_modules", ".cache", "tryon-bench-delivery");
  await build({
    entryPoints: {
      receiver: path.join("bench", "delivery-receiver.ts"),
      naive: path.join("bench", "delivery-naive-worker.ts"),
      product: path.join("bench", "delivery-product-worker.ts"),
    },
    outdir, outExtension: { ".js": ".mjs" }, bundle: true, platform: "node", format: "esm", target: "node22",
    packages: "external", logLevel: "warning",
  });
  return { receiver: path.join(outdir, "receiver.mjs"), naive: path.join(outdir, "naive.mjs"), product: path.join(outdir, "product.mjs") };
}

function spawnChild(file: string, env: Record<string, string>): ChildProcess {
  const proc = fork(file, [], {
    env: { ...process.env, ...env }, cwd: process.cwd(), stdio: ["ignore", "ignore", "inherit", "ipc"],
    execArgv: CPU_PROF_DIR && !file.endsWith("receiver.mjs") ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF_DIR}`] : [],
  });
  children.push(proc);
  return proc;
}

// ---------------------------------------------------------------- report

function report(sides: Side[], dbCheck: Awaited<ReturnType<typeof checkDatabase>>) {
  const out: string[] = [];
  const line = (cells: string[], widths: number[]) =>
    out.push(cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "));
  const ms = (v: number | null) => (v === null ? "-" : fmt(v, 1));
  const x = (p: number | null | undefined, n: number | null | undefined) => (p == null || n == null || !n ? "-" : `${fmt(p / n, 2)}x`);
  const find = (side: SideName, scenario: string) => results.find((r) => r.side === side && r.scenario === scenario);

  out.push("");
  out.push(`Try-on Leads delivery benchmark: PostgreSQL ${SCRATCH_DB} (scratch), Redis, HTTPS receiver on 127.0.0.1 (own process); ` +
    `Node ${process.version}, ${os.cpus().length} CPUs, load average ${fmt(loadAtStart, 1)} at start`);
  out.push(`Worker concurrency ${CONCURRENCY} on both sides, one worker process per side; ${SHOPS} shop(s), one endpoint each; ` +
    `captures at most ${IN_FLIGHT} in flight; product worker log level ${LOG_LEVEL}`);
  out.push(`Both workers trust the receiver's test CA process-wide (NODE_EXTRA_CA_CERTS): the product's sender then runs with no \`ca\` ` +
    `option, as in production${results.some((r) => r.scenario === "sat, CA opt") ? "; \"sat, CA opt\" is the product with the CA passed in the sender's options (extraCa) instead" : ""}.`);
  out.push(`Latency: lead insert returned to the producer -> request body complete at the receiver. Worker RSS: the worker ` +
    `process's peak VmRSS in the phase (idle after start: ${sides.map((s) => `${s.name} ${mb(s.idleRss)}`).join(", ")}).`);
  out.push("");
  const w = [11, 8, 7, 12, 8, 8, 8, 12, 12];
  line(["scenario", "side", "leads", "delivered/s", "p50 ms", "p95 ms", "p99 ms", "worker RSS", "Redis B/lead"], w);
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const n = find("naive", scenario);
    const p = find("product", scenario);
    for (const r of [n, p]) {
      if (!r) continue;
      line([scenario, r.side, fmt(r.leads), fmt(r.deliveredPerSec), ms(r.p50), ms(r.p95), ms(r.p99), mb(r.workerRssPeak),
        r.queued ? fmt(r.queued.total / r.leads) : "-"], w);
    }
    if (n && p) {
      line(["", "prod/nv", "", x(p.deliveredPerSec, n.deliveredPerSec), x(p.p50, n.p50), x(p.p95, n.p95), x(p.p99, n.p99),
        x(p.workerRssPeak, n.workerRssPeak), p.queued && n.queued ? x(p.queued.total, n.queued.total) : "-"], w);
    }
  }

  out.push("");
  out.push("Per phase (per delivered lead unless noted)");
  const d = [11, 8, 6, 8, 7, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6];
  line(["scenario", "side", "cap/s", "cap p99", "lag ms", "pDB", "pRd", "wDB", "wRd", "TLS", "CPU p", "CPU w", "CPU r", "CPU pg", "CPU rd", "CPU Σ"], d);
  for (const r of results) {
    line([r.scenario, r.side, fmt(r.captureRate), fmt(r.captureP99, 1), fmt(r.producerLagMs, 0), fmt(r.perLead.producerDbQueries, 1),
      fmt(r.perLead.producerRedisCommands, 1), fmt(r.perDelivery.workerDbQueries, 1), fmt(r.perDelivery.workerRedisCommands, 1),
      fmt(r.perDelivery.tlsHandshakes, 2), fmt(r.perLead.producerCpuMs, 2), fmt(r.perDelivery.workerCpuMs, 2),
      fmt(r.perDelivery.receiverCpuMs, 2), fmt(r.perLead.postgresCpuMs, 2), fmt(r.perLead.redisCpuMs, 2), fmt(r.perLead.totalCpuMs, 2)], d);
  }
  out.push("  cap/s: captures (insert or transaction, then enqueue) completed per second; cap p99: one capture, ms; lag: producer behind " +
    "its schedule, worst, ms; pDB/pRd: producer database queries and Redis commands per lead; wDB/wRd: worker database queries and " +
    "Redis commands per delivery; TLS: TLS handshakes at the receiver per delivery; CPU ms per lead of the producer (p), worker (w), " +
    "receiver (r), PostgreSQL backends (pg), the Redis server (rd; all its clients) and their sum (Σ).");

  const sat = { naive: find("naive", "saturation"), product: find("product", "saturation") };
  out.push("");
  out.push("Redis, saturation batch queued with the worker stopped (MEMORY USAGE summed over the queue's keys)");
  for (const r of [sat.naive, sat.product]) {
    if (!r?.queued) continue;
    const q = r.queued;
    out.push(`  ${r.side.padEnd(8)} ${fmt(q.total / r.leads)} B/lead = job hashes ${fmt(q.jobs / r.leads)} + events stream ${fmt(q.events / r.leads)} + ` +
      `lists ${fmt(q.lists / r.leads)} + other ${fmt(q.other / r.leads)}; ${fmt(q.keys)} keys; Redis-wide used_memory delta ` +
      `${fmt((r.usedMemoryDelta ?? 0) / r.leads)} B/lead (shared Redis: indicative); after the drain the queue still holds ` +
      `${mb(r.retained.total)} (${fmt(r.retained.keys)} keys)`);
  }
  if (sat.naive && sat.product) {
    out.push(`  saturation drain: naive ${fmt(sat.naive.drainMs! / 1000, 2)} s, product ${fmt(sat.product.drainMs! / 1000, 2)} s for ${fmt(BATCH)} leads; ` +
      `capture as fast as possible: naive ${fmt(sat.naive.captureRate)}/s, product ${fmt(sat.product.captureRate)}/s`);
  }
  const problems = results.filter((r) => r.delivered < r.leads || r.duplicates || r.captureErrors || r.failedJobs);
  out.push(`Checks: ${problems.length ? problems.map((r) => `${r.scenario} ${r.side}: ${r.delivered}/${r.leads} delivered, ${r.duplicates} duplicates, ` +
    `${r.captureErrors} capture errors, ${r.failedJobs} failed jobs`).join("; ") : "every lead arrived exactly once, no capture errors, no failed jobs"}; ` +
    `database: product deliveries ${JSON.stringify(dbCheck.product)}, ${fmt(dbCheck.attempts)} attempts; naive lead rows ${JSON.stringify(dbCheck.naive)}` +
    (skipped.length ? `; skipped (time budget): ${skipped.join(", ")}` : ""));

  const targets: [string, string, boolean | null][] = [];
  // Both saturation rounds (A B B A) together: leads over drain time, summed.
  const drained = (side: SideName) => {
    const runs = results.filter((r) => r.side === side && (r.scenario === "saturation" || r.scenario === "sat, 2nd"));
    const ms = runs.reduce((sum, r) => sum + (r.drainMs ?? 0), 0);
    return runs.length && ms > 0 ? runs.reduce((sum, r) => sum + r.delivered, 0) / (ms / 1000) : null;
  };
  const satNaive = drained("naive");
  const satProduct = drained("product");
  if (satNaive && satProduct) {
    const r = satProduct / satNaive;
    targets.push(["saturation throughput >= 1.3x naive", `${fmt(r, 2)}x (${fmt(satProduct)} vs ${fmt(satNaive)} leads/s, both rounds)`, r >= 1.3]);
  }
  const n500 = find("naive", "500/s");
  const p500 = find("product", "500/s");
  if (n500 && p500) {
    const r = p500.p99! / n500.p99!;
    targets.push(["p99 latency at 500/s <= 0.5x naive", `${fmt(r, 2)}x (${fmt(p500.p99!, 1)} vs ${fmt(n500.p99!, 1)} ms)`, r <= 0.5]);
  }
  if (sat.naive?.queued && sat.product?.queued) {
    const r = sat.product.queued.total / sat.naive.queued.total;
    targets.push(["Redis bytes per queued lead <= 0.2x", `${fmt(r, 2)}x (${fmt(sat.product.queued.total / BATCH)} vs ${fmt(sat.naive.queued.total / BATCH)} B)`, r <= 0.2]);
  }
  out.push("");
  const tw = [38, 44, 6];
  const tline = (cells: string[]) => out.push(cells.map((c, i) => (i === 0 ? c.padEnd(tw[i]) : c.padStart(tw[i]))).join("  "));
  tline(["target", "measured (product/naive)", "result"]);
  for (const [name, measured, ok] of targets) tline([name, measured, ok ? "PASS" : "MISS"]);
  out.push(`Run took ${fmt((monoMs() - started) / 1000, 0)} s; load average ${fmt(os.loadavg()[0], 1)} at the end (${os.cpus().length} CPUs, ` +
    `shared with PostgreSQL, Redis, the receiver and the producer).`);
  out.push("");
  process.stdout.write(out.join("\n") + "\n");
  if (JSON_FILE) {
    writeFileSync(JSON_FILE, JSON.stringify({ concurrency: CONCURRENCY, shops: SHOPS, batch: BATCH, rates: RATES, loadAtStart, results, dbCheck,
      targets: targets.map(([name, measured, pass]) => ({ name, measured, pass })) }, null, 2));
    log(`figures saved to ${JSON_FILE}`);
  }
}

// ---------------------------------------------------------------- helpers

function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function percentile(values: number[], p: number) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}
