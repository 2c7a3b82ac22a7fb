import type { Logger } from "pino";
import { adminGraphqlFor } from "../customers/admin-graphql.server";
import type { AdminGraphql } from "../customers/tag-customer.server";
import { createTaggingWorker, createTaggingQueue } from "../customers/tagging.server";
import { reconcileTagging } from "../customers/tagging-reconciler.server";
import { createWebhookSender, type WebhookSenderOptions } from "../delivery/http-sender.server";
import { startReconcilerLoop } from "../delivery/reconciler.server";
import { createDeliveryWorker, type DeliveryWorker } from "../delivery/worker.server";
import type { AppConfig } from "../lib/config.server";
import { getDb, prepareDb, type Db } from "../lib/db.server";
import { recordReconcilerRequeues, watchQueue } from "../lib/metrics.server";
import { startPeriodic } from "../lib/periodic";
import { createRedis, type RedisConnection } from "../lib/redis.server";
import { startPruningLoop } from "../retention/pruning.server";
import { advanceBackfills } from "../destinations/backfill.server";
import { createKlaviyoSender } from "../destinations/klaviyo/sender";
import { createHttpRequestSender } from "../destinations/http-request/sender";
import { createDestinationLimits } from "../destinations/limits.server";
import type { DestinationSenders } from "../delivery/destination-sender";
import { queueLayout } from "./queues.server";
import { startAlertLoop } from "../alerts/alert-loop.server";
import { adminLinkFor } from "../alerts/destination-alerts.server";
import { mailerFrom, type Mailer } from "../lib/mailer.server";
import { systemClock } from "../delivery/clock";

/**
 * The background work of the app, wired in one place from the configuration: which queues, workers and
 * reconcilers exist and what each is given. It runs inside the web process (the single-machine default) or
 * in worker processes of its own (`npm run worker`); any number of them may share one Redis and one
 * database. Everything outbound goes through the production transport (public addresses only, the system's
 * trust store) unless a test or a benchmark hands another one in code.
 */

/** How deliveries reach the network; only code (a test, a benchmark, the demo) can pass other than the default. */
export type OutboundTransport = Pick<WebhookSenderOptions, "policy" | "extraCa" | "resolve">;

export interface BackgroundWorkOptions {
  config: AppConfig;
  logger: Logger;
  db?: Db;
  transport?: OutboundTransport;
  /** The Admin GraphQL API of a shop (default: through its stored offline session). */
  graphqlFor?: (shopDomain: string) => Promise<AdminGraphql>;
  /**
   * Senders for destination kinds, replacing the production ones built on `transport` (a test's Klaviyo
   * stand-in, say). The signed webhook always goes through the sender built on `transport`.
   */
  senders?: DestinationSenders;
  /** How alert emails go out (default: the SMTP server of SMTP_URL; none when it is not set). */
  mailer?: Mailer | null;
  /** Another queue name or key prefix, so that several runs can share one Redis (tests, the demo). */
  deliveryQueueName?: string;
  prefix?: string;
}

export interface BackgroundWork {
  delivery: DeliveryWorker;
  /** The Redis connection the workers use (readiness checks ping it). */
  connection: RedisConnection;
  /** Stops taking work, waits for what is in flight, closes connections. */
  stop(): Promise<void>;
}

/** How often running "send earlier leads" runs move forward a batch. */
const BACKFILL_INTERVAL_MS = 1_000;

export async function startBackgroundWork(options: BackgroundWorkOptions): Promise<BackgroundWork> {
  const { config } = options;
  const logger = options.logger.child({ component: "delivery" });
  const db = options.db ?? getDb();
  await prepareDb(db, config.DATABASE_URL);
  const layout = queueLayout(config, { deliveryQueueName: options.deliveryQueueName, prefix: options.prefix });
  const connection = createRedis(config, "worker");
  // ioredis reconnects by itself; without a listener its error events would end the process.
  connection.on("error", (error: unknown) => logger.warn({ err: error }, "redis connection error"));

  const sender = createWebhookSender({ ...options.transport, deadlineMs: config.ATTEMPT_TIMEOUT, logger });
  const delivery = createDeliveryWorker({
    db,
    connection,
    send: sender.send,
    keyRing: { keys: config.ENCRYPTION_KEYS, currentVersion: config.currentKeyVersion },
    logger,
    concurrency: config.DELIVERY_CONCURRENCY,
    leaseMs: config.DELIVERY_LEASE,
    retrySchedule: config.RETRY_SCHEDULE,
    senders: { klaviyo: createKlaviyoSender(sender.exchange), http_request: createHttpRequestSender(sender.exchange), ...options.senders },
    limitsFor: createDestinationLimits(db),
    queueName: layout.delivery.name,
    prefix: layout.delivery.prefix,
    eventsMaxLen: config.QUEUE_EVENTS_MAX_LEN,
    gatePrefix: layout.gatePrefix,
    gate: {
      maxInFlight: config.DESTINATION_MAX_IN_FLIGHT,
      failureThreshold: config.BREAKER_FAILURE_THRESHOLD,
      cooldownMs: config.BREAKER_COOLDOWN,
      maxCooldownMs: config.BREAKER_MAX_COOLDOWN,
    },
  });
  const tagging = createTaggingWorker({
    db,
    connection,
    deliveryQueue: delivery.queue,
    graphqlFor: options.graphqlFor ?? adminGraphqlFor,
    logger,
    prefix: layout.tagging.prefix,
    concurrency: config.TAGGING_CONCURRENCY,
    redis: connection,
  });
  const taggingQueue = createTaggingQueue(connection, { ...layout.tagging, eventsMaxLen: config.QUEUE_EVENTS_MAX_LEN });
  tagging.on("error", (error) => logger.warn({ err: error }, "tagging worker error"));
  const reconciler = startReconcilerLoop({
    db,
    queue: delivery.queue,
    logger,
    intervalMs: config.RECONCILE_INTERVAL,
    graceMs: config.RECONCILE_GRACE,
    retrySchedule: config.RETRY_SCHEDULE,
    breakerMaxCooldownMs: config.BREAKER_MAX_COOLDOWN,
  });
  const taggingReconciler = startPeriodic({
    run: () => reconcileTagging({ db, queue: taggingQueue, graceMs: config.RECONCILE_GRACE }),
    intervalMs: config.RECONCILE_INTERVAL,
    onResult: (counts) => {
      recordReconcilerRequeues("tagging", counts.enqueued);
      if (counts.enqueued > 0) logger.info(counts, "reconciler re-enqueued taggings");
    },
    onError: (error) => logger.error({ err: error }, "tagging reconciler round failed; trying again next round"),
  });
  const backfills = startPeriodic({
    run: () => advanceBackfills({ db, queue: delivery.queue }),
    intervalMs: BACKFILL_INTERVAL_MS,
    onResult: (counts) => {
      if (counts.deliveries > 0) logger.info(counts, "earlier leads queued for destinations");
    },
    onError: (error) => logger.error({ err: error }, "sending earlier leads failed this round; trying again next round"),
  });
  const pruning = startPruningLoop({
    db,
    logger: options.logger.child({ component: "retention" }),
    deliveryRetentionDays: config.DELIVERY_RETENTION_DAYS,
    batchSize: config.PRUNING_BATCH_SIZE,
    intervalMs: config.PRUNING_INTERVAL_SECONDS * 1000,
    // One process prunes at a time; the others find the lease taken and wait for the next round.
    lease: { redis: connection, key: `${layout.gatePrefix}:pruning-lease` },
  });
  // Their depth and oldest waiting job are read at each scrape of /metrics.
  const unwatchQueues = [watchQueue("deliveries", delivery.queue), watchQueue("tagging", taggingQueue)];
  // Emails to merchants about failing destinations; nothing at all without an SMTP server.
  const mailer = options.mailer === undefined ? mailerFrom(config) : options.mailer;
  const alerts = mailer
    ? startAlertLoop({
      deps: {
        db, mailer, graphqlFor: options.graphqlFor ?? ((shop) => adminGraphqlFor(shop)), clock: systemClock,
        logger: options.logger.child({ component: "alerts" }),
        failingAfterMs: config.ALERT_FAILING_AFTER_MINUTES * 60_000,
        quietMs: config.ALERT_QUIET_HOURS * 3_600_000,
        linkFor: adminLinkFor(config.SHOPIFY_API_KEY),
        messageIdDomain: new URL(config.SHOPIFY_APP_URL).hostname,
      },
      intervalMs: config.ALERT_CHECK_INTERVAL,
      lease: { redis: connection, key: `${layout.gatePrefix}:alerts-lease` },
    })
    : null;
  logger.info({ concurrency: config.DELIVERY_CONCURRENCY, alertEmails: mailer ? "on" : "off (SMTP_URL not set)" }, "background work started");

  let stopping: Promise<void> | undefined;
  return {
    delivery,
    connection,
    stop() {
      stopping ??= (async () => {
        for (const unwatch of unwatchQueues) unwatch();
        // Each step runs even if one before it fails: a stop must release as much as it can.
        const steps: [string, () => Promise<unknown>][] = [
          ["reconciler", () => reconciler.stop()],
          ["tagging reconciler", () => taggingReconciler.stop()],
          ["pruning", () => pruning.stop()],
          ["alerts", async () => { await alerts?.stop(); if (options.mailer === undefined) mailer?.close(); }],
          ["backfills", () => backfills.stop()],
          ["tagging", () => tagging.close()],
          ["tagging queue", () => taggingQueue.close()],
          // Waits for attempts in flight to be recorded; anything cut short is taken over via its lease.
          ["delivery", () => delivery.close()],
          ["sender", async () => sender.close()],
          ["redis", () => connection.quit()],
        ];
        for (const [name, step] of steps) {
          await step().catch((error: unknown) => logger.warn({ err: error, step: name }, "a step of stopping failed"));
        }
        logger.info("background work stopped");
      })();
      return stopping;
    },
  };
}
