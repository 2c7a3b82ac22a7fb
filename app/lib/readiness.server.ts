import type { Db } from "./db.server";
import { migrationNames } from "./db-migrate.server";
import type { ReadinessCheck } from "./metrics.server";
import type { RedisConnection } from "./redis.server";

/**
 * Whether a process can do its work: the database answers, Redis answers, and every committed migration has
 * been applied. Each check has a short deadline, so a probe answers in about two seconds whatever is down. The
 * result names the checks only: no address, URL or error text (which may carry a host or a password).
 */

export type CheckState = "ok" | "failed" | "timeout" | "pending" | "unknown";

export interface Readiness {
  ready: boolean;
  checks: Record<ReadinessCheck, CheckState>;
}

export interface ReadinessDeps {
  db: Db;
  databaseUrl: string;
  redis: () => RedisConnection;
  /** Where prisma/ lives. @defaultValue process.cwd() */
  root?: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 2_000;

class Timeout extends Error {}

function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Timeout()), ms);
    work().then(
      (value) => { clearTimeout(timer); resolve(value); },
      (error: unknown) => { clearTimeout(timer); reject(error); },
    );
  });
}

const failure = (error: unknown): CheckState => (error instanceof Timeout ? "timeout" : "failed");

export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const ms = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const [database, redis] = await Promise.all([
    within(ms, () => deps.db.$queryRawUnsafe("SELECT 1")).then((): CheckState => "ok", failure),
    within(ms, () => deps.redis().ping()).then((answer): CheckState => (answer === "PONG" ? "ok" : "failed"), failure),
  ]);
  let migrations: CheckState = "unknown";
  if (database === "ok") {
    migrations = await within(ms, async () => {
      const expected = await migrationNames(deps.databaseUrl, deps.root);
      const rows = await deps.db.$queryRawUnsafe<{ name: string }[]>('SELECT "name" FROM "_app_migrations"');
      const applied = new Set(rows.map((r) => r.name));
      return expected.every((name) => applied.has(name)) ? "ok" : "pending";
    }).catch((error: unknown): CheckState => (error instanceof Timeout ? "timeout" : "pending"));
  }
  return { ready: database === "ok" && redis === "ok" && migrations === "ok", checks: { database, redis, migrations } };
}
