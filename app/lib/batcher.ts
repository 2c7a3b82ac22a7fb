/**
 * Groups calls that arrive while earlier ones are in flight into one call over all of them: a database
 * statement for many leads or deliveries costs little more than for one, and under load most of its cost
 * is the round trip, the commit and the per-statement work, not the rows.
 *
 * No timer and no added wait: a call made while fewer than `maxInFlight` batches run goes out at the end
 * of the current tick (with whatever else arrived in that tick); calls made meanwhile wait for a free slot
 * and then go out together, up to `maxBatch` at a time. So batches grow with load and stay at one call
 * when there is none.
 *
 * A batch that fails is run again one call at a time, so that one bad call (a constraint, a deadlock
 * between two batches) fails alone and the others still land.
 */

export interface BatcherOptions<I, O> {
  /** Runs the calls; answers one result per call, in the same order. */
  runBatch: (items: I[]) => Promise<O[]>;
  maxBatch: number;
  maxInFlight: number;
  /** Calls that may wait for a slot; past that a call fails at once with BatcherFullError. Default: no limit. */
  maxWaiting?: number;
}

/** More calls are waiting than the batcher takes: the work behind it is not keeping up. */
export class BatcherFullError extends Error {
  constructor() {
    super("too many calls are waiting");
    this.name = "BatcherFullError";
  }
}

export type Batched<I, O> = (item: I) => Promise<O>;

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export function createBatcher<I, O>(options: BatcherOptions<I, O>): Batched<I, O> {
  if (!(options.maxBatch >= 1 && options.maxInFlight >= 1)) throw new RangeError("maxBatch and maxInFlight must be at least 1");
  const queue: Waiting<I, O>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const settle = async (batch: Waiting<I, O>[]) => {
    try {
      const results = await options.runBatch(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${results.length} results`);
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      for (const w of batch) {
        await options.runBatch([w.item]).then(([result]) => w.resolve(result), w.reject);
      }
    }
  };

  const pump = () => {
    scheduled = false;
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      inFlight++;
      void settle(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  };

  const maxWaiting = options.maxWaiting ?? Infinity;
  return (item) =>
    new Promise<O>((resolve, reject) => {
      if (queue.length >= maxWaiting) return reject(new BatcherFullError());
      queue.push({ item, resolve, reject });
      if (!scheduled && inFlight < options.maxInFlight) {
        scheduled = true;
        queueMicrotask(pump);
      }
    });
}
