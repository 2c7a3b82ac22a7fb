import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { setEnvForFile } from "../support/env-for-file";

/**
 * The capture route when PostgreSQL is not keeping up: a web process holds at most CAPTURE_MAX_WAITING captures
 * waiting for the write in progress, then answers 503 with Retry-After instead of holding ever more requests;
 * nothing is half-written, and the widget's retry with the same idempotency key stores the lead once. Here the
 * database is made to stall by another session holding the lead table's lock. The settings are read once per
 * process, so the limit is in place before any of the app is loaded. (SQLite writes in the request itself.)
 */

const restoreEnv = setEnvForFile({ CAPTURE_MAX_WAITING: "1" });

const { action } = await import("../../app/routes/proxy.capture");
const { getDb } = await import("../../app/lib/db.server");
const { getConfig } = await import("../../app/lib/config.server");
const { installShop } = await import("../support/shopify");
const { captureBody, proxyRequest } = await import("../support/app-proxy");

afterAll(restoreEnv);

describe.runIf(process.env.TEST_DB === "postgres")("capture while the database is not keeping up", () => {
  it("answers 503 with Retry-After past the waiting captures, and the retry with the same key stores the lead once", async () => {
    const shop = await installShop(`busy-db-${randomBytes(4).toString("hex")}.myshopify.com`);
    const capture = (body: Record<string, unknown>, i: number) =>
      action({ request: proxyRequest(shop.domain, body), params: {}, context: { socketAddress: `192.0.2.${100 + i}` } });
    const bodies = [0, 1, 2].map(() => captureBody());

    const blocker = new pg.Client({ connectionString: getConfig().DATABASE_URL });
    await blocker.connect();
    let locked = true;
    let refusedBody: Record<string, unknown> = {};
    try {
      await blocker.query("BEGIN");
      await blocker.query('LOCK TABLE "Lead" IN ACCESS EXCLUSIVE MODE');
      // One capture's write is under way (and stalls), one waits behind it: that is all a process holds here.
      const first = capture(bodies[0], 0);
      await waitForLockWaiters(blocker, 1);
      // Of the next two, whichever reaches the writer second is refused at once; the other waits.
      const next = [capture(bodies[1], 1), capture(bodies[2], 2)];
      const settled = await Promise.race(next.map((p, i) => p.then((response) => ({ response, i }))));
      const refused = settled.response;
      refusedBody = bodies[1 + settled.i];
      const second = next[1 - settled.i];
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("5");
      expect(await refused.json()).toEqual({ error: { field: "server", message: expect.stringMatching(/try again/) } });

      await blocker.query("ROLLBACK");
      locked = false;
      expect([(await first).status, (await second).status]).toEqual([201, 201]);
    } finally {
      if (locked) await blocker.query("ROLLBACK").catch(() => undefined);
      await blocker.end();
    }

    // The widget sends the refused submission again, with its key: stored once.
    expect((await capture(refusedBody, 3)).status).toBe(201);
    expect((await capture(refusedBody, 4)).status).toBe(200);
    expect(await getDb().lead.count({ where: { shopId: shop.id } })).toBe(3);
  });
});

/** Until `count` other sessions wait for a lock (the stalled write). */
async function waitForLockWaiters(client: pg.Client, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_locks WHERE NOT granted");
    if (Number(rows[0].n) >= count) return;
    if (Date.now() > deadline) throw new Error("no write came to wait for the lock");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
