import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { deliveryJobId } from "../../app/delivery/queue.server";
import { advanceBackfills } from "../../app/destinations/backfill.server";
import { createKlaviyoSender } from "../../app/destinations/klaviyo/sender";
import { createDestinationLimits } from "../../app/destinations/limits.server";
import { getDb } from "../../app/lib/db.server";
import { closeProducers, getProducers } from "../../app/runtime/producers.server";
import { startBuiltAppServer, type BuiltAppServer } from "../support/app-server";
import { provideResourcePicker, provideSessionTokens, standInRecord } from "../support/app-bridge-stand-in";
import { waitFor } from "../support/delivery";
import { startHarness, type DeliveryHarness } from "../support/delivery-harness";
import { startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { ALL_SCOPES, standInExchange, startKlaviyoStandIn, type KlaviyoStandIn } from "../support/klaviyo-stand-in";
import { seedLeads } from "../support/leads";
import { installShop, sessionToken } from "../support/shopify";
import { postCapture } from "../support/web-process";
import { launchBrowser, screenshot, type TestBrowser, waitForHydration, embeddedAdminPath } from "../browser/browser";
import { LOOPBACK_DESTINATION, loopbackSender } from "../integrations/helpers";

/**
 * Several destinations in a real browser against the production build: Klaviyo added with a key checked by a
 * local Klaviyo over HTTPS, a test event, a signed webhook next to it, a storefront capture reaching both,
 * one paused while the other keeps receiving, earlier leads sent with their progress, and a disconnect.
 */

const SHOP = "destinations-browser.myshopify.com";
const KEY = "pk_live_browser0123456789abcdefghijklmn";
const db = getDb();

describe("destinations in a real browser", () => {
  let server: BuiltAppServer;
  let tb: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let receiver: HttpsReceiver;
  let standIn: KlaviyoStandIn;
  let transport: ReturnType<typeof standInExchange>;
  let harness: DeliveryHarness;
  let shop: { id: string; domain: string };
  let klaviyoId: string;
  let webhookId: string;
  const defaultQueueJobs: string[] = [];

  const open = async (path: string) => {
    const response = await page.goto(server.url + embeddedAdminPath(SHOP, await sessionToken(SHOP), path));
    expect(response?.status()).toBe(200);
    await waitForHydration(page);
  };

  /** A storefront capture through the signed app-proxy route; the worker here sends what it wrote. */
  async function capture() {
    const answer = await postCapture(server.url, SHOP);
    expect(answer.status).toBe(201);
    const deliveries = await db.delivery.findMany({ where: { leadId: answer.leadId }, select: { id: true, destinationId: true } });
    for (const d of deliveries) defaultQueueJobs.push(deliveryJobId(d.id, 1));
    // The capture woke its deliveries on the app's own queue; this test's worker listens on its own.
    await harness.reconcile();
    return { ...answer, deliveries };
  }

  beforeAll(async () => {
    shop = await installShop(SHOP);
    await seedLeads(shop.id, [
      { email: "january.shopper@example.com", productId: "42", productTitle: "Aviator Gold", capturedAt: new Date("2026-01-10T10:00:00Z") },
      { email: "february.shopper@example.com", productId: "42", productTitle: "Aviator Gold", capturedAt: new Date("2026-02-10T10:00:00Z") },
      { email: "march.shopper@example.com", productId: "42", productTitle: "Aviator Gold", capturedAt: new Date("2026-03-10T10:00:00Z") },
    ]);
    standIn = await startKlaviyoStandIn({
      keys: [{ key: KEY, scopes: ALL_SCOPES }],
      accounts: [{ id: "acct_browser", organizationName: "Browser Boutique", lists: [{ id: "LISTTRY", name: "Try-on shoppers" }] }],
    });
    transport = standInExchange(standIn);
    receiver = await startHttpsReceiver();
    harness = await startHarness("destinations-browser", receiver, {
      senders: { klaviyo: createKlaviyoSender(transport.exchange) },
      limitsFor: createDestinationLimits(db),
    });
    // The app may reach the loopback receiver and the local Klaviyo only because this test hands it that
    // transport; the production server hands none.
    const sender = loopbackSender(receiver);
    const webhookTransport = {
      destination: LOOPBACK_DESTINATION,
      send: (r: Parameters<typeof sender.send>[0]) => sender.send(r),
      exchange: transport.exchange,
    };
    [server, tb] = await Promise.all([startBuiltAppServer({ loadContext: { webhookTransport } }), launchBrowser()]);
    context = await tb.newContext();
    page = await context.newPage();
    await provideSessionTokens(page, () => sessionToken(SHOP));
    await provideResourcePicker(page, (options) =>
      options.type === "product" ? [{ id: "gid://shopify/Product/42", title: "Aviator Gold" }] : undefined);
  }, 120_000);

  afterAll(async () => {
    for (const jobId of defaultQueueJobs) await (await getProducers().deliveryQueue.getJob(jobId))?.remove();
    await closeProducers();
    await tb?.close();
    await server?.close();
    await harness?.close();
    transport?.close();
    await standIn?.close();
    await receiver?.close();
  });

  it("adds Klaviyo with a checked key and a list picked from the account", async () => {
    await open("/app/leads");
    await page.getByRole("heading", { name: "Destinations" }).waitFor();
    await page.getByRole("link", { name: "Add destination" }).click();
    await page.getByText("Where should new leads go?").waitFor();
    await page.getByText("Signed webhook (Zapier, Make, n8n or your developer's server)").waitFor();
    await page.getByText("HTTP request (HubSpot, Mailchimp, Brevo, any CRM API)").waitFor();
    // Polaris draws its own radio over the input: the merchant clicks that.
    await page.getByLabel("Klaviyo", { exact: true }).check({ force: true });

    // A key Klaviyo does not know is refused in plain words, and nothing is saved.
    await page.getByLabel("Klaviyo private API key").fill("pk_wrong_0000000000000000000000000000");
    await page.getByRole("button", { name: "Check key and connect Klaviyo" }).click();
    await page.locator(".Polaris-InlineError", { hasText: /Klaviyo did not accept this key/ }).waitFor();
    expect(await db.destination.count({ where: { shopId: shop.id } })).toBe(0);
    await screenshot(page, "destinations-klaviyo-key-refused.png");

    await page.getByLabel("Klaviyo private API key").fill(KEY);
    await page.getByRole("button", { name: "Load lists from Klaviyo" }).click();
    await page.getByText("1 lists found").waitFor();
    await page.getByLabel("Subscribe shoppers who agreed to marketing to a list").selectOption({ label: "Try-on shoppers" });
    expect(await page.getByLabel("Event name in Klaviyo").inputValue()).toBe("Try-On Lead");
    await page.getByRole("button", { name: "Check key and connect Klaviyo" }).click();
    await page.getByText("Klaviyo is connected").waitFor();
    await page.getByText(/Klaviyo accepted the key for Browser Boutique/).waitFor();
    await screenshot(page, "destinations-klaviyo-connected.png");
    expect(await page.content()).not.toContain(KEY);

    const row = await db.destination.findFirstOrThrow({ where: { shopId: shop.id, kind: "klaviyo" } });
    klaviyoId = row.id;
    expect(JSON.parse(row.settings!)).toMatchObject({ listId: "LISTTRY", metricName: "Try-On Lead" });
    await page.getByRole("link", { name: "Open destination" }).click();
    await page.waitForURL(new RegExp(`/app/leads/destinations/${klaviyoId}`));
    await page.getByRole("heading", { name: "Klaviyo settings" }).waitFor();
  }, 90_000);

  it("sends a test event that the local Klaviyo accepts, shown inline", async () => {
    const before = standIn.events.length;
    await page.getByRole("button", { name: "Send test event" }).click();
    await page.getByText(/^Delivered in \d+ ms$/).waitFor();
    await page.getByText("Klaviyo answered HTTP 202.", { exact: false }).waitFor();
    expect(standIn.events.length).toBe(before + 1);
    expect(standIn.events.at(-1)).toMatchObject({ metric: "Try-On Lead" });
    await screenshot(page, "destinations-klaviyo-test-sent.png");
  }, 60_000);

  it("limits Klaviyo to a product chosen in the resource picker", async () => {
    await page.getByRole("button", { name: "Choose products" }).click();
    await page.getByText("Products: only leads for this product:").waitFor();
    await page.locator(".Polaris-Badge", { hasText: "Aviator Gold" }).waitFor();
    await page.getByRole("button", { name: "Save filters" }).click();
    await page.getByText("Saved. Leads captured from now on follow these filters.").waitFor();
    expect((await standInRecord(page))?.resourcePickers.at(-1)).toMatchObject({ type: "product", multiple: true });
    expect((await db.destination.findUniqueOrThrow({ where: { id: klaviyoId } })).productIds).toBe('["42"]');
  }, 60_000);

  it("changes the Klaviyo settings: event name, list from the account, profile deletion on erasure", async () => {
    await page.getByLabel("Erasure requests").check({ force: true });
    await page.getByRole("button", { name: "Save filters" }).click();
    await page.getByText("Saved. Leads captured from now on follow these filters.").waitFor();
    await page.getByLabel("Event name in Klaviyo").fill("Virtual Try-On Lead");
    await page.getByRole("button", { name: "Load lists from Klaviyo" }).click();
    await page.getByRole("button", { name: "Reload lists" }).waitFor();
    await page.getByLabel("Subscribe consenting shoppers to a list").selectOption({ label: "Try-on shoppers" });
    await page.getByRole("button", { name: "Save Klaviyo settings" }).click();
    await page.getByText("Saved.", { exact: true }).waitFor();
    const row = await db.destination.findUniqueOrThrow({ where: { id: klaviyoId } });
    expect(JSON.parse(row.settings!)).toMatchObject({ metricName: "Virtual Try-On Lead", listId: "LISTTRY", listName: "Try-on shoppers" });
    // Saving the Klaviyo settings kept the erasure choice made in the filters.
    expect(row.events).toBe('["lead_captured","lead_redacted"]');
    await screenshot(page, "destinations-klaviyo-settings.png");
  }, 60_000);

  it("adds a signed webhook next to it: the secret once, both listed in the Leads tab", async () => {
    await open("/app/leads/destinations/new");
    await page.getByLabel("Signed webhook (Zapier, Make, n8n or your developer's server)").check({ force: true });
    await page.getByLabel("Name", { exact: true }).fill("Zapier");
    await page.getByLabel("Webhook URL").fill(receiver.urlFor("/zap"));
    await page.getByRole("button", { name: "Connect webhook" }).click();
    await page.getByText("Copy your signing secret now. It will not be shown again.").waitFor();
    const secret = (await page.getByTestId("signing-secret").innerText()).trim();
    expect(secret).toMatch(/^whsec_/);
    receiver.setSecrets([secret]);
    webhookId = (await db.destination.findFirstOrThrow({ where: { shopId: shop.id, kind: "webhook" } })).id;

    await open("/app/leads");
    const rows = page.getByTestId("destination-row");
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(0).innerText()).toMatch(/Klaviyo\s+(Success\s+)?Active\s+Klaviyo · Browser Boutique account/);
    expect(await rows.nth(1).innerText()).toMatch(/Zapier\s+(Success\s+)?Active\s+Signed webhook · 127\.0\.0\.1/);
    await screenshot(page, "destinations-leads-tab-two.png");
  }, 60_000);

  it("delivers a storefront capture to both the webhook receiver and Klaviyo", async () => {
    const eventsBefore = standIn.events.length;
    const lead = await capture();
    expect(lead.deliveries.map((d) => d.destinationId).sort()).toEqual([klaviyoId, webhookId].sort());
    await waitFor(async () => (await db.delivery.count({ where: { leadId: lead.leadId, status: "delivered" } })) === 2, 20_000, "both delivered");
    const hook = receiver.requests.filter((r) => r.headers["x-tryoncloud-event"] === "lead_captured" && r.body.includes(lead.email));
    expect(hook).toHaveLength(1);
    expect(hook[0].contract.verified).toBe(true);
    expect(standIn.events.slice(eventsBefore).filter((e) => e.email === lead.email && e.metric === "Virtual Try-On Lead")).toHaveLength(1);
    expect(standIn.subscriptions.some((s) => s.emails.includes(lead.email))).toBe(true);

    // From the lead's row in the Leads tab: its deliveries to both destinations, each row leading to its page.
    await open("/app/leads");
    const row = page.getByRole("row").filter({ hasText: lead.email });
    await row.getByRole("link", { name: "Deliveries of this lead" }).click();
    await page.waitForURL(new RegExp(`[?&]lead=${lead.leadId}`));
    await page.getByRole("heading", { name: "Deliveries of this lead" }).waitFor();
    for (const id of [klaviyoId, webhookId]) {
      const { name } = await db.destination.findUniqueOrThrow({ where: { id }, select: { name: true } });
      const link = page.getByRole("link", { name: `to ${name}` });
      expect(await link.getAttribute("href")).toContain(`/app/leads/destinations/${id}`);
    }
    // No button that would show one destination's log as if it were all of them.
    expect(await page.getByRole("button", { name: "Show all deliveries" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Show all deliveries" }).count()).toBe(0);
  }, 60_000);

  it("pauses Klaviyo: the webhook keeps receiving, Klaviyo gets nothing, and the Leads tab says so", async () => {
    await open(`/app/leads/destinations/${klaviyoId}`);
    await page.getByRole("button", { name: "Pause deliveries" }).click();
    await page.getByRole("button", { name: "Resume deliveries" }).waitFor();
    await page.getByTestId("health-line").getByText(/Paused by you/).waitFor();

    const eventsBefore = standIn.events.length;
    const lead = await capture();
    const hookDelivery = lead.deliveries.find((d) => d.destinationId === webhookId)!;
    const klaviyoDelivery = lead.deliveries.find((d) => d.destinationId === klaviyoId)!;
    await waitFor(async () => (await db.delivery.findUniqueOrThrow({ where: { id: hookDelivery.id } })).status === "delivered", 20_000, "webhook delivered");
    expect(receiver.requests.filter((r) => r.body.includes(lead.email))).toHaveLength(1);
    // Klaviyo's delivery waits for the resume; nothing reached the local Klaviyo.
    await harness.reconcile();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await db.delivery.findUniqueOrThrow({ where: { id: klaviyoDelivery.id } })).toMatchObject({ status: expect.stringMatching(/pending|retrying/) });
    expect(standIn.events.length).toBe(eventsBefore);

    await open("/app/leads");
    await page.getByText("1 destination is paused").waitFor();
    await screenshot(page, "destinations-one-paused.png");
  }, 60_000);

  it("sends earlier leads to the webhook with a progress bar that survives a reload", async () => {
    await open(`/app/leads/destinations/${webhookId}`);
    await page.getByRole("heading", { name: "Send earlier leads" }).waitFor();
    await page.getByLabel("Send leads captured since (UTC)").fill("2026-02-01");
    await page.getByRole("button", { name: "Count leads" }).click();
    // February and March from before, and the two storefront captures (which it already has: they are skipped).
    await page.getByText("4 leads captured since 2026-02-01 will be sent.").waitFor();
    await page.getByRole("button", { name: "Send 4 leads" }).click();
    await page.getByText(/Sending leads captured since 2026-02-01: 0 of 4 queued\./).waitFor();

    // While it runs, the page asks for the run's progress only, not for everything on it again.
    const dataRequests: string[] = [];
    const track = (request: { url(): string }) => {
      const path = new URL(request.url()).pathname;
      if (path.endsWith(".data")) dataRequests.push(path);
    };
    page.on("request", track);
    await advanceBackfills({ db, queue: harness.queue, batchSize: 2 });
    await page.getByText(/2 of 4 queued/).waitFor({ timeout: 15_000 });
    page.off("request", track);
    expect(dataRequests.filter((p) => p.endsWith(`/${webhookId}/backfill.data`)).length).toBeGreaterThan(0);
    expect(dataRequests.filter((p) => p.endsWith(`/${webhookId}.data`))).toEqual([]);
    await screenshot(page, "destinations-backfill-progress.png");
    await open(`/app/leads/destinations/${webhookId}`);
    await page.getByText(/2 of 4 queued/).waitFor();

    for (let i = 0; i < 3; i++) await advanceBackfills({ db, queue: harness.queue, batchSize: 2 });
    await page.getByText("Done: 4 leads captured since 2026-02-01 queued for sending.").waitFor({ timeout: 15_000 });
    await waitFor(
      async () => ["february", "march"].every((m) => receiver.requests.some((r) => r.body.includes(`${m}.shopper@example.com`))),
      20_000,
      "earlier leads received",
    );
    expect(receiver.requests.some((r) => r.body.includes("january.shopper@example.com"))).toBe(false);
    // Each storefront lead reached the webhook once: the backfill skipped those it had.
    for (const d of await db.delivery.findMany({ where: { destinationId: webhookId, event: "lead_captured" }, select: { leadId: true } })) {
      expect(await db.delivery.count({ where: { destinationId: webhookId, leadId: d.leadId, event: "lead_captured" } })).toBe(1);
    }
    await screenshot(page, "destinations-backfill-done.png");
  }, 90_000);

  it("disconnects the webhook after confirmation; the Leads tab lists Klaviyo only", async () => {
    await open(`/app/leads/destinations/${webhookId}`);
    await page.getByRole("button", { name: "Disconnect", exact: true }).click();
    await page.getByText("Disconnect Zapier?").waitFor();
    await page.getByRole("button", { name: "Disconnect now" }).click();
    await page.getByText(/Nothing has been sent to this destination since/).waitFor();
    await screenshot(page, "destinations-disconnected.png");
    expect((await db.destination.findUniqueOrThrow({ where: { id: webhookId } })).state).toBe("disconnected");

    await open("/app/leads");
    const rows = page.getByTestId("destination-row");
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toMatch(/Klaviyo\s+(Warning\s+)?Paused[\s\S]*Paused by you/);
    expect(tb.offMachineRequests).toEqual([]);
  }, 60_000);
});
