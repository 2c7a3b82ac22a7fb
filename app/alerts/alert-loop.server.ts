import { startPeriodic, type Periodic } from "../lib/periodic";
import { acquirePruningLease, type LeaseOptions } from "../retention/pruning-lease.server";
import { runAlertRound, type AlertRoundDeps, type AlertRoundResult } from "./destination-alerts.server";

/**
 * The alert round every `intervalMs` in each worker process. A Redis lease (the same kind the pruning job
 * holds) lets one process look at a time, so they do not all read the same rows each minute; the claims on the
 * rows are what guarantee one email, lease or no lease (a lease can expire under a slow round).
 */
export interface AlertLoopOptions {
  deps: AlertRoundDeps;
  intervalMs: number;
  lease?: LeaseOptions;
}

export function startAlertLoop(options: AlertLoopOptions): Periodic<AlertRoundResult | null> {
  const { deps } = options;
  return startPeriodic({
    intervalMs: options.intervalMs,
    run: async () => {
      const lease = options.lease ? await acquirePruningLease(options.lease) : undefined;
      if (lease === null) return null;
      try {
        return await runAlertRound(deps);
      } finally {
        await lease?.release().catch(() => undefined);
      }
    },
    onResult: (result) => {
      if (result && (result.failing || result.recovered || result.unsent)) deps.logger.info(result, "alert round");
    },
    onError: (error) => deps.logger.error({ err: error }, "alert round failed; trying again next round"),
  });
}
