import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getConfig } from "../lib/config.server";
import { getDb, type Db } from "../lib/db.server";
import { watchReadiness } from "../lib/metrics.server";
import { answerOps } from "../lib/ops-http.server";
import { checkReadiness, type Readiness } from "../lib/readiness.server";
import type { RedisConnection } from "../lib/redis.server";
import { getProducers } from "./producers.server";

/**
 * Health, readiness and metrics for each kind of process. The web process answers them through Remix resource
 * routes (app/routes/healthz.ts, readyz.ts, metrics.ts: no Shopify authentication, /metrics behind
 * METRICS_TOKEN and 404 without one); a worker process on its own port, WORKER_HTTP_PORT.
 */

function readinessOf(db: Db, redis: () => RedisConnection): () => Promise<Readiness> {
  const { DATABASE_URL } = getConfig();
  return () => checkReadiness({ db, databaseUrl: DATABASE_URL, redis });
}

let webReadiness: (() => Promise<Readiness>) | undefined;

/** For the web process's routes: its database client and its Redis producers are what a request needs. */
export async function answerWebOps(request: Request): Promise<Response> {
  if (!webReadiness) {
    webReadiness = readinessOf(getDb(), () => getProducers().redis);
    const probe = webReadiness;
    // tryon_ready in the web process's own scrape.
    watchReadiness(async () => toFlags(await probe()));
  }
  const config = getConfig();
  const answer = await answerOps(new URL(request.url).pathname, request.headers.get("authorization"), {
    readiness: webReadiness,
    metricsToken: config.METRICS_TOKEN,
    metricsNeedToken: true,
  });
  return answer ?? new Response("Not Found\n", { status: 404 });
}

function toFlags(readiness: Readiness) {
  const { database, redis, migrations } = readiness.checks;
  return { database: database === "ok", redis: redis === "ok", migrations: migrations === "ok" };
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * A worker process's HTTP port: /healthz, /readyz (its database client and the Redis connection its workers
 * use) and /metrics. Fails at start, naming the setting, when the port is taken.
 */
export async function startWorkerOpsServer(options: { port: number; host?: string; db: Db; redis: () => RedisConnection }): Promise<OpsServer> {
  const config = getConfig();
  const readiness = readinessOf(options.db, options.redis);
  const unwatch = watchReadiness(async () => toFlags(await readiness()));
  const server: Server = createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://worker").pathname;
    const answered = req.method === "GET" || req.method === "HEAD"
      ? answerOps(pathname, req.headers.authorization ?? null, { readiness, metricsToken: config.METRICS_TOKEN, metricsNeedToken: false })
      : Promise.resolve(new Response("Method Not Allowed\n", { status: 405, headers: { Allow: "GET, HEAD" } }));
    answered
      .then(async (response) => {
        const answer = response ?? new Response("Not Found\n", { status: 404 });
        res.writeHead(answer.status, Object.fromEntries(answer.headers));
        res.end(req.method === "HEAD" ? undefined : Buffer.from(await answer.arrayBuffer()));
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
        res.end("Internal Server Error\n");
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      unwatch();
      reject(
        error.code === "EADDRINUSE"
          ? new Error(`WORKER_HTTP_PORT ${options.port} is already in use: give each worker process on this machine its own port, or 0 to turn it off`)
          : error,
      );
    });
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        unwatch();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
