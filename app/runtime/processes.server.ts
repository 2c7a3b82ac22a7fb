import { getConfig } from "../lib/config.server";
import { getDb } from "../lib/db.server";
import { getLogger } from "../lib/logger.server";
import { startBackgroundWork, type BackgroundWorkOptions } from "./background.server";
import { startWorkerOpsServer, type OpsServer } from "./ops.server";
import { closeProducers } from "./producers.server";

/**
 * The app's processes: the web process (with the background work inside it by default) and separate
 * worker processes. On SIGTERM or SIGINT each stops taking work, lets what is in flight finish, and exits
 * within SHUTDOWN_TIMEOUT whatever happens, even when Redis or the database is gone: an attempt cut short
 * is sent again after its lease (same delivery id), so leaving is always safe, never hanging is the point.
 */

export class SeparateWorkerNeedsPostgresError extends Error {
  constructor() {
    super(
      "Separate worker processes need PostgreSQL (DATABASE_URL=postgresql://…). With SQLite, the worker runs inside the web process: set RUN_WORKER_IN_PROCESS=true and use `npm run serve`.",
    );
    this.name = "SeparateWorkerNeedsPostgresError";
  }
}

export type WorkerProcessOptions = Omit<BackgroundWorkOptions, "config" | "logger">;

/** For the web server: starts the background work unless RUN_WORKER_IN_PROCESS=false; resolves to its stop function. */
export async function startInProcessWorker(options: WorkerProcessOptions = {}): Promise<() => Promise<void>> {
  const config = getConfig();
  if (!config.RUN_WORKER_IN_PROCESS) return async () => undefined;
  const work = await startBackgroundWork({ ...options, config, logger: getLogger() });
  return work.stop;
}

/** For `npm run worker`: runs until SIGINT or SIGTERM, then stops within SHUTDOWN_TIMEOUT. */
export async function runWorkerProcess(options: WorkerProcessOptions = {}): Promise<void> {
  const config = getConfig();
  if (config.databaseProvider === "sqlite") {
    // libSQL cannot share one SQLite file safely between processes that keep it open: one process does not
    // see the other's commits (WAL), or they time out on the file lock (rollback journal).
    throw new SeparateWorkerNeedsPostgresError();
  }
  const work = await startBackgroundWork({ ...options, config, logger: getLogger() });
  let ops: OpsServer | undefined;
  if (config.WORKER_HTTP_PORT > 0) {
    try {
      ops = await startWorkerOpsServer({ port: config.WORKER_HTTP_PORT, db: getDb(), redis: () => work.connection });
    } catch (error) {
      await work.stop();
      throw error;
    }
    getLogger().info({ port: ops.port }, "worker serving /metrics, /healthz and /readyz");
  }
  exitOnSignal(async () => {
    await work.stop();
    await ops?.close();
    await getDb().$disconnect();
  });
}

/** An HTTP server as server-app.mjs makes it. */
export interface HttpServerHandle {
  /** Stops accepting connections; requests in flight get up to `graceMs` to finish. */
  close(graceMs?: number): Promise<void>;
}

/** For `npm run serve`: the background work inside unless configured apart, and a bounded stop. */
export async function runWebProcess(http: HttpServerHandle, options: WorkerProcessOptions = {}): Promise<void> {
  const stopWorker = await startInProcessWorker(options);
  exitOnSignal(async () => {
    const config = getConfig();
    // Requests in flight may finish in half the time; the background work gets the rest.
    await http.close(Math.floor(config.SHUTDOWN_TIMEOUT / 2));
    await stopWorker();
    await closeProducers();
    await getDb().$disconnect();
  });
}

/**
 * Runs `stop` on the first SIGINT or SIGTERM and exits: 0 when it finished within SHUTDOWN_TIMEOUT, 1 when
 * it failed or the time ran out. A second signal exits at once.
 */
export function exitOnSignal(stop: () => Promise<void>): void {
  const logger = getLogger();
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    const limitMs = getConfig().SHUTDOWN_TIMEOUT;
    logger.info({ signal, limitMs }, "stopping");
    const timer = setTimeout(() => {
      logger.error({ limitMs }, "did not stop within SHUTDOWN_TIMEOUT; exiting (work in flight is taken over after its lease)");
      process.exit(1);
    }, limitMs);
    stop().then(
      () => {
        clearTimeout(timer);
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "did not stop cleanly");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
