/**
 * Shared by the delivery benchmark and its child processes (receiver, naive worker, product worker):
 * a clock every process on the machine reads alike, the messages they exchange, and call counters for
 * the database driver and the Redis client.
 */
import { readFileSync } from "node:fs";

/**
 * Milliseconds on CLOCK_MONOTONIC, which is one clock for every process on the machine: a capture time
 * taken by the producer and an arrival time taken by the receiver, in another process, compare directly.
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The worker process's settings for one phase: its own queue, so every phase starts from empty keys. */
export interface WorkerPhase {
  queueName: string;
  prefix: string;
  concurrency: number;
  /** False: the worker is created only on `run`, after the whole batch is queued. */
  autorun: boolean;
  /**
   * Product side: pass the receiver's CA to the sender in its options (`extraCa`) rather than trusting it
   * process-wide (NODE_EXTRA_CA_CERTS, with no `ca` option: the code path production runs).
   */
  caInOptions?: boolean;
}

export type ToWorker =
  | { type: "start"; phase: WorkerPhase }
  | { type: "run" }
  | { type: "stop" }
  | { type: "stats" }
  | { type: "exit" };

export interface ProcessStats {
  cpuMs: number;
  dbQueries: number;
  redisCommands: number;
  heapUsed: number;
  rss: number;
}

export type FromWorker =
  | { type: "ready" }
  | { type: "started" }
  | { type: "running" }
  | { type: "stopped"; failedJobs: number }
  | { type: "stats"; stats: ProcessStats }
  | { type: "error"; message: string };

export type ToReceiver = { type: "take" } | { type: "count" } | { type: "stats" } | { type: "exit" };

export type FromReceiver =
  | { type: "ready"; port: number }
  | { type: "count"; count: number }
  /** Arrivals since the last take: lead ids and their arrival times (monoMs), in arrival order. */
  | { type: "arrivals"; leadIds: string[]; times: number[]; tlsHandshakes: number; requests: number; non2xx: number }
  | { type: "stats"; stats: ProcessStats };

export const counters = { dbQueries: 0, redisCommands: 0 };

/**
 * Counts every query the node-postgres driver sends (Prisma's PostgreSQL adapter included: it runs on a
 * pg Pool) and every command the ioredis client sends (BullMQ's included). A counter increment per call.
 */
export async function countDriverCalls(): Promise<void> {
  const { default: pg } = await import("pg");
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function counted(this: unknown, ...args: unknown[]) {
    counters.dbQueries++;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  const { Redis } = await import("ioredis");
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function counted(this: unknown, ...args: unknown[]) {
    counters.redisCommands++;
    return (send as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof send;
}

export function processStats(): ProcessStats {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    dbQueries: counters.dbQueries,
    redisCommands: counters.redisCommands,
    heapUsed: memory.heapUsed,
    rss: memory.rss,
  };
}

/** Resident set size of any process, from the kernel (bytes); 0 once it is gone. */
export function rssOf(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(text)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** What a worker process runs for one phase. */
export interface RunningWorker {
  /** Stops taking jobs and waits for those in flight. */
  close(): Promise<void>;
  /** Jobs BullMQ marked failed so far. */
  failedJobs(): number;
}

/**
 * The IPC loop of a worker process: `start` configures a phase (and creates the worker unless the phase
 * waits for `run`), `run` creates it, `stop` closes it, `stats` reports counters, `exit` ends the process.
 */
export function serveWorker(create: (phase: WorkerPhase) => Promise<RunningWorker>): void {
  const send = (message: FromWorker) => process.send?.(message);
  let phase: WorkerPhase | undefined;
  let running: RunningWorker | undefined;
  process.on("message", (message: ToWorker) => {
    void (async () => {
      switch (message.type) {
        case "start":
          phase = message.phase;
          if (phase.autorun) running = await create(phase);
          return send({ type: "started" });
        case "run":
          if (!phase) throw new Error("run before start");
          running ??= await create(phase);
          return send({ type: "running" });
        case "stop": {
          const failedJobs = running?.failedJobs() ?? 0;
          await running?.close();
          running = undefined;
          return send({ type: "stopped", failedJobs });
        }
        case "stats":
          return send({ type: "stats", stats: processStats() });
        case "exit":
          await running?.close().catch(() => undefined);
          process.exit(0);
      }
    })().catch((error: unknown) => send({ type: "error", message: String((error as Error)?.stack ?? error) }));
  });
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready" });
}
