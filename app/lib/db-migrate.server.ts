import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/**
 * Applies the committed SQL migrations in order, once each, recording them in `_app_migrations`.
 * Prisma's own `migrate deploy` needs a native engine this project does not download, so this small
 * runner applies the same files that `scripts/db-migration.mjs` writes with Prisma's diff.
 */
export async function migrateDatabase(databaseUrl: string, root = process.cwd()): Promise<string[]> {
  const sqlite = databaseUrl.startsWith("file:");
  const folder = migrationsFolder(databaseUrl, root);
  const names = await migrationNames(databaseUrl, root);
  const runner = sqlite ? await sqliteRunner(databaseUrl) : await postgresRunner(databaseUrl);
  const applied: string[] = [];
  try {
    await runner.exec(
      'CREATE TABLE IF NOT EXISTS "_app_migrations" ("name" TEXT PRIMARY KEY, "appliedAt" TEXT NOT NULL)',
    );
    const done = new Set(await runner.appliedNames());
    for (const name of names) {
      if (done.has(name)) continue;
      const sql = await readFile(path.join(folder, name, "migration.sql"), "utf8");
      await runner.applyInTransaction(sql, name);
      applied.push(name);
    }
  } finally {
    await runner.close();
  }
  return applied;
}

function migrationsFolder(databaseUrl: string, root: string): string {
  return path.join(root, databaseUrl.startsWith("file:") ? "prisma/migrations" : "prisma/postgres/migrations");
}

/** The committed migrations for this database, in the order they apply. */
export async function migrationNames(databaseUrl: string, root = process.cwd()): Promise<string[]> {
  return (await readdir(migrationsFolder(databaseUrl, root), { withFileTypes: true }))
    .filter((d) => d.isDirectory() && /^\d{14}_/.test(d.name))
    .map((d) => d.name)
    .sort();
}

interface Runner {
  exec(sql: string): Promise<void>;
  appliedNames(): Promise<string[]>;
  applyInTransaction(sql: string, name: string): Promise<void>;
  close(): Promise<void>;
}

async function sqliteRunner(url: string): Promise<Runner> {
  const { createClient } = await import("@libsql/client");
  const client = createClient({ url });
  // Rollback journal, not WAL: libSQL's WAL mode fails with "disk I/O error" when a transaction's own
  // connection and the main connection share the file, and hides one process's commits from another.
  await client.execute("PRAGMA journal_mode = DELETE");
  return {
    exec: async (sql) => void (await client.execute(sql)),
    appliedNames: async () => (await client.execute('SELECT "name" FROM "_app_migrations"')).rows.map((r) => String(r.name)),
    applyInTransaction: async (sql, name) => {
      const tx = await client.transaction("write");
      try {
        await tx.executeMultiple(sql);
        await tx.execute({ sql: 'INSERT INTO "_app_migrations" ("name", "appliedAt") VALUES (?, ?)', args: [name, new Date().toISOString()] });
        await tx.commit();
      } catch (error) {
        await tx.rollback();
        throw error;
      }
    },
    close: async () => client.close(),
  };
}

async function postgresRunner(url: string): Promise<Runner> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // One migrator at a time, even with several app processes starting together.
  await client.query("SELECT pg_advisory_lock(72854001)");
  return {
    exec: async (sql) => void (await client.query(sql)),
    appliedNames: async () => (await client.query('SELECT "name" FROM "_app_migrations"')).rows.map((r) => String(r.name)),
    applyInTransaction: async (sql, name) => {
      await client.query("BEGIN");
      try {
        await client.query(sql);
        await client.query('INSERT INTO "_app_migrations" ("name", "appliedAt") VALUES ($1, $2)', [name, new Date().toISOString()]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
    },
    close: async () => {
      await client.query("SELECT pg_advisory_unlock(72854001)").catch(() => undefined);
      await client.end();
    },
  };
}
