import { Session } from "@shopify/shopify-api";
import { PrismaSessionStorage } from "@shopify/shopify-app-session-storage-prisma";
import { describe, expect, it, vi } from "vitest";
import { getDb, postgresPoolsOf } from "../../app/lib/db.server";
import { createSessionStorage } from "../../app/shops/session-storage.server";

/**
 * The app's session storage loads sessions with its own statement on PostgreSQL and through the Prisma
 * package elsewhere: whatever a session holds, both give the same Session.
 */

const SESSIONS = [
  new Session({
    id: "offline_session-a.myshopify.com", shop: "session-a.myshopify.com", state: "installed", isOnline: false,
    scope: "write_customers", accessToken: "shpat_a", expires: new Date("2026-12-05T10:11:12.345Z"),
    refreshToken: "shprt_a", refreshTokenExpires: new Date("2027-01-04T00:00:00.007Z"),
  }),
  new Session({ id: "offline_session-b.myshopify.com", shop: "session-b.myshopify.com", state: "", isOnline: false, accessToken: "shpat_b" }),
  new Session({
    id: "session-c.myshopify.com_9007199254740993", shop: "session-c.myshopify.com", state: "st", isOnline: true, scope: "read_customers",
    accessToken: "shpua_c", expires: new Date("2026-12-04T23:59:59.999Z"),
    onlineAccessInfo: {
      expires_in: 86399, associated_user_scope: "read_customers",
      associated_user: {
        id: 9007199254740993, first_name: "Ana", last_name: "Lima", email: "ana@example.com", email_verified: true,
        account_owner: false, locale: "pt-BR", collaborator: true,
      },
    },
  }),
];

// On SQLite the app's storage is the Prisma package's own: there is nothing to compare.
describe.runIf(process.env.TEST_DB === "postgres")("session storage on PostgreSQL", () => {
  it("loads every kind of session exactly as the Prisma session storage does, and nothing for an unknown id", async () => {
    const db = getDb();
    const ours = createSessionStorage(db);
    const reference = new PrismaSessionStorage(db as never);
    // Count the app's own session statements on the statement pool.
    const pool = postgresPoolsOf(db)!.durable;
    const query = pool.query.bind(pool);
    let ownReads = 0;
    const spy = vi.spyOn(pool, "query").mockImplementation(((config: unknown, ...rest: unknown[]) => {
      if ((config as { name?: string } | null)?.name === "tryon_load_session") ownReads++;
      return (query as (...args: unknown[]) => unknown)(config, ...rest);
    }) as typeof pool.query);
    for (const session of SESSIONS) {
      await ours.storeSession(session);
      const loaded = await ours.loadSession(session.id);
      const expected = await reference.loadSession(session.id);
      expect(typeof loaded!.isActive).toBe("function");
      expect(loaded!.toPropertyArray(true)).toEqual(expected!.toPropertyArray(true));
      expect(loaded!.accessToken).toBe(session.accessToken);
      expect(loaded!.expires?.toISOString()).toBe(session.expires?.toISOString());
    }
    expect(await ours.loadSession("offline_nobody.myshopify.com")).toBeUndefined();
    // Every load above went through the app's own statement, not Prisma.
    expect(ownReads).toBe(SESSIONS.length + 1);
    spy.mockRestore();
    await ours.deleteSessions(SESSIONS.map((s) => s.id));
    expect(await ours.loadSession(SESSIONS[0].id)).toBeUndefined();
  });
});
