import { randomBytes } from "node:crypto";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { migrateDatabase } from "../../app/lib/db-migrate.server";

/** Admin connection for creating test databases; PostgreSQL must be running (npm test starts it). */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

declare module "vitest" {
  export interface ProvidedContext {
    postgresTemplate: string;
  }
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Builds a migrated template database once per run, named for this run so that runs side by side do not
 * share it; each test file then clones it (fast). Dropped when the run ends.
 */
export default async function setup(project: TestProject) {
  const template = `tryon_template_${randomBytes(4).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE ${template}`));
  await migrateDatabase(POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${template}`));
  project.provide("postgresTemplate", template);
  return async () => {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`));
  };
}
