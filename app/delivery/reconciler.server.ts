import type { Logger } from "pino";
import type { Db, Prisma } from "../lib/db.server";
import { recordDeliveriesExpired, recordReconcilerRequeues } from "../lib/metrics.server";
import { startPeriodic, type Periodic } from "../lib/periodic";
import { systemClock, type Clock } from "./clock";
import { enqueueDelivery, type DeliveryQueue } from "./queue.server";
import { forEachDeliveryBatch } from "./delivery-batches.server";
import { remainingWindowMs, RETRY_DELAYS_MS } from "./retry-schedule";

/**
 * The safety net that makes "a lead is never left undelivered and invisible" hold when Redis is not
 * there to help: the process died between commit and enqueue, Redis was flushed or restarted without
 * persistence, a delayed retry job was lost, or a worker was killed mid-attempt. It reads the database
 * (the truth) and enqueues every delivery that should be moving. Job ids make that idempotent, so any
 * number of processes may run it at once.
 */

export interface ReconcileOptions {
  db: Db;
  queue: DeliveryQueue;
  clock?: Clock;
  /**
   * Leave a due delivery alone for this long: its own job (enqueued after commit, or the delayed retry)
   * normally runs first, and re-enqueueing it would be wasted work.
   */
  graceMs?: number;
  /** Rows read per query. */
  batchSize?: number;
  /** The waits between attempts (RETRY_SCHEDULE): how long a delivery may wait on a destination that does not answer. */
  retrySchedule?: readonly number[];
  /** The longest breaker wait: a delivery past its window still gets this long for one last probe. */
  breakerMaxCooldownMs?: number;
}

export interface ReconcileCounts {
  /** Pending or retrying deliveries past their time (plus the grace). */
  due: number;
  /** Deliveries whose worker's lease ran out (the worker died mid-attempt). */
  stuck: number;
  /** Jobs added or brought forward (the rest were already waiting). */
  enqueued: number;
  /** Deliveries failed because their destination did not answer for their whole retry window. */
  expired: number;
}

export const DEFAULT_RECONCILE_GRACE_MS = 30_000;
export const DEFAULT_RECONCILE_INTERVAL_MS = 20_000;

export async function reconcileDeliveries(options: ReconcileOptions): Promise<ReconcileCounts> {
  const now = (options.clock ?? systemClock).now();
  const dueBefore = new Date(now.getTime() - (options.graceMs ?? DEFAULT_RECONCILE_GRACE_MS));
  const counts: ReconcileCounts = { due: 0, stuck: 0, enqueued: 0, expired: 0 };
  // BullMQ writes a queue's settings (its event stream's cap) only when the queue is created; a job added to a
  // Redis that came back empty puts its own default (10,000 events) in their place. Restate them each round.
  await (await options.queue.client).hset(options.queue.keys.meta, options.queue.metaValues);

  // Paused or disconnected endpoints and uninstalled shops are skipped: their deliveries wait, and
  // re-enqueueing them every round would only make the worker say no. So are destinations whose breaker
  // is open until later: their jobs are parked until the probe, and enqueueing them would wake them early.
  const due: Prisma.DeliveryWhereInput = {
    status: { in: ["pending", "retrying"] },
    nextAttemptAt: { lte: dueBefore },
    destination: { is: { state: "active", OR: [{ circuitRetryAt: null }, { circuitRetryAt: { lte: dueBefore } }] } },
    shop: { is: { uninstalledAt: null } },
  };
  // Stuck ones are enqueued whatever their endpoint's state, so the worker can put them back to waiting.
  const stuck: Prisma.DeliveryWhereInput = {
    status: "delivering",
    OR: [{ lockedUntil: null }, { lockedUntil: { lte: now } }],
  };

  for (const [kind, where] of [["due", due], ["stuck", stuck]] as const) {
    await forEachDeliveryBatch(options.db, where, options.batchSize ?? 500, async (rows) => {
      for (const row of rows) {
        counts[kind]++;
        const result = await enqueueDelivery(options.queue, row.id, { attempt: row.attemptCount + 1, destinationId: row.destinationId });
        if (result !== "already_queued") counts.enqueued++;
      }
    });
  }
  counts.expired = await expireBeyondWindow(options, now);
  return counts;
}

/**
 * A destination whose breaker stays open holds its deliveries without spending their attempts, but not for
 * longer than the retry schedule would have tried them: a delivery that has waited past the rest of its
 * window (plus one last probe) is failed, visibly, and can be replayed once the destination answers.
 */
async function expireBeyondWindow(options: ReconcileOptions, now: Date): Promise<number> {
  const schedule = options.retrySchedule ?? RETRY_DELAYS_MS;
  const lastChance = options.breakerMaxCooldownMs ?? 5 * 60_000;
  // Nothing can have run out before the shortest remaining window (the last attempt's) plus the last chance.
  const candidates: Prisma.DeliveryWhereInput = {
    status: { in: ["pending", "retrying"] },
    nextAttemptAt: { lte: new Date(now.getTime() - lastChance) },
    destination: { is: { circuitOpenedAt: { not: null } } },
  };
  let expired = 0;
  let after: string | undefined;
  for (;;) {
    const rows = await options.db.delivery.findMany({
      where: after ? { AND: [candidates, { id: { gt: after } }] } : candidates,
      select: { id: true, attemptCount: true, attemptsBeforeReplay: true, nextAttemptAt: true },
      orderBy: { id: "asc" },
      take: options.batchSize ?? 500,
    });
    for (const row of rows) {
      const attemptInWindow = row.attemptCount - row.attemptsBeforeReplay + 1;
      const endsAt = row.nextAttemptAt.getTime() + remainingWindowMs(attemptInWindow, schedule) + lastChance;
      if (endsAt > now.getTime()) continue;
      const { count } = await options.db.delivery.updateMany({
        where: { id: row.id, status: { in: ["pending", "retrying"] }, attemptCount: row.attemptCount },
        data: { status: "failed", lastError: "Your endpoint did not answer for the whole retry window, so this lead was not sent. Send it again once the endpoint works." },
      });
      expired += count;
    }
    if (rows.length < (options.batchSize ?? 500)) return expired;
    after = rows[rows.length - 1].id;
  }
}

export type ReconcilerLoop = Periodic<ReconcileCounts>;

/** Runs `reconcileDeliveries` now and then every `intervalMs`, never two rounds at once in one process. */
export function startReconcilerLoop(options: ReconcileOptions & { intervalMs?: number; logger: Logger }): ReconcilerLoop {
  return startPeriodic({
    run: () => reconcileDeliveries(options),
    intervalMs: options.intervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS,
    onResult: (counts) => {
      recordReconcilerRequeues("deliveries", counts.enqueued);
      recordDeliveriesExpired(counts.expired);
      if (counts.enqueued > 0 || counts.expired > 0) options.logger.info(counts, "reconciler re-enqueued deliveries");
    },
    onError: (error) => options.logger.error({ err: error }, "reconciler round failed; trying again next round"),
  });
}
