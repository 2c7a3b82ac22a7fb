import { createRequire } from "node:module";
import path from "node:path";
import { PrismaLibSQL } from "@prisma/adapter-libsql";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { PrismaClient } from "../../node_modules/.prisma-clients/sqlite/index.js";
import { getConfig } from "./config.server";

export type Db = PrismaClient;
export type { Prisma } from "../../node_modules/.prisma-clients/sqlite/index.js";

/**
 * Both Prisma clients (SQLite and PostgreSQL) are generated at install time from the same models, so
 * one build serves either database and DATABASE_URL picks one at start. They run on Prisma's query
 * compiler with a driver adapter (libSQL or node-postgres): no native engine to download. The client is
 * loaded with `require` from the project root so the Remix server bundle never inlines it.
 */
export function createDb(databaseUrl: string): Db {
  const sqlite = databaseUrl.startsWith("file:");
  const require = createRequire(path.join(process.cwd(), "package.json"));
  const { PrismaClient: Client } = require(
    `./node_modules/.prisma-clients/${sqlite ? "sqlite" : "postgres"}/index.js`,
  ) as { PrismaClient: new (options: object) => Db };
  if (sqlite) return new Client({ adapter: new PrismaLibSQL({ url: databaseUrl }) });
  const db = new Client({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
  pools.set(db, {
    durable: createStatementPool(databaseUrl, { max: 4 }),
    relaxed: createStatementPool(databaseUrl, { max: 3, relaxedCommit: true }),
  });
  return db;
}

/**
 * A few connections for the statements that run once per lead or per delivery attempt (postgresPoolsOf).
 * Prisma spends about three times the CPU of node-postgres on the simplest query (it plans each one in
 * its WebAssembly query compiler), and on these paths one SQL statement does what would be a transaction
 * of several Prisma calls.
 *
 * Those statements are prepared once per connection and always run on their generic plan: planning
 * their CTEs anew for every execution costs PostgreSQL more than running them. A generic plan is made
 * once, from the table statistics of that moment, and kept; so that a plan made while the tables were
 * nearly empty stays right when they hold millions of rows, these connections never scan a table
 * sequentially or join by hashing or merging, and the statements reach every row through a key: a key
 * list (`"id" = ANY($1)`), or a LATERAL subquery with a LIMIT, which the planner keeps as a per-row index
 * lookup. A test on another indexed column (a status) is written `(…) IS TRUE`, which no index serves,
 * so that on small tables the planner cannot prefer that column's index to the key and keep it for good.
 * Prisma's own connections keep PostgreSQL's default planning.
 */
function createStatementPool(databaseUrl: string, options: { max: number; relaxedCommit?: boolean }): pg.Pool {
  const settings = ["plan_cache_mode=force_generic_plan", "enable_seqscan=off", "enable_hashjoin=off", "enable_mergejoin=off"];
  if (options.relaxedCommit) settings.push("synchronous_commit=off");
  const pool = new pg.Pool({
    connectionString: databaseUrl, max: options.max, allowExitOnIdle: true, options: settings.map((s) => `-c ${s}`).join(" "),
    // Only an unreachable database makes a statement wait this long for a connection: each pool is larger
    // than the statements its batchers run at once.
    connectionTimeoutMillis: 10_000,
  });
  pool.on("error", () => undefined);
  return pool;
}

export interface StatementPools {
  /** Commits are flushed to disk before they are acknowledged: for leads, which must never be lost. */
  durable: pg.Pool;
  /**
   * Commits are acknowledged before the write-ahead log reaches the disk (synchronous_commit=off): for
   * the worker's bookkeeping of attempts. A database crash can lose the last fraction of a second of
   * these, and the only consequence is that a delivery is sent again, with its same delivery id, which
   * the receiver contract already allows. It saves a disk flush per statement.
   */
  relaxed: pg.Pool;
}

const pools = new WeakMap<Db, StatementPools>();

/** The statement pools of a PostgreSQL client (see createStatementPool), or null on SQLite. */
export function postgresPoolsOf(db: Db): StatementPools | null {
  return pools.get(db) ?? null;
}

/** A timestamp as PostgreSQL's TIMESTAMP(3) columns hold it (UTC, no zone), the way Prisma writes them. */
export function sqlTimestamp(date: Date): string {
  return date.toISOString().slice(0, 23).replace("T", " ");
}

/** The SQLite file is shared by the web process and worker processes: wait for a lock, never fail at once. */
export async function prepareDb(db: Db, databaseUrl: string): Promise<void> {
  if (databaseUrl.startsWith("file:")) {
    await db.$queryRawUnsafe("PRAGMA busy_timeout = 5000");
  }
}

declare global {
  // One client per process, kept across dev-server module reloads.
  var __tryonDb: Db | undefined;
}

export function getDb(): Db {
  globalThis.__tryonDb ??= createDb(getConfig().DATABASE_URL);
  return globalThis.__tryonDb;
}
