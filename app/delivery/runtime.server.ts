import { getConfig } from "../lib/config.server";
import { adminGraphqlFor } from "../customers/admin-graphql.server";
import { createTaggingWorker } from "../customers/tagging.server";
import { getDb, prepareDb } from "../lib/db.server";
import { getLogger } from "../lib/logger.server";
import { createWebhookSender, DEFAULT_DEADLINE_MS } from "./http-sender.server";
import { createRedisConnection } from "./queue.server";
import { startReconcilerLoop } from "./reconciler.server";
import { createDeliveryWorker } from "./worker.server";

/**
 * The delivery engine wired for real from the configuration: production sender (public addresses only,
 * system trust store), the worker, the reconciler loop, and the after-capture tagging worker. It runs either inside the web process
 * (`startInProcessWorker`, the single-machine default) or as its own process (`npm run worker`), and any
 * number of worker processes may share one Redis and one database.
 */

const WORKER_CONCURRENCY = 10;
/** Longer than a whole attempt, so a live attempt is never taken over and sent twice. */
const LEASE_MS = DEFAULT_DEADLINE_MS + 50_000;
const RECONCILE_INTERVAL_MS = 20_000;
const RECONCILE_GRACE_MS = 30_000;

export type StopDelivery = () => Promise<void>;

export class SeparateWorkerNeedsPostgresError extends Error {
  constructor() {
    super(
      "Separate worker processes need PostgreSQL (DATABASE_URL=postgresql://…). With SQLite, the worker runs inside the web process: set RUN_WORKER_IN_PROCESS=true and use `npm run serve`.",
    );
    this.name = "SeparateWorkerNeedsPostgresError";
  }
}

export interface DeliveryRuntimeOptions {
  /** Default DELIVERY_QUEUE_NAME and the configured QUEUE_PREFIX; several apps may share one Redis with their own. */
  queueName?: string;
  prefix?: string;
}

/** Starts the worker and the reconciler loop; resolves to a function that stops both gracefully. */
export async function startDeliveryRuntime(options: DeliveryRuntimeOptions = {}): Promise<StopDelivery> {
  const config = getConfig();
  const logger = getLogger().child({ component: "delivery" });
  const db = getDb();
  await prepareDb(db, config.DATABASE_URL);
  const prefix = options.prefix ?? config.QUEUE_PREFIX;
  const connection = createRedisConnection(config.REDIS_URL, "worker");
  // ioredis reconnects by itself; without a listener its error events would end the process.
  connection.on("error", (error) => logger.warn({ err: error }, "redis connection error"));
  const sender = createWebhookSender({ deadlineMs: DEFAULT_DEADLINE_MS, logger });
  const delivery = createDeliveryWorker({
    db,
    connection,
    send: sender.send,
    keyRing: { keys: config.ENCRYPTION_KEYS, currentVersion: config.currentKeyVersion },
    logger,
    concurrency: WORKER_CONCURRENCY,
    leaseMs: LEASE_MS,
    queueName: options.queueName,
    prefix,
  });
  const tagging = createTaggingWorker({ db, connection, deliveryQueue: delivery.queue, graphqlFor: adminGraphqlFor, logger, prefix });
  tagging.on("error", (error) => logger.warn({ err: error }, "tagging worker error"));
  const reconciler = startReconcilerLoop({
    db, queue: delivery.queue, logger, intervalMs: RECONCILE_INTERVAL_MS, graceMs: RECONCILE_GRACE_MS,
  });
  logger.info({ concurrency: WORKER_CONCURRENCY }, "delivery worker started");

  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      await reconciler.stop();
      await tagging.close();
      // Waits for attempts in flight to be recorded; anything cut short is taken over via its lease.
      await delivery.close();
      sender.close();
      await connection.quit().catch(() => undefined);
      logger.info("delivery worker stopped");
    })();
    return stopping;
  };
}

/** For the web server: starts the worker unless RUN_WORKER_IN_PROCESS=false; resolves to its stop function. */
export async function startInProcessWorker(options: DeliveryRuntimeOptions = {}): Promise<StopDelivery> {
  if (!getConfig().RUN_WORKER_IN_PROCESS) return async () => undefined;
  return startDeliveryRuntime(options);
}

/** For `npm run worker`: runs until SIGINT or SIGTERM, then finishes the attempts in flight and exits 0. */
export async function runWorkerProcess(options: DeliveryRuntimeOptions = {}): Promise<void> {
  if (getConfig().databaseProvider === "sqlite") {
    // libSQL cannot share one SQLite file safely between processes that keep it open: one process does not
    // see the other's commits (WAL), or they time out on the file lock (rollback journal).
    throw new SeparateWorkerNeedsPostgresError();
  }
  const stop = await startDeliveryRuntime(options);
  let signalled = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (signalled) return;
      signalled = true;
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          getLogger().error({ err: error }, "delivery worker did not stop cleanly");
          process.exit(1);
        },
      );
    });
  }
}
