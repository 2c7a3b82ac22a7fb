import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppLoadContext } from "@remix-run/node";
import { SECRET_MASK } from "../../app/destinations/http-request/definition";
import { connectHttpRequest } from "../../app/destinations/http-request/destination.server";
import { parseHttpCredentials } from "../../app/destinations/http-request/sender";
import { openCredentials } from "../../app/destinations/endpoint-secrets.server";
import { connectEndpoint } from "../../app/destinations/endpoints.server";
import { keyRingFromConfig } from "../../app/destinations/key-ring.server";
import { getDb } from "../../app/lib/db.server";
import type { EditorActionData } from "../../app/destinations/ui/request-editor-state";
import * as editPage from "../../app/routes/app.leads.destinations.$id_.request";
import * as newPage from "../../app/routes/app.leads.destinations.new_.request";
import { respond, startHttpsReceiver, type HttpsReceiver } from "../support/https-receiver";
import { seedLeads } from "../support/leads";
import { adminRequest, formRequest, installShop } from "../support/shopify";
import { LOOPBACK_DESTINATION, loopbackSender } from "../integrations/helpers";

/**
 * The two admin pages of an HTTP-request destination, called as the Shopify admin calls them (a real
 * session token, a URL-encoded form), with a transport that reaches a real HTTPS receiver on loopback.
 */

const db = getDb();
const ring = keyRingFromConfig();
const TOKEN = "sk_live_4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e";
let receiver: HttpsReceiver;
let context: AppLoadContext;
let counter = 0;

beforeAll(async () => {
  receiver = await startHttpsReceiver();
  const sender = loopbackSender(receiver);
  context = { webhookTransport: { destination: LOOPBACK_DESTINATION, exchange: (r) => sender.exchange(r) } };
});
afterAll(async () => {
  await receiver?.close();
});

async function newShop(prefix = "req-pages") {
  const domain = `${prefix}-${++counter}-${Date.now().toString(36)}.myshopify.com`;
  const shop = await installShop(domain);
  return shop;
}

const definition = (overrides: Record<string, unknown> = {}) => ({
  method: "POST",
  url: receiver.urlFor("/crm/contacts?source={{ shop | url_encode }}"),
  headers: [
    { name: "Authorization", secret: true },
    { name: "X-Product", secret: false, value: "{{ product.title }}" },
  ],
  bodyEncoding: "json",
  body: '{\n  "email": {{ email | json }},\n  "consent": {{ consent.given | json }}\n}',
  ...overrides,
});

interface Answer {
  status: number;
  data: EditorActionData | null;
  headers: Headers;
  text: string;
}

/** Runs an action, unwrapping data(), redirects and thrown Responses. */
async function call(run: () => Promise<unknown>): Promise<Answer> {
  try {
    const result: unknown = await run();
    if (result instanceof Response) return { status: result.status, data: null, headers: result.headers, text: await result.text() };
    if (result && typeof result === "object" && (result as { type?: string }).type === "DataWithResponseInit") {
      const { data, init } = result as { data: EditorActionData; init: ResponseInit | null };
      return { status: init?.status ?? 200, data, headers: new Headers(init?.headers), text: JSON.stringify(data) };
    }
    return { status: 200, data: result as EditorActionData, headers: new Headers(), text: JSON.stringify(result) };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, data: null, headers: thrown.headers, text: await thrown.text() };
    throw thrown;
  }
}

function form(intent: string, def: unknown, extra: Record<string, string> = {}): Record<string, string> {
  return { intent, definition: JSON.stringify(def), ...extra };
}

async function postNew(shop: string, fields: Record<string, string>) {
  return call(async () => newPage.action({ request: await formRequest("/app/leads/destinations/new/request", shop, fields), params: {}, context }));
}

async function postEdit(shop: string, id: string, fields: Record<string, string>) {
  return call(async () =>
    editPage.action({ request: await formRequest(`/app/leads/destinations/${id}/request`, shop, fields), params: { id }, context }));
}

async function loadEdit(shop: string, id: string) {
  return call(async () => editPage.loader({ request: await adminRequest(`/app/leads/destinations/${id}/request`, shop), params: { id }, context }));
}

async function saved(shop: { id: string; domain: string }) {
  const result = await connectHttpRequest({
    db, shop, ring, definition: definition(), secretValues: { Authorization: `Bearer ${TOKEN}` }, name: "CRM", destination: LOOPBACK_DESTINATION,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.destination;
}

describe("the new HTTP request destination page", () => {
  it("GIVEN a body template with an unclosed tag THEN saving answers 422 with the field and its line, and nothing is stored", async () => {
    const shop = await newShop();
    const body = '{\n  "email": {{ email | json }},\n  "consent": {% if consent.given %}true\n}';
    const answer = await postNew(shop.domain, form("save", definition({ body }), { secretValues: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }) }));

    expect(answer.status).toBe(422);
    const problem = answer.data && "problems" in answer.data ? answer.data.problems.find((p) => p.field === "body") : undefined;
    expect(problem).toMatchObject({ field: "body", line: 3 });
    expect(problem?.message).toMatch(/^Line 3, column \d+: the tag .* is opened but never closed/);
    expect(await db.destination.count({ where: { shopId: shop.id } })).toBe(0);
  });

  it("refuses header injection: a line break in a header value (typed or rendered), in a secret value, or in a header name", async () => {
    const shop = await newShop();
    const secretValues = JSON.stringify({ Authorization: `Bearer ${TOKEN}` });
    const attempts = [
      { def: definition({ headers: [{ name: "X-Source", secret: false, value: "shop\r\nX-Injected: 1" }] }), secrets: "{}", field: "headers.0.value" },
      { def: definition({ headers: [{ name: "X-Title", secret: false, value: "{{ product.title }}{{ '\n' }}X-Injected: 1" }] }), secrets: "{}", field: "headers.0.value" },
      { def: definition(), secrets: JSON.stringify({ Authorization: `Bearer ${TOKEN}\r\nX-Injected: 1` }), field: "headers.0.value" },
      { def: definition({ headers: [{ name: "X-Injected: 1\r\nX-Other", secret: false, value: "a" }] }), secrets: secretValues, field: "headers.0.name" },
    ];
    for (const attempt of attempts) {
      const answer = await postNew(shop.domain, form("save", attempt.def, { secretValues: attempt.secrets }));
      expect(answer.status, JSON.stringify(attempt.def.headers)).toBe(422);
      expect(answer.data && "problems" in answer.data ? answer.data.problems.map((p) => p.field) : []).toContain(attempt.field);
      expect(answer.text).not.toContain(TOKEN);
      const test = await postNew(shop.domain, form("send_test", attempt.def, { secretValues: attempt.secrets }));
      expect(test.status).toBe(422);
    }
    expect(await db.destination.count({ where: { shopId: shop.id } })).toBe(0);
    expect(receiver.requests.filter((r) => JSON.stringify(r.headers).includes("x-injected"))).toEqual([]);
  });

  it("previews the exact request on the shop's latest lead with the secret header masked, and never returns a secret value", async () => {
    const shop = await newShop();
    const before = await postNew(shop.domain, form("preview", definition()));
    expect(before.status).toBe(200);
    expect(before.data).toMatchObject({ intent: "preview", ok: true, basedOn: "sample_lead" });

    await seedLeads(shop.id, [{ email: "older.shopper@example.com" }, { email: "latest.shopper@example.com", productTitle: "Round frames" }]);
    // A client that sends the secret along with a preview gets it back nowhere.
    const answer = await postNew(shop.domain, form("preview", definition(), { secretValues: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }) }));

    expect(answer.status).toBe(200);
    if (!answer.data || !("request" in answer.data)) throw new Error(answer.text);
    expect(answer.data.basedOn).toBe("latest_lead");
    expect(answer.data.request.method).toBe("POST");
    expect(answer.data.request.url).toBe(receiver.urlFor(`/crm/contacts?source=${encodeURIComponent(shop.domain)}`));
    expect(answer.data.request.headers).toEqual(expect.arrayContaining([
      { name: "authorization", value: SECRET_MASK, secret: true },
      { name: "x-product", value: "Round frames", secret: false },
      { name: "content-type", value: "application/json", secret: false },
    ]));
    expect(JSON.parse(answer.data.request.body)).toEqual({ email: "latest.shopper@example.com", consent: true });
    expect(answer.text).not.toContain(TOKEN);
    expect(answer.text).not.toContain("sk_live");
  });

  it("GIVEN a template error THEN the preview answers with the field and line instead of a request, without saving", async () => {
    const shop = await newShop();
    const answer = await postNew(shop.domain, form("preview", definition({ body: '{\n  "email": {{ emial | json }}\n}' })));
    expect(answer.status).toBe(200);
    expect(answer.data).toMatchObject({ intent: "preview", ok: false });
    expect(answer.data && "problems" in answer.data ? answer.data.problems : []).toEqual([
      expect.objectContaining({ field: "body", line: 2, message: expect.stringMatching(/"emial" is not a field/) }),
    ]);
  });

  it("sends a test of the form's request to a real HTTPS receiver and reports its status and an excerpt, with the hint in plain words", async () => {
    const shop = await newShop();
    const secretValues = JSON.stringify({ Authorization: `Bearer ${TOKEN}` });

    receiver.enqueue(respond.ok('{"id":"contact_42","status":"created"}', 201));
    const before = receiver.requests.length;
    const ok = await postNew(shop.domain, form("send_test", definition(), { secretValues }));
    expect(ok.status).toBe(200);
    expect(ok.data).toMatchObject({ intent: "send_test", ok: true, result: { ok: true, statusCode: 201, responseExcerpt: '{"id":"contact_42","status":"created"}' } });
    const sent = receiver.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].method).toBe("POST");
    expect(sent[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.parse(sent[0].body)).toEqual({ email: "test@example.com", consent: true });

    // The receiver refuses the key and echoes it: the page gets the status, the hint and an excerpt without it.
    receiver.enqueue(respond.status(401, `{"error":"invalid key","received":"Bearer ${TOKEN}"}`));
    const refused = await postNew(shop.domain, form("send_test", definition(), { secretValues }));
    expect(refused.status).toBe(200);
    if (!refused.data || !("result" in refused.data) || refused.data.result.ok) throw new Error(refused.text);
    expect(refused.data.result).toMatchObject({ statusCode: 401, hint: expect.stringMatching(/rejected the credentials/) });
    expect(refused.data.result.responseExcerpt).toContain("invalid key");
    expect(refused.text).not.toContain(TOKEN);

    receiver.enqueue(respond.status(404, "no such list"));
    const missing = await postNew(shop.domain, form("send_test", definition(), { secretValues }));
    expect(missing.data && "result" in missing.data && !missing.data.result.ok && missing.data.result.hint).toMatch(/check the URL/);

    receiver.enqueue(respond.status(422, '{"errors":["email_address is required"]}'));
    const unprocessable = await postNew(shop.domain, form("send_test", definition(), { secretValues }));
    expect(unprocessable.data && "result" in unprocessable.data && !unprocessable.data.result.ok && unprocessable.data.result.hint).toMatch(/open the preview/);
    expect(await db.destination.count({ where: { shopId: shop.id } })).toBe(0);
  });

  it("with the app's own transport (no loopback allowance passed in), a test send to a private address goes nowhere and says why", async () => {
    const shop = await newShop();
    const before = receiver.requests.length;
    const fields = form("send_test", definition(), { secretValues: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }) });
    const answer = await call(async () =>
      newPage.action({ request: await formRequest("/app/leads/destinations/new/request", shop.domain, fields), params: {}, context: {} }));
    expect(answer.status).toBe(200);
    expect(answer.data).toMatchObject({
      intent: "send_test", ok: true,
      result: { ok: false, errorCode: "address_refused", statusCode: null, message: expect.stringMatching(/127\.0\.0\.1 is a loopback address.*leads are only sent to public internet addresses/) },
    });
    expect(answer.text).not.toContain(TOKEN);
    expect(receiver.requests.length).toBe(before);
  });

  it("saves: the destination is stored with the secret header encrypted, and the signing secret is answered once, not cached", async () => {
    const shop = await newShop();
    const answer = await postNew(shop.domain, form("save", definition(), { name: "My CRM", secretValues: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }) }));

    expect(answer.status).toBe(200);
    expect(answer.headers.get("Cache-Control")).toBe("no-store");
    if (!answer.data || !("destinationId" in answer.data)) throw new Error(answer.text);
    expect(answer.data.secret).toMatch(/^whsec_/);
    const row = await db.destination.findUniqueOrThrow({ where: { id: answer.data.destinationId } });
    expect(row).toMatchObject({ shopId: shop.id, kind: "http_request", name: "My CRM", state: "active" });
    expect(JSON.stringify(row)).not.toContain(TOKEN);
    expect(parseHttpCredentials(openCredentials(row.credentialsCiphertext!, ring, row)).headers).toEqual({ Authorization: `Bearer ${TOKEN}` });
  });

  it("GIVEN the shop's destinations are at their limit THEN saving answers 409 in plain words and stores nothing", async () => {
    const shop = await newShop();
    for (let i = 0; i < 10; i++) await saved(shop);
    const answer = await postNew(shop.domain, form("save", definition(), { secretValues: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }) }));
    expect(answer.status).toBe(409);
    expect(answer.data).toMatchObject({ intent: "save", error: expect.stringMatching(/up to 10 destinations/) });
    expect(await db.destination.count({ where: { shopId: shop.id } })).toBe(10);
  });

  it("answers 400 for a form it cannot read or text the input policy refuses, and 413 for an oversized form", async () => {
    const shop = await newShop();
    expect((await postNew(shop.domain, { intent: "save", definition: "{not json" })).status).toBe(400);
    expect((await postNew(shop.domain, { intent: "delete" })).status).toBe(400);
    expect((await postNew(shop.domain, { intent: "save", definition: JSON.stringify(definition()).replace("POST", "PO\u0000ST") })).status).toBe(400);
    expect((await postNew(shop.domain, form("save", definition(), { name: "two\nlines" }))).status).toBe(400);
    expect((await postNew(shop.domain, form("save", definition({ body: "x".repeat(600 * 1024) })))).status).toBe(413);
    // A long multi-line template travels whole (JSON keeps its line breaks out of the form's text rule).
    const long = `{\n  "email": {{ email | json }},\n  "note": ${JSON.stringify("n".repeat(15_000))}\n}`;
    const preview = await postNew(shop.domain, form("preview", definition({ body: long })));
    expect(preview.status).toBe(200);
    expect(preview.data && "request" in preview.data ? preview.data.request.body.split("\n") : []).toHaveLength(4);
    expect(await db.destination.count({ where: { shopId: shop.id } })).toBe(0);
  });
});

describe("the edit page of an HTTP request destination", () => {
  it("shows the saved request with the secret header marked stored and its value nowhere", async () => {
    const shop = await newShop();
    const destination = await saved(shop);
    const answer = await loadEdit(shop.domain, destination.id);

    expect(answer.status).toBe(200);
    const loaded = answer.data as unknown as Awaited<ReturnType<typeof editPage.loader>>;
    expect(loaded.destination.definition.headers).toEqual([
      { name: "Authorization", secret: true, stored: true },
      { name: "X-Product", secret: false, value: "{{ product.title }}" },
    ]);
    expect(answer.text).not.toContain(TOKEN);
  });

  it("GIVEN another shop's destination or a destination of another kind THEN the page and every action answer 404", async () => {
    const owner = await newShop();
    const other = await newShop();
    const destination = await saved(owner);
    expect((await loadEdit(other.domain, destination.id)).status).toBe(404);
    for (const intent of ["preview", "send_test", "save"]) {
      const answer = await postEdit(other.domain, destination.id, form(intent, definition(), { secretValues: "{}" }));
      expect(answer.status, intent).toBe(404);
    }
    expect((await db.destination.findUniqueOrThrow({ where: { id: destination.id } })).settings).toBe(JSON.stringify(definition()));

    const webhook = await connectEndpoint({ db, shop: owner, url: receiver.urlFor("/hook"), ring, destination: LOOPBACK_DESTINATION });
    expect((await loadEdit(owner.domain, webhook.endpoint.id)).status).toBe(404);
    expect((await postEdit(owner.domain, webhook.endpoint.id, form("save", definition()))).status).toBe(404);
    expect((await loadEdit(owner.domain, "no-such-destination")).status).toBe(404);
  });

  it("keeps the stored secret value when the form leaves it out, sends it in a test, and never returns it", async () => {
    const shop = await newShop();
    const destination = await saved(shop);

    const preview = await postEdit(shop.domain, destination.id, form("preview", definition({ method: "PUT" })));
    expect(preview.status).toBe(200);
    expect(preview.text).toContain(SECRET_MASK);
    expect(preview.text).not.toContain(TOKEN);

    const save = await postEdit(shop.domain, destination.id, form("save", definition({ method: "PUT" }), { name: "CRM (PUT)", secretValues: "{}" }));
    expect(save.status).toBe(302);
    expect(save.headers.get("Location")).toBe(`/app/leads/destinations/${destination.id}`);
    const row = await db.destination.findUniqueOrThrow({ where: { id: destination.id } });
    expect(row.name).toBe("CRM (PUT)");
    expect(JSON.parse(row.settings!).method).toBe("PUT");
    expect(parseHttpCredentials(openCredentials(row.credentialsCiphertext!, ring, row)).headers).toEqual({ Authorization: `Bearer ${TOKEN}` });

    // The test of the saved destination's form uses the stored value and carries its signature headers.
    receiver.enqueue(respond.ok());
    const before = receiver.requests.length;
    const test = await postEdit(shop.domain, destination.id, form("send_test", definition({ method: "PUT" }), { secretValues: "{}" }));
    expect(test.data).toMatchObject({ intent: "send_test", ok: true, result: { ok: true, statusCode: 200 } });
    const sent = receiver.requests.slice(before);
    expect(sent.map((r) => [r.method, r.headers.authorization])).toEqual([["PUT", `Bearer ${TOKEN}`]]);
    expect(sent[0].headers["x-tryoncloud-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(test.text).not.toContain(TOKEN);

    // A typed value replaces it; a secret header that is removed loses its stored value.
    const replaced = await postEdit(shop.domain, destination.id, form("save", definition(), { secretValues: JSON.stringify({ Authorization: "Bearer sk_live_new_value_123" }) }));
    expect(replaced.status).toBe(302);
    const after = await db.destination.findUniqueOrThrow({ where: { id: destination.id } });
    expect(parseHttpCredentials(openCredentials(after.credentialsCiphertext!, ring, after)).headers).toEqual({ Authorization: "Bearer sk_live_new_value_123" });
    const removed = await postEdit(shop.domain, destination.id, form("save", definition({ headers: [] }), { secretValues: JSON.stringify({ Authorization: "" }) }));
    expect(removed.status).toBe(302);
    const last = await db.destination.findUniqueOrThrow({ where: { id: destination.id } });
    expect(parseHttpCredentials(openCredentials(last.credentialsCiphertext!, ring, last)).headers).toEqual({});
  });

  it("GIVEN a template error THEN saving answers 422 with the line and the saved request is unchanged", async () => {
    const shop = await newShop();
    const destination = await saved(shop);
    const answer = await postEdit(shop.domain, destination.id, form("save", definition({ url: receiver.urlFor("/crm/{{ email | nope }}") }), { secretValues: "{}" }));
    expect(answer.status).toBe(422);
    expect(answer.data && "problems" in answer.data ? answer.data.problems[0] : null).toMatchObject({ field: "url", line: 1, message: expect.stringMatching(/no filter called "nope"/) });
    expect((await db.destination.findUniqueOrThrow({ where: { id: destination.id } })).settings).toBe(JSON.stringify(definition()));
  });
});
