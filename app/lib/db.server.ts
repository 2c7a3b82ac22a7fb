import { createRequire } from "node:module";
import path from "node:path";
import { PrismaLibSQL } from "@prisma/adapter-libsql";
import { PrismaPg } from "@prisma/adapter-pg";
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
  const adapter = sqlite ? new PrismaLibSQL({ url: databaseUrl }) : new PrismaPg({ connectionString: databaseUrl });
  return new Client({ adapter });
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
