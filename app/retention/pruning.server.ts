import type { Logger } from "pino";
import { systemClock, type Clock } from "../delivery/clock";
import type { Db } from "../lib/db.server";
import { repeatBatches, type BatchControl } from "./batches";
import { pruneAttemptBatch, prunePayloadBatch } from "./delivery-history.server";
import { pruneLeadBatch, shopsWithLeadRetention } from "./expired-leads.server";
import { leadCutoff } from "./lead-retention";
import { acquirePruningLease, type LeaseOptions } from "./pruning-lease.server";

/**
 * The pruning job. Each round, in batches:
 * 1. every shop that set a lead retention loses its leads captured before it, with their deliveries and
 *    attempt records;
 * 2. attempt records (and the receiver's response excerpts in them) older than the delivery retention go;
 * 3. the stored bodies of deliveries delivered before it are emptied, where a replay can rebuild them.
 * Deliveries themselves stay, so the delivery log still lists them.
 */

const DAY_MS = 86_400_000;
/** Shops read per query when looking for lead retentions. */
const SHOP_PAGE = 500;
/**
 * Leads go a tenth of a batch at a time: each takes its deliveries and their attempts with it, so a lead
 * batch removes several times as many rows as it counts.
 */
const LEAD_SHARE_OF_BATCH = 10;

export interface PruneParams {
  db: Db;
  logger: Logger;
  clock?: Clock;
  /** Attempt records and delivered bodies older than this many days are pruned (DELIVERY_RETENTION_DAYS). */
  deliveryRetentionDays: number;
  /** Rows per statement (PRUNING_BATCH_SIZE). */
  batchSize: number;
  /** Ends the round between two batches. */
  signal?: AbortSignal;
  /** Runs after every batch; false ends the round (used to keep a lease). */
  afterBatch?: () => Promise<boolean>;
}

export interface PruneCounts {
  leads: number;
  /** Deliveries deleted with those leads. */
  leadDeliveries: number;
  /** Attempt records deleted with those deliveries. */
  leadAttempts: number;
  /** Attempt records deleted for their age. */
  attempts: number;
  /** Delivered bodies emptied. */
  payloads: number;
  /** False when the round ended early (stopping, or the lease was lost); the next round carries on. */
  complete: boolean;
}

export async function pruneOnce(params: PruneParams): Promise<PruneCounts> {
  const now = (params.clock ?? systemClock).now();
  const control: BatchControl = { batchSize: params.batchSize, signal: params.signal, afterBatch: params.afterBatch };
  const counts: PruneCounts = { leads: 0, leadDeliveries: 0, leadAttempts: 0, attempts: 0, payloads: 0, complete: false };

  const leadLimit = Math.max(1, Math.floor(params.batchSize / LEAD_SHARE_OF_BATCH));
  for await (const { shopId, months } of shopsWithLeadRetention(params.db, SHOP_PAGE)) {
    const cutoff = leadCutoff(now, months);
    let deleted = 0;
    const round = await repeatBatches(control, leadLimit, async (limit) => {
      const batch = await pruneLeadBatch(params.db, shopId, cutoff, limit);
      deleted += batch.changed;
      counts.leadDeliveries += batch.deliveries;
      counts.leadAttempts += batch.attempts;
      return batch;
    });
    counts.leads += deleted;
    if (deleted > 0) params.logger.info({ shopId, months, leads: deleted }, "deleted leads past the shop's retention");
    if (!round.complete) return counts;
  }

  const historyCutoff = new Date(now.getTime() - params.deliveryRetentionDays * DAY_MS);
  const attempts = await repeatBatches(control, params.batchSize, (limit) => pruneAttemptBatch(params.db, historyCutoff, limit));
  counts.attempts = attempts.changed;
  if (!attempts.complete) return counts;

  const payloads = await repeatBatches(control, params.batchSize, (limit) => prunePayloadBatch(params.db, historyCutoff, now, limit));
  counts.payloads = payloads.changed;
  counts.complete = payloads.complete;
  return counts;
}

export interface PruningLoopParams extends Omit<PruneParams, "signal" | "afterBatch"> {
  /** Time between the end of one round and the start of the next (PRUNING_INTERVAL_SECONDS). */
  intervalMs: number;
  /**
   * With several worker processes: a Redis lease so that one of them prunes at a time. Without it (one
   * process, e.g. SQLite with the worker in the web process), every round runs.
   */
  lease?: LeaseOptions;
}

export interface PruningLoop {
  /** Ends the round in progress after its current batch, releases the lease, and runs no more rounds. */
  stop(): Promise<void>;
}

/** Runs a round at once, then one every `intervalMs` after the previous one ends. Never throws. */
export function startPruningLoop(params: PruningLoopParams): PruningLoop {
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const tick = () => {
    running = runRound(params, stopping.signal).finally(() => {
      running = undefined;
      if (!stopping.signal.aborted) {
        timer = setTimeout(tick, params.intervalMs);
        // Waiting for the next round is no reason to keep a process alive.
        timer.unref();
      }
    });
  };
  tick();

  return {
    async stop() {
      stopping.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

async function runRound(params: PruningLoopParams, signal: AbortSignal): Promise<void> {
  const { logger } = params;
  try {
    let afterBatch: (() => Promise<boolean>) | undefined;
    let release: () => Promise<void> = async () => {};
    if (params.lease) {
      const lease = await acquirePruningLease(params.lease);
      if (!lease) {
        logger.debug("pruning skipped: another process is pruning");
        return;
      }
      afterBatch = () => lease.extend();
      release = () => lease.release();
    }
    try {
      const counts = await pruneOnce({ ...params, signal, afterBatch });
      const pruned = counts.leads + counts.attempts + counts.payloads;
      logger[pruned > 0 ? "info" : "debug"](counts, "pruning round finished");
      if (!counts.complete && !signal.aborted) logger.warn(counts, "pruning round ended early: the lease was lost; the next round carries on");
    } finally {
      await release().catch((error: unknown) => logger.warn({ err: error }, "could not release the pruning lease; it expires by itself"));
    }
  } catch (error) {
    logger.error({ err: error }, "pruning round failed; trying again next round");
  }
}
