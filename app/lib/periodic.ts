/**
 * A task run now and then every `intervalMs` after the previous run ended, never two runs at once in one
 * process. A failed run is reported and the next one comes as usual; `stop` waits for a run in progress.
 */
export interface Periodic<T> {
  /** Runs once now (or joins the run in progress); undefined when it failed. */
  runOnce(): Promise<T | undefined>;
  stop(): Promise<void>;
}

export function startPeriodic<T>(options: {
  run: () => Promise<T>;
  intervalMs: number;
  onResult?: (result: T) => void;
  onError: (error: unknown) => void;
}): Periodic<T> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<T | undefined> | undefined;
  let stopped = false;

  const runOnce = () => {
    running ??= options
      .run()
      .then((result) => {
        options.onResult?.(result);
        return result;
      })
      .catch((error: unknown) => {
        options.onError(error);
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const tick = async () => {
    await runOnce();
    if (!stopped) timer = setTimeout(tick, options.intervalMs);
  };
  void tick();

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
