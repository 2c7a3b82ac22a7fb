import type pg from "pg";
import { newId } from "../lib/ids";
import { sqlTimestamp } from "../lib/db.server";

/**
 * The two statements of an ordinary delivery attempt on PostgreSQL: take a due delivery, and record
 * that it landed. Each is one round trip that reads or changes the delivery, its endpoint and its shop
 * together, where the portable path in process-delivery.server.ts needs a transaction of several Prisma
 * calls. Anything unusual (a lease to take over, an endpoint that is no longer active, a failed attempt)
 * goes through that portable path, which is also the only path on SQLite.
 */

export interface ClaimedRow {
  attemptCount: number;
  attemptsBeforeReplay: number;
  /** The status before the claim: where the delivery goes back to if the claim is given up unused. */
  previousStatus: "pending" | "retrying";
  event: string;
  payload: string;
  shopId: string;
  endpointId: string;
  url: string;
  secretCiphertext: string;
  /** Set while a rotated-out secret still signs alongside the new one. */
  previousSecretCiphertext: string | null;
  shopDomain: string;
}

/**
 * Claims a delivery that is waiting and due, for an active endpoint of an installed shop: one conditional
 * update, so of two workers holding jobs for it exactly one gets a row back (the other, blocked on the
 * row lock, finds the status changed and gets none). Null when the delivery is in any other state; the
 * caller then looks at it the careful way.
 */
export async function claimDueDelivery(pool: pg.Pool, id: string, now: Date, leaseMs: number): Promise<ClaimedRow | null> {
  const { rows } = await pool.query<ClaimedRow>({
    name: "tryon_claim_due_delivery",
    text: `
      UPDATE "Delivery" AS d
      SET "status" = 'delivering', "attemptCount" = d."attemptCount" + 1, "lockedUntil" = $3::timestamp(3), "updatedAt" = $2::timestamp(3)
      FROM "WebhookEndpoint" AS e, "Shop" AS s, (SELECT "status" FROM "Delivery" WHERE "id" = $1) AS before
      WHERE d."id" = $1
        AND d."status" IN ('pending', 'retrying') AND d."nextAttemptAt" <= $2::timestamp(3)
        AND e."id" = d."endpointId" AND e."state" = 'active'
        AND s."id" = d."shopId" AND s."uninstalledAt" IS NULL
      RETURNING d."attemptCount", d."attemptsBeforeReplay", before."status" AS "previousStatus", d."event", d."payload",
        d."shopId", d."endpointId", e."url", e."secretCiphertext",
        CASE WHEN e."previousSecretUntil" > $2::timestamp(3) THEN e."previousSecretCiphertext" END AS "previousSecretCiphertext",
        s."domain" AS "shopDomain"`,
    values: [id, sqlTimestamp(now), sqlTimestamp(new Date(now.getTime() + leaseMs))],
  });
  const row = rows[0];
  if (!row) return null;
  // A status changed by a concurrent writer between the snapshot and the lock is still one of the two.
  return { ...row, previousStatus: row.previousStatus === "pending" ? "pending" : "retrying" };
}

export interface DeliveredAttempt {
  deliveryId: string;
  attempt: number;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  address: string | null;
  statusCode: number | null;
  responseExcerpt: string | null;
}

/**
 * How stale an endpoint's "last success" may get before a delivery refreshes it. Without this every
 * delivery would update the endpoint's one row, and concurrent deliveries to one endpoint would queue
 * on its lock. A run of failures is always cleared at once.
 */
export const LAST_SUCCESS_RESOLUTION_MS = 5_000;

/**
 * Records a 2xx: the delivery is delivered (also if it was cancelled while the request was in flight:
 * the receiver has the lead), the attempt joins the history, the endpoint's health is refreshed. False
 * when this worker no longer holds the attempt (another took it over), and nothing is written.
 */
export async function recordDeliveredAttempt(pool: pg.Pool, a: DeliveredAttempt): Promise<boolean> {
  const finishedAt = sqlTimestamp(a.finishedAt);
  const { rows } = await pool.query<{ recorded: number }>({
    name: "tryon_record_delivered_attempt",
    text: `
      WITH delivery AS (
        UPDATE "Delivery"
        SET "status" = 'delivered', "deliveredAt" = $3::timestamp(3), "lockedUntil" = NULL, "lastError" = NULL,
          "lastStatusCode" = $4::int, "updatedAt" = $3::timestamp(3)
        WHERE "id" = $1 AND "attemptCount" = $2::int AND "status" IN ('delivering', 'cancelled')
        RETURNING "id", "endpointId"
      ), attempt AS (
        INSERT INTO "DeliveryAttempt" ("id", "deliveryId", "number", "startedAt", "durationMs", "address", "statusCode", "responseExcerpt")
        SELECT $5, delivery."id", $2::int, $6::timestamp(3), $7::int, $8, $4::int, $9 FROM delivery
      ), endpoint AS (
        UPDATE "WebhookEndpoint" AS e SET "consecutiveFailures" = 0, "lastSuccessAt" = $3::timestamp(3)
        FROM delivery
        WHERE e."id" = delivery."endpointId"
          AND (e."consecutiveFailures" <> 0 OR e."lastSuccessAt" IS NULL OR e."lastSuccessAt" <= $10::timestamp(3))
      )
      SELECT count(*)::int AS recorded FROM delivery`,
    values: [
      a.deliveryId, a.attempt, finishedAt, a.statusCode, newId(a.finishedAt.getTime()), sqlTimestamp(a.startedAt), a.durationMs,
      a.address, a.responseExcerpt, sqlTimestamp(new Date(a.finishedAt.getTime() - LAST_SUCCESS_RESOLUTION_MS)),
    ],
  });
  return rows[0]?.recorded === 1;
}
