import { getJwt } from "@shopify/shopify-api/test-helpers";
import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "../../app/lib/db.server";
import { action, loader } from "../../app/routes/app.settings";
import { FakeAdminApi } from "../support/fake-admin-api";
import { adminRequest, formRequest, installShop } from "../support/shopify";
import { TEST_API_KEY } from "../support/setup-env";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { getConfig } from "../../app/lib/config.server";
import { createLogger } from "../../app/lib/logger.server";
import { mailerFrom } from "../../app/lib/mailer.server";
import { startBackgroundWork } from "../../app/runtime/background.server";
import { ManualClock } from "../support/delivery";
import { respond, startHttpsReceiver } from "../support/https-receiver";
import { leadAttempt, shopWithDestination, uniqueShopDomain } from "./support";

/** The Settings page (alerts by email) through real session tokens, on a server with no SMTP configured. */

const db = getDb();

type Loaded = Awaited<ReturnType<typeof loader>>;

async function load(shop: string): Promise<Loaded> {
  return loader({ request: await adminRequest("/app/settings", shop), params: {}, context: {} });
}

/** The action's answer as status and data, whether it returned `data()` or threw a Response. */
async function post(shop: string, fields: Record<string, string>, init: { token?: string } = {}) {
  try {
    const result: unknown = await action({ request: await formRequest("/app/settings", shop, fields, init), params: {}, context: {} });
    const { data, init: responseInit } = result as { data: Record<string, any>; init: ResponseInit | null };
    return { status: responseInit?.status ?? 200, data };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, data: (await thrown.json().catch(() => null)) as Record<string, any> | null };
    throw thrown;
  }
}

async function stored(shopId: string) {
  return db.shop.findUniqueOrThrow({ where: { id: shopId }, select: { alertsEnabled: true, alertEmail: true, ownerEmail: true } });
}

describe("the Settings page: alerts by email", () => {
  const adminApi = new FakeAdminApi();
  let shopA: { id: string; domain: string };
  let shopB: { id: string; domain: string };

  beforeAll(async () => {
    adminApi.install();
    shopA = await installShop(uniqueShopDomain("settings-a"));
    shopB = await installShop(uniqueShopDomain("settings-b"));
    adminApi.shopEmails.set(shopA.domain, { email: "Owner@Settings-A.example", contactEmail: "hello@settings-a.example" });
  });

  it("shows alerts on, the store's email read from Shopify as the default, and says plainly that email is not set up", async () => {
    const page = await load(shopA.domain);
    expect(page).toEqual({
      alerts: { enabled: true, email: null, ownerEmail: "owner@settings-a.example" },
      mail: { configured: false, from: null },
      failingAfterMinutes: 30,
      quietHours: 6,
    });
    // Read once and kept on the shop: the next load does not ask Shopify again.
    const asked = adminApi.calls.filter((c) => c.shop === shopA.domain && c.operation === "ShopAlertEmail").length;
    expect(asked).toBe(1);
    await load(shopA.domain);
    expect(adminApi.calls.filter((c) => c.shop === shopA.domain && c.operation === "ShopAlertEmail")).toHaveLength(1);
    expect(await stored(shopA.id)).toMatchObject({ ownerEmail: "owner@settings-a.example" });
  });

  it("opens when Shopify's Admin API fails or does not answer, and asks again next time", async () => {
    const shop = await installShop(uniqueShopDomain("settings-down"));
    adminApi.shopEmails.set(shop.domain, { email: "owner@settings-down.example", contactEmail: null });
    for (const failure of ["http500", "graphqlError"] as const) {
      adminApi.fail(shop.domain, failure);
      const page = await load(shop.domain);
      expect(page.alerts, failure).toEqual({ enabled: true, email: null, ownerEmail: null });
      expect((await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).ownerEmailCheckedAt, failure).toBeNull();
    }

    // No answer at all: the page gives up on Shopify after its time limit, not the merchant's browser.
    adminApi.latencyMs = 30_000;
    const started = Date.now();
    try {
      expect((await load(shop.domain)).alerts).toEqual({ enabled: true, email: null, ownerEmail: null });
    } finally {
      adminApi.latencyMs = 0;
    }
    expect(Date.now() - started).toBeLessThan(15_000);

    expect((await load(shop.domain)).alerts).toEqual({ enabled: true, email: null, ownerEmail: "owner@settings-down.example" });
  }, 30_000);

  it("saves an address and the on/off switch, and the page shows what is saved", async () => {
    expect(await post(shopA.domain, { intent: "save", enabled: "true", email: "  Alerts@Shop-A.example " })).toEqual({
      status: 200, data: { ok: true, alerts: { enabled: true, email: "alerts@shop-a.example", ownerEmail: "owner@settings-a.example" } },
    });
    expect((await load(shopA.domain)).alerts).toMatchObject({ enabled: true, email: "alerts@shop-a.example" });

    expect(await post(shopA.domain, { intent: "save", enabled: "false", email: "" })).toMatchObject({ status: 200, data: { ok: true } });
    expect(await stored(shopA.id)).toMatchObject({ alertsEnabled: false, alertEmail: null });
    expect((await load(shopA.domain)).alerts).toMatchObject({ enabled: false, email: null });
  });

  it.each([
    ["not an email", "not-an-email"],
    ["two addresses", "a@shop.example, b@shop.example"],
    ["a display name", "Ops <ops@shop.example>"],
    ["no domain dot", "ops@localhost"],
    ["too long", `${"a".repeat(250)}@shop.example`],
  ])("refuses %s with a 422 that says what to enter, and keeps the saved value", async (_label, email) => {
    await post(shopA.domain, { intent: "save", enabled: "true", email: "kept@shop-a.example" });
    const answer = await post(shopA.domain, { intent: "save", enabled: "true", email });
    expect(answer.status).toBe(422);
    expect(answer.data?.error).toMatchObject({ field: "email", message: expect.stringMatching(/Enter one email address|too long/) });
    expect(await stored(shopA.id)).toMatchObject({ alertsEnabled: true, alertEmail: "kept@shop-a.example" });
  });

  it.each([
    ["an unknown intent", { intent: "delete", enabled: "true", email: "" }, "intent"],
    ["no on/off value", { intent: "save", email: "" }, "enabled"],
    ["an on/off value that is neither", { intent: "save", enabled: "yes", email: "" }, "enabled"],
  ])("answers %s with a 400", async (_label, fields, field) => {
    const answer = await post(shopA.domain, fields);
    expect(answer.status).toBe(400);
    expect(answer.data?.error).toMatchObject({ field });
  });

  it("changes only the shop of the session token, whatever shop the form names", async () => {
    await post(shopB.domain, { intent: "save", enabled: "true", email: "" });
    const answer = await post(shopA.domain, { intent: "save", enabled: "true", email: "mine@shop-a.example", shop: shopB.domain, shopId: shopB.id });
    expect(answer.status).toBe(200);
    expect(await stored(shopA.id)).toMatchObject({ alertEmail: "mine@shop-a.example" });
    expect(await stored(shopB.id)).toMatchObject({ alertsEnabled: true, alertEmail: null });
    expect((await load(shopB.domain)).alerts).toMatchObject({ enabled: true, email: null });
  });

  it("refuses a forged session token and changes nothing", async () => {
    const { token } = await getJwt(shopB.domain.replace(/\.myshopify\.com$/, ""), TEST_API_KEY, "not-the-app-secret");
    const answer = await post(shopB.domain, { intent: "save", enabled: "false", email: "evil@attacker.example" }, { token });
    expect(answer.status).toBe(401);
    expect(await stored(shopB.id)).toMatchObject({ alertsEnabled: true, alertEmail: null });
    await expect(loader({ request: await adminRequest("/app/settings", shopB.domain, { token }), params: {}, context: {} })).rejects.toMatchObject({ status: 401 });
  });
});

describe("without an SMTP server configured", () => {
  it("sends nothing: the background work runs no alert round, so a paused destination is left as it is", async () => {
    const adminApi = new FakeAdminApi();
    adminApi.install();
    const receiver = await startHttpsReceiver();
    try {
      expect(mailerFrom(getConfig())).toBeNull();
      const destination = await shopWithDestination("no-smtp", receiver);
      adminApi.shopEmails.set(destination.shop.domain, { email: "owner@no-smtp.example", contactEmail: null });
      const logger = createLogger({ level: "silent" });
      expect((await leadAttempt(destination, receiver, new ManualClock(), logger, respond.gone())).outcome).toBe("endpoint_paused");
      const work = await startBackgroundWork({
        config: { ...getConfig(), ALERT_CHECK_INTERVAL: 50 },
        logger,
        db,
        transport: { policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }), extraCa: receiver.ca },
      });
      await new Promise((r) => setTimeout(r, 1_000));
      await work.stop();
      expect(await db.destination.findUniqueOrThrow({ where: { id: destination.id } })).toMatchObject({
        state: "paused", alertState: "none", alertSentAt: null, alertClaimedUntil: null,
      });
      // Not even the address was looked up.
      expect(adminApi.calls.filter((c) => c.operation === "ShopAlertEmail")).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  });
});
