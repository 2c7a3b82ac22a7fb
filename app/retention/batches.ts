/**
 * Pruning is done in small batches, each its own short statement (or short transaction), so that no
 * lock on the tables the worker writes is held for long, and a round can stop between any two of them.
 */

export interface BatchControl {
  /** Rows per batch. */
  batchSize: number;
  /** Ends the round between two batches (the loop is stopping). */
  signal?: AbortSignal;
  /** Runs after every batch; false ends the round (the lease that lets this process prune was lost). */
  afterBatch?: () => Promise<boolean>;
}

export interface BatchStep {
  /** Rows the batch picked. */
  found: number;
  /** Rows it deleted or emptied (fewer than found only when another writer got there first). */
  changed: number;
}

/**
 * Runs `step` until a batch finds fewer rows than it may take, or changes nothing (whatever it finds is
 * then not for it to change, and looking again would find the same). `complete` is false when the
 * round was ended early, so the caller runs no further phase.
 */
export async function repeatBatches(
  control: BatchControl,
  limit: number,
  step: (limit: number) => Promise<BatchStep>,
): Promise<{ changed: number; complete: boolean }> {
  let changed = 0;
  for (;;) {
    if (control.signal?.aborted) return { changed, complete: false };
    const batch = await step(limit);
    changed += batch.changed;
    if (control.afterBatch && !(await control.afterBatch())) return { changed, complete: false };
    if (batch.found < limit || batch.changed === 0) return { changed, complete: true };
  }
}
