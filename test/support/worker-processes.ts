import { startTsxChild, type TsxChild } from "./child-process";

/**
 * Worker processes as `npm run worker` runs them (test/support/worker-process-child.ts), with what a test
 * hands them in code (a loopback receiver's CA, the Admin API stand-in's URL) and settings of their own.
 */
export interface WorkerChildOptions {
  /** The test's HTTPS receiver's CA: deliveries may then go to 127.0.0.1. */
  loopbackCa?: string;
  /** FakeAdminApi.serve()'s URL: Shopify's Admin API calls go there. */
  adminApiUrl?: string;
  queueName?: string;
  prefix?: string;
}

export function startWorkerProcess(options: WorkerChildOptions, env: Record<string, string>): Promise<TsxChild> {
  // A cold start imports the whole app through tsx: slow on a busy machine.
  return startTsxChild("test/support/worker-process-child.ts", options, { env, timeoutMs: 90_000 });
}

/**
 * The JSON log lines a child process wrote to stdout (the app logs with pino, one object a line), so that a
 * test can tell which process did what. Lines that are not JSON (the `ready` announcement) are skipped.
 */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export function workerLogLines(stdout: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of stdout.split("\n")) {
    if (!text.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      // a line cut short by the process's end
    }
  }
  return lines;
}

/** The deliveries a worker process logged an attempt of, with that attempt's outcome. */
export function attemptsLogged(stdout: string): { deliveryId: string; attempt: number; outcome: string }[] {
  return workerLogLines(stdout)
    .filter((l) => l.msg === "webhook attempt")
    .map((l) => ({ deliveryId: String(l.deliveryId), attempt: Number(l.attempt), outcome: String(l.outcome) }));
}
