import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { saveAlertSettings } from "../../app/alerts/alert-settings.server";
import { pauseEndpoint, resumeEndpoint } from "../../app/destinations/endpoint-lifecycle.server";
import { getProducers } from "../../app/runtime/producers.server";
import { getDb } from "../../app/lib/db.server";
import type { Mailer } from "../../app/lib/mailer.server";
import { FakeAdminApi } from "../support/fake-admin-api";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { ManualClock, sampleLead } from "../support/delivery";
import { installShop } from "../support/shopify";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { startSmtpReceiver, type ReceivedMail, type SmtpReceiver } from "../support/smtp-receiver";
import { TEST_API_KEY } from "../support/setup-env";
import { captureLogger } from "../integrations/helpers";
import {
  alertDeps, alertRound, HOUR, leadAttempt, MINUTE, shopWithDestination, SMTP_PASSWORD, SMTP_USER, testMailer, uniqueShopDomain,
  type TestDestination,
} from "./support";

const db = getDb();

describe("email alerts about failing destinations", () => {
  let smtp: SmtpReceiver;
  let receiver: HttpsReceiver;
  let mailer: Mailer;
  const adminApi = new FakeAdminApi();
  const { logger, output: logs } = captureLogger();
  let clock: ManualClock;
  /** Shopper emails of every lead the tests captured: none may reach a merchant's email. */
  const shopperEmails: string[] = [];

  async function fail(destination: TestDestination, answer = respond.status(500, "down for maintenance")) {
    const { outcome, email } = await leadAttempt(destination, receiver, clock, logger, answer);
    shopperEmails.push(email);
    return outcome;
  }

  async function succeed(destination: TestDestination) {
    const { outcome, email } = await leadAttempt(destination, receiver, clock, logger, respond.ok());
    shopperEmails.push(email);
    expect(outcome).toBe("delivered");
  }

  function mailsAbout(destination: TestDestination): ReceivedMail[] {
    return smtp.mails.filter((m) => m.text.includes(`/app/leads/destinations/${destination.id}`));
  }

  /** A shop whose Shopify owner email is known to the Admin API stand-in. */
  async function destinationFor(label: string) {
    const destination = await shopWithDestination(label, receiver);
    adminApi.shopEmails.set(destination.shop.domain, { email: `owner@${label}.example`, contactEmail: `hello@${label}.example` });
    return destination;
  }

  beforeAll(async () => {
    smtp = await startSmtpReceiver({ user: SMTP_USER, password: SMTP_PASSWORD });
    receiver = await startHttpsReceiver();
    mailer = testMailer(smtp.url);
    adminApi.install();
  });

  afterAll(async () => {
    mailer.close();
    await smtp.close();
    await receiver.close();
  });

  beforeEach(() => {
    clock = new ManualClock(new Date("2026-11-02T09:00:00Z"));
  });

  it("sends one 'failing' email once the destination has failed for the threshold, to the store's email from Shopify", async () => {
    const destination = await destinationFor("threshold");
    const deps = alertDeps(mailer, clock, logger);
    expect(await fail(destination)).toBe("retrying");
    clock.advance(10 * MINUTE);
    await fail(destination);
    clock.advance(19 * MINUTE);
    await fail(destination);

    // 29 minutes of failures: not yet.
    expect(await alertRound(deps)).toMatchObject({ failing: 0 });
    expect(mailsAbout(destination)).toHaveLength(0);

    clock.advance(2 * MINUTE);
    expect(await alertRound(deps)).toMatchObject({ failing: 1 });
    const [mail] = mailsAbout(destination);
    expect(mail.to).toEqual(["owner@threshold.example"]);
    expect(mail.from).toBe("alerts@tryon-leads.example");
    expect(mail.subject).toBe("Leads are not reaching threshold CRM");
    expect(mail.text).toContain("threshold CRM (Signed webhook, 127.0.0.1)");
    expect(mail.text).toContain("Failing since: Nov 2, 2026, 09:00 UTC (31 minutes ago).");
    expect(mail.text).toContain("Leads waiting to be sent: 3.");
    expect(mail.text).toContain("Last error: Your endpoint answered 500 Internal Server Error");
    const store = destination.shop.domain.replace(".myshopify.com", "");
    expect(mail.text).toContain(`https://admin.shopify.com/store/${store}/apps/${TEST_API_KEY}/app/leads/destinations/${destination.id}`);
    expect(mail.html).toContain(`<a href="https://admin.shopify.com/store/${store}/apps/`);
    expect(mail.messageId).toMatch(new RegExp(`^<alert\\.failing\\.${destination.id}\\.\\d+@my-test-app\\.myshopify\\.io>$`));
    // The address was read from Shopify once and is now kept on the shop.
    expect(await db.shop.findUniqueOrThrow({ where: { id: destination.shop.id } })).toMatchObject({ ownerEmail: "owner@threshold.example" });
    expect(await db.destination.findUniqueOrThrow({ where: { id: destination.id } })).toMatchObject({
      alertState: "failing", alertSentAt: clock.now(), alertClaimedUntil: null,
    });

    // Still failing: no second email, however many rounds and failures follow.
    for (let i = 0; i < 3; i++) {
      clock.advance(40 * MINUTE);
      await fail(destination);
      await alertRound(deps);
    }
    expect(mailsAbout(destination)).toHaveLength(1);
  });

  it("sends one 'recovered' email when it delivers again, then nothing inside the quiet period, and a new alert after it", async () => {
    const destination = await destinationFor("recovery");
    const deps = alertDeps(mailer, clock, logger);
    await fail(destination);
    clock.advance(31 * MINUTE);
    await fail(destination);
    await alertRound(deps);
    expect(mailsAbout(destination).map((m) => m.subject)).toEqual(["Leads are not reaching recovery CRM"]);
    const failingSentAt = clock.now();

    clock.advance(5 * MINUTE);
    await succeed(destination);
    expect(await alertRound(deps)).toMatchObject({ recovered: 1 });
    await alertRound(deps);
    const mails = mailsAbout(destination);
    expect(mails.map((m) => m.subject)).toEqual(["Leads are not reaching recovery CRM", "recovery CRM is receiving leads again"]);
    expect(mails[1].text).toContain("are reaching recovery CRM (Signed webhook, 127.0.0.1) again");
    expect(mails[1].to).toEqual(["owner@recovery.example"]);
    expect(await db.destination.findUniqueOrThrow({ where: { id: destination.id } })).toMatchObject({ alertState: "none", alertSentAt: failingSentAt });

    // Failing again an hour later for longer than the threshold: inside the 6-hour quiet period, nothing.
    clock.advance(HOUR);
    await fail(destination);
    clock.advance(HOUR);
    await fail(destination);
    await alertRound(deps);
    expect(mailsAbout(destination)).toHaveLength(2);

    // Past the quiet period (6 hours after the first email), still failing: one new alert.
    clock.set(new Date(failingSentAt.getTime() + 6 * HOUR + MINUTE));
    await fail(destination);
    expect(await alertRound(deps)).toMatchObject({ failing: 1 });
    expect(mailsAbout(destination)).toHaveLength(3);
  });

  it("alerts at once when a 410 pauses the destination, and only once while it stays paused", async () => {
    const destination = await destinationFor("gone");
    const deps = alertDeps(mailer, clock, logger);
    await succeed(destination);
    expect(await fail(destination, respond.gone())).toBe("endpoint_paused");
    expect(await alertRound(deps)).toMatchObject({ failing: 1 });
    const [mail] = mailsAbout(destination);
    expect(mail.subject).toBe("Leads are not reaching gone CRM: it was paused");
    expect(mail.text).toContain("Last error: Your endpoint answered 410 Gone; deliveries to it are paused until you turn it back on");
    expect(mail.text).toContain("Nothing is sent to it until you fix the setting and resume it.");
    clock.advance(8 * HOUR);
    await alertRound(deps);
    expect(mailsAbout(destination)).toHaveLength(1);

    // Resuming alone is not a recovery; the first lead delivered after it is.
    await resumeEndpoint({ db, shop: destination.shop, destinationId: destination.id, queue: getProducers().deliveryQueue, now: clock.now() });
    await alertRound(deps);
    expect(mailsAbout(destination)).toHaveLength(1);
    clock.advance(MINUTE);
    await succeed(destination);
    expect(await alertRound(deps)).toMatchObject({ recovered: 1 });
    expect(mailsAbout(destination).map((m) => m.subject)).toEqual(["Leads are not reaching gone CRM: it was paused", "gone CRM is receiving leads again"]);
    expect(mailsAbout(destination)[1].text).toContain("Leads still waiting to be sent: 1; they go out on their own now.");
  });

  it("alerts at once about an HTTP request whose receiver refused its credentials, and a Klaviyo destination paused over its key", async () => {
    const shop = await installShop(uniqueShopDomain("credentials"));
    adminApi.shopEmails.set(shop.domain, { email: "owner@credentials.example", contactEmail: null });
    const now = clock.now();
    // The rows as the worker leaves them: the HTTP request's 401 is final for the lead (not retried, not paused);
    // Klaviyo's 401 pauses the destination.
    const httpRequest = await db.destination.create({
      data: {
        shopId: shop.id, kind: "http_request", name: "HubSpot", url: "https://api.hubapi.example", state: "active",
        secretCiphertext: "", secretKeyVersion: 1, consecutiveFailures: 1, lastFailureAt: now, failingSince: now,
      },
    });
    const klaviyo = await db.destination.create({
      data: {
        shopId: shop.id, kind: "klaviyo", name: "Klaviyo", url: "https://a.klaviyo.com", state: "paused",
        pausedReason: "Klaviyo rejected the API key (401 Unauthorized); deliveries are paused until you enter a new key",
        secretCiphertext: "", secretKeyVersion: 1, consecutiveFailures: 1, lastFailureAt: now, failingSince: now,
      },
    });
    const recorded = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }), { clock });
    shopperEmails.push(recorded.lead.email);
    await db.delivery.updateMany({
      where: { leadId: recorded.lead.id, destinationId: httpRequest.id },
      data: {
        status: "failed", attemptCount: 1, lastStatusCode: 401,
        lastError: "The receiver answered 401 Unauthorized; the request is not sent again. The receiver rejected the credentials: check the API key or token in the headers",
      },
    });

    expect(await alertRound(alertDeps(mailer, clock, logger))).toMatchObject({ failing: 2 });
    const mails = smtp.mails.filter((m) => m.to.includes("owner@credentials.example"));
    const byName = Object.fromEntries(mails.map((m) => [m.subject, m.text]));
    expect(Object.keys(byName).sort()).toEqual([
      "Leads are not reaching HubSpot: its credentials were rejected",
      "Leads are not reaching Klaviyo: it was paused",
    ]);
    const hubspot = byName["Leads are not reaching HubSpot: its credentials were rejected"];
    expect(hubspot).toContain("HubSpot (HTTP request, api.hubapi.example)");
    expect(hubspot).toContain("1 lead could not be sent since then");
    expect(hubspot).toContain("Last error: The receiver answered 401 Unauthorized");
    expect(hubspot).toContain("Update it in the destination's headers");
    const klaviyoText = byName["Leads are not reaching Klaviyo: it was paused"];
    expect(klaviyoText).toContain("Klaviyo (Klaviyo, a.klaviyo.com)");
    expect(klaviyoText).toContain("Leads waiting to be sent: 1.");
    expect(klaviyoText).toContain("Last error: Klaviyo rejected the API key (401 Unauthorized)");
    expect(await db.destination.count({ where: { id: { in: [httpRequest.id, klaviyo.id] }, alertState: "failing" } })).toBe(2);

    // An HTTP request failing for other reasons (a 500, retried) waits for the threshold as any destination does.
    const flaky = await db.destination.create({
      data: {
        shopId: shop.id, kind: "http_request", name: "Flaky CRM", url: "https://flaky.example", state: "active",
        secretCiphertext: "", secretKeyVersion: 1, consecutiveFailures: 1, lastFailureAt: now, failingSince: now,
      },
    });
    const other = await recordLeadWithDeliveries(db, sampleLead({ shopId: shop.id, shopDomain: shop.domain }), { clock });
    shopperEmails.push(other.lead.email);
    await db.delivery.updateMany({
      where: { leadId: other.lead.id, destinationId: flaky.id },
      data: { status: "retrying", attemptCount: 1, lastStatusCode: 500, lastError: "The receiver answered 500 Internal Server Error; it is sent again later" },
    });
    expect(await alertRound(alertDeps(mailer, clock, logger))).toMatchObject({ failing: 0 });
    await db.destination.update({ where: { id: flaky.id }, data: { state: "disconnected" } });
  });

  it("does not email about a destination the merchant paused themselves", async () => {
    const destination = await destinationFor("own-pause");
    const deps = alertDeps(mailer, clock, logger);
    await fail(destination);
    await pauseEndpoint({ db, shop: destination.shop, destinationId: destination.id });
    clock.advance(2 * HOUR);
    await alertRound(deps);
    expect(mailsAbout(destination)).toHaveLength(0);
    expect(await db.destination.findUniqueOrThrow({ where: { id: destination.id } })).toMatchObject({ alertState: "none" });
  });

  it("sends one email when several worker processes' rounds race for the same destinations", async () => {
    const racing = [await destinationFor("race-a"), await destinationFor("race-b"), await destinationFor("race-c")];
    for (const destination of racing) await fail(destination);
    clock.advance(45 * MINUTE);
    const deps = alertDeps(mailer, clock, logger);
    const results = await Promise.all(Array.from({ length: 4 }, () => alertRound(deps)));
    expect(results.reduce((sum, r) => sum + r.failing, 0)).toBe(3);
    for (const destination of racing) expect(mailsAbout(destination)).toHaveLength(1);
  });

  it("sends nothing to a shop that turned alerts off, and uses the address the merchant typed", async () => {
    const destination = await destinationFor("opt-out");
    const deps = alertDeps(mailer, clock, logger);
    await saveAlertSettings(db, destination.shop.id, { enabled: false, email: null });
    await fail(destination, respond.gone());
    clock.advance(HOUR);
    expect(await alertRound(deps)).toMatchObject({ failing: 0, noRecipient: 0 });
    expect(mailsAbout(destination)).toHaveLength(0);
    expect(await db.destination.findUniqueOrThrow({ where: { id: destination.id } })).toMatchObject({ alertState: "none", alertClaimedUntil: null });

    await saveAlertSettings(db, destination.shop.id, { enabled: true, email: "ops@opt-out.example" });
    await alertRound(deps);
    expect(mailsAbout(destination).map((m) => m.to)).toEqual([["ops@opt-out.example"]]);
  });

  it("sends after a worker died between claiming and sending, once its claim has expired", async () => {
    const destination = await destinationFor("crash");
    const deps = alertDeps(mailer, clock, logger);
    await fail(destination, respond.gone());
    // What a worker that claimed the destination and then died leaves behind.
    await db.destination.update({ where: { id: destination.id }, data: { alertClaimedUntil: new Date(clock.now().getTime() + 5 * MINUTE) } });
    await alertRound(deps);
    expect(mailsAbout(destination)).toHaveLength(0);
    clock.advance(5 * MINUTE);
    await alertRound(deps);
    expect(mailsAbout(destination)).toHaveLength(1);
  });

  it("tries again later when the mail server refuses the message, without sending twice", async () => {
    const destination = await destinationFor("smtp-down");
    const deps = alertDeps(mailer, clock, logger);
    await fail(destination, respond.gone());
    smtp.refuse = true;
    try {
      expect(await alertRound(deps)).toMatchObject({ failing: 0, unsent: 1 });
    } finally {
      smtp.refuse = false;
    }
    expect(await db.destination.findUniqueOrThrow({ where: { id: destination.id } })).toMatchObject({ alertState: "none" });
    await alertRound(deps);
    expect(mailsAbout(destination)).toHaveLength(0);
    clock.advance(5 * MINUTE);
    expect(await alertRound(deps)).toMatchObject({ failing: 1 });
    await alertRound(deps);
    expect(mailsAbout(destination)).toHaveLength(1);
  });

  it("falls back to the store's public contact email, and skips a shop with no known address until one is set", async () => {
    const withContact = await shopWithDestination("contact-only", receiver);
    adminApi.shopEmails.set(withContact.shop.domain, { email: null, contactEmail: "Hello@Contact-Only.example" });
    const unknown = await shopWithDestination("no-address", receiver);
    const deps = alertDeps(mailer, clock, logger);
    await fail(withContact, respond.gone());
    await fail(unknown, respond.gone());
    const result = await alertRound(deps);
    expect(result).toMatchObject({ noRecipient: 1 });
    expect(mailsAbout(withContact).map((m) => m.to)).toEqual([["hello@contact-only.example"]]);
    expect(mailsAbout(unknown)).toHaveLength(0);
    // Shopify is not asked again every round for a shop it had no address for.
    const asked = adminApi.calls.filter((c) => c.shop === unknown.shop.domain && c.operation === "ShopAlertEmail").length;
    await alertRound(deps);
    expect(adminApi.calls.filter((c) => c.shop === unknown.shop.domain && c.operation === "ShopAlertEmail")).toHaveLength(asked);

    await saveAlertSettings(db, unknown.shop.id, { enabled: true, email: "me@no-address.example" });
    clock.advance(5 * MINUTE);
    await alertRound(deps);
    expect(mailsAbout(unknown).map((m) => m.to)).toEqual([["me@no-address.example"]]);
  });

  it("never puts a shopper's email, a secret, a token or the destination's full URL in an email or the logs", async () => {
    const destination = await destinationFor("privacy");
    const deps = alertDeps(mailer, clock, logger);
    // An error that quotes a URL and a shopper's email is cleaned before it reaches the merchant's inbox.
    await fail(destination, respond.status(500, "nope"));
    await db.delivery.updateMany({
      where: { destinationId: destination.id },
      data: { lastError: `Rejected ${destination.url} for ${shopperEmails.at(-1)} with Bearer abcdefghijklmnop` },
    });
    clock.advance(31 * MINUTE);
    await alertRound(deps);
    clock.advance(MINUTE);
    await succeed(destination);
    await alertRound(deps);
    expect(mailsAbout(destination)).toHaveLength(2);
    expect(mailsAbout(destination)[0].text).toContain("Last error: Rejected 127.0.0.1 for [email] with Bearer [hidden]");

    const everything = smtp.mails.map((m) => m.raw).join("\n") + logs();
    expect(shopperEmails.length).toBeGreaterThan(10);
    for (const email of shopperEmails) expect(everything).not.toContain(email);
    expect(everything).not.toContain(destination.url);
    expect(everything).not.toContain(new URL(destination.url).pathname);
    expect(everything).not.toContain(new URL(destination.url).searchParams.get("token")!);
    expect(everything).not.toContain(destination.secret);
    expect(everything).not.toContain(SMTP_PASSWORD);
    // The merchant's own address is in the emails' headers, never in the logs.
    expect(logs()).not.toMatch(/@[a-z-]+\.example/);
  });
});
