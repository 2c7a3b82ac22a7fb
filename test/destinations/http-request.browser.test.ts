import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import type { OutboundRequest } from "../../app/delivery/http-sender.server";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { openCredentials } from "../../app/destinations/endpoint-secrets.server";
import { parseHttpCredentials } from "../../app/destinations/http-request/sender";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { getDb } from "../../app/lib/db.server";
import { jsonAnswer, startApiStandIn, type ApiStandIn, type StandInRequest } from "../support/api-stand-in";
import { startBuiltAppServer, type BuiltAppServer } from "../support/app-server";
import { provideSessionTokens } from "../support/app-bridge-stand-in";
import { seedLeads } from "../support/leads";
import { installShop, sessionToken } from "../support/shopify";
import { launchBrowser, screenshot, type TestBrowser, waitForHydration, embeddedAdminPath } from "../browser/browser";

/**
 * A merchant adds Mailchimp as an HTTP request destination in a real browser: picks the preset, pastes the
 * API key and the audience id, sees the exact request for their latest lead with the key masked, sends a
 * test to a Mailchimp stand-in (HTTPS on loopback under Mailchimp's host name) and reads its answer inline.
 */

const SHOP = "request-browser.myshopify.com";
const PAGE = "/app/leads/destinations/new/request";
const API_KEY = "9f8e7d6c5b4a39281706f5e4d3c2b1a0-us21";
const WRONG_KEY = "fedcba9876543210fedcba9876543210-us21";
const LIST_ID = "a1b2c3d4e5";
const db = getDb();

function header(req: StandInRequest, name: string): string {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? "";
}

/** Mailchimp's "add or update list member", as the Marketing API answers it. */
function mailchimp(req: StandInRequest) {
  const problem = (status: number, title: string, detail: string) =>
    jsonAnswer(status, { title, status, detail }, "application/problem+json; charset=utf-8");
  const credentials = Buffer.from(header(req, "authorization").replace(/^Basic /, ""), "base64").toString("utf8");
  const key = credentials.slice(credentials.indexOf(":") + 1);
  // Echoes the key it refused, as a careless API might: the page must not show it.
  if (key !== API_KEY) return problem(401, "API Key Invalid", `Your API key may be invalid (${key}).`);
  const path = req.path.match(/^\/3\.0\/lists\/([^/]+)\/members\/([0-9a-f]{32})$/);
  if (req.method !== "PUT" || !path || path[1] !== LIST_ID) return problem(404, "Resource Not Found", "The requested resource could not be found.");
  const body = JSON.parse(req.body) as { email_address: string; status_if_new: string };
  if (createHash("md5").update(body.email_address.toLowerCase()).digest("hex") !== path[2]) return problem(400, "Invalid Resource", "Hash mismatch.");
  return jsonAnswer(200, { id: path[2], email_address: body.email_address, status: body.status_if_new, list_id: LIST_ID });
}

describe("adding Mailchimp as an HTTP request destination in a real browser", () => {
  let server: BuiltAppServer;
  let tb: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let standIn: ApiStandIn;
  let shop: { id: string; domain: string };
  const answers: { method: string; url: string; body: string }[] = [];
  const pageProblems: string[] = [];

  beforeAll(async () => {
    shop = await installShop(SHOP);
    await seedLeads(shop.id, [{ email: "first.shopper@example.com" }, { email: "Latest.Shopper@Example.com", productTitle: "Round frames" }]);
    standIn = await startApiStandIn({ hostnames: ["*.api.mailchimp.com"], handle: mailchimp });
    const sender = standIn.sender();
    // The app in this test may reach the stand-in: Mailchimp's host names resolve to loopback, which the
    // address guard allows here, and requests go to the stand-in's port. The production server hands no
    // transport, and its routes reach public addresses only.
    const exchange = (request: OutboundRequest) =>
      sender.exchange({ ...request, url: request.url.replace(/^(https:\/\/[^/?#:]+)/, `$1:${standIn.port}`) });
    const webhookTransport = {
      destination: { resolve: standIn.resolve, policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }) },
      exchange,
    };
    [server, tb] = await Promise.all([startBuiltAppServer({ loadContext: { webhookTransport } }), launchBrowser()]);
    context = await tb.newContext();
    page = await context.newPage();
    await provideSessionTokens(page, () => sessionToken(SHOP));
    page.on("pageerror", (error) => pageProblems.push(`uncaught: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") pageProblems.push(`console: ${message.text()}`);
    });
    page.on("response", async (response) => {
      if (!response.url().startsWith(server.url)) return;
      answers.push({ method: response.request().method(), url: response.url(), body: await response.text().catch(() => "") });
    });
  });

  afterAll(async () => {
    await tb?.close();
    await server?.close();
    await standIn?.close();
  });

  it("fills the request from the Mailchimp preset and previews it on the latest lead with the key masked", async () => {
    // From the add-destination chooser, as a merchant gets there.
    const response = await page.goto(server.url + embeddedAdminPath(SHOP, await sessionToken(SHOP), "/app/leads/destinations/new"));
    expect(response?.status()).toBe(200);
    await waitForHydration(page);
    await page.getByLabel("HTTP request (HubSpot, Mailchimp, Brevo, any CRM API)").check({ force: true });
    await page.getByRole("link", { name: "Set up the request" }).click();
    await page.waitForURL(new RegExp(PAGE));
    await page.getByRole("heading", { name: "Start from" }).waitFor();
    await page.getByRole("heading", { name: "Field reference" }).waitFor();

    await page.getByLabel("Service").selectOption({ label: "Mailchimp" });
    await page.getByText("In Mailchimp, create an API key and copy it.").waitFor();
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByLabel("Audience ID").fill(LIST_ID);

    const hash = createHash("md5").update("latest.shopper@example.com").digest("hex");
    await expect.poll(() => page.getByTestId("preview-line").innerText().catch(() => ""), { timeout: 15_000 })
      .toBe(`PUT https://us21.api.mailchimp.com/3.0/lists/${LIST_ID}/members/${hash}`);
    expect(await page.getByText("The exact request for your latest lead:").count()).toBe(1);
    const headers = await page.getByTestId("preview-headers").innerText();
    expect(headers).toContain("authorization: •••••••• (secret)");
    expect(headers).toContain("idempotency-key: preview");
    expect(JSON.parse(await page.getByTestId("preview-body").innerText())).toEqual({ email_address: "Latest.Shopper@Example.com", status_if_new: "subscribed" });
    expect(await page.getByLabel("URL").inputValue()).toBe(`https://us21.api.mailchimp.com/3.0/lists/${LIST_ID}/members/{{ email | downcase | md5 }}`);
    expect(await page.getByLabel("Header 1 value").getAttribute("type")).toBe("password");
    await screenshot(page, "http-request-mailchimp-preview.png");

    // Beside the form: every field a template can use, with the sample lead's values, and the no-code guide.
    const reference = await page.getByTestId("field-reference").innerText();
    expect(reference).toMatch(/utm\.source\s+text or empty\s+utm_source of the visit[^\n]*\s+"instagram"/);
    expect(reference).toMatch(/delivery_id\s+text/);
    expect(JSON.parse(await page.getByTestId("sample-lead-json").innerText())).toMatchObject({ event: "lead_captured", email: "ana.silva@example.com" });
    await page.getByRole("tab", { name: "n8n" }).click();
    await page.getByTestId("no-code-n8n").getByText(/Production URL/).waitFor();
    await page.getByText(/Verify the raw body, not re-serialised JSON/).waitFor();

    // No answer from the app ever carried the key, in any form.
    const basic = Buffer.from(`tryonleads:${API_KEY}`).toString("base64");
    expect(answers.filter((a) => a.body.includes(API_KEY) || a.body.includes(basic))).toEqual([]);
  }, 90_000);

  it("sends a test to the Mailchimp stand-in and shows its answer inline", async () => {
    const before = standIn.requests.length;
    await page.getByRole("button", { name: "Send test" }).click();
    await page.getByText("The receiver accepted the test: HTTP 200", { exact: false }).waitFor({ timeout: 20_000 });
    const sent = standIn.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].method).toBe("PUT");
    expect(sent[0].path).toBe(`/3.0/lists/${LIST_ID}/members/${createHash("md5").update("test@example.com").digest("hex")}`);
    expect(JSON.parse(sent[0].body)).toEqual({ email_address: "test@example.com", status_if_new: "subscribed" });
    expect(await page.getByTestId("test-excerpt").innerText()).toContain(`"list_id":"${LIST_ID}"`);
    await screenshot(page, "http-request-mailchimp-test-accepted.png");
  });

  it("GIVEN a wrong key THEN the test shows 401 with the credentials hint, and the echoed key is masked", async () => {
    await page.getByLabel("API key").fill(WRONG_KEY);
    await page.getByRole("button", { name: "Send test" }).click();
    await page.getByText("The receiver refused the test: HTTP 401").waitFor({ timeout: 20_000 });
    await page.getByText(/rejected the credentials: check the API key or token/).waitFor();
    const excerpt = await page.getByTestId("test-excerpt").innerText();
    expect(excerpt).toContain("API Key Invalid");
    expect(excerpt).not.toContain(WRONG_KEY);
    expect(answers.filter((a) => a.body.includes(WRONG_KEY))).toEqual([]);
    await screenshot(page, "http-request-mailchimp-test-refused.png");
  });

  it("saves with the right key: the signing secret is shown once and the key is stored encrypted", async () => {
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByLabel("Name", { exact: true }).fill("Mailchimp newsletter");
    await page.getByRole("button", { name: "Save destination" }).click();
    await page.getByText("Copy your signing secret now. It will not be shown again.").waitFor({ timeout: 20_000 });
    const secret = (await page.getByTestId("signing-secret").innerText()).trim();
    expect(secret).toMatch(/^whsec_/);
    await page.getByText("Mailchimp newsletter is saved").waitFor();
    await screenshot(page, "http-request-mailchimp-saved.png");

    const row = await db.destination.findFirstOrThrow({ where: { shopId: shop.id, kind: "http_request" } });
    expect(row.name).toBe("Mailchimp newsletter");
    expect(JSON.stringify(row)).not.toContain(API_KEY);
    expect(await page.getByRole("link", { name: "Continue to the destination" }).getAttribute("href")).toContain(`/app/leads/destinations/${row.id}`);
    expect(answers.filter((a) => a.body.includes(secret)).map((a) => a.method)).toEqual(["POST"]);
    expect(tb.offMachineRequests).toEqual([]);
  });

  it("opens the saved destination's edit page with the key shown as stored, and a test still sends the stored key", async () => {
    const row = await db.destination.findFirstOrThrow({ where: { shopId: shop.id, kind: "http_request" } });
    await page.getByRole("link", { name: "Continue to the destination" }).click();
    await page.waitForURL(new RegExp(`/app/leads/destinations/${row.id}(\\?|$)`));
    await page.getByRole("link", { name: "Edit request" }).click();
    await page.waitForURL(new RegExp(`/app/leads/destinations/${row.id}/request`));
    await page.getByRole("heading", { name: "Edit Mailchimp newsletter" }).waitFor();
    const value = page.getByLabel("Header 1 value");
    expect(await value.inputValue()).toBe("");
    expect(await value.getAttribute("placeholder")).toBe("•••••••• (stored; type to replace)");
    await expect.poll(() => page.getByTestId("preview-headers").innerText().catch(() => ""), { timeout: 15_000 }).toContain("authorization: ••••••••");

    const before = standIn.requests.length;
    await page.getByRole("button", { name: "Send test" }).click();
    await page.getByText("The receiver accepted the test: HTTP 200", { exact: false }).waitFor({ timeout: 20_000 });
    const sent = standIn.requests.slice(before);
    expect(sent.map((r) => header(r, "authorization"))).toEqual([`Basic ${Buffer.from(`tryonleads:${API_KEY}`).toString("base64")}`]);
    expect(header(sent[0], "x-tryoncloud-signature")).toMatch(/^sha256=[0-9a-f]{64}$/);
    await screenshot(page, "http-request-edit-stored-key.png");
    expect(answers.filter((a) => a.body.includes(API_KEY))).toEqual([]);

    // A mistake in the template shows at the field, with its line, as it is typed.
    await page.getByLabel("Body template").fill('{\n  "email_address": {{ email | jsn }}\n}');
    await page.getByText(/Line 2, column \d+: there is no filter called "jsn"/).first().waitFor({ timeout: 15_000 });
    await screenshot(page, "http-request-edit-template-error.png");

    // Fixed and saved: back on the destination's page, the new template stored, the key kept.
    await page.getByLabel("Body template").fill('{\n  "email_address": {{ email | json }},\n  "status_if_new": "pending"\n}');
    await expect.poll(() => page.getByTestId("preview-body").innerText().catch(() => ""), { timeout: 15_000 }).toContain('"status_if_new": "pending"');
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.waitForURL(new RegExp(`/app/leads/destinations/${row.id}(\\?|$)`));
    await page.getByRole("link", { name: "Edit request" }).waitFor();
    const after = await db.destination.findUniqueOrThrow({ where: { id: row.id } });
    expect(JSON.parse(after.settings!).body).toContain('"status_if_new": "pending"');
    const basic = `Basic ${Buffer.from(`tryonleads:${API_KEY}`).toString("base64")}`;
    expect(parseHttpCredentials(openCredentials(after.credentialsCiphertext!, keyRingFromConfig(), after)).headers).toEqual({ Authorization: basic });
  });

  it("ran without script errors", () => {
    expect(pageProblems).toEqual([]);
  });
});
