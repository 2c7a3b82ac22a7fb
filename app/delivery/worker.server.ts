import { DelayedError, Worker } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "../lib/db.server";
import type { KeyRing } from "../lib/secret-box.server";
import { systemClock, type Clock } from "./clock";
import {
  createDestinationGate,
  verdictOf,
  type DestinationGate,
  type DestinationLimits,
  type GateSettings,
  type LeaveResult,
} from "./destination-gate.server";
import { processDelivery, type ProcessDeliveryDeps, type ProcessOutcome, type SendWebhook } from "./process-delivery.server";
import {
  createDeliveryQueue,
  DELIVERY_JOB_RETENTION,
  DELIVERY_QUEUE_NAME,
  DELIVERY_QUEUE_PREFIX,
  deliveryIdOfJob,
  destinationIdOfJob,
  enqueueDelivery,
  promoteDeliveryJob,
  type DeliveryJobData,
  type DeliveryQueue,
} from "./queue.server";
import type { DestinationSenders } from "./destination-sender";
import type { AttemptResult } from "./types";

export interface DeliveryWorkerOptions {
  db: Db;
  /** A connection made for the worker role (`createRedis(settings, "worker")`: `maxRetriesPerRequest: null`). */
  connection: Redis | Cluster;
  send: SendWebhook;
  keyRing: KeyRing;
  logger: Logger;
  clock?: Clock;
  /** Attempts in flight at once in this process. */
  concurrency?: number;
  queueName?: string;
  prefix?: string;
  /** Entries kept in the queue's event stream. */
  eventsMaxLen?: number;
  /**
   * How long one attempt may hold a delivery before another worker may take it over. Must exceed the
   * sender's whole per-attempt deadline, or a slow but live attempt could be sent twice.
   */
  leaseMs?: number;
  random?: () => number;
  /** The waits between attempts (RETRY_SCHEDULE). */
  retrySchedule?: readonly number[];
  /**
   * The per-destination gate's settings (cap, breaker). Its lease is `leaseMs`. Defaults: 10 in flight per
   * destination, a breaker opening after 10 consecutive failures for 30 s, doubling up to 5 min.
   */
  gate?: Partial<Omit<GateSettings, "leaseMs">>;
  /** Key prefix of the gate (default: the queue prefix). */
  gatePrefix?: string;
  /** How destinations of other kinds than the signed webhook are sent. */
  senders?: DestinationSenders;
  /** A destination's own limits (its kind's API limits); the defaults apply when it has none. */
  limitsFor?: (destinationId: string) => Promise<DestinationLimits | undefined> | DestinationLimits | undefined;
}

export interface DeliveryWorker {
  worker: Worker<DeliveryJobData, ProcessOutcome, string>;
  /** The queue this worker reads, also used to schedule later attempts. */
  queue: DeliveryQueue;
  /** The per-destination gate every attempt of this worker passes. */
  gate: DestinationGate;
  /** Resolves once every attempt made so far has its outcome written (or its writing has failed). */
  recorded(): Promise<void>;
  /** Stops taking jobs and waits for the attempts in flight to be recorded. */
  close(): Promise<void>;
}

export const DEFAULT_LEASE_MS = 2 * 60_000;
export const DEFAULT_CONCURRENCY = 100;
export const DEFAULT_GATE: Omit<GateSettings, "leaseMs"> = {
  maxInFlight: 10, failureThreshold: 10, cooldownMs: 30_000, maxCooldownMs: 5 * 60_000,
};
/** Parked jobs that wake together spread over up to this long, so they do not all arrive in one instant. */
const PARK_JITTER_MS = 500;
/** The shortest wait for a job that ran before its delivery was due (clocks a few milliseconds apart). */
const MIN_NOT_DUE_WAIT_MS = 20;

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
  const queue = createDeliveryQueue(options.connection, { name: queueName, prefix, eventsMaxLen: options.eventsMaxLen });
  const logger = options.logger;
  const db = options.db;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const random = options.random ?? Math.random;
  const gate = createDestinationGate(options.connection, {
    prefix: options.gatePrefix ?? prefix,
    settings: { ...DEFAULT_GATE, ...options.gate, leaseMs },
  });
  const deps: ProcessDeliveryDeps = {
    db,
    send: options.send,
    keyRing: options.keyRing,
    clock: options.clock ?? systemClock,
    logger,
    leaseMs,
    random: options.random,
    retrySchedule: options.retrySchedule,
    senders: options.senders,
    scheduleAttempt: (deliveryId, attempt, delayMs, destinationId) => enqueueDelivery(queue, deliveryId, { attempt, delayMs, destinationId }),
  };

  // Attempts whose receiver has answered and whose outcome is still being written. Their send slots are
  // already free; `close` waits for them. If the process dies first, the delivery's lease runs out and
  // the attempt is made again (same delivery id), as for any attempt cut short.
  const recording = new Set<Promise<unknown>>();
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const recordLater = (outcome: Promise<ProcessOutcome>) => {
    const tracked: Promise<unknown> = outcome
      .catch((error: unknown) => logger.error({ err: error }, "could not record a webhook attempt; it is sent again when its lease ends"))
      .finally(() => recording.delete(tracked));
    recording.add(tracked);
  };
  deps.recordLater = recordLater;

  /** Breaker changes for the merchant's eyes, and parked deliveries that can go now. */
  async function afterLeave(destinationId: string, left: LeaveResult): Promise<void> {
    const { change } = left;
    if (change.kind === "opened" || change.kind === "reopened") {
      logger.warn({ destinationId, retryAt: change.retryAt }, "destination not answering: its deliveries wait for a probe");
      await db.destination.updateMany({
        where: { id: destinationId },
        data: change.kind === "opened"
          ? { circuitOpenedAt: change.openedAt, circuitRetryAt: change.retryAt }
          : { circuitRetryAt: change.retryAt },
      });
    } else if (change.kind === "closed") {
      logger.info({ destinationId }, "destination answering again: waiting deliveries go out");
      await db.destination.updateMany({ where: { id: destinationId }, data: { circuitOpenedAt: null, circuitRetryAt: null } });
    }
    for (const jobId of left.wake) await promoteDeliveryJob(queue, jobId);
  }

  const worker = new Worker<DeliveryJobData, ProcessOutcome, string>(
    queueName,
    async (job, token) => {
      const deliveryId = deliveryIdOfJob(job);
      const destinationId = destinationIdOfJob(job) ?? (await destinationOf(db, deliveryId));
      if (!destinationId) return "not_found";
      const limits = (await options.limitsFor?.(destinationId)) ?? undefined;
      const decision = await gate.enter(destinationId, job.id ?? deliveryId, limits);
      if (decision.kind === "wait") {
        // Parked: out of the worker's hands until the gate's time (or a leaving attempt wakes it). BullMQ
        // does not count a DelayedError as an attempt, and the delivery's row is untouched.
        await job.moveToDelayed(decision.until + Math.floor(random() * PARK_JITTER_MS), token);
        throw new DelayedError();
      }

      let leaving: Promise<void> | undefined;
      const leave = (verdict: ReturnType<typeof verdictOf>) =>
        (leaving ??= gate
          .leave(destinationId, decision.token, verdict.verdict, { throttleMs: verdict.throttleMs })
          .then((left) => afterLeave(destinationId, left))
          .catch((error: unknown) => logger.warn({ err: error, destinationId }, "could not give a destination slot back; it frees itself at the end of its lease")));
      let dueAt: Date | undefined;
      let outcome: ProcessOutcome;
      try {
        // Recording may fall behind sending (a slow database) only so far.
        while (recording.size >= concurrency * 4) await Promise.race(recording);
        outcome = await processDelivery(deps, deliveryId, {
          answered: (result: AttemptResult) => void leave(verdictOf(result)),
          notDue: (at) => {
            dueAt = at;
          },
        });
      } catch (error) {
        // BullMQ stores a failed job's error text in Redis, and a database error can quote row values.
        // The details go to the redacting log; Redis gets a fixed sentence.
        logger.error({ jobId: job.id, err: error }, "delivery job failed; the reconciler will pick the delivery up again");
        throw new DeliveryJobError();
      } finally {
        // Nothing was sent (not due, already delivered, paused...): the slot goes back without a verdict.
        await leave({ verdict: "neutral" });
      }
      if (outcome === "not_due" && dueAt) {
        // Not due yet by this process's clock (another process wrote the time by its own clock, or the job
        // was woken early): the job waits here until then rather than for the reconciler's next round. Not an
        // attempt, and the row is untouched.
        const waitMs = Math.max(MIN_NOT_DUE_WAIT_MS, dueAt.getTime() - deps.clock.now().getTime());
        await job.moveToDelayed(Date.now() + waitMs, token);
        throw new DelayedError();
      }
      return outcome;
    },
    {
      connection: options.connection,
      prefix,
      concurrency,
      // BullMQ's job lock is renewed while the processor runs. A job whose worker died after claiming its
      // delivery is caught by the database lease and the reconciler; one whose worker died before (at the
      // gate, say) has no lease in the database and its row looks queued, so only its lock running out hands
      // it to another worker: the lock and the check for it follow the delivery lease.
      lockDuration: leaseMs,
      stalledInterval: Math.min(leaseMs, 30_000),
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
    gate,
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

/** A job enqueued without its destination (a replay, an older job): the row says where it goes. */
async function destinationOf(db: Db, deliveryId: string): Promise<string | null> {
  const row = await db.delivery.findUnique({ where: { id: deliveryId }, select: { destinationId: true } });
  return row?.destinationId ?? null;
}
