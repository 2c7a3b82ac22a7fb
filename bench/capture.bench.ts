/**
 * The storefront capture route under an open-loop load: POST /proxy/capture with valid app-proxy signatures,
 * as Shopify's proxy forwards the widget's submissions, against the production build on PostgreSQL.
 *
 *  - The server is the production build served by server-app.mjs (as server.mjs serves it) in a child
 *    process of its own (bench/capture-server.mjs), so the load generator never shares its event loop.
 *    NODE_ENV=production, LOG_LEVEL=info (as in production; its stdout is read and discarded here),
 *    RUN_WORKER_IN_PROCESS=false: no delivery or tagging worker runs during the run, tagging jobs pile up in
 *    a Redis namespace of the run's own and are deleted at the end.
 *  - Open loop: request i is sent at start + i / rate whatever happened to earlier ones; latency runs from
 *    that scheduled moment to the last byte of the answer, so a server that falls behind is not flattered
 *    (the generator's own lag is printed too); a request with no answer counts as infinitely slow. Up to 512
 *    keep-alive connections, a fresh set per phase; a request beyond them waits in the generator, and that
 *    wait counts.
 *  - Every request has its own shopper email and client address (X-Forwarded-For) and idempotency key. The
 *    default rate limits stay in force: 600 captures per shop per minute is far below the offered 500/s, so the
 *    captures go round robin over --shops shops (100: 5/s = 300/min each), each installed (an offline
 *    session) with one active webhook endpoint, so every lead is written with one delivery row. Products
 *    rotate over --products per shop.
 *  - Baseline: the same load, in the same run and server, on the route's trivial answer (GET /proxy/capture,
 *    405 from the route's loader: Express, Remix's handler and a JSON answer, no signature check, no I/O),
 *    so the capture figures read as a ratio to the server's floor.
 *  - Inside the server, bench/capture-probe.mjs (preloaded with --import) times each request (headers parsed
 *    -> response finished) and the time inside the Prisma client's `$transaction` (the client is
 *    `globalThis.__tryonDb`; the probe wraps the method as `getDb()` creates the client), plus node-postgres
 *    pool checkouts and query round trips and ioredis commands, attributed to the request by
 *    AsyncLocalStorage. No app code is changed. Share of the route in the transaction =
 *    sum(transaction time) / sum(server route time) over the measured captures.
 *  - CPU seconds per phase: the server process, this process (the generator), the scratch database's
 *    PostgreSQL backends, Redis, and the whole machine's busy share (2 cores are shared by all of them), so
 *    that load from other processes shows. Prints a table; exits 0 unless the run itself broke.
 *
 *   npm run bench:capture
 *   --rate=500 --seconds=10   offered rate (requests/s) and length of each measured phase
 *   --warmup=3                seconds of capture load before measuring (not counted)
 *   --shops=100 --products=20 shops the captures are spread over; products per shop
 *   --log=info                the server's LOG_LEVEL          --json=FILE  also write the figures as JSON
 *   --profile=DIR             V8 CPU profile of the server process (warm-up included) into DIR
 *   --no-probe                no in-server timing (client figures and CPU only), to measure the probe's cost
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";

// ---------------------------------------------------------------- options

const args = new Map(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, "").split("=");
  return [k, v ?? "true"] as const;
}));
const RATE = Number(args.get("rate") ?? 500);
const SECONDS = Number(args.get("seconds") ?? 10);
const WARMUP_SECONDS = Number(args.get("warmup") ?? 3);
const SHOPS = Math.max(1, Number(args.get("shops") ?? 100));
const PRODUCTS = Math.max(1, Number(args.get("products") ?? 20));
const SERVER_LOG = args.get("log") ?? "info";
const JSON_FILE = args.get("json");
/** Writes a V8 CPU profile of the server process (whole run, warm-up included) into this folder. */
const PROFILE_DIR = args.get("profile");
/** Without the in-server probe: client-side figures and CPU only, to see what the probe itself costs. */
const PROBE = !args.has("no-probe");
/** A request still unanswered after this is counted as a timeout. */
const REQUEST_TIMEOUT_MS = 10_000;
/** After the last scheduled send, how long a phase may wait for the remaining answers. */
const DRAIN_MS = 15_000;
const SHOP_LIMIT_PER_MINUTE = 600;

if (!(RATE > 0 && RATE <= 5000 && SECONDS > 0 && SECONDS <= 60 && WARMUP_SECONDS >= 0 && WARMUP_SECONDS <= 30)) {
  throw new Error("--rate must be 1..5000, --seconds 1..60, --warmup 0..30");
}

const run = randomBytes(3).toString("hex");
const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const DB_NAME = `tryon_capture_bench_${run}`;
const DB_URL = ADMIN_URL.replace(/\/[^/]*$/, `/${DB_NAME}`);
const PREFIX = `capbench${run}`;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const API_SECRET = `bench-secret-${randomBytes(8).toString("hex")}`;
const shopDomain = (i: number) => `capture-bench-${String(i + 1).padStart(3, "0")}.myshopify.com`;

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "-";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Object.assign(process.env, {
  NODE_ENV: "production",
  SHOPIFY_API_KEY: "bench-api-key",
  SHOPIFY_API_SECRET: API_SECRET,
  SHOPIFY_APP_URL: "https://bench.tryon-leads.example",
  SCOPES: "write_customers",
  DATABASE_URL: DB_URL,
  REDIS_URL,
  QUEUE_PREFIX: PREFIX,
  ENCRYPTION_KEYS: `1:${randomBytes(32).toString("base64")}`,
  RUN_WORKER_IN_PROCESS: "false",
  LOG_LEVEL: "silent",
  // The bench plays Shopify's app proxy, which names each shopper's address in X-Forwarded-For.
  TRUSTED_PROXY_HOPS: "1",
});

// ---------------------------------------------------------------- types

type Kind = "baseline" | "capture";

interface Prepared {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string | number>;
  body: Buffer | null;
}

interface ProbeRecord {
  method: string; path: string; status: number; routeMs: number;
  txMs: number; txCount: number; openTx: number;
  poolInMs: number; queryInMs: number; queriesIn: number;
  poolOutMs: number; queryOutMs: number; queriesOut: number;
  redisMs: number; redisCommands: number;
}

interface ProbeReport {
  records: ProbeRecord[];
  unattributed: { tx: number; queries: number; redis: number };
  cpuMs: number; wallMs: number; rssBytes: number;
  loopDelay: { p50: number; p99: number; max: number; mean: number };
}

interface CpuSnapshot { at: number; server: number; self: number; db: Map<number, number>; redis: number | null; machine: { busy: number; total: number } }

interface PhaseFigures {
  name: string; kind: Kind; expected: number;
  requests: number; completed: number; statuses: Record<string, number>; errors: number;
  offeredRate: number; sentRate: number; achievedRate: number;
  latency: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** The same over the requests that got an answer only (any status). */
  answeredLatency: { p50: number; p95: number; p99: number; max: number };
  generatorLag: { p99: number; max: number };
  server: ServerFigures | null;
  cpu: { serverMs: number; generatorMs: number; databaseMs: number | null; redisMs: number | null; machineMs: number; machineBusy: number; wallMs: number };
  loopDelay: ProbeReport["loopDelay"] | null;
  firstError: string | null;
}

interface ServerFigures {
  n: number;
  route: Dist; tx: Dist;
  sums: { route: number; tx: number; poolIn: number; queryIn: number; poolOut: number; queryOut: number; redis: number };
  txPerRequest: number; queriesInTx: number; queriesOutside: number; redisCommands: number;
  unattributedTx: number; openTxAtFinish: number;
}

interface Dist { p50: number; p95: number; p99: number; mean: number }

// ---------------------------------------------------------------- helpers

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

function dist(values: number[]): Dist {
  const v = [...values].sort((a, b) => a - b);
  return { p50: percentile(v, 50), p95: percentile(v, 95), p99: percentile(v, 99), mean: v.reduce((a, b) => a + b, 0) / (v.length || 1) };
}

function procCpuMs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

function machineTicks(): { busy: number; total: number } {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - cpu[3] - cpu[4], total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

// ---------------------------------------------------------------- scratch database

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const child: { proc?: ChildProcess; port?: number } = {};
const serverOutput = { logBytes: 0, errorBytes: 0, errorHead: "" };
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let failed = false;

try {
  await adminQuery(`CREATE DATABASE ${DB_NAME}`);
  cleanups.push(() => adminQuery(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`));
  cleanups.push(async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    let cursor = "0";
    let deleted = 0;
    for (let i = 0; i < 10_000; i++) {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${PREFIX}:*`, "COUNT", 1000);
      if (keys.length) deleted += await redis.del(...keys);
      cursor = next;
      if (cursor === "0") break;
    }
    redis.disconnect();
    log(`removed ${fmt(deleted)} Redis keys under ${PREFIX}:`);
  });

  const { migrateDatabase } = await import("../app/lib/db-migrate.server");
  await migrateDatabase(DB_URL);
  const { getDb } = await import("../app/lib/db.server");
  const { ensureShop } = await import("../app/shops/shops.server");
  const { connectEndpoint } = await import("../app/destinations/endpoints.server");
  const { createAddressPolicy } = await import("../app/delivery/ssrf.server");
  const { getConfig } = await import("../app/lib/config.server");
  const { signProxyQuery } = await import("../test/support/proxy-signature");
  const db = getDb();
  cleanups.push(() => db.$disconnect());
  const config = getConfig();

  // ---------------------------------------------------------------- shops: installed, one endpoint each
  log(`setting up ${SHOPS} shops (offline session + one active endpoint each) in ${DB_NAME} ...`);
  const ring = { keys: config.ENCRYPTION_KEYS, currentVersion: config.currentKeyVersion };
  // The endpoint is never called (no worker runs); the loopback address only passes the URL check.
  const loopback = createAddressPolicy({ allowAddresses: ["127.0.0.1"] });
  for (let i = 0; i < SHOPS; i++) {
    const domain = shopDomain(i);
    const shop = await ensureShop(db, domain);
    await connectEndpoint({ db, shop, url: `https://127.0.0.1:9/crm/${i + 1}`, ring, destination: { policy: loopback } });
  }
  await db.session.createMany({
    data: Array.from({ length: SHOPS }, (_, i) => ({
      id: `offline_${shopDomain(i)}`, shop: shopDomain(i), state: "installed", isOnline: false, scope: config.SCOPES,
      accessToken: `shpat_bench_${i}`, expires: new Date(Date.now() + 24 * 3600_000),
      refreshToken: `shprt_bench_${i}`, refreshTokenExpires: new Date(Date.now() + 30 * 24 * 3600_000),
    })),
  });
  await db.$disconnect();

  // ---------------------------------------------------------------- the server process
  const proc = fork(path.resolve("bench/capture-server.mjs"), [], {
    cwd: process.cwd(),
    execArgv: [
      ...(PROBE ? ["--import", pathToFileURL(path.resolve("bench/capture-probe.mjs")).href] : []),
      ...(PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`] : []),
    ],
    env: { ...process.env, LOG_LEVEL: SERVER_LOG },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  child.proc = proc;
  // The log lines are read and dropped; error output is counted and its start kept for the report.
  proc.stdout!.on("data", (chunk: Buffer) => (serverOutput.logBytes += chunk.length));
  proc.stderr!.on("data", (chunk: Buffer) => {
    serverOutput.errorBytes += chunk.length;
    if (serverOutput.errorHead.length < 600) serverOutput.errorHead += chunk.toString("utf8").slice(0, 600 - serverOutput.errorHead.length);
  });
  cleanups.push(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.send({ type: "stop" });
    const exited = await Promise.race([new Promise((r) => proc.once("exit", () => r(true))), sleep(5000).then(() => false)]);
    if (!exited) proc.kill("SIGKILL");
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not start within 30 s")), 30_000);
    proc.on("message", (m: { type?: string; port?: number }) => {
      if (m?.type === "ready") {
        clearTimeout(timer);
        resolve(m.port!);
      }
    });
    proc.once("exit", (code) => reject(new Error(`the server exited with ${code}`)));
  });
  child.port = port;
  log(`server pid ${proc.pid} on http://127.0.0.1:${port} (production build, PostgreSQL, LOG_LEVEL=${SERVER_LOG})`);

  const probe = <T>(type: string, answer: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${answer} from the server`)), 10_000);
      const onMessage = (m: { type?: string }) => {
        if (m?.type !== answer) return;
        clearTimeout(timer);
        proc.off("message", onMessage);
        resolve(m as T);
      };
      proc.on("message", onMessage);
      proc.send({ type });
    });

  // ---------------------------------------------------------------- request generation

  // A fresh keep-alive pool per phase: a socket left idle across phases could meet the server's 5 s idle
  // close just as a request is written on it (ECONNRESET), which would be the generator's fault.
  let agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  cleanups.push(() => agent.destroy());
  let nextIndex = 0; // distinct email, address and idempotency key across every phase

  function prepare(kind: Kind, count: number): Prepared[] {
    // Signed now: Shopify's proxy signature carries a timestamp the app accepts within 90 s.
    const timestamp = String(Math.trunc(Date.now() / 1000));
    const queries = Array.from({ length: SHOPS }, (_, s) => {
      const params: [string, string][] = [
        ["shop", shopDomain(s)], ["logged_in_customer_id", ""], ["path_prefix", "/apps/tryon-leads"], ["timestamp", timestamp],
      ];
      return new URLSearchParams([...params, ["signature", signProxyQuery(params, API_SECRET)]]).toString();
    });
    return Array.from({ length: count }, (): Prepared => {
      const n = nextIndex++;
      const s = n % SHOPS;
      const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
      if (kind === "baseline") {
        return { method: "GET", path: `/proxy/capture?${queries[s]}`, headers: { "X-Forwarded-For": ip }, body: null };
      }
      const p = Math.floor(n / SHOPS) % PRODUCTS;
      const shop = shopDomain(s);
      const body = Buffer.from(JSON.stringify({
        email: `shopper.${run}.${n}@example.com`, consent: true,
        product: { id: `${8000 + p}`, title: `Frame ${p + 1}`, url: `https://${shop}/products/frame-${p + 1}`, variant: { id: `${9000 + p}`, title: "Gold" } },
        tryOn: { resultId: randomUUID(), model: "glasses-v2" },
        utm: { source: "bench", campaign: "try-on" },
        pageUrl: `https://${shop}/products/frame-${p + 1}?utm_source=bench`,
        idempotencyKey: randomUUID(), locale: "en",
      }));
      return {
        method: "POST", path: `/proxy/capture?${queries[s]}`, body,
        headers: { "Content-Type": "application/json", "Content-Length": body.length, "X-Forwarded-For": ip },
      };
    });
  }

  interface Outcome { sched: number; sent: number; done: number; status: number; error?: string }

  function send(req: Prepared, sched: number, outcomes: Outcome[], index: number, onSettled: () => void) {
    const o: Outcome = { sched, sent: performance.now(), done: NaN, status: 0 };
    outcomes[index] = o;
    let settled = false;
    const finish = (status: number, error?: string) => {
      if (settled) return;
      settled = true;
      o.done = performance.now();
      o.status = status;
      o.error = error;
      onSettled();
    };
    const r = http.request({ agent, host: "127.0.0.1", port, method: req.method, path: req.path, headers: req.headers }, (res) => {
      const expectBody = res.statusCode !== 201 && res.statusCode !== 405;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => expectBody && chunks.length < 4 && chunks.push(c));
      res.on("end", () => finish(res.statusCode ?? 0, expectBody ? Buffer.concat(chunks).toString("utf8").slice(0, 300) : undefined));
      res.on("error", (e) => finish(0, e.message));
    });
    r.setTimeout(REQUEST_TIMEOUT_MS, () => r.destroy(new Error("timeout")));
    r.on("error", (e) => finish(e.message === "timeout" ? -1 : 0, e.message));
    r.end(req.body ?? undefined);
  }

  /** Sends `prepared` open-loop at `rate`/s; resolves when every answer is in or the drain time is over. */
  async function drive(prepared: Prepared[], rate: number): Promise<Outcome[]> {
    const outcomes: Outcome[] = new Array(prepared.length);
    const interval = 1000 / rate;
    let pending = prepared.length;
    let allDone!: () => void;
    const finished = new Promise<void>((r) => (allDone = r));
    const onSettled = () => --pending === 0 && allDone();
    const start = performance.now() + 5;
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const t = performance.now();
        while (i < prepared.length && start + i * interval <= t) {
          send(prepared[i], start + i * interval, outcomes, i, onSettled);
          i++;
        }
        if (i >= prepared.length) return resolve();
        setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
      };
      setTimeout(tick, 5);
    });
    await Promise.race([finished, sleep(DRAIN_MS)]);
    for (let k = 0; k < outcomes.length; k++) {
      if (outcomes[k] && Number.isNaN(outcomes[k].done)) outcomes[k].status = -2; // still unanswered
    }
    return outcomes;
  }

  async function databasePids(): Promise<number[]> {
    const c = new pg.Client({ connectionString: DB_URL });
    await c.connect();
    try {
      const rows = (await c.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
      )).rows;
      return rows.map((r) => r.pid);
    } finally {
      await c.end();
    }
  }
  const redisInfo = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  cleanups.push(() => redisInfo.disconnect());
  const redisPid = Number(/process_id:(\d+)/.exec(await redisInfo.info("server"))?.[1] ?? NaN);

  async function cpuSnapshot(): Promise<CpuSnapshot> {
    const pids = await databasePids();
    const dbCpu = new Map<number, number>();
    for (const pid of pids) {
      const ms = procCpuMs(pid);
      if (ms !== null) dbCpu.set(pid, ms);
    }
    return {
      at: performance.now(), server: procCpuMs(proc.pid!) ?? NaN, self: selfCpuMs(), db: dbCpu,
      redis: Number.isFinite(redisPid) ? procCpuMs(redisPid) : null, machine: machineTicks(),
    };
  }

  /** Waits until the server has no request and no transaction left from an earlier phase (at most 60 s). */
  async function waitForIdleServer(): Promise<void> {
    const deadline = Date.now() + 60_000;
    if (!PROBE) {
      // No probe to ask: wait for the server process to stop using CPU (under 4% over half a second).
      let cpu = procCpuMs(proc.pid!) ?? 0;
      for (;;) {
        await sleep(500);
        const now = procCpuMs(proc.pid!) ?? 0;
        if (now - cpu <= 20 || Date.now() > deadline) return;
        cpu = now;
      }
    }
    let quiet = 0;
    let last = { requests: -1, transactions: -1 };
    while (Date.now() < deadline && quiet < 3) {
      last = await probe<{ requests: number; transactions: number }>("probe-status", "probe-status");
      quiet = last.requests === 0 && last.transactions === 0 ? quiet + 1 : 0;
      await sleep(100);
    }
    if (quiet < 3) log(`the server still had ${last.requests} requests and ${last.transactions} transactions in progress after 60 s`);
  }

  async function phase(name: string, kind: Kind, seconds: number, measure: boolean): Promise<PhaseFigures | null> {
    const count = Math.round(RATE * seconds);
    await waitForIdleServer();
    const prepared = prepare(kind, count);
    agent.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
    let before: CpuSnapshot | null = null;
    if (measure) {
      if (PROBE) await probe("probe-reset", "probe-reset-done");
      before = await cpuSnapshot();
    }
    const outcomes = await drive(prepared, RATE);
    if (!measure || !before) {
      const bad = outcomes.filter((o) => o.status !== (kind === "capture" ? 201 : 405)).length;
      if (bad) log(`warm-up ${name}: ${bad} of ${count} answers were not ${kind === "capture" ? 201 : 405} (${outcomes.find((o) => o.error)?.error ?? ""})`);
      return null;
    }
    const after = await cpuSnapshot();
    const report: Pick<ProbeReport, "records" | "unattributed" | "loopDelay"> | null = PROBE ? await probe<ProbeReport>("probe-collect", "probe-report") : null;

    const expected = kind === "capture" ? 201 : 405;
    const statuses: Record<string, number> = {};
    for (const o of outcomes) {
      const key = o.status === -1 ? "timeout" : o.status === -2 ? "unanswered" : o.status === 0 ? "network error" : String(o.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    const answered = outcomes.filter((o) => o.status > 0);
    // A request that got no answer (timeout, still waiting when the phase ended, connection error) counts as
    // infinitely slow: leaving it out would flatter an overloaded server.
    const latencies = outcomes.map((o) => (o.status > 0 ? o.done - o.sched : Infinity)).sort((a, b) => a - b);
    const answeredLatencies = latencies.filter(Number.isFinite);
    const lags = outcomes.map((o) => o.sent - o.sched).sort((a, b) => a - b);
    const dones = answered.map((o) => o.done).sort((a, b) => a - b);
    const sents = outcomes.map((o) => o.sent).sort((a, b) => a - b);

    // Server side: every measured request of this phase's method on the capture route.
    const method = kind === "capture" ? "POST" : "GET";
    const recs = (report?.records ?? []).filter((r) => r.method === method && r.path === "/proxy/capture");
    let server: ServerFigures | null = null;
    if (recs.length) {
      const sum = (f: (r: ProbeRecord) => number) => recs.reduce((a, r) => a + f(r), 0);
      server = {
        n: recs.length,
        route: dist(recs.map((r) => r.routeMs)),
        tx: dist(recs.filter((r) => r.txCount > 0).map((r) => r.txMs)),
        sums: {
          route: sum((r) => r.routeMs), tx: sum((r) => r.txMs), poolIn: sum((r) => r.poolInMs), queryIn: sum((r) => r.queryInMs),
          poolOut: sum((r) => r.poolOutMs), queryOut: sum((r) => r.queryOutMs), redis: sum((r) => r.redisMs),
        },
        txPerRequest: sum((r) => r.txCount) / recs.length,
        queriesInTx: sum((r) => r.queriesIn) / Math.max(1, recs.filter((r) => r.txCount > 0).length),
        queriesOutside: sum((r) => r.queriesOut) / recs.length,
        redisCommands: sum((r) => r.redisCommands) / recs.length,
        unattributedTx: report!.unattributed.tx,
        openTxAtFinish: recs.filter((r) => r.openTx > 0).length,
      };
    }
    const dbMs = [...after.db.entries()].reduce((a, [pid, ms]) => a + ms - (before!.db.get(pid) ?? 0), 0);
    const machineTotal = after.machine.total - before.machine.total;
    return {
      name, kind, expected,
      requests: count, completed: answered.length, statuses,
      errors: outcomes.filter((o) => o.status !== expected).length,
      offeredRate: RATE,
      sentRate: (sents.length - 1) / ((sents.at(-1)! - sents[0]) / 1000),
      achievedRate: dones.length > 1 ? (dones.length - 1) / ((dones.at(-1)! - dones[0]) / 1000) : NaN,
      latency: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN, mean: answeredLatencies.reduce((a, b) => a + b, 0) / (answeredLatencies.length || 1) },
      answeredLatency: {
        p50: percentile(answeredLatencies, 50), p95: percentile(answeredLatencies, 95), p99: percentile(answeredLatencies, 99), max: answeredLatencies.at(-1) ?? NaN,
      },
      generatorLag: { p99: percentile(lags, 99), max: lags.at(-1) ?? NaN },
      server,
      cpu: {
        serverMs: after.server - before.server, generatorMs: after.self - before.self, databaseMs: after.db.size ? dbMs : null,
        redisMs: after.redis !== null && before.redis !== null ? after.redis - before.redis : null,
        machineMs: (after.machine.busy - before.machine.busy) * 10,
        machineBusy: machineTotal > 0 ? (after.machine.busy - before.machine.busy) / machineTotal : NaN, wallMs: after.at - before.at,
      },
      loopDelay: report?.loopDelay ?? null,
      firstError: outcomes.find((o) => o.status !== expected && o.error)?.error ?? null,
    };
  }

  // ---------------------------------------------------------------- the run
  const loadAtStart = os.loadavg()[0];
  log(`warm-up: ${WARMUP_SECONDS} s of captures and 1 s of the baseline at ${RATE}/s ...`);
  if (WARMUP_SECONDS > 0) await phase("capture", "capture", WARMUP_SECONDS, false);
  await phase("baseline", "baseline", 1, false);
  await sleep(1000);
  log(`baseline: GET /proxy/capture at ${RATE}/s for ${SECONDS} s ...`);
  const baseline = (await phase("GET /proxy/capture (405)", "baseline", SECONDS, true))!;
  await sleep(1000);
  log(`capture: POST /proxy/capture at ${RATE}/s for ${SECONDS} s ...`);
  const capture = (await phase("POST /proxy/capture", "capture", SECONDS, true))!;

  // What the database holds: every 201 is one lead with one delivery.
  const check = new pg.Client({ connectionString: DB_URL });
  await check.connect();
  const stored = (await check.query<{ leads: string; deliveries: string }>(
    `SELECT (SELECT count(*) FROM "Lead") AS leads, (SELECT count(*) FROM "Delivery") AS deliveries`,
  )).rows[0];
  const pgVersion = (await check.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v;
  await check.end();

  report({ baseline, capture, loadAtStart, pgVersion, stored: { leads: Number(stored.leads), deliveries: Number(stored.deliveries) }, serverOutput });
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch((e) => log(`clean-up: ${e instanceof Error ? e.message : e}`));
  if (child.proc && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGKILL");
}
process.exit(failed ? 1 : 0);

// ---------------------------------------------------------------- report

function report(r: {
  baseline: PhaseFigures; capture: PhaseFigures; loadAtStart: number; pgVersion: string;
  stored: { leads: number; deliveries: number }; serverOutput: { logBytes: number; errorBytes: number; errorHead: string };
}) {
  const { baseline: b, capture: c } = r;
  const out: string[] = [];
  const line = (cells: string[], widths: number[]) =>
    out.push(cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "));
  const ms = (n: number) => (n === Infinity ? "none" : fmt(n, n < 10 ? 2 : 1));
  const pct = (n: number) => `${fmt(n * 100, 1)}%`;
  const statusText = (p: PhaseFigures) => Object.entries(p.statuses).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}:${fmt(v)}`).join(" ");

  out.push("");
  out.push(`Capture route, open loop at ${fmt(RATE)} requests/s for ${SECONDS} s per phase (${fmt(RATE * SECONDS)} requests) after a ${WARMUP_SECONDS} s warm-up; ` +
    `Node ${process.version}, ${os.cpus().length} CPUs, load average ${fmt(r.loadAtStart, 2)} at start`);
  out.push(`Server: production build (server-app.mjs) in its own process, NODE_ENV=production, LOG_LEVEL=${SERVER_LOG}, no worker, ${PROBE ? "timing probe preloaded" : "no probe"}; ` +
    `PostgreSQL ${r.pgVersion} (scratch database), Redis ${REDIS_URL.replace(/^redis:\/\//, "")}`);
  out.push(`Captures: ${SHOPS} shops round robin (${fmt(RATE / SHOPS, 1)}/s = ${fmt((RATE / SHOPS) * 60)}/min each, default limit ${SHOP_LIMIT_PER_MINUTE}/min per shop), ` +
    `1 endpoint each, ${PRODUCTS} products per shop, a distinct email, address and idempotency key per request`);
  out.push("");
  out.push("Client side (scheduled send -> last byte of the answer), ms");
  const w = [26, 7, 8, 9, 7, 7, 7, 7, 7, 30];
  line(["phase", "sent", "sent/s", "answers/s", "p50", "p95", "p99", "max", "errors", "statuses"], w);
  for (const p of [b, c]) {
    line([p.name, fmt(p.requests), fmt(p.sentRate, 1), fmt(p.achievedRate, 1), ms(p.latency.p50), ms(p.latency.p95), ms(p.latency.p99), ms(p.latency.max), fmt(p.errors), statusText(p)], w);
  }
  for (const p of [b, c]) {
    if (p.completed < p.requests) {
      const a = p.answeredLatency;
      line([`  answered only (${fmt(p.completed)})`, "", "", "", ms(a.p50), ms(a.p95), ms(a.p99), ms(a.max), "", ""], w);
    }
  }
  const ratio = (x: number, y: number) => (Number.isFinite(x / y) ? `${fmt(x / y, 1)}x` : "-");
  line(["capture / baseline", "", "", "", ratio(c.latency.p50, b.latency.p50), ratio(c.latency.p95, b.latency.p95), ratio(c.latency.p99, b.latency.p99), "", "", ""], w);
  out.push(`  "none": that share of requests got no answer (timeout after ${REQUEST_TIMEOUT_MS / 1000} s on a connection, still waiting ${DRAIN_MS / 1000} s after the last send, ` +
    `or a connection error); they count as infinitely slow. At most 512 connections: beyond that, requests wait in the generator, and that wait counts.`);
  out.push(`  generator lag (actual - scheduled send): baseline p99 ${ms(b.generatorLag.p99)} ms, max ${ms(b.generatorLag.max)}; capture p99 ${ms(c.generatorLag.p99)} ms, max ${ms(c.generatorLag.max)}`);
  if (c.firstError || b.firstError) out.push(`  first unexpected answer: ${c.firstError ?? b.firstError}`);

  out.push("");
  out.push(PROBE ? "Inside the server (request headers parsed -> response finished), ms" : "Inside the server: not measured (--no-probe)");
  const sw = [26, 7, 7, 7, 7, 7];
  if (PROBE) line(["", "n", "p50", "p95", "p99", "mean"], sw);
  if (b.server) line(["GET 405 route", fmt(b.server.n), ms(b.server.route.p50), ms(b.server.route.p95), ms(b.server.route.p99), ms(b.server.route.mean)], sw);
  const s = c.server;
  if (s) {
    line(["POST capture route", fmt(s.n), ms(s.route.p50), ms(s.route.p95), ms(s.route.p99), ms(s.route.mean)], sw);
    line(["  in $transaction", fmt(Math.round(s.txPerRequest * s.n)), ms(s.tx.p50), ms(s.tx.p95), ms(s.tx.p99), ms(s.tx.mean)], sw);
    out.push("");
    out.push(`Where the capture route's server time goes (sums over ${fmt(s.n)} requests)`);
    const rw = [52, 9, 8];
    const per = (x: number) => ms(x / s.n);
    line(["", "ms/req", "share"], rw);
    const rest = s.sums.route - s.sums.tx - s.sums.poolOut - s.sums.queryOut - s.sums.redis;
    line(["route (server)", per(s.sums.route), pct(1)], rw);
    line(["database transaction (Prisma $transaction)", per(s.sums.tx), pct(s.sums.tx / s.sums.route)], rw);
    line(["  pool checkout", per(s.sums.poolIn), pct(s.sums.poolIn / s.sums.route)], rw);
    line([`  ${fmt(s.queriesInTx, 1)} SQL round trips (BEGIN ... COMMIT)`, per(s.sums.queryIn), pct(s.sums.queryIn / s.sums.route)], rw);
    line(["  between round trips (Prisma, event loop)", per(s.sums.tx - s.sums.poolIn - s.sums.queryIn), pct((s.sums.tx - s.sums.poolIn - s.sums.queryIn) / s.sums.route)], rw);
    line(["other database (offline session, shop look-ups)", per(s.sums.poolOut + s.sums.queryOut), pct((s.sums.poolOut + s.sums.queryOut) / s.sums.route)], rw);
    line(["  pool checkouts", per(s.sums.poolOut), pct(s.sums.poolOut / s.sums.route)], rw);
    line([`  ${fmt(s.queriesOutside, 1)} SQL round trips`, per(s.sums.queryOut), pct(s.sums.queryOut / s.sums.route)], rw);
    line([`Redis: ${fmt(s.redisCommands, 1)} commands (rate limit, tagging job)`, per(s.sums.redis), pct(s.sums.redis / s.sums.route)], rw);
    line(["rest (HTTP, Remix, signature, validation, waits)", per(rest), pct(rest / s.sums.route)], rw);
    out.push(`  transaction share = sum(transaction) / sum(route) = ${pct(s.sums.tx / s.sums.route)}; transaction p50 ${ms(s.tx.p50)} ms; ` +
      `${fmt(s.txPerRequest, 2)} transactions per request, ${s.unattributedTx} outside a request, ${s.openTxAtFinish} still open at the answer`);
  }

  out.push("");
  out.push(`CPU from the phase's start until its last answer: server CPU ms per answered request, then cores in use (CPU s per s; the machine has ${os.cpus().length}, shared by all)`);
  const cw = [26, 11, 7, 9, 6, 10, 7, 8, 10];
  line(["phase", "server/req", "server", "Postgres", "Redis", "generator", "others", "machine", "loop p99"], cw);
  for (const p of [b, c]) {
    const wall = p.cpu.wallMs;
    const cores = (x: number | null) => (x === null ? "-" : fmt(x / wall, 2));
    const ours = p.cpu.serverMs + p.cpu.generatorMs + (p.cpu.databaseMs ?? 0) + (p.cpu.redisMs ?? 0);
    line([p.name, `${ms(p.cpu.serverMs / p.completed)} ms`, cores(p.cpu.serverMs), cores(p.cpu.databaseMs), cores(p.cpu.redisMs),
      cores(p.cpu.generatorMs), cores(Math.max(0, p.cpu.machineMs - ours)), pct(p.cpu.machineBusy), p.loopDelay ? `${ms(p.loopDelay.p99)} ms` : "-"], cw);
  }
  out.push("  others: every other process on the machine (machine busy time minus the four above); loop p99: the server's event-loop delay");
  out.push(`Stored: ${fmt(r.stored.leads)} leads, ${fmt(r.stored.deliveries)} deliveries (warm-up included); server log output ${fmt(r.serverOutput.logBytes / 1024)} KiB, ` +
    `error output ${fmt(r.serverOutput.errorBytes / 1024)} KiB${r.serverOutput.errorHead ? `, starting: ${JSON.stringify(r.serverOutput.errorHead.slice(0, 200))}` : ""}`);
  const others = (p: PhaseFigures) =>
    Math.max(0, p.cpu.machineMs - p.cpu.serverMs - p.cpu.generatorMs - (p.cpu.databaseMs ?? 0) - (p.cpu.redisMs ?? 0)) / p.cpu.wallMs;
  const busiest = Math.max(others(b), others(c));
  if (busiest > 0.15) {
    out.push(`WARNING: other processes used up to ${fmt(busiest, 2)} cores during a phase: the figures include CPU contention from outside the benchmark.`);
  }
  if (b.errors > 0 || b.achievedRate < 0.95 * RATE) {
    out.push(`WARNING: even the trivial route did not keep up with ${fmt(RATE)}/s (${fmt(b.achievedRate, 1)} answers/s, ${fmt(b.errors)} errors): the machine is the limit, not the route.`);
  }
  out.push("");
  process.stdout.write(out.join("\n") + "\n");
  if (JSON_FILE) {
    writeFileSync(JSON_FILE, JSON.stringify({ rate: RATE, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, shops: SHOPS, products: PRODUCTS, serverLog: SERVER_LOG, ...r }, null, 2));
    log(`figures written to ${JSON_FILE}`);
  }
}
