import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLeadWithDeliveries } from "../../app/delivery/outbox.server";
import { getDb } from "../../app/lib/db.server";
import { ensureShop } from "../../app/shops/shops.server";
import { addEndpoint, sampleLead } from "../support/delivery";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { installShop } from "../support/shopify";
import { captureLogs, deliver, processOnce, shopifyWebhook, testDeps, uniqueShop } from "./support";

const db = getDb();
const logs = captureLogs();
let receiver: HttpsReceiver;

function uninstalled(shop: string, options: { webhookId?: string; triggeredAt?: Date } = {}) {
  return shopifyWebhook("app/uninstalled", { id: 1, name: "Shop", domain: shop, myshopify_domain: shop, email: "owner@example.com" }, { shop, ...options });
}

/** An installed shop with a connected endpoint and one captured lead whose delivery waits to be sent. */
async function shopWithWaitingLead(label: string) {
  const shop = await installShop(uniqueShop(label));
  const endpoint = await addEndpoint(shop, receiver.urlFor(`/crm/${label}`));
  receiver.setSecrets([endpoint.secret]);
  const recorded = await recordLeadWithDeliveries(db, sampleLead(endpoint));
  return { shop, endpoint, leadId: recorded.lead.id, deliveryId: recorded.deliveryIds[0] };
}

describe("app/uninstalled", () => {
  beforeAll(async () => {
    receiver = await startHttpsReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });

  it("removes the sessions and stops sending, keeps the data, and a reinstall sends what waited", async () => {
    const { shop, endpoint, leadId, deliveryId } = await shopWithWaitingLead("uninstall");
    const firstInstall = (await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).installedAt;
    expect((await deliver("app/uninstalled", uninstalled(shop.domain), testDeps(logs.logger))).status).toBe(200);

    expect(await db.session.count({ where: { shop: shop.domain } })).toBe(0);
    expect((await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).uninstalledAt).toBeInstanceOf(Date);
    expect(await db.lead.count({ where: { id: leadId } })).toBe(1);
    expect(await db.destination.count({ where: { id: endpoint.id } })).toBe(1);

    // The worker sends nothing for an uninstalled shop; the delivery keeps waiting.
    const before = receiver.requests.length;
    expect(await processOnce(deliveryId, receiver, logs.logger)).toBe("endpoint_inactive");
    expect(receiver.requests.length).toBe(before);
    expect((await db.delivery.findUniqueOrThrow({ where: { id: deliveryId } })).status).toBe("pending");

    // Reinstalling (afterAuth calls ensureShop) clears the mark, and the waiting lead goes out.
    await ensureShop(db, shop.domain);
    const reinstalled = await db.shop.findUniqueOrThrow({ where: { id: shop.id } });
    expect(reinstalled.uninstalledAt).toBeNull();
    expect(reinstalled.installedAt.getTime()).toBeGreaterThan(firstInstall.getTime());
    expect(await processOnce(deliveryId, receiver, logs.logger)).toBe("delivered");
    expect(receiver.requests.length).toBe(before + 1);
  });

  it("does nothing more when the same webhook is delivered again after the reinstall", async () => {
    const domain = uniqueShop("uninstall-replay");
    const shop = await installShop(domain);
    const first = uninstalled(domain, { webhookId: "uninstall-replay-1" });
    expect((await deliver("app/uninstalled", first, testDeps(logs.logger))).status).toBe(200);

    await installShop(domain); // a new offline session, and ensureShop clears the mark
    const again = uninstalled(domain, { webhookId: "uninstall-replay-1" });
    expect((await deliver("app/uninstalled", again, testDeps(logs.logger))).status).toBe(200);
    expect(await db.session.count({ where: { shop: domain } })).toBe(1);
    expect((await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).uninstalledAt).toBeNull();
  });

  it("ignores an uninstall that Shopify triggered before the latest install", async () => {
    const domain = uniqueShop("uninstall-late");
    const shop = await installShop(domain);
    await db.shop.update({ where: { id: shop.id }, data: { installedAt: new Date() } });
    const late = uninstalled(domain, { triggeredAt: new Date(Date.now() - 120_000) });
    expect((await deliver("app/uninstalled", late, testDeps(logs.logger))).status).toBe(200);
    expect(await db.session.count({ where: { shop: domain } })).toBe(1);
    expect((await db.shop.findUniqueOrThrow({ where: { id: shop.id } })).uninstalledAt).toBeNull();
  });

  it("removes the sessions of a shop that has no shop row, and answers 200", async () => {
    const domain = uniqueShop("uninstall-sessions-only");
    await installShop(domain);
    await db.shop.delete({ where: { domain } });
    expect((await deliver("app/uninstalled", uninstalled(domain), testDeps(logs.logger))).status).toBe(200);
    expect(await db.session.count({ where: { shop: domain } })).toBe(0);
  });

  it("logs no email (the shop payload carries the owner's)", () => {
    expect(logs.text()).toContain("shop uninstalled");
    expect(logs.text()).not.toContain("owner@example.com");
    expect(logs.text()).not.toMatch(/@example\.(org|com)/);
  });
});
