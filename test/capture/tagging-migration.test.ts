import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { getConfig } from "../../app/lib/config.server";
import { migrateDatabase } from "../../app/lib/db-migrate.server";
import { POSTGRES_ADMIN_URL } from "../support/postgres-template";

/**
 * The migration that gives leads a tagging state, applied to a database holding leads from before it: tagged
 * leads are done, untagged ones pending (so the reconciler finally tags them), and nothing else is touched.
 */

const MIGRATION = "_lead_tagging_state";
const sqlite = getConfig().databaseProvider === "sqlite";
const folder = sqlite ? "prisma/migrations" : "prisma/postgres/migrations";
const scratch = mkdtempSync(path.join(os.tmpdir(), "tagging-migration-"));
const name = `tryon_mig_${randomBytes(4).toString("hex")}`;
const url = sqlite ? `file:${path.join(scratch, "db.sqlite")}` : POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);

interface Sql {
  run(statement: string): Promise<void>;
  rows(statement: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function connect(): Promise<Sql> {
  if (sqlite) {
    const { createClient } = await import("@libsql/client");
    const client = createClient({ url });
    return {
      run: async (s) => void (await client.execute(s)),
      rows: async (s) => (await client.execute(s)).rows.map((r) => ({ ...r })),
      close: async () => client.close(),
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return { run: async (s) => void (await client.query(s)), rows: async (s) => (await client.query(s)).rows, close: () => client.end() };
}

async function admin(statement: string) {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  await client.query(statement).finally(() => client.end());
}

describe("the lead tagging state migration", () => {
  afterAll(async () => {
    if (!sqlite) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    rmSync(scratch, { recursive: true, force: true });
  });

  it("GIVEN leads stored before it THEN tagged ones are done, untagged ones pending, and their deliveries kept", async () => {
    if (!sqlite) await admin(`CREATE DATABASE ${name}`);
    // Every migration up to this one, from a copy of the folder without it.
    const earlier = path.join(scratch, "earlier");
    cpSync(folder, path.join(earlier, folder), { recursive: true });
    const mine = readdirSync(folder).find((f) => f.endsWith(MIGRATION))!;
    expect(mine).toBeTruthy();
    for (const later of readdirSync(folder).filter((f) => /^\d{14}_/.test(f) && f >= mine)) rmSync(path.join(earlier, folder, later), { recursive: true });
    await migrateDatabase(url, earlier);

    const sql = await connect();
    try {
      const t = sqlite ? "1" : "true";
      const f = sqlite ? "0" : "false";
      await sql.run(`INSERT INTO "Shop" ("id", "domain") VALUES ('s1', 'old.myshopify.com')`);
      for (const [id, tagged] of [["tagged-lead", t], ["untagged-lead", f]]) {
        await sql.run(`INSERT INTO "Lead" ("id", "shopId", "email", "emailSearch", "productId", "productTitle", "productUrl", "consent", "tagged")
          VALUES ('${id}', 's1', 'a@example.com', 'a@example.com', 'p', 'P', 'https://old.example/p', ${t}, ${tagged})`);
      }
      // The tables as they were then (before destinations).
      await sql.run(`INSERT INTO "WebhookEndpoint" ("id", "shopId", "url", "secretCiphertext", "secretKeyVersion") VALUES ('e1', 's1', 'https://crm.example/h', 'x', 1)`);
      await sql.run(`INSERT INTO "Delivery" ("id", "shopId", "endpointId", "leadId", "event", "payload", "updatedAt")
        VALUES ('d1', 's1', 'e1', 'untagged-lead', 'lead_captured', '{}', CURRENT_TIMESTAMP)`);
    } finally {
      await sql.close();
    }

    expect(await migrateDatabase(url)).toEqual([mine, ...readdirSync(folder).filter((f) => /^\d{14}_/.test(f) && f > mine).sort()]);
    const after = await connect();
    try {
      const leads = await after.rows(`SELECT "id", "taggingState", "taggingError" FROM "Lead" ORDER BY "id"`);
      expect(leads).toEqual([
        { id: "tagged-lead", taggingState: "done", taggingError: null },
        { id: "untagged-lead", taggingState: "pending", taggingError: null },
      ]);
      expect(await after.rows(`SELECT "id", "leadId" FROM "Delivery"`)).toEqual([{ id: "d1", leadId: "untagged-lead" }]);
    } finally {
      await after.close();
    }
  });
});
