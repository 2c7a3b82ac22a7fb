import type { Logger } from "pino";
import type { Db, Prisma } from "../lib/db.server";
import type { Mailer } from "../lib/mailer.server";
import type { AdminGraphql } from "../customers/tag-customer.server";
import type { Clock } from "../delivery/clock";
import { PAUSED_BY_MERCHANT } from "../destinations/endpoint-lifecycle.server";
import { composeAlert, hostOf, type AlertKind } from "./alert-message";
import { alertRecipient } from "./alert-settings.server";

/**
 * Emails the merchant when a destination is failing, and once when it delivers again.
 *
 * When: a destination whose attempts have failed with no success in between since `failingSince` for
 * ALERT_FAILING_AFTER_MINUTES, or that the app paused (410 Gone, a rejected Klaviyo key: nothing gets through
 * until the merchant acts, so no waiting), or an HTTP request whose receiver refused its credentials (401/403,
 * which fail each lead at once), gets one "failing" email. Then nothing more about it until
 * it delivers again, which gets one "recovered" email. A new "failing" email about the same destination waits
 * for the quiet period (ALERT_QUIET_HOURS) after the last one, so a destination that flaps does not flood the
 * merchant's inbox.
 *
 * Where: a periodic round in the worker, not the moment an attempt is recorded. The threshold is a matter of
 * time passing, and a failing destination may make no attempt for a long while (its breaker holds deliveries,
 * its retries are hours apart), so only a clock-driven check sees it cross; it also keeps the mail server and
 * the Admin API off the delivery path, whose latency matters. A pause is picked up by the next round (a minute
 * by default), which is "at once" for an email.
 *
 * Once: the state is on the Destination row (`alertState`, `alertSentAt`), and a worker claims a destination
 * with one conditional update (`alertClaimedUntil`, only if no claim is live and the state is still what it
 * saw) before sending; of several worker processes, exactly one wins. The state moves after the server has
 * accepted the message. A process that dies between claim and send leaves a claim that expires
 * (ALERT_CLAIM_MS), and a later round sends: an alert is never lost. A duplicate needs a death in the instant
 * between the server's acceptance and that write; the two copies then share a Message-ID, which mail clients
 * use to show one. A send that fails (server down), or a shop with no known address, keeps the claim as a
 * retry timer (SEND_RETRY_MS).
 */

export interface AlertRoundDeps {
  db: Db;
  mailer: Mailer;
  /** The Admin GraphQL API of a shop through its offline session, to read the store's email. */
  graphqlFor: (shopDomain: string) => Promise<AdminGraphql>;
  clock: Clock;
  logger: Logger;
  failingAfterMs: number;
  quietMs: number;
  /** Where a destination is opened in the Shopify admin. */
  linkFor: (shopDomain: string, destinationId: string) => string;
  /** The domain of Message-IDs (the app's host). */
  messageIdDomain: string;
  /** Destinations looked at per round and kind of email. @defaultValue 100 */
  batchSize?: number;
  /** How long a claim lasts. @defaultValue ALERT_CLAIM_MS */
  claimMs?: number;
}

export interface AlertRoundResult {
  failing: number;
  recovered: number;
  /** Sends that failed (tried again after SEND_RETRY_MS). */
  unsent: number;
  /** Destinations skipped because no address is known for their shop. */
  noRecipient: number;
}

/** Longer than a send can take (connect, greeting and socket timeouts of the mailer, plus the Admin API). */
export const ALERT_CLAIM_MS = 5 * 60_000;
/** After a failed send, the next try. */
export const SEND_RETRY_MS = 5 * 60_000;

const DEFAULT_BATCH = 100;

/** Leads waiting for a destination: not yet delivered, not given up. */
const WAITING = ["pending", "retrying", "delivering"];

const candidateSelect = {
  id: true, shopId: true, alertSentAt: true, lastSuccessAt: true,
  shop: { select: { domain: true } },
} satisfies Prisma.DestinationSelect;

type Candidate = Prisma.DestinationGetPayload<{ select: typeof candidateSelect }>;

function claimFree(now: Date): Prisma.DestinationWhereInput {
  return { OR: [{ alertClaimedUntil: null }, { alertClaimedUntil: { lte: now } }] };
}

const SHOP_WANTS_ALERTS: Prisma.DestinationWhereInput = { shop: { is: { alertsEnabled: true, uninstalledAt: null } } };

/** No "failing" email about it yet in this run, none within the quiet period, and its shop wants them. */
function mayAlert(deps: AlertRoundDeps, now: Date): Prisma.DestinationWhereInput {
  return {
    alertState: "none",
    OR: [{ alertSentAt: null }, { alertSentAt: { lte: new Date(now.getTime() - deps.quietMs) } }],
    ...SHOP_WANTS_ALERTS,
  };
}

/** Statuses by which a receiver refuses the credentials an HTTP request carries (it fails each lead at once). */
const CREDENTIALS_REJECTED = [401, 403];

/** A destination that deserves a "failing" email now (its claim aside). */
function failingWhere(deps: AlertRoundDeps, now: Date): Prisma.DestinationWhereInput {
  return {
    AND: [
      mayAlert(deps, now),
      {
        OR: [
          { state: "active", consecutiveFailures: { gt: 0 }, failingSince: { lte: new Date(now.getTime() - deps.failingAfterMs) } },
          // Paused by the app after a 410 or rejected credentials (the merchant's own pause is not news to them).
          { state: "paused", failingSince: { not: null }, pausedReason: { not: PAUSED_BY_MERCHANT } },
        ],
      },
    ],
  };
}

/** A destination the merchant was told is failing, that has delivered since (checked against alertSentAt too). */
const RECOVERED_WHERE: Prisma.DestinationWhereInput = {
  alertState: "failing",
  state: "active",
  consecutiveFailures: 0,
  failingSince: null,
  lastSuccessAt: { not: null },
  ...SHOP_WANTS_ALERTS,
};

export async function runAlertRound(deps: AlertRoundDeps): Promise<AlertRoundResult> {
  const result: AlertRoundResult = { failing: 0, recovered: 0, unsent: 0, noRecipient: 0 };
  const take = deps.batchSize ?? DEFAULT_BATCH;
  let now = deps.clock.now();

  const failing = await deps.db.destination.findMany({
    where: { AND: [failingWhere(deps, now), claimFree(now)] },
    select: candidateSelect,
    orderBy: { failingSince: "asc" },
    take,
  });
  for (const candidate of failing) {
    now = deps.clock.now();
    await alertOne(deps, candidate, "failing", failingWhere(deps, now), result);
  }

  // An HTTP request whose receiver refused its credentials fails every lead at once and is not paused (its
  // answers are final, not retried): as plain a case as a pause, so it does not wait for the threshold either.
  now = deps.clock.now();
  const rejected = await deps.db.destination.findMany({
    where: {
      AND: [
        mayAlert(deps, now), claimFree(now),
        { state: "active", kind: "http_request", consecutiveFailures: { gt: 0 }, failingSince: { gt: new Date(now.getTime() - deps.failingAfterMs) } },
      ],
    },
    select: { ...candidateSelect, failingSince: true },
    take,
  });
  for (const candidate of rejected) {
    const since = candidate.failingSince;
    if (!since) continue;
    const refused = await deps.db.delivery.findFirst({
      where: {
        shopId: candidate.shopId, destinationId: candidate.id, status: "failed",
        lastStatusCode: { in: CREDENTIALS_REJECTED }, updatedAt: { gte: since },
      },
      select: { id: true },
    });
    if (!refused) continue;
    now = deps.clock.now();
    // Due while this run of failures (the same failingSince) goes on.
    await alertOne(deps, candidate, "failing", { AND: [mayAlert(deps, now), { state: "active", failingSince: since, consecutiveFailures: { gt: 0 } }] }, result);
  }

  now = deps.clock.now();
  const recovered = await deps.db.destination.findMany({
    where: { AND: [RECOVERED_WHERE, claimFree(now)] },
    select: candidateSelect,
    orderBy: { lastSuccessAt: "asc" },
    take,
  });
  for (const candidate of recovered) {
    // Delivered after the failing email went out; a resume alone (which clears the run) is not a recovery.
    if (!candidate.lastSuccessAt || (candidate.alertSentAt && candidate.lastSuccessAt <= candidate.alertSentAt)) continue;
    await alertOne(deps, candidate, "recovered", { ...RECOVERED_WHERE, lastSuccessAt: { gt: candidate.alertSentAt ?? new Date(0) } }, result);
  }
  return result;
}

async function alertOne(deps: AlertRoundDeps, candidate: Candidate, kind: AlertKind, stillDue: Prisma.DestinationWhereInput, result: AlertRoundResult) {
  const { db, logger } = deps;
  const log = { destinationId: candidate.id, shopId: candidate.shopId, alert: kind };

  // The claim: one statement, true for exactly one worker, and only while the destination still deserves it.
  const claimedAt = deps.clock.now();
  const claimUntil = new Date(claimedAt.getTime() + (deps.claimMs ?? ALERT_CLAIM_MS));
  const { count } = await db.destination.updateMany({
    where: { id: candidate.id, AND: [stillDue, claimFree(claimedAt)] },
    data: { alertClaimedUntil: claimUntil },
  });
  if (count !== 1) return;
  const held = { id: candidate.id, alertClaimedUntil: claimUntil };
  // When no email can go out now, the claim is kept as a retry timer: the destination does not come first
  // in every round and keep others waiting.
  const retryLater = () => db.destination.updateMany({ where: held, data: { alertClaimedUntil: new Date(deps.clock.now().getTime() + SEND_RETRY_MS) } });

  const recipient = await alertRecipient(db, candidate.shopId, () => deps.graphqlFor(candidate.shop.domain), deps.clock.now());
  if (!recipient) {
    result.noRecipient++;
    await retryLater();
    logger.warn(log, "no address known for the shop's alerts; set one in the app's Settings");
    return;
  }

  try {
    const message = await messageFor(deps, candidate, kind, claimedAt);
    await deps.mailer.send({ to: recipient, ...message });
  } catch (error) {
    result.unsent++;
    await retryLater();
    logger.warn({ ...log, err: error }, "an alert email could not be sent; trying again later");
    return;
  }

  const done = await db.destination.updateMany({
    where: held,
    // Dated from the claim: a success recorded while the email was on its way is then later than it, and
    // the recovery email follows.
    data: kind === "failing"
      ? { alertState: "failing", alertSentAt: claimedAt, alertClaimedUntil: null }
      : { alertState: "none", alertClaimedUntil: null },
  });
  if (done.count !== 1) logger.warn(log, "an alert was sent after its claim had expired; another worker may send it too");
  if (kind === "failing") result.failing++;
  else result.recovered++;
  logger.info(log, "alert email sent");
}

async function messageFor(deps: AlertRoundDeps, candidate: Candidate, kind: AlertKind, now: Date) {
  const { db } = deps;
  const d = await db.destination.findUniqueOrThrow({
    where: { id: candidate.id },
    select: { id: true, shopId: true, name: true, kind: true, url: true, state: true, pausedReason: true, failingSince: true, alertSentAt: true },
  });
  const leadsWhere = { shopId: d.shopId, destinationId: d.id, event: "lead_captured", leadId: { not: null } };
  const since = kind === "failing" ? d.failingSince : d.alertSentAt;
  const [waitingLeads, failedLeads, lastFailed] = await Promise.all([
    db.delivery.count({ where: { ...leadsWhere, status: { in: WAITING } } }),
    since ? db.delivery.count({ where: { ...leadsWhere, status: "failed", updatedAt: { gte: since } } }) : Promise.resolve(0),
    kind === "failing"
      ? db.delivery.findFirst({
        where: { shopId: d.shopId, destinationId: d.id, status: { in: ["retrying", "failed"] }, lastError: { not: null } },
        orderBy: { createdAt: "desc" },
        select: { lastError: true },
      })
      : Promise.resolve(null),
  ]);
  const paused = d.state === "paused";
  const refused = kind === "failing" && !paused && d.kind === "http_request" && d.failingSince
    ? await db.delivery.count({
      where: { shopId: d.shopId, destinationId: d.id, status: "failed", lastStatusCode: { in: CREDENTIALS_REJECTED }, updatedAt: { gte: d.failingSince } },
    })
    : 0;
  const message = composeAlert({
    kind,
    shopDomain: candidate.shop.domain,
    destination: { name: d.name, kind: d.kind, host: hostOf(d.url) },
    failingSince: d.failingSince,
    paused,
    credentialsRejected: refused > 0,
    waitingLeads,
    failedLeads,
    lastError: paused ? d.pausedReason : lastFailed?.lastError ?? null,
    link: deps.linkFor(candidate.shop.domain, d.id),
    now,
  });
  // The same news about the same run of failures always has the same Message-ID.
  const episode = (kind === "failing" ? d.failingSince : d.alertSentAt)?.getTime() ?? 0;
  return { ...message, messageId: `<alert.${kind}.${d.id}.${episode}@${deps.messageIdDomain}>` };
}

/** The destination's page in the app, inside the Shopify admin. */
export function adminLinkFor(apiKey: string): (shopDomain: string, destinationId: string) => string {
  return (shopDomain, destinationId) => {
    const store = shopDomain.replace(/\.myshopify\.com$/, "");
    return `https://admin.shopify.com/store/${encodeURIComponent(store)}/apps/${encodeURIComponent(apiKey)}/app/leads/destinations/${encodeURIComponent(destinationId)}`;
  };
}
