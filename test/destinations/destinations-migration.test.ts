import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { getConfig } from "../../app/lib/config.server";
import { migrateDatabase } from "../../app/lib/db-migrate.server";
import { decryptSecret, encryptSecret } from "../../app/lib/secret-box.server";
import { POSTGRES_ADMIN_URL } from "../support/postgres-template";
import { testKeyRing } from "../support/delivery";

/**
 * The migration that turns the shop's webhook endpoint into a destination, applied to a database holding an
 * endpoint from before it: its id, secrets (still decrypting, since they are bound to that id), rotation
 * overlap, delivery log and pending deliveries all survive, and the shop's redaction switch becomes the
 * destination's events.
 */

const MIGRATION = "_destinations";
const sqlite = getConfig().databaseProvider === "sqlite";
const folder = sqlite ? "prisma/migrations" : "prisma/postgres/migrations";
const scratch = mkdtempSync(path.join(os.tmpdir(), "destinations-migration-"));
const name = `tryon_mig_${randomBytes(4).toString("hex")}`;
const url = sqlite ? `file:${path.join(scratch, "db.sqlite")}` : POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);

interface Sql {
  run(statement: string, args?: unknown[]): Promise<void>;
  rows(statement: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function connect(): Promise<Sql> {
  if (sqlite) {
    const { createClient } = await import("@libsql/client");
    const client = createClient({ url });
    await client.execute("PRAGMA foreign_keys = ON");
    return {
      run: async (s, args = []) => void (await client.execute({ sql: s.replace(/\$\d+/g, "?"), args: args as never })),
      rows: async (s) => (await client.execute(s)).rows.map((r) => ({ ...r })),
      close: async () => client.close(),
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return { run: async (s, args = []) => void (await client.query(s, args)), rows: async (s) => (await client.query(s)).rows, close: () => client.end() };
}

async function admin(statement: string) {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  await client.query(statement).finally(() => client.end());
}

describe("the destinations migration", () => {
  afterAll(async () => {
    if (!sqlite) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    rmSync(scratch, { recursive: true, force: true });
  });

  it("GIVEN a connected webhook endpoint with secrets, history and pending work THEN it becomes a webhook destination with all of it", async () => {
    if (!sqlite) await admin(`CREATE DATABASE ${name}`);
    const earlier = path.join(scratch, "earlier");
    cpSync(folder, path.join(earlier, folder), { recursive: true });
    const mine = readdirSync(folder).find((f) => f.endsWith(MIGRATION))!;
    expect(mine).toBeTruthy();
    for (const later of readdirSync(folder).filter((f) => /^\d{14}_/.test(f) && f >= mine)) rmSync(path.join(earlier, folder, later), { recursive: true });
    await migrateDatabase(url, earlier);

    const ring = testKeyRing();
    // Secrets sealed as the app sealed them before: bound to the endpoint's id.
    const binding = { shopId: "s1", destinationId: "ep1", purpose: "webhook-signing" } as const;
    const current = encryptSecret("whsec_current", ring, binding);
    const previous = encryptSecret("whsec_previous", ring, binding);
    const overlapUntil = new Date(Date.now() + 3_600_000);
    const t = sqlite ? 1 : true;
    const sql = await connect();
    try {
      await sql.run(`INSERT INTO "Shop" ("id", "domain", "sendRedactionEvents") VALUES ('s1', 'old.myshopify.com', $1), ('s2', 'other.myshopify.com', $2)`, [t, sqlite ? 0 : false]);
      await sql.run(
        `INSERT INTO "WebhookEndpoint" ("id", "shopId", "url", "state", "secretCiphertext", "secretKeyVersion", "previousSecretCiphertext", "previousSecretKeyVersion", "previousSecretUntil", "consecutiveFailures")
         VALUES ('ep1', 's1', 'https://crm.example/hook', 'active', $1, $2, $3, $4, $5, 2)`,
        [current.stored, current.keyVersion, previous.stored, previous.keyVersion, sqlite ? overlapUntil.getTime() : overlapUntil],
      );
      await sql.run(`INSERT INTO "WebhookEndpoint" ("id", "shopId", "url", "secretCiphertext", "secretKeyVersion") VALUES ('ep2', 's2', 'https://other.example/h', 'x', 1)`);
      await sql.run(`INSERT INTO "Lead" ("id", "shopId", "email", "emailSearch", "productId", "productTitle", "productUrl", "consent")
        VALUES ('l1', 's1', 'a@example.com', 'a@example.com', '8001', 'P', 'https://old.example/p', $1)`, [t]);
      await sql.run(`INSERT INTO "Delivery" ("id", "shopId", "endpointId", "leadId", "event", "payload", "status", "attemptCount", "updatedAt")
        VALUES ('d-delivered', 's1', 'ep1', 'l1', 'lead_captured', '{"a":1}', 'delivered', 1, CURRENT_TIMESTAMP),
               ('d-pending', 's1', 'ep1', NULL, 'test', '{"b":2}', 'retrying', 2, CURRENT_TIMESTAMP)`);
      await sql.run(`INSERT INTO "DeliveryAttempt" ("id", "deliveryId", "number", "startedAt", "durationMs", "statusCode")
        VALUES ('a1', 'd-delivered', 1, CURRENT_TIMESTAMP, 12, 200), ('a2', 'd-pending', 1, CURRENT_TIMESTAMP, 9, 500), ('a3', 'd-pending', 2, CURRENT_TIMESTAMP, 9, 500)`);
    } finally {
      await sql.close();
    }

    const applied = await migrateDatabase(url);
    expect(applied[0]).toBe(mine);

    const after = await connect();
    try {
      const [destination] = await after.rows(`SELECT * FROM "Destination" WHERE "id" = 'ep1'`);
      expect(destination).toMatchObject({
        id: "ep1", shopId: "s1", kind: "webhook", name: "Webhook", state: "active", url: "https://crm.example/hook",
        events: '["lead_captured","lead_redacted"]', productIds: null, consecutiveFailures: 2,
        secretCiphertext: current.stored, previousSecretCiphertext: previous.stored,
      });
      // The secrets still open under the same binding: the destination kept the endpoint's id.
      expect(decryptSecret(String(destination.secretCiphertext), ring, binding)).toBe("whsec_current");
      expect(decryptSecret(String(destination.previousSecretCiphertext), ring, binding)).toBe("whsec_previous");
      const [other] = await after.rows(`SELECT "events" FROM "Destination" WHERE "id" = 'ep2'`);
      expect(other.events).toBe('["lead_captured"]');

      const deliveries = await after.rows(`SELECT "id", "destinationId", "status", "attemptCount", "payload" FROM "Delivery" ORDER BY "id"`);
      expect(deliveries).toEqual([
        { id: "d-delivered", destinationId: "ep1", status: "delivered", attemptCount: 1, payload: '{"a":1}' },
        { id: "d-pending", destinationId: "ep1", status: "retrying", attemptCount: 2, payload: '{"b":2}' },
      ]);
      expect((await after.rows(`SELECT "id" FROM "DeliveryAttempt" ORDER BY "id"`)).map((r) => r.id)).toEqual(["a1", "a2", "a3"]);

      // One delivery per lead, destination and event from now on.
      await expect(after.run(`INSERT INTO "Delivery" ("id", "shopId", "destinationId", "leadId", "event", "payload", "updatedAt")
        VALUES ('d-dup', 's1', 'ep1', 'l1', 'lead_captured', '{}', CURRENT_TIMESTAMP)`)).rejects.toThrow();
      // The foreign key followed the rename: removing the destination removes its deliveries and their attempts.
      await after.run(`DELETE FROM "Destination" WHERE "id" = 'ep1'`);
      expect(await after.rows(`SELECT "id" FROM "Delivery"`)).toEqual([]);
      expect(await after.rows(`SELECT "id" FROM "DeliveryAttempt"`)).toEqual([]);
    } finally {
      await after.close();
    }
  });
});
