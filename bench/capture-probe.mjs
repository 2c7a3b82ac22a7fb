/**
 * Server-side timing for the capture benchmark, preloaded into the production server process with
 * `node --import ./bench/capture-probe.mjs server.mjs`. It changes no app code and no behaviour: it only
 * observes, and reports over the IPC channel the benchmark opened.
 *
 * Per HTTP request (Node's `http.server.request.start` / `http.server.response.finish` diagnostics
 * channels, request context carried by AsyncLocalStorage):
 *  - route:  headers parsed -> response finished (handed to the socket), in the server;
 *  - tx:     time inside the Prisma client's `$transaction` (call -> settled): the process-wide client is
 *            `globalThis.__tryonDb`, and this module wraps `$transaction` on it as `getDb()` creates it.
 *            In the capture route that is recordLeadWithDeliveries' transaction (pool checkout, BEGIN,
 *            the lead/product/endpoint/delivery statements, COMMIT);
 *  - pg:     node-postgres pool checkouts and query round trips (call -> result), split into inside and
 *            outside a transaction (outside: the offline-session and shop look-ups);
 *  - redis:  ioredis commands (sent -> reply), overlapping commands counted once (rate limit MULTI and the
 *            tagging job's enqueue).
 * Per process: event-loop delay and CPU time between "reset" and "collect".
 */
import { AsyncLocalStorage } from "node:async_hooks";
import diagnostics from "node:diagnostics_channel";
import { createRequire } from "node:module";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";

const MAX_RECORDS = 50_000;
const now = () => performance.now();
const als = new AsyncLocalStorage();

/** Time covered by at least one open interval: overlapping work is counted once. */
class Busy {
  open = 0;
  since = 0;
  total = 0;
  count = 0;
  begin(t) {
    this.count++;
    if (this.open++ === 0) this.since = t;
  }
  end(t) {
    if (this.open > 0 && --this.open === 0) this.total += t - this.since;
  }
}

const newContext = (request) => ({
  start: now(),
  method: request.method,
  path: (request.url ?? "").split("?")[0],
  tx: new Busy(),
  redis: new Busy(),
  poolIn: 0, poolOut: 0, queryIn: 0, queryOut: 0, queriesIn: 0, queriesOut: 0,
});

let records = [];
const unattributed = { tx: 0, queries: 0, redis: 0 };
const contexts = new WeakMap();
/** Requests not yet answered or abandoned, and transactions not yet settled: the benchmark waits for 0, 0. */
const live = { requests: 0, transactions: 0 };

diagnostics.subscribe("http.server.request.start", ({ request, response }) => {
  const ctx = newContext(request);
  contexts.set(response, ctx);
  live.requests++;
  let counted = true;
  response.once("close", () => counted && ((counted = false), live.requests--));
  ctx.settle = () => counted && ((counted = false), live.requests--);
  // The request listener (Express) runs next in this same synchronous turn and inherits the context.
  als.enterWith(ctx);
});
diagnostics.subscribe("http.server.response.finish", ({ response }) => {
  const ctx = contexts.get(response);
  ctx?.settle();
  if (!ctx || records.length >= MAX_RECORDS) return;
  const end = now();
  records.push({
    method: ctx.method, path: ctx.path, status: response.statusCode, routeMs: end - ctx.start,
    txMs: ctx.tx.total, txCount: ctx.tx.count, openTx: ctx.tx.open,
    poolInMs: ctx.poolIn, queryInMs: ctx.queryIn, queriesIn: ctx.queriesIn,
    poolOutMs: ctx.poolOut, queryOutMs: ctx.queryOut, queriesOut: ctx.queriesOut,
    redisMs: ctx.redis.total, redisCommands: ctx.redis.count,
  });
});

// ---------------------------------------------------------------- Prisma $transaction

function wrapTransaction(client) {
  const original = client.$transaction;
  if (typeof original !== "function" || original.__captureProbe) return;
  const timed = function (...args) {
    const ctx = als.getStore();
    if (!ctx) unattributed.tx++;
    ctx?.tx.begin(now());
    live.transactions++;
    const end = () => {
      live.transactions--;
      ctx?.tx.end(now());
    };
    let result;
    try {
      result = original.apply(this, args);
    } catch (error) {
      end();
      throw error;
    }
    // Registered before the caller's own continuation, so the end is taken when the transaction settles.
    Promise.resolve(result).then(end, end);
    return result;
  };
  timed.__captureProbe = true;
  client.$transaction = timed;
  if (client.$transaction !== timed) throw new Error("capture probe: could not wrap $transaction on the Prisma client");
}

let db = globalThis.__tryonDb;
if (db) wrapTransaction(db);
Object.defineProperty(globalThis, "__tryonDb", {
  configurable: true,
  enumerable: true,
  get: () => db,
  set: (value) => {
    db = value;
    if (value) wrapTransaction(value);
  },
});

// ---------------------------------------------------------------- node-postgres and ioredis (the app's copies)

const require = createRequire(path.join(process.cwd(), "package.json"));

const pg = require("pg");
const originalConnect = pg.Pool.prototype.connect;
pg.Pool.prototype.connect = function (callback) {
  const ctx = als.getStore();
  if (!ctx) return originalConnect.apply(this, arguments);
  const key = ctx.tx.open ? "poolIn" : "poolOut";
  const t0 = now();
  if (typeof callback === "function") {
    // pg-pool calls back from whichever client freed up; the caller's context is put back for its query.
    return originalConnect.call(this, (error, client, release) => {
      ctx[key] += now() - t0;
      als.run(ctx, callback, error, client, release);
    });
  }
  return originalConnect.call(this).then(
    (client) => ((ctx[key] += now() - t0), client),
    (error) => {
      ctx[key] += now() - t0;
      throw error;
    },
  );
};

const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, callback) {
  const ctx = als.getStore();
  if (!ctx) {
    unattributed.queries++;
    return originalQuery.apply(this, arguments);
  }
  if (config && typeof config.submit === "function") return originalQuery.apply(this, arguments);
  const inTx = ctx.tx.open > 0;
  const t0 = now();
  const done = () => {
    if (inTx) {
      ctx.queryIn += now() - t0;
      ctx.queriesIn++;
    } else {
      ctx.queryOut += now() - t0;
      ctx.queriesOut++;
    }
  };
  if (typeof callback === "function") {
    return originalQuery.call(this, config, values, (error, result) => {
      done();
      callback(error, result);
    });
  }
  if (typeof values === "function") {
    return originalQuery.call(this, config, (error, result) => {
      done();
      values(error, result);
    });
  }
  const result = originalQuery.apply(this, arguments);
  if (result && typeof result.then === "function") result.then(done, done);
  return result;
};

const { Redis } = require("ioredis");
const originalSend = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (command) {
  const ctx = als.getStore();
  if (!ctx) {
    unattributed.redis++;
    return originalSend.apply(this, arguments);
  }
  ctx.redis.begin(now());
  const result = originalSend.apply(this, arguments);
  const end = () => ctx.redis.end(now());
  const promise = command?.promise ?? result;
  if (promise && typeof promise.then === "function") promise.then(end, end);
  else end();
  return result;
};

// ---------------------------------------------------------------- reporting over IPC

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
let cpuAtReset = process.cpuUsage();
let resetAt = now();

process.on("message", (message) => {
  if (message?.type === "probe-reset") {
    records = [];
    unattributed.tx = unattributed.queries = unattributed.redis = 0;
    loopDelay.disable();
    loopDelay.reset();
    loopDelay.enable();
    cpuAtReset = process.cpuUsage();
    resetAt = now();
    process.send?.({ type: "probe-reset-done" });
  } else if (message?.type === "probe-status") {
    process.send?.({ type: "probe-status", ...live });
  } else if (message?.type === "probe-collect") {
    const cpu = process.cpuUsage(cpuAtReset);
    const ms = (ns) => ns / 1e6;
    process.send?.({
      type: "probe-report",
      records,
      unattributed: { ...unattributed },
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: now() - resetAt,
      loopDelay: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max), mean: ms(loopDelay.mean) },
      rssBytes: process.memoryUsage().rss,
    });
    records = [];
  }
});
