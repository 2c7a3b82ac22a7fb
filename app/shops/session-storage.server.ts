import type { Session } from "@shopify/shopify-api";
import { PrismaSessionStorage } from "@shopify/shopify-app-session-storage-prisma";
import { postgresPoolsOf, type Db } from "../lib/db.server";

/**
 * Shopify sessions in our database, through the Prisma session storage package, except that on PostgreSQL
 * a session is loaded with one prepared statement on the statement pool (see createStatementPool): every
 * storefront capture and every tagging loads the shop's offline session, and Prisma spends several times the
 * CPU of node-postgres on that read. The row becomes a Session through the package's own mapping, so both
 * paths give the same Session (a test compares them).
 */
export type SessionStorage = Pick<PrismaSessionStorage<never>, "storeSession" | "loadSession" | "deleteSession" | "deleteSessions" | "findSessionsByShop">;

export function createSessionStorage(db: Db): SessionStorage {
  const prisma = new PrismaSessionStorage(db as never);
  const pool = postgresPoolsOf(db)?.durable;
  if (!pool) return prisma;
  const toSession = (row: SessionRow): Session => (prisma as unknown as { rowToSession(row: SessionRow): Session }).rowToSession(row);
  return {
    storeSession: (session) => prisma.storeSession(session),
    deleteSession: (id) => prisma.deleteSession(id),
    deleteSessions: (ids) => prisma.deleteSessions(ids),
    findSessionsByShop: (shop) => prisma.findSessionsByShop(shop),
    async loadSession(id) {
      const { rows } = await pool.query<SessionRow>({
        name: "tryon_load_session",
        // Timestamps are read as UTC instants (TIMESTAMP(3) columns hold UTC without a zone, as Prisma writes them).
        text: `
          SELECT "id", "shop", "state", "isOnline", "scope", "expires" AT TIME ZONE 'UTC' AS "expires", "accessToken", "userId",
            "firstName", "lastName", "email", "accountOwner", "locale", "collaborator", "emailVerified", "refreshToken",
            "refreshTokenExpires" AT TIME ZONE 'UTC' AS "refreshTokenExpires"
          FROM "Session" WHERE "id" = $1`,
        values: [id],
      });
      return rows[0] ? toSession(rows[0]) : undefined;
    },
  };
}

/** A Session row as both Prisma and node-postgres give it (the user id is a BigInt from one, a string from the other). */
interface SessionRow {
  id: string;
  shop: string;
  state: string;
  isOnline: boolean;
  scope: string | null;
  expires: Date | null;
  accessToken: string;
  userId: bigint | string | null;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  accountOwner: boolean;
  locale: string | null;
  collaborator: boolean | null;
  emailVerified: boolean | null;
  refreshToken: string | null;
  refreshTokenExpires: Date | null;
}
