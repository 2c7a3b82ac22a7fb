import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createWebhookSender } from "../../app/delivery/http-sender.server";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import {
  attemptHttpRequest, sampleTemplateFields, validateHttpRequestDefinition, type HttpRequestDefinition,
} from "../../app/destinations/http-request";
import { createLogger } from "../../app/lib/logger.server";
import { onPort, startApiStandIn, type ApiStandIn } from "../support/api-stand-in";

/**
 * An HTTP-request destination's attempt end to end on loopback: what is vetted after rendering, what is
 * never sent, and what never reaches a log.
 */

const SECRET = "Bearer sk_live_9f8e7d6c5b4a39281706";
const standIns: ApiStandIn[] = [];
afterEach(async () => {
  for (const s of standIns.splice(0)) await s.close();
});

async function crm(answer: { status: number; headers?: Record<string, string>; body?: string } = { status: 200, body: "{}" }) {
  const s = await startApiStandIn({ hostnames: ["crm.example.com"], handle: () => answer });
  standIns.push(s);
  return s;
}

function definition(overrides: Partial<HttpRequestDefinition> = {}): HttpRequestDefinition {
  return {
    method: "PATCH",
    url: "https://crm.example.com/v1/contacts/{{ email | downcase | sha256 }}?list=7",
    headers: [{ name: "Authorization", secret: true }, { name: "X-Lead", secret: false, value: "{{ lead_id }}" }],
    bodyEncoding: "form",
    body: "email={{ email | url_encode }}&consent={{ consent.given }}&product={{ product.title | url_encode }}",
    ...overrides,
  };
}

function captureLogs() {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", destination: new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }) });
  return { logger, text: () => lines.join("") };
}

describe("sending an HTTP-request destination", () => {
  it("GIVEN a form-encoded PATCH THEN the receiver gets exactly the rendered request, and the debug log holds neither the secret nor the path", async () => {
    const s = await crm({ status: 200, body: '{"updated":true}' });
    const logs = captureLogs();
    const fields = sampleTemplateFields();
    expect(validateHttpRequestDefinition(definition(), { secretValues: { Authorization: SECRET } }).ok).toBe(true);

    const result = await attemptHttpRequest({
      exchange: s.sender({ logger: logs.logger }).exchange, definition: onPort(definition(), s.port), fields,
      secretValues: { Authorization: SECRET }, now: () => new Date(),
    });

    expect(result).toMatchObject({ ok: true, statusCode: 200, responseExcerpt: '{"updated":true}' });
    const [req] = s.requests;
    expect(req.method).toBe("PATCH");
    expect(req.path).toMatch(/^\/v1\/contacts\/[0-9a-f]{64}\?list=7$/);
    expect(req.headers).toMatchObject({
      authorization: SECRET, "x-lead": fields.lead_id, "idempotency-key": fields.delivery_id,
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(Object.fromEntries(new URLSearchParams(req.body))).toEqual({ email: "ana.silva@example.com", consent: "true", product: "Aviator Sunglasses" });
    expect(logs.text()).toContain('"host":"crm.example.com"');
    expect(logs.text()).not.toContain("sk_live");
    expect(logs.text()).not.toContain("/v1/contacts");
  });

  it("GIVEN the host resolves to a private address THEN the rendered request is refused before any connection", async () => {
    const s = await crm();
    const sender = createWebhookSender({
      resolve: async () => [{ address: "10.20.30.40", family: 4 }],
      policy: createAddressPolicy({ allowAddresses: ["127.0.0.1"] }),
      extraCa: s.ca,
    });

    const result = await attemptHttpRequest({
      exchange: sender.exchange, definition: onPort(definition(), s.port), fields: sampleTemplateFields(),
      secretValues: { Authorization: SECRET }, now: () => new Date(),
    });

    expect(result).toMatchObject({ ok: false, errorCode: "address_refused", address: "10.20.30.40" });
    expect(s.requests).toHaveLength(0);
  });

  it("GIVEN a lead the template cannot render THEN nothing is sent and the failure is permanent, with a hint", async () => {
    const s = await crm();
    const result = await attemptHttpRequest({
      exchange: s.sender().exchange,
      definition: onPort(definition({ body: "email={{ email | url_encode }}&look={{ try_on.look_id }}" }), s.port),
      fields: { ...sampleTemplateFields(), try_on: { vendor: "other" } },
      secretValues: { Authorization: SECRET }, now: () => new Date(),
    });

    expect(result).toMatchObject({
      ok: false, errorCode: "template_error", permanent: true,
      message: expect.stringMatching(/could not be built for this lead: Line 1, column \d+: "try_on.look_id" is not a field/),
    });
    expect(s.requests).toHaveLength(0);
  });

  it("GIVEN a redirect THEN it is not followed and the attempt fails at once", async () => {
    const s = await crm({ status: 302, headers: { location: "https://crm.example.com/elsewhere" } });
    const result = await attemptHttpRequest({
      exchange: s.sender().exchange, definition: onPort(definition(), s.port), fields: sampleTemplateFields(),
      secretValues: { Authorization: SECRET }, now: () => new Date(),
    });

    expect(result).toMatchObject({ ok: false, errorCode: "redirect", statusCode: 302, permanent: true });
    expect(s.requests).toHaveLength(1);
  });

  it("GIVEN a 429 with Retry-After THEN the attempt is retried after the time asked", async () => {
    const s = await crm({ status: 429, headers: { "retry-after": "90" }, body: "slow down" });
    const result = await attemptHttpRequest({
      exchange: s.sender().exchange, definition: onPort(definition(), s.port), fields: sampleTemplateFields(),
      secretValues: { Authorization: SECRET }, now: () => new Date(),
    });

    expect(result).toMatchObject({ ok: false, errorCode: "http_status", statusCode: 429, retryAfterMs: 90_000, responseExcerpt: "slow down" });
    expect(result).not.toHaveProperty("permanent");
  });
});
