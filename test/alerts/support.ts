import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { adminGraphqlFor } from "../../app/customers/admin-graphql.server";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { processDelivery, type ProcessOutcome } from "../../app/delivery/process-delivery.server";
import { adminLinkFor, runAlertRound, type AlertRoundDeps } from "../../app/alerts/destination-alerts.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { getDb } from "../../app/lib/db.server";
import { mailerFrom, type Mailer } from "../../app/lib/mailer.server";
import { sampleLead, testKeyRing, type ManualClock } from "../support/delivery";
import { loopbackSender } from "../support/delivery-harness";
import type { HttpsReceiver, ScriptedResponse } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { TEST_API_KEY } from "../support/setup-env";
import { LOOPBACK_DESTINATION } from "../integrations/helpers";

/** Shared by the alert tests: destinations driven through the real delivery path on a manual clock. */

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const SMTP_USER = "alerts-relay";
export const SMTP_PASSWORD = "relay-password-5c1e";
export const MAIL_FROM = "Try-on Leads <alerts@tryon-leads.example>";

export function uniqueShopDomain(label: string): string {
  return `${label}-${randomBytes(3).toString("hex")}.myshopify.com`;
}

export interface TestDestination {
  id: string;
  shop: { id: string; domain: string };
  secret: string;
  /** The receiver URL as the merchant typed it (with a path and a token in its query). */
  url: string;
}

/** A shop (with its offline session) and a signed webhook to the receiver, at a URL carrying a token. */
export async function shopWithDestination(label: string, receiver: HttpsReceiver): Promise<TestDestination> {
  const shop = await installShop(uniqueShopDomain(label));
  const url = receiver.urlFor(`/hooks/${label}/catch?token=hook-token-${randomBytes(6).toString("hex")}`);
  const connected = await connectEndpoint({ db: getDb(), shop, url, ring: keyRingFromConfig(), destination: LOOPBACK_DESTINATION, name: `${label} CRM` });
  return { id: connected.endpoint.id, shop, secret: connected.secret, url };
}

/** Mails sent through the test SMTP server, with its credentials. */
export function testMailer(smtpUrl: string): Mailer {
  const mailer = mailerFrom({ SMTP_URL: smtpUrl, MAIL_FROM });
  if (!mailer) throw new Error("the test mailer needs an SMTP URL");
  return mailer;
}

export function alertDeps(mailer: Mailer, clock: ManualClock, logger: Logger, overrides: Partial<AlertRoundDeps> = {}): AlertRoundDeps {
  return {
    db: getDb(),
    mailer,
    graphqlFor: (shop) => adminGraphqlFor(shop),
    clock,
    logger,
    failingAfterMs: 30 * MINUTE,
    quietMs: 6 * HOUR,
    linkFor: adminLinkFor(TEST_API_KEY),
    messageIdDomain: "my-test-app.myshopify.io",
    ...overrides,
  };
}

export function alertRound(deps: AlertRoundDeps) {
  return runAlertRound(deps);
}

/**
 * A new lead for the destination's shop, and its delivery's first attempt through the real worker path at the
 * clock's time, answered by the receiver with `answer`. Returns the outcome and the lead's shopper email.
 */
export async function leadAttempt(
  destination: TestDestination,
  receiver: HttpsReceiver,
  clock: ManualClock,
  logger: Logger,
  answer: ScriptedResponse,
): Promise<{ outcome: ProcessOutcome; email: string }> {
  const db = getDb();
  const lead = sampleLead({ shopId: destination.shop.id, shopDomain: destination.shop.domain });
  const recorded = await recordLeadWithDeliveries(db, lead, { clock });
  const deliveryId = recorded.deliveryIds[0];
  receiver.enqueue(answer);
  const sender = loopbackSender(receiver);
  try {
    const outcome = await processDelivery(
      {
        db, send: sender.send, keyRing: testKeyRing(), clock, logger, leaseMs: 10_000,
        // Retries are not run here: each attempt of a test is a new lead's first.
        scheduleAttempt: async () => undefined,
      },
      deliveryId,
    );
    return { outcome, email: lead.email };
  } finally {
    await sender.close();
  }
}
