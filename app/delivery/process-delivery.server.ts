import type { Logger } from "pino";
import { postgresPoolsOf, type Db, type Prisma } from "../lib/db.server";
import { recordDeliveryAttempt, recordLeadDelivered, type DeliveryOutcomeLabel } from "../lib/metrics.server";
import { decryptSecret, SecretDecryptionError, type KeyRing, type SecretBinding } from "../lib/secret-box.server";
import { claimDueDelivery, LAST_SUCCESS_RESOLUTION_MS, recordDeliveredAttempt } from "./attempt-sql.server";
import type { Clock } from "./clock";
import type { WebhookRequest } from "./http-sender.server";
import { isDestinationKind, type DestinationKind } from "./destination-rules";
import { webhookSender, type AttemptContext, type DestinationSender, type DestinationSenders } from "./destination-sender";
import { MAX_RETRY_DELAY_MS, nextRetryDelayMs, remainingWindowMs, RETRY_DELAYS_MS } from "./retry-schedule";
import type { AttemptFailure, AttemptResult, DeliveryErrorCode, DeliveryStatus, WebhookEvent } from "./types";

/**
 * One look at one delivery: the whole of what a job does. The Delivery row decides everything; the job
 * that triggered this may be a duplicate, a replay of an old job, or arrive after Redis lost its state,
 * and none of that may cause a second send of a delivered lead or a send to a disconnected endpoint.
 */

export type SendWebhook = (request: WebhookRequest) => Promise<AttemptResult>;

export interface ProcessDeliveryDeps {
  db: Db;
  send: SendWebhook;
  keyRing: KeyRing;
  clock: Clock;
  logger: Logger;
  /** How long a claimed attempt may run before another worker may take the delivery over. */
  leaseMs: number;
  /** Enqueues the job for a later attempt (`attempt` is its number) to the delivery's destination. */
  scheduleAttempt: (deliveryId: string, attempt: number, delayMs: number, destinationId: string) => Promise<unknown>;
  /** Jitter source for the retry schedule. */
  random?: () => number;
  /** The waits between attempts (RETRY_SCHEDULE); the published schedule by default. */
  retrySchedule?: readonly number[];
  /** How destinations of other kinds than the signed webhook are sent (Klaviyo, HTTP requests). */
  senders?: DestinationSenders;
  /**
   * When given, the attempt's outcome is written after processDelivery has returned "sent": the caller
   * takes the recording and must wait for it before it stops. The worker uses this so that a send slot
   * is free as soon as the receiver has answered, and the records of many slots share one statement.
   */
  recordLater?: (recording: Promise<ProcessOutcome>) => void;
}

export type ProcessOutcome =
  | "delivered"
  | "retrying"
  | "failed"
  /** 410 Gone: the endpoint is paused and the delivery waits for it. */
  | "endpoint_paused"
  | "not_found"
  /** Delivered, failed or cancelled already: nothing to do. */
  | "finished"
  /** The endpoint is paused or disconnected, or the shop uninstalled: nothing is sent. */
  | "endpoint_inactive"
  | "not_due"
  /** Another worker holds it (or took it over). */
  | "busy"
  | "secret_unreadable"
  /** Sent; its outcome is being recorded (see ProcessDeliveryDeps.recordLater). */
  | "sent";

/** A 429 without Retry-After waits this long; one with a shorter Retry-After at least the minimum. */
const DEFAULT_SLOW_DOWN_MS = 5_000;
const MIN_SLOW_DOWN_MS = 1_000;

/** Failures that pause the destination (its deliveries wait for the merchant to resume it). */
const PAUSING_ERRORS: ReadonlySet<string> = new Set<DeliveryErrorCode>(["endpoint_gone", "credentials_rejected"]);

/** Events tried once: the merchant is looking at the screen waiting for the result. */
const SINGLE_ATTEMPT_EVENTS: ReadonlySet<string> = new Set<WebhookEvent>(["test"]);
const RESPONSE_EXCERPT_MAX = 1024;
const ERROR_MESSAGE_MAX = 500;
/** When a secret cannot be decrypted (a master key missing from the configuration), look again later. */
const SECRET_RETRY_MS = 60_000;

const FINISHED: ReadonlySet<string> = new Set<DeliveryStatus>(["delivered", "failed", "cancelled"]);

/** A delivery this worker holds for one attempt, with everything the attempt needs. */
interface Claim {
  id: string;
  attempt: number;
  previousStatus: "pending" | "retrying";
  attemptsBeforeReplay: number;
  event: string;
  payload: string;
  shopId: string;
  destinationId: string;
  url: string;
  shopDomain: string;
  kind: string;
  settings: string | null;
  /** Empty for a kind that does not sign. */
  secretCiphertext: string;
  /** Only while the rotation overlap lasts. */
  previousSecretCiphertext: string | null;
  credentialsCiphertext: string | null;
  backfillId: string | null;
  createdAt: Date;
}

export interface ProcessHooks {
  /**
   * Called once the receiver has answered (or failed to), before the outcome is written: the worker gives
   * the destination's slot back at this moment, with what the answer says about the destination.
   */
  answered?: (result: AttemptResult) => void;
  /**
   * Called when the delivery is not due yet by this process's clock (outcome "not_due"), with the time it is
   * due: the worker puts its job off until then instead of leaving it to the reconciler's next round.
   */
  notDue?: (dueAt: Date) => void;
}

export async function processDelivery(deps: ProcessDeliveryDeps, deliveryId: string, hooks: ProcessHooks = {}): Promise<ProcessOutcome> {
  const claim = (await claimIfDue(deps, deliveryId)) ?? (await claimCarefully(deps, deliveryId, hooks));
  if (typeof claim === "string") return claim;
  const now = deps.clock.now();

  let secrets: { signing: string[]; credentials: string | null };
  try {
    secrets = decryptSecrets(claim, deps.keyRing);
  } catch (error) {
    // Only the decryption's own reason (fixed words: "malformed", "authentication failed", a key version):
    // nothing else an error could carry about the ciphertext or the key reaches the log.
    const reason = error instanceof SecretDecryptionError ? error.message : "unexpected error while decrypting";
    deps.logger.error({ deliveryId: claim.id, destinationId: claim.destinationId, reason }, "destination secret unreadable");
    await releaseClaim(deps.db, claim.id, claim.attempt, claim.previousStatus, new Date(now.getTime() + SECRET_RETRY_MS));
    recordDeliveryAttempt(claim.kind, "secret_unreadable");
    return "secret_unreadable";
  }

  const startedAt = deps.clock.now();
  const kind: DestinationKind = isDestinationKind(claim.kind) ? claim.kind : "webhook";
  const sender = kind === "webhook" ? webhookSender(deps.send) : deps.senders?.[kind];
  const result = sender
    ? await sendSafely(sender, {
      deliveryId: claim.id, destinationId: claim.destinationId, shopId: claim.shopId, shopDomain: claim.shopDomain, kind,
      event: claim.event as WebhookEvent, payload: claim.payload, url: claim.url, signingSecrets: secrets.signing,
      credentials: secrets.credentials, settings: claim.settings, backfill: claim.backfillId !== null,
    })
    : unsendableKind(kind);
  hooks.answered?.(result);
  if (!deps.recordLater) return record(deps, claim, startedAt, result);
  deps.recordLater(record(deps, claim, startedAt, result));
  return "sent";
}

/**
 * The common case in one statement (PostgreSQL): a waiting delivery that is due, for an active endpoint.
 * Null for anything else, and always on SQLite.
 */
async function claimIfDue(deps: ProcessDeliveryDeps, deliveryId: string): Promise<Claim | null> {
  const pool = postgresPoolsOf(deps.db)?.relaxed;
  if (!pool) return null;
  const row = await claimDueDelivery(pool, deliveryId, deps.clock.now(), deps.leaseMs);
  return row && { id: deliveryId, attempt: row.attemptCount, ...row };
}

/** Every case: a lease to take over, an endpoint paused or gone, a row that is not due or not there. */
async function claimCarefully(deps: ProcessDeliveryDeps, deliveryId: string, hooks: ProcessHooks = {}): Promise<Claim | ProcessOutcome> {
  const { db, clock } = deps;
  const seen = await db.delivery.findUnique({
    where: { id: deliveryId },
    select: {
      id: true, status: true, attemptCount: true, nextAttemptAt: true, lockedUntil: true, updatedAt: true,
      destination: { select: { state: true } },
      shop: { select: { uninstalledAt: true } },
    },
  });
  if (!seen) return "not_found";
  if (FINISHED.has(seen.status)) return "finished";
  const now = clock.now();
  const leaseExpired = seen.status === "delivering" && (!seen.lockedUntil || seen.lockedUntil <= now);
  if (seen.destination.state !== "active" || seen.shop.uninstalledAt) {
    // A worker died mid-attempt on an endpoint since paused: the delivery goes back to waiting.
    if (leaseExpired) await releaseExpiredLease(db, seen.id, seen.attemptCount, now);
    return "endpoint_inactive";
  }
  if (seen.status === "delivering" && !leaseExpired) return "busy";
  if (seen.status !== "delivering" && seen.nextAttemptAt > now) {
    hooks.notDue?.(seen.nextAttemptAt);
    return "not_due";
  }

  // Claim: one conditional update, so that of two workers holding jobs for this delivery exactly one
  // proceeds. The observed attempt count makes it a compare-and-set on the row's state.
  const attempt = seen.attemptCount + 1;
  const claimed = await db.$transaction(async (tx) => {
    const { count } = await tx.delivery.updateMany({
      where: {
        id: seen.id,
        attemptCount: seen.attemptCount,
        destination: { is: { state: "active" } },
        shop: { is: { uninstalledAt: null } },
        ...(leaseExpired
          ? { status: "delivering", OR: [{ lockedUntil: null }, { lockedUntil: { lte: now } }] }
          : { status: { in: ["pending", "retrying"] }, nextAttemptAt: { lte: now } }),
      },
      data: { status: "delivering", attemptCount: attempt, lockedUntil: new Date(now.getTime() + deps.leaseMs) },
    });
    if (count === 1 && leaseExpired) {
      // The previous attempt's worker stopped (crash, SIGKILL, lost machine) without recording anything.
      // Keep that visible in the history rather than leaving a gap in the attempt numbers.
      // Its start is read off the lease it took (on the engine's clock), else off the row's last update.
      const startedAt = seen.lockedUntil ? new Date(seen.lockedUntil.getTime() - deps.leaseMs) : seen.updatedAt;
      await tx.deliveryAttempt.create({
        data: {
          deliveryId: seen.id, number: seen.attemptCount, startedAt,
          durationMs: Math.max(0, now.getTime() - startedAt.getTime()),
          errorCode: "timeout",
          errorMessage: "The delivery worker stopped before this attempt finished; it was sent again.",
        },
      });
    }
    return count === 1;
  });
  if (!claimed) return "busy";
  const previousStatus = seen.status === "pending" ? "pending" : "retrying";

  // Read again after claiming: a disconnect or pause that committed meanwhile wins, and the URL and
  // secrets are the freshest.
  const row = await db.delivery.findUnique({
    where: { id: seen.id },
    select: {
      status: true, attemptCount: true, attemptsBeforeReplay: true, event: true, payload: true, shopId: true, destinationId: true, backfillId: true,
      createdAt: true,
      destination: {
        select: {
          url: true, state: true, kind: true, settings: true, secretCiphertext: true, credentialsCiphertext: true,
          previousSecretCiphertext: true, previousSecretUntil: true,
        },
      },
      shop: { select: { domain: true, uninstalledAt: true } },
    },
  });
  if (!row || row.status !== "delivering" || row.attemptCount !== attempt) return row && FINISHED.has(row.status) ? "finished" : "busy";
  if (row.destination.state !== "active" || row.shop.uninstalledAt) {
    await releaseClaim(db, seen.id, attempt, previousStatus, now);
    return "endpoint_inactive";
  }
  const { previousSecretCiphertext, previousSecretUntil } = row.destination;
  return {
    id: seen.id, attempt, previousStatus, attemptsBeforeReplay: row.attemptsBeforeReplay, event: row.event, payload: row.payload,
    shopId: row.shopId, destinationId: row.destinationId, url: row.destination.url, shopDomain: row.shop.domain,
    kind: row.destination.kind, settings: row.destination.settings, backfillId: row.backfillId, createdAt: row.createdAt,
    credentialsCiphertext: row.destination.credentialsCiphertext,
    secretCiphertext: row.destination.secretCiphertext,
    previousSecretCiphertext: previousSecretUntil && previousSecretUntil > now ? previousSecretCiphertext : null,
  };
}

async function record(deps: ProcessDeliveryDeps, d: Claim, startedAt: Date, result: AttemptResult): Promise<ProcessOutcome> {
  const now = deps.clock.now();
  const attemptRow = {
    deliveryId: d.id,
    number: d.attempt,
    startedAt,
    durationMs: Math.max(0, Math.round(result.durationMs)),
    address: result.address ?? null,
    statusCode: result.statusCode ?? null,
    responseExcerpt: result.responseExcerpt ? result.responseExcerpt.slice(0, RESPONSE_EXCERPT_MAX) : null,
    errorCode: result.ok ? null : result.errorCode,
    errorMessage: result.ok ? null : (result.hint ? `${result.message}. ${result.hint}` : result.message).slice(0, ERROR_MESSAGE_MAX),
  };
  const holds = { id: d.id, attemptCount: d.attempt };

  if (result.ok) {
    const pool = postgresPoolsOf(deps.db)?.relaxed;
    const recorded = pool
      ? await recordDeliveredAttempt(pool, { ...attemptRow, deliveryId: d.id, attempt: d.attempt, finishedAt: now })
      : await recordDeliveredPortably(deps.db, d, attemptRow, now);
    // An erasure's body is the one that holds the shopper's email (see buildProfileErasureBody): once the
    // destination has it, it is emptied here.
    if (recorded && d.event === "lead_redacted" && d.kind === "klaviyo") {
      await deps.db.delivery.updateMany({ where: { id: d.id, status: "delivered" }, data: { payload: "" } });
    }
    return logOutcome(deps, d, recorded ? "delivered" : "busy", result);
  }

  // 410 Gone, or credentials the destination rejected: nothing else will get through until the merchant acts.
  const gone = PAUSING_ERRORS.has(result.errorCode);
  // Asked to slow down (429) within its first retry window: the lead waits as long as asked, and the
  // attempt does not count against the schedule, so a busy CRM's rate limit never fails a lead.
  const slowedDown = result.statusCode === 429 && !SINGLE_ATTEMPT_EVENTS.has(d.event) && !result.permanent &&
    now.getTime() - d.createdAt.getTime() < remainingWindowMs(1, deps.retrySchedule ?? RETRY_DELAYS_MS);
  const delayMs = gone || result.permanent || SINGLE_ATTEMPT_EVENTS.has(d.event)
    ? null
    : slowedDown
      ? Math.min(Math.max(result.retryAfterMs ?? DEFAULT_SLOW_DOWN_MS, MIN_SLOW_DOWN_MS), MAX_RETRY_DELAY_MS)
      : nextRetryDelayMs(d.attempt - d.attemptsBeforeReplay, { retryAfterMs: result.retryAfterMs, random: deps.random, schedule: deps.retrySchedule });
  const outcome: ProcessOutcome = gone ? "endpoint_paused" : delayMs === null ? "failed" : "retrying";
  const nextAttemptAt = new Date(now.getTime() + (delayMs ?? 0));

  const recorded = await deps.db.$transaction(async (tx) => {
    const { count } = await tx.delivery.updateMany({
      where: { ...holds, status: "delivering" },
      data: {
        // A paused endpoint's deliveries wait, due at once, for the merchant to resume it.
        status: outcome === "failed" ? "failed" : "retrying",
        nextAttemptAt: outcome === "failed" ? undefined : nextAttemptAt,
        lockedUntil: null,
        lastError: attemptRow.errorMessage,
        lastStatusCode: attemptRow.statusCode,
        ...(slowedDown ? { attemptsBeforeReplay: { increment: 1 } } : {}),
      },
    });
    if (count === 0) {
      // Cancelled (endpoint disconnected) while in flight: the row stays cancelled, the attempt is history.
      const cancelled = await tx.delivery.count({ where: { ...holds, status: "cancelled" } });
      if (cancelled === 1) await tx.deliveryAttempt.create({ data: attemptRow });
      return false;
    }
    await tx.deliveryAttempt.create({ data: attemptRow });
    const destination = await tx.destination.update({
      where: { id: d.destinationId },
      data: { consecutiveFailures: { increment: 1 }, lastFailureAt: now },
      select: { failingSince: true },
    });
    // The first failure of a run marks since when the destination has been failing (alerts count from it). The
    // row is locked by the update above, so no other failure can mark it meanwhile.
    if (destination.failingSince === null) await tx.destination.update({ where: { id: d.destinationId }, data: { failingSince: now } });
    if (gone) {
      await tx.destination.updateMany({
        where: { id: d.destinationId, state: "active" },
        data: { state: "paused", pausedReason: attemptRow.errorMessage },
      });
    }
    return true;
  });
  if (!recorded) return logOutcome(deps, d, "busy", result);
  if (outcome === "retrying") {
    // If this enqueue is lost (Redis down), the reconciler finds the row once it is due.
    await deps.scheduleAttempt(d.id, d.attempt + 1, delayMs ?? 0, d.destinationId).catch((error: unknown) =>
      deps.logger.warn({ deliveryId: d.id, err: error }, "could not enqueue the next attempt; the reconciler will"),
    );
  }
  return logOutcome(deps, d, outcome, result);
}

/** recordDeliveredAttempt through Prisma, for SQLite. */
function recordDeliveredPortably(db: Db, d: Claim, attemptRow: Prisma.DeliveryAttemptUncheckedCreateInput, now: Date): Promise<boolean> {
  return db.$transaction(async (tx) => {
    // A disconnect that committed while the request was in flight does not undo the fact that the
    // receiver has the lead: the truthful state is delivered.
    const { count } = await tx.delivery.updateMany({
      where: { id: d.id, attemptCount: d.attempt, status: { in: ["delivering", "cancelled"] } },
      data: { status: "delivered", deliveredAt: now, lockedUntil: null, lastError: null, lastStatusCode: attemptRow.statusCode },
    });
    if (count === 0) return false;
    await tx.deliveryAttempt.create({ data: attemptRow });
    // A healthy endpoint's row is refreshed now and then, not by every delivery (LAST_SUCCESS_RESOLUTION_MS).
    await tx.destination.updateMany({
      where: {
        id: d.destinationId,
        OR: [
          { consecutiveFailures: { not: 0 } }, { lastSuccessAt: null },
          { lastSuccessAt: { lte: new Date(now.getTime() - LAST_SUCCESS_RESOLUTION_MS) } },
        ],
      },
      data: { consecutiveFailures: 0, failingSince: null, lastSuccessAt: now },
    });
    return true;
  });
}

/** How each recorded outcome of an attempt is counted in tryon_deliveries_total. */
const OUTCOME_LABELS: Partial<Record<ProcessOutcome, DeliveryOutcomeLabel>> = {
  delivered: "delivered", retrying: "retry", failed: "failed", endpoint_paused: "paused", busy: "superseded",
};

function logOutcome(deps: ProcessDeliveryDeps, d: Claim, outcome: ProcessOutcome, result: AttemptResult): ProcessOutcome {
  recordDeliveryAttempt(d.kind, OUTCOME_LABELS[outcome] ?? "superseded", result.durationMs);
  // From the delivery's making (the capture, or a "Send to" click) to delivered; backfills of earlier leads are left out.
  if (outcome === "delivered" && d.event === "lead_captured" && d.backfillId === null) {
    recordLeadDelivered(d.kind, deps.clock.now().getTime() - d.createdAt.getTime());
  }
  // Ids, numbers and codes only: no URL (it may hold a token), body, email or secret.
  deps.logger.info(
    {
      deliveryId: d.id, shopId: d.shopId, destinationId: d.destinationId, attempt: d.attempt, outcome,
      statusCode: result.statusCode, errorCode: result.ok ? undefined : result.errorCode, durationMs: result.durationMs,
    },
    "webhook attempt",
  );
  return outcome;
}

function decryptSecrets(claim: Claim, keyRing: KeyRing): { signing: string[]; credentials: string | null } {
  const binding = { shopId: claim.shopId, destinationId: claim.destinationId } as const;
  const signingBinding = { ...binding, purpose: "webhook-signing" } as const;
  const signing = claim.secretCiphertext ? [decryptCached(claim.secretCiphertext, keyRing, signingBinding)] : [];
  if (claim.secretCiphertext && claim.previousSecretCiphertext) signing.push(decryptCached(claim.previousSecretCiphertext, keyRing, signingBinding));
  const credentials = claim.credentialsCiphertext
    ? decryptCached(claim.credentialsCiphertext, keyRing, { ...binding, purpose: "destination-credentials" })
    : null;
  return { signing, credentials };
}

/**
 * Decrypted signing secrets, for a minute, per key ring: deciphering costs about a tenth of a millisecond
 * (OpenSSL looks the cipher up on every call), as much as the rest of an attempt's own work, and a busy
 * endpoint's secret is the same for every delivery. The key is the ciphertext, which a rotation or a
 * re-encryption replaces (a random IV each time), together with its binding; so a cached secret is only
 * used while the database still holds it, and the minute bounds how long plaintext stays in memory.
 */
const SECRET_CACHE_MS = 60_000;
const SECRET_CACHE_MAX = 1_000;
const secretCaches = new WeakMap<KeyRing, Map<string, { secret: string; until: number }>>();

function decryptCached(ciphertext: string, keyRing: KeyRing, binding: SecretBinding): string {
  let cache = secretCaches.get(keyRing);
  if (!cache) secretCaches.set(keyRing, (cache = new Map()));
  const key = `${binding.purpose}/${binding.shopId}/${binding.destinationId}/${ciphertext}`;
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && hit.until > now) return hit.secret;
  const secret = decryptSecret(ciphertext, keyRing, binding);
  if (cache.size >= SECRET_CACHE_MAX) cache.clear();
  cache.set(key, { secret, until: now + SECRET_CACHE_MS });
  return secret;
}

/** The sender reports failures as results; anything it throws is still an attempt that did not land. */
async function sendSafely(send: DestinationSender, context: AttemptContext): Promise<AttemptResult> {
  const started = Date.now();
  try {
    return await send(context);
  } catch {
    const failure: AttemptFailure = {
      ok: false, errorCode: "connection_failed", message: "The request could not be completed.", durationMs: Date.now() - started,
    };
    return failure;
  }
}

/** A destination of a kind this worker was not given a sender for (a newer version wrote it): try again later. */
function unsendableKind(kind: string): AttemptFailure {
  return { ok: false, errorCode: "connection_failed", message: `This worker cannot send to a destination of kind ${kind} yet; it is tried again later.`, durationMs: 0, countsAgainstDestination: false };
}

/** Gives a claimed attempt back unused (nothing was sent): the attempt number is not spent. */
async function releaseClaim(db: Db, id: string, attempt: number, status: "pending" | "retrying", nextAttemptAt: Date): Promise<void> {
  await db.delivery.updateMany({
    where: { id, attemptCount: attempt, status: "delivering" },
    data: { status, attemptCount: attempt - 1, lockedUntil: null, nextAttemptAt },
  });
}

async function releaseExpiredLease(db: Db, id: string, attemptCount: number, now: Date): Promise<void> {
  await db.delivery.updateMany({
    where: { id, attemptCount, status: "delivering", OR: [{ lockedUntil: null }, { lockedUntil: { lte: now } }] },
    data: { status: "retrying", lockedUntil: null, nextAttemptAt: now },
  });
}
