import type pg from "pg";
import { createBatcher, type Batched } from "../lib/batcher";
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
  destinationId: string;
  url: string;
  kind: string;
  settings: string | null;
  secretCiphertext: string;
  /** Set while a rotated-out secret still signs alongside the new one. */
  previousSecretCiphertext: string | null;
  credentialsCiphertext: string | null;
  backfillId: string | null;
  createdAt: Date;
  shopDomain: string;
}

interface ClaimRequest {
  id: string;
  now: Date;
  leaseMs: number;
}

/**
 * Claims a delivery that is waiting and due, for an active endpoint of an installed shop: one conditional
 * update, so of two workers holding jobs for it exactly one gets a row back (the other, blocked on the
 * row lock, finds the status changed and gets none). Null when the delivery is in any other state; the
 * caller then looks at it the careful way. Claims made at the same moment share one statement.
 */
export function claimDueDelivery(pool: pg.Pool, id: string, now: Date, leaseMs: number): Promise<ClaimedRow | null> {
  return batchersOf(pool).claim({ id, now, leaseMs });
}

async function claimDueDeliveries(pool: pg.Pool, requests: ClaimRequest[]): Promise<(ClaimedRow | null)[]> {
  // A delivery asked for twice in one batch (two jobs for it) is claimed at most once: the first asker
  // gets it, the others get null, as they would from two separate statements.
  const first = new Map<string, ClaimRequest>();
  for (const r of requests) if (!first.has(r.id)) first.set(r.id, r);
  const unique = [...first.values()];
  const { rows } = await pool.query<ClaimedRow & { id: string }>({
    name: "tryon_claim_due_deliveries",
    text: `
      WITH input AS (
        SELECT * FROM unnest($1::text[], $2::timestamp(3)[], $3::timestamp(3)[]) AS i("id", "now", "leaseUntil")
      ), locked AS (
        -- Rows are locked in id order, so two batches that share deliveries cannot deadlock.
        SELECT d."id", d."status", i."now", i."leaseUntil", e."url", e."kind", e."settings", e."secretCiphertext", e."credentialsCiphertext",
          CASE WHEN e."previousSecretUntil" > i."now" THEN e."previousSecretCiphertext" END AS "previousSecretCiphertext",
          s."domain" AS "shopDomain"
        FROM "Delivery" AS d
          JOIN input AS i ON i."id" = d."id"
          CROSS JOIN LATERAL (
            SELECT "url", "kind", "settings", "secretCiphertext", "credentialsCiphertext", "previousSecretCiphertext", "previousSecretUntil" FROM "Destination"
            WHERE "id" = d."destinationId" AND ("state" = 'active') IS TRUE LIMIT 1
          ) AS e
          CROSS JOIN LATERAL (SELECT "domain" FROM "Shop" WHERE "id" = d."shopId" AND "uninstalledAt" IS NULL LIMIT 1) AS s
        WHERE d."id" = ANY($1::text[]) AND (d."status" IN ('pending', 'retrying') AND d."nextAttemptAt" <= i."now") IS TRUE
        ORDER BY d."id"
        FOR UPDATE OF d
      )
      UPDATE "Delivery" AS d
      SET "status" = 'delivering', "attemptCount" = d."attemptCount" + 1, "lockedUntil" = locked."leaseUntil", "updatedAt" = locked."now"
      FROM locked
      WHERE d."id" = ANY($1::text[]) AND d."id" = locked."id"
      RETURNING d."id", d."attemptCount", d."attemptsBeforeReplay", locked."status" AS "previousStatus", d."event", d."payload",
        d."shopId", d."destinationId", d."backfillId", d."createdAt", locked."url", locked."kind", locked."settings", locked."secretCiphertext",
        locked."credentialsCiphertext", locked."previousSecretCiphertext", locked."shopDomain"`,
    values: [
      unique.map((r) => r.id),
      unique.map((r) => sqlTimestamp(r.now)),
      unique.map((r) => sqlTimestamp(new Date(r.now.getTime() + r.leaseMs))),
    ],
  });
  const claimed = new Map(rows.map(({ id, ...row }) => [id, row]));
  return requests.map((r) => {
    const row = first.get(r.id) === r ? claimed.get(r.id) : undefined;
    return row ? { ...row, previousStatus: row.previousStatus === "pending" ? "pending" : "retrying" } : null;
  });
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
 * when this worker no longer holds the attempt (another took it over), and nothing is written. Records
 * made at the same moment share one statement.
 */
export function recordDeliveredAttempt(pool: pg.Pool, attempt: DeliveredAttempt): Promise<boolean> {
  return batchersOf(pool).record(attempt);
}

async function recordDeliveredAttempts(pool: pg.Pool, attempts: DeliveredAttempt[]): Promise<boolean[]> {
  const { rows } = await pool.query<{ id: string; number: number }>({
    name: "tryon_record_delivered_attempts",
    text: `
      WITH input AS (
        SELECT * FROM unnest($1::text[], $2::int[], $3::timestamp(3)[], $4::timestamp(3)[], $5::int[], $6::text[], $7::int[], $8::text[], $9::text[])
          AS i("deliveryId", "number", "finishedAt", "startedAt", "durationMs", "address", "statusCode", "responseExcerpt", "attemptId")
      ), delivery AS (
        UPDATE "Delivery" AS d
        SET "status" = 'delivered', "deliveredAt" = i."finishedAt", "lockedUntil" = NULL, "lastError" = NULL,
          "lastStatusCode" = i."statusCode", "updatedAt" = i."finishedAt"
        FROM input AS i
        WHERE d."id" = ANY($1::text[]) AND d."id" = i."deliveryId" AND d."attemptCount" = i."number"
          AND (d."status" IN ('delivering', 'cancelled')) IS TRUE
        RETURNING d."id", d."destinationId", i.*
      ), attempt AS (
        INSERT INTO "DeliveryAttempt" ("id", "deliveryId", "number", "startedAt", "durationMs", "address", "statusCode", "responseExcerpt")
        SELECT "attemptId", "id", "number", "startedAt", "durationMs", "address", "statusCode", "responseExcerpt" FROM delivery
      ), endpoint AS (
        UPDATE "Destination" AS e SET "consecutiveFailures" = 0, "failingSince" = NULL, "lastSuccessAt" = latest."finishedAt"
        FROM (SELECT "destinationId", max("finishedAt") AS "finishedAt" FROM delivery GROUP BY "destinationId") AS latest
        WHERE e."id" = ANY(ARRAY(SELECT "destinationId" FROM delivery)) AND e."id" = latest."destinationId"
          AND (e."consecutiveFailures" <> 0 OR e."lastSuccessAt" IS NULL
            OR e."lastSuccessAt" <= latest."finishedAt" - interval '${LAST_SUCCESS_RESOLUTION_MS} milliseconds')
      )
      SELECT "id", "number" FROM delivery`,
    values: [
      attempts.map((a) => a.deliveryId),
      attempts.map((a) => a.attempt),
      attempts.map((a) => sqlTimestamp(a.finishedAt)),
      attempts.map((a) => sqlTimestamp(a.startedAt)),
      attempts.map((a) => a.durationMs),
      attempts.map((a) => a.address),
      attempts.map((a) => a.statusCode),
      attempts.map((a) => a.responseExcerpt),
      attempts.map((a) => newId(a.finishedAt.getTime())),
    ],
  });
  const recorded = new Set(rows.map((r) => `${r.id}#${r.number}`));
  return attempts.map((a) => recorded.has(`${a.deliveryId}#${a.attempt}`));
}

interface Batchers {
  claim: Batched<ClaimRequest, ClaimedRow | null>;
  record: Batched<DeliveredAttempt, boolean>;
}

const batchers = new WeakMap<pg.Pool, Batchers>();

/** One pair per pool: every worker of a process shares its statements. */
function batchersOf(pool: pg.Pool): Batchers {
  let found = batchers.get(pool);
  if (!found) {
    found = {
      claim: createBatcher({ runBatch: (requests) => claimDueDeliveries(pool, requests), maxBatch: 50, maxInFlight: 1 }),
      record: createBatcher({ runBatch: (attempts) => recordDeliveredAttempts(pool, attempts), maxBatch: 50, maxInFlight: 1 }),
    };
    batchers.set(pool, found);
  }
  return found;
}
