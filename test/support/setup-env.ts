import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, inject } from "vitest";
import { Redis } from "ioredis";
import { migrateDatabase } from "../../app/lib/db-migrate.server";
import { closeProducers } from "../../app/runtime/producers.server";
import { POSTGRES_ADMIN_URL } from "./postgres-template";

/**
 * Runs before each test file: a database of its own (a fresh SQLite file, or a PostgreSQL clone of the
 * migrated template) and the app's settings, using the same API key and secret as Shopify's test helpers
 * so that their session tokens, proxy signatures and webhook HMACs verify.
 */
import { TEST_API_KEY, TEST_API_SECRET, TEST_APP_URL } from "./test-app";

export { TEST_API_KEY, TEST_API_SECRET, TEST_APP_URL };

const id = randomBytes(6).toString("hex");
let databaseUrl: string;
let cleanup: () => Promise<void>;

if (process.env.TEST_DB === "postgres") {
  const name = `tryon_test_${id}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject("postgresTemplate")}`);
  await admin.end();
  databaseUrl = POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  cleanup = async () => {
    const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
} else {
  const file = path.join(os.tmpdir(), `tryon-test-${id}.sqlite`);
  databaseUrl = `file:${file}`;
  await migrateDatabase(databaseUrl);
  cleanup = async () => {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
  };
}

Object.assign(process.env, {
  NODE_ENV: "test",
  SHOPIFY_API_KEY: TEST_API_KEY,
  SHOPIFY_API_SECRET: TEST_API_SECRET,
  SHOPIFY_APP_URL: TEST_APP_URL,
  SCOPES: "write_customers",
  DATABASE_URL: databaseUrl,
  REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
  ENCRYPTION_KEYS: `1:${randomBytes(32).toString("base64")}`,
  RUN_WORKER_IN_PROCESS: "false",
  // Worker processes serve no HTTP port unless a test gives them one (several run at once on this machine).
  WORKER_HTTP_PORT: "0",
  LOG_LEVEL: "silent",
  // Redis keys of this file only, removed when it ends.
  QUEUE_PREFIX: `t${id}`,
});

afterAll(async () => {
  await closeProducers();
  await deleteRedisKeys(`t${id}:*`);
  await globalThis.__tryonDb?.$disconnect();
  globalThis.__tryonDb = undefined;
  await cleanup();
});

async function deleteRedisKeys(pattern: string) {
  const redis = new Redis(process.env.REDIS_URL!);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
