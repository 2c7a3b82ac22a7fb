import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { buildLeadCapturedBody, serializeBody, type LeadBodySource } from "../../app/delivery/payload";
import {
  attemptHttpRequest, buildPreset, buildTemplateFields, validateHttpRequestDefinition,
  type HttpRequestDefinition, type PresetId, type SecretHeaderValues, type TemplateFields,
} from "../../app/destinations/http-request";
import { createLogger } from "../../app/lib/logger.server";
import { jsonAnswer, onPort, startApiStandIn, type ApiStandIn, type StandInRequest } from "../support/api-stand-in";

/**
 * Each preset, built from a merchant's answers, sent through the product's sender to a stand-in for the
 * real API on loopback (under the API's real host name) that checks the request as the API documents
 * it (method, path, auth header, content type, body shape) and answers as the API does.
 */

const standIns: ApiStandIn[] = [];
afterEach(async () => {
  for (const s of standIns.splice(0)) await s.close();
});

async function standIn(hostnames: string[], handle: (req: StandInRequest) => ReturnType<Parameters<typeof startApiStandIn>[0]["handle"]>) {
  const s = await startApiStandIn({ hostnames, handle });
  standIns.push(s);
  return s;
}

const lead: LeadBodySource = {
  id: "cm9lead000001abcdefghijkl",
  email: "Ana.Silva+Shop@Example.com",
  productId: "gid://shopify/Product/1",
  productTitle: 'Round Frames "Classic" & <Co>',
  productUrl: "https://demo-store.myshopify.com/products/round-frames",
  variantId: "gid://shopify/ProductVariant/2",
  variantTitle: "Tortoise",
  resultContext: null,
  tagged: true,
  consent: true,
  capturedAt: new Date("2025-06-01T12:34:56.000Z"),
  utmSource: "<!channel>",
  utmMedium: null,
  utmCampaign: "summer",
  utmTerm: null,
  utmContent: null,
  pageUrl: null,
};
const deliveryId = "cm9dlv000001abcdefghijkl";

function fieldsFor(source: LeadBodySource = lead): TemplateFields {
  return buildTemplateFields({ body: buildLeadCapturedBody(source, "demo-store.myshopify.com"), deliveryId });
}

function built(id: PresetId, answers: Record<string, string>): { definition: HttpRequestDefinition; secretValues: SecretHeaderValues } {
  const result = buildPreset(id, answers);
  if (!result.ok) throw new Error(`preset ${id}: ${JSON.stringify(result.problems)}`);
  const check = validateHttpRequestDefinition(result.definition, { secretValues: result.secretValues });
  expect(check).toEqual({ ok: true, definition: result.definition });
  return result;
}

async function send(s: ApiStandIn, preset: { definition: HttpRequestDefinition; secretValues: SecretHeaderValues }, fields = fieldsFor(), logger?: ReturnType<typeof createLogger>) {
  return attemptHttpRequest({
    exchange: s.sender({ logger }).exchange,
    definition: onPort(preset.definition, s.port),
    fields,
    secretValues: preset.secretValues,
    now: () => new Date(),
  });
}

function header(req: StandInRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** What every stand-in checks alike: JSON content type and the delivery id as Idempotency-Key. */
function commonProblems(req: StandInRequest): string | undefined {
  if (!/^application\/json\b/.test(header(req, "content-type") ?? "")) return "content-type";
  if (header(req, "idempotency-key") !== deliveryId) return "idempotency-key";
  if (header(req, "content-length") !== String(Buffer.byteLength(req.body))) return "content-length";
  return undefined;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

describe("HubSpot preset against a Forms API stand-in", () => {
  const token = "pat-na1-0a1b2c3d-4e5f-6789-abcd-ef0123456789";
  const answers = { portalId: "24681357", formGuid: "78C2891F-EBDD-44C0-BD94-15C012BBBFBF", accessToken: token, subscriptionTypeId: "11223344" };
  const submission = z.object({
    submittedAt: z.string().regex(/^\d{13}$/),
    fields: z.array(z.object({ objectTypeId: z.literal("0-1"), name: z.string(), value: z.string() })).min(1),
    context: z.object({ pageUri: z.string().url(), pageName: z.string() }).strict(),
    legalConsentOptions: z.object({
      consent: z.object({
        consentToProcess: z.boolean(),
        text: z.string().min(1),
        communications: z.array(z.object({ value: z.boolean(), subscriptionTypeId: z.number().int(), text: z.string() }).strict()).optional(),
      }).strict(),
    }).strict(),
  }).strict();

  function hubspot() {
    return standIn(["api.hsforms.com"], (req) => {
      const path = req.path.match(/^\/submissions\/v3\/integration\/secure\/submit\/(\d+)\/([0-9a-f-]{36})$/);
      if (req.method !== "POST") return { status: 405 };
      if (!path || path[1] !== "24681357" || path[2] !== "78c2891f-ebdd-44c0-bd94-15c012bbbfbf") return jsonAnswer(404, { status: "error", message: "Form not found" });
      if (header(req, "authorization") !== `Bearer ${token}`) {
        return jsonAnswer(401, { status: "error", message: "Authentication credentials not found.", category: "INVALID_AUTHENTICATION" });
      }
      const common = commonProblems(req);
      if (common) return jsonAnswer(400, { status: "error", message: `bad ${common}` });
      const parsed = submission.safeParse(parseJson(req.body));
      if (!parsed.success) return jsonAnswer(400, { status: "error", message: "The request is not valid", errors: [{ message: parsed.error.message, errorType: "INVALID_JSON" }] });
      const fieldsNotInForm = parsed.data.fields.filter((f) => f.name !== "email");
      if (fieldsNotInForm.length > 0) return jsonAnswer(400, { status: "error", errors: [{ message: "field not in form", errorType: "FIELD_NOT_IN_FORM" }] });
      return jsonAnswer(200, { inlineMessage: "Thanks for submitting the form." });
    });
  }

  it("GIVEN a lead THEN it is submitted to the form with the email field, the page and the shopper's consent, authorised by the private app token", async () => {
    const s = await hubspot();
    const result = await send(s, built("hubspot", answers));

    expect(result).toMatchObject({ ok: true, statusCode: 200, responseExcerpt: '{"inlineMessage":"Thanks for submitting the form."}' });
    const body = JSON.parse(s.requests[0].body);
    expect(body.fields).toEqual([{ objectTypeId: "0-1", name: "email", value: "Ana.Silva+Shop@Example.com" }]);
    expect(body.submittedAt).toBe(String(Date.parse("2025-06-01T12:34:56.000Z")));
    expect(body.context).toEqual({ pageUri: lead.productUrl, pageName: lead.productTitle });
    expect(body.legalConsentOptions.consent).toMatchObject({
      consentToProcess: true,
      communications: [{ value: true, subscriptionTypeId: 11223344 }],
    });
  });

  it("GIVEN a shopper who did not consent THEN the consent sent is false", async () => {
    const s = await hubspot();
    const result = await send(s, built("hubspot", answers), fieldsFor({ ...lead, consent: false }));

    expect(result.ok).toBe(true);
    expect(JSON.parse(s.requests[0].body).legalConsentOptions.consent).toMatchObject({ consentToProcess: false, communications: [{ value: false }] });
  });

  it("GIVEN a revoked token THEN the attempt fails at once with the credentials hint", async () => {
    const s = await hubspot();
    const result = await send(s, built("hubspot", { ...answers, accessToken: "pat-na1-revoked-token-000000" }));

    expect(result).toMatchObject({ ok: false, statusCode: 401, errorCode: "http_status", permanent: true, hint: expect.stringMatching(/rejected the credentials/) });
  });
});

describe("Mailchimp preset against a Marketing API stand-in", () => {
  const apiKey = "0123456789abcdef0123456789abcdef-us21";
  const members = new Map<string, { email_address: string; status: string }>();
  const member = z.object({
    email_address: z.string().email(),
    status_if_new: z.enum(["subscribed", "unsubscribed", "cleaned", "pending", "transactional"]),
  }).strict();

  function mailchimp() {
    members.clear();
    return standIn(["*.api.mailchimp.com"], (req) => {
      const problem = (status: number, title: string, detail: string) =>
        jsonAnswer(status, { type: "https://mailchimp.com/developer/marketing/docs/errors/", title, status, detail }, "application/problem+json; charset=utf-8");
      const path = req.path.match(/^\/3\.0\/lists\/([^/]+)\/members\/([0-9a-f]{32})$/);
      const credentials = Buffer.from((header(req, "authorization") ?? "").replace(/^Basic /, ""), "base64").toString("utf8");
      const password = credentials.slice(credentials.indexOf(":") + 1);
      if (!header(req, "authorization")?.startsWith("Basic ") || password !== apiKey) {
        // The real API names the key it refused; this stand-in echoes the whole header to prove it is scrubbed.
        return problem(401, "API Key Invalid", `Your API key may be invalid. Received: ${header(req, "authorization")} (key ${password})`);
      }
      if (!path || path[1] !== "a1b2c3d4e5") return problem(404, "Resource Not Found", "The requested resource could not be found.");
      if (req.method !== "PUT") return problem(405, "Method Not Allowed", "The requested method and resource are not compatible.");
      const common = commonProblems(req);
      const parsed = member.safeParse(parseJson(req.body));
      if (common || !parsed.success) return problem(400, "Invalid Resource", common ?? parsed.error!.message);
      const hash = createHash("md5").update(parsed.data.email_address.toLowerCase()).digest("hex");
      if (hash !== path[2]) return problem(400, "Invalid Resource", "The subscriber hash does not match the email address.");
      const existing = members.get(hash);
      const status = existing?.status ?? parsed.data.status_if_new;
      members.set(hash, { email_address: parsed.data.email_address, status });
      return jsonAnswer(200, { id: hash, email_address: parsed.data.email_address, status, list_id: path[1] });
    });
  }

  it("GIVEN a lead with consent THEN the member is PUT under the MD5 of the lower-cased email, on the key's data centre, with Basic auth, subscribed if new", async () => {
    const s = await mailchimp();
    const preset = built("mailchimp", { apiKey, listId: "a1b2c3d4e5" });
    expect(preset.definition.url.startsWith("https://us21.api.mailchimp.com/3.0/lists/a1b2c3d4e5/members/")).toBe(true);

    const result = await send(s, preset);

    expect(result).toMatchObject({ ok: true, statusCode: 200 });
    expect(s.requests[0].path).toBe(`/3.0/lists/a1b2c3d4e5/members/${createHash("md5").update("ana.silva+shop@example.com").digest("hex")}`);
    expect(JSON.parse(s.requests[0].body)).toEqual({ email_address: "Ana.Silva+Shop@Example.com", status_if_new: "subscribed" });
  });

  it("GIVEN double opt-in THEN a consenting shopper is pending; GIVEN no consent THEN transactional", async () => {
    const s = await mailchimp();
    const pending = await send(s, built("mailchimp", { apiKey, listId: "a1b2c3d4e5", doubleOptIn: "yes" }));
    const transactional = await send(s, built("mailchimp", { apiKey, listId: "a1b2c3d4e5" }), fieldsFor({ ...lead, email: "no.consent@example.com", consent: false }));

    expect([pending.ok, transactional.ok]).toEqual([true, true]);
    expect(JSON.parse(s.requests[0].body).status_if_new).toBe("pending");
    expect(JSON.parse(s.requests[1].body).status_if_new).toBe("transactional");
  });

  it("GIVEN a wrong key and a receiver that echoes it THEN the attempt fails at once and the excerpt holds no part of the key", async () => {
    const s = await mailchimp();
    const wrong = "fedcba9876543210fedcba9876543210-us21";
    const preset = built("mailchimp", { apiKey: wrong, listId: "a1b2c3d4e5" });

    const result = await send(s, preset);

    expect(result).toMatchObject({ ok: false, statusCode: 401, permanent: true, hint: expect.stringMatching(/credentials/) });
    expect(s.requests[0].body).not.toBe("");
    const excerpt = result.ok ? "" : result.responseExcerpt ?? "";
    expect(excerpt).toContain("API Key Invalid");
    expect(excerpt).not.toContain(wrong);
    expect(excerpt).not.toContain(preset.secretValues.Authorization.slice("Basic ".length));
    expect(excerpt).not.toContain(wrong.slice(0, 12));
  });

  it("GIVEN an unknown audience THEN the attempt fails at once with the check-the-URL hint", async () => {
    const s = await mailchimp();
    const result = await send(s, built("mailchimp", { apiKey, listId: "zzzzzzzzzz" }));

    expect(result).toMatchObject({ ok: false, statusCode: 404, permanent: true, hint: expect.stringMatching(/check the URL/) });
  });
});

describe("Brevo preset against a contacts API stand-in", () => {
  const apiKey = "xkeysib-0123456789abcdef0123456789abcdef-AbCdEfGh";
  const contact = z.object({
    email: z.string().email(),
    updateEnabled: z.boolean(),
    listIds: z.array(z.number().int().positive()),
    attributes: z.record(z.unknown()).optional(),
  }).strict();

  function brevo() {
    const contacts = new Map<string, { id: number; listIds: number[] }>();
    return standIn(["api.brevo.com"], (req) => {
      if (header(req, "api-key") !== apiKey) return jsonAnswer(401, { code: "unauthorized", message: "Key not found" });
      if (req.method !== "POST" || req.path !== "/v3/contacts") return jsonAnswer(404, { code: "not_found", message: "Invalid route" });
      if (header(req, "accept") !== "application/json") return jsonAnswer(406, { code: "not_acceptable", message: "Accept application/json" });
      const common = commonProblems(req);
      const parsed = contact.safeParse(parseJson(req.body));
      if (common || !parsed.success) return jsonAnswer(400, { code: "invalid_parameter", message: common ?? parsed.error!.message });
      const key = parsed.data.email.toLowerCase();
      const existing = contacts.get(key);
      if (existing && !parsed.data.updateEnabled) return jsonAnswer(400, { code: "duplicate_parameter", message: "Contact already exist" });
      if (existing) {
        existing.listIds = [...new Set([...existing.listIds, ...parsed.data.listIds])];
        return { status: 204 };
      }
      contacts.set(key, { id: contacts.size + 1, listIds: parsed.data.listIds });
      return jsonAnswer(201, { id: contacts.size });
    });
  }

  it("GIVEN a new lead THEN the contact is created (201) in the lists with the api-key header; GIVEN the same email again THEN it is updated (204), not refused", async () => {
    const s = await brevo();
    const preset = built("brevo", { apiKey, listIds: "3, 7,3" });

    const first = await send(s, preset);
    const second = await send(s, preset);

    expect(first).toMatchObject({ ok: true, statusCode: 201, responseExcerpt: '{"id":1}' });
    expect(second).toMatchObject({ ok: true, statusCode: 204 });
    expect(JSON.parse(s.requests[0].body)).toEqual({ email: "Ana.Silva+Shop@Example.com", updateEnabled: true, listIds: [3, 7] });
  });

  it("GIVEN a shopper who did not consent THEN the contact joins no list", async () => {
    const s = await brevo();
    const result = await send(s, built("brevo", { apiKey, listIds: "3" }), fieldsFor({ ...lead, consent: false }));

    expect(result).toMatchObject({ ok: true, statusCode: 201 });
    expect(JSON.parse(s.requests[0].body).listIds).toEqual([]);
  });
});

describe("Slack preset against an incoming webhook stand-in", () => {
  const webhookUrl = "https://hooks.slack.com/services/T0ABCDEF/B0GHIJKL/abcdefghijklmnopqrstuvwx";

  function slack() {
    return standIn(["hooks.slack.com"], (req) => {
      if (req.method !== "POST" || req.path !== "/services/T0ABCDEF/B0GHIJKL/abcdefghijklmnopqrstuvwx") return { status: 404, headers: { "content-type": "text/html" }, body: "no_service" };
      const payload = parseJson(req.body) as { text?: unknown } | undefined;
      if (commonProblems(req) || !payload || typeof payload.text !== "string" || payload.text === "") {
        return { status: 400, headers: { "content-type": "text/html" }, body: "invalid_payload" };
      }
      return { status: 200, headers: { "content-type": "text/html" }, body: "ok" };
    });
  }

  it("GIVEN a lead THEN a readable message is posted, with the storefront's text escaped so it cannot ping the channel", async () => {
    const s = await slack();
    const result = await send(s, built("slack", { webhookUrl }));

    expect(result).toMatchObject({ ok: true, statusCode: 200, responseExcerpt: "ok" });
    const text: string = JSON.parse(s.requests[0].body).text;
    expect(text).toContain("*New try-on lead* on demo-store.myshopify.com");
    expect(text).toContain("*Email:* Ana.Silva+Shop@Example.com");
    expect(text).toContain(`*Tried on:* <${lead.productUrl}|Round Frames "Classic" &amp; &lt;Co&gt;> (Tortoise)`);
    expect(text).toContain("*Marketing consent:* yes");
    expect(text).toContain("*From:* &lt;!channel&gt; / summer");
    expect(text).not.toContain("<!channel>");
    expect(text).toContain("*When:* 2025-06-01 12:34 UTC");
  });

  it("GIVEN a debug logger THEN nothing it writes holds the webhook URL's token", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "debug", destination: new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }) });
    const s = await slack();
    const result = await send(s, built("slack", { webhookUrl }), fieldsFor(), logger);

    expect(result.ok).toBe(true);
    expect(lines.join("")).toContain("outbound attempt");
    expect(lines.join("")).not.toContain("abcdefghijklmnopqrstuvwx");
  });
});

describe("catch hook presets against Zapier, Make and n8n stand-ins", () => {
  const leadFields = fieldsFor();

  it("GIVEN Zapier THEN the body is byte for byte the webhook's JSON of the lead, and Zapier's success answer counts as delivered", async () => {
    const s = await standIn(["hooks.zapier.com"], (req) => {
      if (req.method !== "POST" || !/^\/hooks\/catch\/\d+\/[a-z0-9]+\/$/.test(req.path)) return { status: 404 };
      if (commonProblems(req) || parseJson(req.body) === undefined) return { status: 400 };
      return jsonAnswer(200, { attempt: "018f-attempt", id: "018f-id", request_id: "018f-request", status: "success" });
    });

    const result = await send(s, built("zapier", { hookUrl: "https://hooks.zapier.com/hooks/catch/123456/abcdef/" }), leadFields);

    expect(result).toMatchObject({ ok: true, statusCode: 200 });
    expect(s.requests[0].body).toBe(serializeBody(leadFields.lead));
  });

  it("GIVEN Make with an API key THEN it travels in x-make-apikey and Make's Accepted counts; GIVEN the wrong key THEN it fails at once", async () => {
    const s = await standIn(["hook.eu1.make.com"], (req) => {
      if (req.method !== "POST" || req.path !== "/abcdefghijklmnop1234") return { status: 404, body: "There is no scenario listening for this webhook." };
      if (header(req, "x-make-apikey") !== "make-key-0123456789") return { status: 401, body: "Invalid API key." };
      if (commonProblems(req)) return { status: 400, body: "Bad request" };
      return { status: 200, headers: { "content-type": "text/plain" }, body: "Accepted" };
    });

    const ok = await send(s, built("make", { hookUrl: "https://hook.eu1.make.com/abcdefghijklmnop1234", apiKey: "make-key-0123456789" }), leadFields);
    const refused = await send(s, built("make", { hookUrl: "https://hook.eu1.make.com/abcdefghijklmnop1234", apiKey: "make-key-wrong-000" }), leadFields);

    expect(ok).toMatchObject({ ok: true, statusCode: 200, responseExcerpt: "Accepted" });
    expect(JSON.parse(s.requests[0].body)).toEqual(leadFields.lead);
    expect(refused).toMatchObject({ ok: false, statusCode: 401, permanent: true });
  });

  it("GIVEN n8n with Header Auth THEN the header is sent and n8n's started answer counts", async () => {
    const s = await standIn(["n8n.example-shop.com"], (req) => {
      if (req.method !== "POST" || req.path !== "/webhook/tryon-leads") return jsonAnswer(404, { code: 404, message: "The requested webhook \"POST tryon-leads\" is not registered." });
      if (header(req, "x-shop-key") !== "s3cret value for n8n") return { status: 403, body: "Authorization data is wrong!" };
      if (commonProblems(req)) return { status: 400 };
      return jsonAnswer(200, { message: "Workflow was started" });
    });

    const result = await send(s, built("n8n", { hookUrl: "https://n8n.example-shop.com/webhook/tryon-leads", headerName: "X-Shop-Key", headerValue: "s3cret value for n8n" }), leadFields);

    expect(result).toMatchObject({ ok: true, statusCode: 200, responseExcerpt: '{"message":"Workflow was started"}' });
  });
});

describe("preset answers", () => {
  it("GIVEN answers in the wrong format THEN each question gets a plain-words problem and nothing is built", () => {
    expect(buildPreset("mailchimp", { apiKey: "not-a-key", listId: "" })).toEqual({
      ok: false,
      problems: [
        { question: "apiKey", message: expect.stringMatching(/32 letters and digits/) },
        { question: "listId", message: "Enter audience id" },
      ],
    });
    expect(buildPreset("hubspot", { portalId: "{{ shop }}", formGuid: "x", accessToken: "pat" })).toMatchObject({ ok: false });
    expect(buildPreset("slack", { webhookUrl: "https://hooks.slack.com.evil.example/services/T/B/X" })).toMatchObject({ ok: false });
    expect(buildPreset("zapier", { hookUrl: "https://hooks.zapier.com/hooks/catch/1/{{email}}/" })).toMatchObject({ ok: false });
    expect(buildPreset("n8n", { hookUrl: "https://n8n.example.com/webhook/x", headerName: "X-Key" })).toMatchObject({
      ok: false, problems: [{ question: "headerValue", message: expect.stringMatching(/both/) }],
    });
    expect(buildPreset("salesforce", {})).toMatchObject({ ok: false });
  });
});
