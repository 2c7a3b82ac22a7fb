import pg from "pg";
import { migrateDatabase } from "../../app/lib/db-migrate.server";

/** Admin connection for creating test databases; PostgreSQL must be running (npm test starts it). */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
export const TEMPLATE_DB = "tryon_test_template";

/** Builds a migrated template database once per run; each test file then clones it (fast). */
export default async function setup() {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await client.end();
  }
  await migrateDatabase(POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${TEMPLATE_DB}`));
}
