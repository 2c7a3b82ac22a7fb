import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpReceiver } from "../support/smtp-receiver";

/**
 * Alerts as the app runs them, with SMTP_URL and MAIL_FROM set: the worker's background work builds the
 * mailer from the configuration and runs the alert round on its interval (two worker processes' worth of it
 * at once, sharing the lease), and the Settings page says email is set up and who it comes from.
 */

// The settings are read once per process, so they are in place before any of the app is loaded.
const smtp = await startSmtpReceiver({ user: "relay-user", password: "relay-pass-77" });
Object.assign(process.env, { SMTP_URL: smtp.url, MAIL_FROM: "Leads Alerts <alerts@tryon-leads.example>" });

const { getConfig } = await import("../../app/lib/config.server");
const { getDb } = await import("../../app/lib/db.server");
const { createLogger } = await import("../../app/lib/logger.server");
const { createAddressPolicy } = await import("../../app/delivery/ssrf.server");
const { startBackgroundWork } = await import("../../app/runtime/background.server");
const { loader } = await import("../../app/routes/app.settings");
const { FakeAdminApi } = await import("../support/fake-admin-api");
const { ManualClock, waitFor } = await import("../support/delivery");
const { respond, startHttpsReceiver } = await import("../support/https-receiver");
const { adminRequest } = await import("../support/shopify");
const { leadAttempt, shopWithDestination } = await import("./support");

type Receiver = Awaited<ReturnType<typeof startHttpsReceiver>>;

describe("alerts in the running app, with SMTP configured", () => {
  const adminApi = new FakeAdminApi();
  let receiver: Receiver;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    adminApi.install();
    receiver = await startHttpsReceiver();
  });

  afterAll(async () => {
    for (const stop of stops) await stop();
    await receiver.close();
    await smtp.close();
  });

  it("says on the Settings page that email is set up, with the sender merchants will see and no credentials", async () => {
    const { shop } = await shopWithDestination("page-smtp", receiver);
    const page = await loader({ request: await adminRequest("/app/settings", shop.domain), params: {}, context: {} });
    expect(page.mail).toEqual({ configured: true, from: "Leads Alerts <alerts@tryon-leads.example>" });
    expect(JSON.stringify(page)).not.toContain("relay-pass-77");
  });

  it("two worker processes' background work send one email about a destination a 410 paused", async () => {
    const destination = await shopWithDestination("wired", receiver);
    adminApi.shopEmails.set(destination.shop.domain, { email: "owner@wired.example", contactEmail: null });
    const logger = createLogger({ level: "silent" });
    expect(await leadAttempt(destination, receiver, new ManualClock(), logger, respond.gone()).then((r) => r.outcome)).toBe("endpoint_paused");

    for (let i = 0; i < 2; i++) {
      const work = await startBackgroundWork({
        config: { ...getConfig(), ALERT_CHECK_INTERVAL: 100 },
        logger,
        db: getDb(),
        transport: { policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }), extraCa: receiver.ca },
      });
      stops.push(() => work.stop());
    }
    const about = () => smtp.mails.filter((m) => m.text.includes(`/app/leads/destinations/${destination.id}`));
    const [mail] = await waitFor(async () => (about().length > 0 ? about() : null), 15_000, "the alert email");
    expect(mail).toMatchObject({ to: ["owner@wired.example"], from: "alerts@tryon-leads.example", subject: "Leads are not reaching wired CRM: it was paused" });
    // Several more rounds of both: still one.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(about()).toHaveLength(1);
    expect(await getDb().destination.findUniqueOrThrow({ where: { id: destination.id } })).toMatchObject({ alertState: "failing", alertClaimedUntil: null });
  });
});
