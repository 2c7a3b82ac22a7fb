import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { getDb } from "../../app/lib/db.server";
import { sendTestWebhook } from "../../app/destinations/test-send.server";
import { startBuiltAppServer as startAppServer, type BuiltAppServer as AppServer } from "../support/app-server";
import { provideSessionTokens } from "../support/app-bridge-stand-in";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { seedLeads } from "../support/leads";
import { installShop, sessionToken } from "../support/shopify";
import { launchBrowser, screenshot, type TestBrowser, waitForHydration, embeddedAdminPath } from "../browser/browser";
import { captureLogger, LOOPBACK_DESTINATION, loopbackSender, testSendDeps } from "./helpers";

const SHOP = "integrations-browser.myshopify.com";
const WEBHOOK_PAGE = "/app/leads/integrations/webhook";
const db = getDb();


describe("the webhook integration in a real browser", () => {
  let server: AppServer;
  let tb: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let receiver: HttpsReceiver;
  let shop: { id: string; domain: string };
  const secrets: string[] = [];
  /** Every same-origin answer the page received, to find where a secret travelled. */
  const answers: { method: string; url: string; body: string }[] = [];

  const open = async (path: string) => {
    const response = await page.goto(server.url + embeddedAdminPath(SHOP, await sessionToken(SHOP), path));
    expect(response?.status()).toBe(200);
    await waitForHydration(page);
  };
  const endpointRow = () => db.destination.findFirstOrThrow({ where: { shopId: shop.id, state: { not: "disconnected" } } });

  beforeAll(async () => {
    shop = await installShop(SHOP);
    await seedLeads(shop.id, [{ email: "first.shopper@example.com" }, { email: "second.shopper@example.com" }]);
    receiver = await startHttpsReceiver();
    // The app in this test may reach the loopback receiver: the test hands that transport to the server it
    // starts. The production server hands none, and its routes then refuse loopback and private addresses.
    const sender = loopbackSender(receiver);
    const webhookTransport = { destination: LOOPBACK_DESTINATION, send: (r: Parameters<typeof sender.send>[0]) => sender.send(r) };
    [server, tb] = await Promise.all([startAppServer({ loadContext: { webhookTransport } }), launchBrowser()]);
    context = await tb.newContext();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    page = await context.newPage();
    await provideSessionTokens(page, () => sessionToken(SHOP));
    page.on("response", async (response) => {
      if (!response.url().startsWith(server.url)) return;
      const body = await response.text().catch(() => "");
      answers.push({ method: response.request().method(), url: response.url(), body });
    });
  });

  afterAll(async () => {
    await tb?.close();
    await server?.close();
    await receiver?.close();
  });

  it("shows the Destinations card in the Leads tab with nothing connected yet", async () => {
    await open("/app/leads");
    await page.getByRole("heading", { name: "Destinations" }).waitFor();
    expect(await page.getByTestId("destination-row").count()).toBe(0);
    await page.getByRole("link", { name: "Add destination" }).waitFor();
    await page.getByText("CSV export").waitFor();
    await page.getByRole("button", { name: "Download CSV" }).waitFor();
    await screenshot(page, "integrations-not-connected.png");
  }, 90_000);

  it("connects: refuses a private URL in plain words, then shows the secret once with a copy button", async () => {
    // The single-webhook page keeps working at its old address.
    await open(WEBHOOK_PAGE);
    await page.getByRole("heading", { name: "Connect a webhook" }).waitFor();

    await page.getByLabel("Endpoint URL").fill("https://10.0.0.5/hook");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText(/The address 10\.0\.0\.5 is .*leads are only sent to public internet addresses/).waitFor();
    await screenshot(page, "webhook-connect-refused.png");

    await page.getByLabel("Endpoint URL").fill(receiver.urlFor("/crm/tryon"));
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("Copy your signing secret now. It will not be shown again.").waitFor();
    const secret = (await page.getByTestId("signing-secret").innerText()).trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    secrets.push(secret);
    await page.getByRole("button", { name: "Copy secret" }).click();
    await page.getByText("Copied to the clipboard.").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await page.getByTestId("endpoint-url").waitFor();
    await screenshot(page, "webhook-secret-shown-once.png");

    // Exactly one answer ever carried it: the connect action's. Reloading shows it nowhere.
    expect(answers.filter((a) => a.body.includes(secret)).map((a) => a.method)).toEqual(["POST"]);
    await open(WEBHOOK_PAGE);
    await page.getByTestId("endpoint-url").waitFor();
    expect(await page.content()).not.toContain(secret);
    expect(await page.getByTestId("signing-secret").count()).toBe(0);
    expect(answers.filter((a) => a.body.includes(secret))).toHaveLength(1);
  });

  it("sends a test webhook from the page: delivered inline, verified by the receiver, and in the log", async () => {
    receiver.setSecrets(secrets);
    const before = receiver.requests.length;
    await open(WEBHOOK_PAGE);
    await page.getByRole("button", { name: "Send test webhook" }).click();
    await page.getByText(/^Delivered in \d+ ms$/).waitFor();
    const sent = receiver.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].headers["x-tryoncloud-event"]).toBe("test");
    expect(sent[0].contract.verified && sent[0].standard.verified && sent[0].svix.verified).toBe(true);
    const deliveryId = String(sent[0].headers["x-tryoncloud-delivery-id"]);

    await open(WEBHOOK_PAGE);
    const row = page.locator(".Polaris-Box", { hasText: `Delivery ${deliveryId}` });
    await expect.poll(() => row.first().innerText()).toMatch(/Delivered[\s\S]*Test[\s\S]*#1[\s\S]*200[\s\S]*ms[\s\S]*Delivered/);
    await screenshot(page, "webhook-log-delivered-test.png");

    // The receiver goes away: the page says why in plain words, and the failed test is in the log.
    receiver.enqueue(respond.status(500, "CRM is down"));
    await page.getByRole("button", { name: "Send test webhook" }).click();
    await page.getByText("The test webhook was not delivered").waitFor();
    await page.getByText(/500/).first().waitFor();
    await expect.poll(() => page.locator(".Polaris-Badge", { hasText: "Failed" }).count()).toBeGreaterThan(0);
    await screenshot(page, "webhook-test-failed.png");
  });

  it("warns in the Leads tab when the webhook is failing", async () => {
    const endpoint = await endpointRow();
    await db.destination.update({ where: { id: endpoint.id }, data: { consecutiveFailures: 6 } });
    try {
      await open("/app/leads");
      await page.getByText("1 destination is not receiving leads").waitFor();
      expect(await page.getByTestId("destination-row").innerText()).toMatch(/Webhook\s+(Critical\s+)?Failing[\s\S]*The last 6 attempts failed/);
      await screenshot(page, "leads-webhook-failing.png");
    } finally {
      await db.destination.update({ where: { id: endpoint.id }, data: { consecutiveFailures: 0 } });
    }
  });

  it("rotates with a 24-hour overlap: a new secret, shown once, and either one verifies", async () => {
    await open(WEBHOOK_PAGE);
    await page.getByLabel("After rotating").selectOption({ label: "Keep both for 24 hours" });
    await page.getByRole("button", { name: "Rotate signing secret" }).click();
    await page.getByRole("button", { name: "Rotate now" }).click();
    await page.getByText("Copy your signing secret now. It will not be shown again.").waitFor();
    const rotated = (await page.getByTestId("signing-secret").innerText()).trim();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secrets[0]);
    await page.getByText(/Rotation overlap: webhooks are signed with both/).waitFor();
    await screenshot(page, "webhook-rotated-with-overlap.png");

    const endpoint = await endpointRow();
    for (const known of [rotated, secrets[0]]) {
      receiver.setSecrets([known]);
      const result = await sendTestWebhook(testSendDeps(receiver, captureLogger().logger), { shop, destinationId: endpoint.id });
      expect(result.outcome).toBe("delivered");
      expect(receiver.requests.at(-1)?.contract.verified && receiver.requests.at(-1)?.standard.verified).toBe(true);
    }
    expect(answers.filter((a) => a.body.includes(rotated))).toHaveLength(1);
  });

  it("disconnects at once and shows the webhook as not connected", async () => {
    await page.getByRole("button", { name: "Disconnect", exact: true }).click();
    await page.getByRole("button", { name: "Disconnect now" }).click();
    await page.getByText("Webhook disconnected").waitFor();
    await page.getByRole("heading", { name: "Connect a webhook" }).waitFor();
    await screenshot(page, "webhook-disconnected.png");
    expect(await db.destination.count({ where: { shopId: shop.id, state: { not: "disconnected" } } })).toBe(0);

    await open("/app/leads");
    await page.getByRole("heading", { name: "Destinations" }).waitFor();
    expect(await page.getByTestId("destination-row").count()).toBe(0);
    expect(tb.offMachineRequests).toEqual([]);
  });
});
