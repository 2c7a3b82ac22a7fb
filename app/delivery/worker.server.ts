import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "../lib/db.server";
import type { KeyRing } from "../lib/secret-box.server";
import { systemClock, type Clock } from "./clock";
import { processDelivery, type ProcessDeliveryDeps, type ProcessOutcome, type SendWebhook } from "./process-delivery.server";
import {
  createDeliveryQueue,
  DELIVERY_JOB_RETENTION,
  DELIVERY_QUEUE_NAME,
  DELIVERY_QUEUE_PREFIX,
  deliveryIdOfJob,
  enqueueDelivery,
  type DeliveryJobData,
  type DeliveryQueue,
} from "./queue.server";

export interface DeliveryWorkerOptions {
  db: Db;
  /** A connection made with `maxRetriesPerRequest: null` (see createRedisConnection(url, "worker")). */
  connection: Redis;
  send: SendWebhook;
  keyRing: KeyRing;
  logger: Logger;
  clock?: Clock;
  /** Attempts in flight at once in this process. */
  concurrency?: number;
  queueName?: string;
  prefix?: string;
  /**
   * How long one attempt may hold a delivery before another worker may take it over. Must exceed the
   * sender's whole per-attempt deadline, or a slow but live attempt could be sent twice.
   */
  leaseMs?: number;
  random?: () => number;
}

export interface DeliveryWorker {
  worker: Worker<DeliveryJobData, ProcessOutcome>;
  /** The queue this worker reads, also used to schedule later attempts. */
  queue: DeliveryQueue;
  /** Resolves once every attempt made so far has its outcome written (or its writing has failed). */
  recorded(): Promise<void>;
  /** Stops taking jobs and waits for the attempts in flight to be recorded. */
  close(): Promise<void>;
}

export const DEFAULT_LEASE_MS = 2 * 60_000;

export class DeliveryJobError extends Error {
  constructor() {
    super("delivery processing failed (details in the worker log)");
    this.name = "DeliveryJobError";
  }
}

/**
 * The BullMQ worker that sends webhooks. Each job only names a delivery; `processDelivery` decides from
 * the database whether and what to send, so BullMQ's own retries stay off and any number of these
 * workers, in any number of processes, can share one Redis and one database.
 */
export function createDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const queueName = options.queueName ?? DELIVERY_QUEUE_NAME;
  const prefix = options.prefix ?? DELIVERY_QUEUE_PREFIX;
  const queue = createDeliveryQueue(options.connection, { name: queueName, prefix });
  const logger = options.logger;
  const deps: ProcessDeliveryDeps = {
    db: options.db,
    send: options.send,
    keyRing: options.keyRing,
    clock: options.clock ?? systemClock,
    logger,
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    random: options.random,
    scheduleAttempt: (deliveryId: string, attempt: number, delayMs: number) => enqueueDelivery(queue, deliveryId, { attempt, delayMs }),
  };

  // Attempts whose receiver has answered and whose outcome is still being written. Their send slots are
  // already free; `close` waits for them. If the process dies first, the delivery's lease runs out and
  // the attempt is made again (same delivery id), as for any attempt cut short.
  const recording = new Set<Promise<unknown>>();
  const concurrency = options.concurrency ?? 10;
  const recordLater = (outcome: Promise<ProcessOutcome>) => {
    const tracked: Promise<unknown> = outcome
      .catch((error: unknown) => logger.error({ err: error }, "could not record a webhook attempt; it is sent again when its lease ends"))
      .finally(() => recording.delete(tracked));
    recording.add(tracked);
  };
  deps.recordLater = recordLater;

  const worker = new Worker<DeliveryJobData, ProcessOutcome>(
    queueName,
    async (job) => {
      try {
        // Recording may fall behind sending (a slow database) only so far.
        while (recording.size >= concurrency * 4) await Promise.race(recording);
        return await processDelivery(deps, deliveryIdOfJob(job));
      } catch (error) {
        // BullMQ stores a failed job's error text in Redis, and a database error can quote row values.
        // The details go to the redacting log; Redis gets a fixed sentence.
        logger.error({ jobId: job.id, err: error }, "delivery job failed; the reconciler will pick the delivery up again");
        throw new DeliveryJobError();
      }
    },
    {
      connection: options.connection,
      prefix,
      concurrency,
      // BullMQ's job lock is renewed while the processor runs; it only has to outlive a renewal hiccup.
      // A job whose worker died is caught by the database lease and the reconciler, not by stall retries.
      lockDuration: 60_000,
      maxStalledCount: 1,
      ...DELIVERY_JOB_RETENTION,
    },
  );
  worker.on("error", (error) => logger.error({ err: error }, "delivery worker error"));
  queue.on("error", (error) => logger.error({ err: error }, "delivery queue error"));

  const recorded = async () => {
    while (recording.size > 0) await Promise.all(recording);
  };
  let closing: Promise<void> | undefined;
  return {
    worker,
    queue,
    recorded,
    close() {
      closing ??= (async () => {
        await worker.close();
        await recorded();
        await queue.close();
      })();
      return closing;
    },
  };
}
