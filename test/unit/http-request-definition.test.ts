import { describe, expect, it } from "vitest";
import {
  FIELD_REFERENCE, HttpRequestRenderError, previewHttpRequest, renderHttpRequest, SAMPLE_LEAD_BODY, SAMPLE_LEAD_JSON,
  SECRET_MASK, sampleTemplateFields, splitUrlTemplate, validateHttpRequestDefinition,
  type HttpRequestDefinition, type TemplateFields,
} from "../../app/destinations/http-request";
import { serializeBody } from "../../app/delivery/payload";

/** Save-time validation, rendering at send time, previews and the field reference. */

const TOKEN = "Bearer sk_live_4f9a8b7c6d5e4f3a2b1c";

function definition(overrides: Partial<HttpRequestDefinition> = {}): HttpRequestDefinition {
  return {
    method: "POST",
    url: "https://crm.example.com/api/leads?source={{ utm.source | default: 'direct' | url_encode }}",
    headers: [
      { name: "Authorization", secret: true },
      { name: "X-Shop", secret: false, value: "{{ shop }}" },
    ],
    bodyEncoding: "json",
    body: '{"email": {{ email | json }}, "product": {{ product.title | json }}}',
    ...overrides,
  };
}

function problemsOf(input: unknown, secretValues: Record<string, string> | undefined = { Authorization: TOKEN }) {
  const check = validateHttpRequestDefinition(input, { secretValues });
  return check.ok ? [] : check.problems;
}

function fieldsWith(overrides: Partial<TemplateFields>): TemplateFields {
  return { ...sampleTemplateFields(), ...overrides };
}

describe("validation at save", () => {
  it("GIVEN a sound definition THEN it passes and comes back clean", () => {
    const check = validateHttpRequestDefinition({ ...definition(), extra: "dropped" }, { secretValues: { authorization: TOKEN } });
    expect(check).toEqual({ ok: true, definition: definition() });
  });

  it("GIVEN the wrong shape THEN each field gets a problem in plain words", () => {
    expect(problemsOf({ ...definition(), method: "GET", bodyEncoding: "xml", headers: [{ name: "X" }] })).toEqual([
      { field: "method", message: "Choose POST, PUT or PATCH" },
      { field: "headers.0.secret", message: "Each header needs a name and either a value or the secret mark" },
      { field: "bodyEncoding", message: "Choose JSON or form encoding for the body" },
    ]);
    expect(problemsOf(null)).toEqual([{ field: "definition", message: expect.any(String) }]);
  });

  it("GIVEN template variables in the host, port or before the first / THEN the URL is refused", () => {
    for (const url of [
      "https://{{ shop }}/hook",
      "https://api.example.com:{{ version }}/x",
      "https://api.example.com{{ path }}",
      "https://api.{% if test %}staging.{% endif %}example.com/x",
      "https://{{ shop }}",
    ]) {
      expect(problemsOf(definition({ url }))).toEqual([
        { field: "url", message: "The host of the URL cannot use template variables: only the path and query after the first / can" },
      ]);
    }
  });

  it("GIVEN a URL that is not https, has credentials, a fragment or spaces THEN it is refused", () => {
    expect(problemsOf(definition({ url: "http://crm.example.com/x" }))[0].message).toBe("The URL must start with https://");
    expect(problemsOf(definition({ url: "https://user:pass@crm.example.com/x" }))[0].message).toMatch(/user name or password/);
    expect(problemsOf(definition({ url: "https://crm.example.com#{{ email }}" }))[0].message).toMatch(/#fragment/);
    expect(problemsOf(definition({ url: " https://crm.example.com/x" }))[0].message).toMatch(/without spaces/);
    expect(splitUrlTemplate("https://CRM.Example.com:8443/a/{{ lead_id }}")).toEqual({ ok: true, parts: { origin: "https://crm.example.com:8443", hostname: "crm.example.com" } });
  });

  it("GIVEN template errors THEN they are reported per field with line and column", () => {
    const problems = problemsOf(definition({
      url: "https://crm.example.com/x/{{ lead_id | nope }}",
      headers: [{ name: "X-Id", secret: false, value: "{{ leadid }}" }],
      body: '{\n  "email": {{ email | json }},\n  "x": {% if consent.given %}1\n}',
    }));
    expect(problems).toEqual([
      { field: "url", message: 'Line 1, column 27: there is no filter called "nope"', line: 1, column: 27 },
      { field: "headers.0.value", message: expect.stringMatching(/^Line 1, column 4: "leadid" is not a field/), line: 1, column: 4 },
      { field: "body", message: "Line 3, column 8: the tag {% if consent.given %} is opened but never closed", line: 3, column: 8 },
    ]);
  });

  it("GIVEN invalid, refused or repeated header names THEN each is refused with the reason", () => {
    const named = (name: string) => problemsOf(definition({ headers: [{ name, secret: false, value: "v" }] }))[0]?.message;
    expect(named("X Bad")).toMatch(/no spaces or colons/);
    expect(named("X-Bad:")).toMatch(/no spaces or colons/);
    expect(named("")).toBe("Enter a header name");
    for (const name of ["Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "TE", "Upgrade", "Trailer", "Proxy-Authorization", "Expect", "Content-Type", "Idempotency-Key"]) {
      expect(named(name)).toMatch(new RegExp(`^The ${name} header cannot be set here: `));
    }
    expect(named("X-TryOnCloud-Signature")).toMatch(/reserved/);
    expect(named("Webhook-Signature")).toMatch(/reserved/);
    expect(problemsOf(definition({ headers: [{ name: "X-A", secret: false, value: "1" }, { name: "x-a", secret: false, value: "2" }] }))).toEqual([
      { field: "headers.1.name", message: "The x-a header is set twice: keep one" },
    ]);
  });

  it("GIVEN a header value or lead value with CR/LF THEN it is refused, at save and at send", () => {
    // A line break typed into the template: it renders into the value.
    expect(problemsOf(definition({ headers: [{ name: "X-A", secret: false, value: "{{ shop }}\r\nX-Injected: 1" }] }))).toEqual([
      { field: "headers.0.value", message: expect.stringMatching(/cannot be sent: A header value must be on one line/) },
    ]);
    // A secret value with a line break: refused without quoting it.
    const secretProblems = problemsOf(definition(), { Authorization: `${TOKEN}\r\nX-Injected: 1` });
    expect(secretProblems).toEqual([{ field: "headers.0.value", message: "The secret value: A header value must be on one line (it contains a line break)" }]);
    expect(JSON.stringify(secretProblems)).not.toContain("sk_live");
    // A lead value with a line break, at send time.
    const d = definition({ headers: [{ name: "X-Campaign", secret: false, value: "{{ utm.campaign }}" }] });
    const fields = fieldsWith({ utm: { ...sampleTemplateFields().utm, campaign: "spring\r\nX-Injected: 1" } });
    expect(() => renderHttpRequest(d, fields, {})).toThrow(HttpRequestRenderError);
    expect(() => renderHttpRequest(d, fields, {})).toThrow(/must be on one line/);
    expect(() => renderHttpRequest(d, fieldsWith({ utm: { ...sampleTemplateFields().utm, campaign: "café" } }), {})).toThrow(/plain ASCII/);
  });

  it("GIVEN a JSON body that does not render to JSON THEN it is refused with where and how to fix it", () => {
    expect(problemsOf(definition({ body: '{"email": "{{ email }}", "title": "{{ product.title }}"}' }))).toEqual([
      // The sparse sample's title holds quotes: only | json keeps the body valid.
      { field: "body", message: expect.stringMatching(/^The body does not render to valid JSON at line 1, column \d+ of the rendered body: put text values through \| json .*\(with a lead with no variant/) },
    ]);
    expect(problemsOf(definition({ body: "" }))[0].message).toMatch(/The body is empty: a JSON body needs at least \{\}/);
  });

  it("GIVEN a template that fails only for a lead without optional fields THEN save refuses it, naming that lead", () => {
    const problems = problemsOf(definition({ body: '{"variant": {{ product.variant.title | upcase | json }}, "look": {{ try_on.look_id | json }}}' }));
    expect(problems).toEqual([{ field: "body", message: expect.stringMatching(/"try_on.look_id" is not a field.*\(with a lead with no variant, UTM tags, page or try-on details\)$/), line: 1, column: expect.any(Number) }]);
  });

  it("GIVEN a form body THEN values must be encoded", () => {
    const form = (body: string) => problemsOf(definition({ bodyEncoding: "form", body }));
    expect(form("email={{ email | url_encode }}&title={{ product.title | url_encode }}&consent={{ consent.given }}")).toEqual([]);
    expect(form("title={{ product.title }}")[0].message).toMatch(/must be encoded in a form .* \| url_encode/);
    expect(form("a=1&&b=2")[0].message).toMatch(/empty field/);
    expect(form("justtext")[0].message).toMatch(/has no = and value/);
    expect(form("a=100%")[0].message).toMatch(/% that does not start/);
  });

  it("GIVEN limits exceeded THEN the problem says which and by how much", () => {
    expect(problemsOf(definition({ body: `{"a": "${"x".repeat(20_001)}"}` }))[0]).toMatchObject({ field: "body", limit: "size", message: expect.stringMatching(/characters long; the limit is 20,000/) });
    expect(problemsOf(definition({ body: '{"a": [{% for i in (1..3000) %}{{ product.url | json }},{% endfor %}1]}' }))[0]).toMatchObject({ field: "body", limit: "output" });
    // Bytes, not characters: 40,000 characters of € are 120,000 bytes.
    expect(problemsOf(definition({ body: '{"a": "{% for i in (1..2500) %}€€€€€€€€€€€€€€€€{% endfor %}"}' }))[0]).toMatchObject({
      field: "body", limit: "output", message: expect.stringMatching(/^The body renders to 120,0\d\d bytes; the limit is 65,536/),
    });
    expect(problemsOf(definition({ headers: [{ name: "X-Long", secret: false, value: "{% for i in (1..100) %}{{ product.url }}{% endfor %}" }] }))[0]).toMatchObject({
      field: "headers.0.value", limit: "output", message: expect.stringMatching(/characters; the limit is 4,096/),
    });
    expect(problemsOf(definition({ url: "https://crm.example.com/{% for i in (1..100) %}{{ product.url | url_encode }}{% endfor %}" }))[0]).toMatchObject({
      field: "url", limit: "output", message: expect.stringMatching(/characters; the limit is 4,096/),
    });
    expect(problemsOf(definition({ headers: [{ name: "X-Template", secret: false, value: "x".repeat(2049) }] }))[0]).toMatchObject({ field: "headers.0.value", limit: "size" });
    expect(problemsOf(definition({ headers: [{ name: `X-${"a".repeat(100)}`, secret: false, value: "v" }] }))[0].message).toBe("A header name can be at most 100 characters");
    expect(problemsOf(definition(), { Authorization: "x".repeat(4097) })[0].message).toMatch(/at most 4,096 characters/);
    expect(problemsOf(definition({ headers: Array.from({ length: 21 }, (_, i) => ({ name: `X-${i}`, secret: false as const, value: "v" })) }))[0].message).toBe("At most 20 headers");
    expect(problemsOf(definition({ url: `https://crm.example.com/${"a".repeat(2100)}` }))[0].message).toMatch(/at most 2,048 characters/);
  });

  it("GIVEN a secret header without its value THEN save asks for it; without secretValues THEN it is not checked", () => {
    expect(problemsOf(definition(), {})).toEqual([{ field: "headers.0.value", message: "Enter the secret value of the Authorization header" }]);
    expect(problemsOf(definition(), undefined)).toEqual([]);
  });

  it("GIVEN control characters typed into a template THEN they are refused", () => {
    expect(problemsOf(definition({ body: '{"a": 1}\u0000' }))).toEqual([{ field: "body", message: "It contains an invisible control character: retype it" }]);
  });
});

describe("rendering at send time", () => {
  it("GIVEN a lead THEN the request is rendered with the secret value, the content type and the delivery id as Idempotency-Key", () => {
    const fields = sampleTemplateFields();
    const request = renderHttpRequest(definition(), fields, { authorization: TOKEN });
    expect(request).toEqual({
      method: "POST",
      url: "https://crm.example.com/api/leads?source=instagram",
      headers: {
        "content-type": "application/json",
        "idempotency-key": fields.delivery_id,
        authorization: TOKEN,
        "x-shop": "demo-store.myshopify.com",
      },
      body: '{"email": "ana.silva@example.com", "product": "Aviator Sunglasses"}',
      maxResponseBytes: 2048,
    });
    // Deterministic: the same inputs give the same request.
    expect(renderHttpRequest(definition(), fields, { authorization: TOKEN })).toEqual(request);
  });

  it("GIVEN a value in the path THEN it cannot move the request to another host", () => {
    const d = definition({ url: "https://crm.example.com/{{ utm.source }}" });
    for (const source of ["@evil.example/x", "/evil.example", "..%2F..%2F", "\\\\evil.example"]) {
      const request = renderHttpRequest(d, fieldsWith({ utm: { ...sampleTemplateFields().utm, source } }), { Authorization: TOKEN });
      expect(new URL(request.url).host).toBe("crm.example.com");
    }
    const query = definition({ url: "https://crm.example.com/?next={{ utm.source }}" });
    expect(new URL(renderHttpRequest(query, fieldsWith({ utm: { ...sampleTemplateFields().utm, source: "https://evil.example/" } }), { Authorization: TOKEN }).url).host).toBe("crm.example.com");
  });

  it("GIVEN a rendered URL with a line break THEN it is refused instead of being silently cleaned", () => {
    const d = definition({ url: "https://crm.example.com/{{ utm.source }}" });
    expect(() => renderHttpRequest(d, fieldsWith({ utm: { ...sampleTemplateFields().utm, source: "a\nb" } }), { Authorization: TOKEN })).toThrow(/line break or control character/);
  });

  it("GIVEN a secret value missing at send THEN it throws with a message that names the header only", () => {
    const error = (() => {
      try {
        renderHttpRequest(definition(), sampleTemplateFields(), {});
      } catch (e) {
        return e as HttpRequestRenderError;
      }
      throw new Error("expected a failure");
    })();
    expect(error).toBeInstanceOf(HttpRequestRenderError);
    expect(error.permanent).toBe(true);
    expect(error.problems).toEqual([{ field: "headers.0.value", message: "Enter the secret value of the Authorization header" }]);
  });

  it("a render that only ran out of time is not permanent; any other problem is", () => {
    expect(new HttpRequestRenderError([{ field: "body", message: "slow", limit: "time" }]).permanent).toBe(false);
    expect(new HttpRequestRenderError([{ field: "body", message: "slow", limit: "time" }, { field: "url", message: "bad" }]).permanent).toBe(true);
  });
});

describe("preview", () => {
  it("GIVEN secret values THEN the preview shows the exact request with every secret masked", () => {
    const preview = previewHttpRequest(definition(), sampleTemplateFields(), { Authorization: TOKEN });
    expect(preview.ok).toBe(true);
    if (!preview.ok) return;
    expect(preview.request.headers).toEqual([
      { name: "content-type", value: "application/json", secret: false },
      { name: "idempotency-key", value: sampleTemplateFields().delivery_id, secret: false },
      { name: "authorization", value: SECRET_MASK, secret: true },
      { name: "x-shop", value: "demo-store.myshopify.com", secret: false },
      { name: "user-agent", value: expect.stringMatching(/^TryOnLeads-Webhooks\//), secret: false },
      { name: "content-length", value: String(Buffer.byteLength(preview.request.body)), secret: false },
    ]);
    expect(JSON.stringify(preview)).not.toContain("sk_live");
  });

  it("GIVEN no secret values THEN the preview still renders, masked", () => {
    const preview = previewHttpRequest(definition(), sampleTemplateFields());
    expect(preview).toMatchObject({ ok: true, request: { headers: expect.arrayContaining([{ name: "authorization", value: SECRET_MASK, secret: true }]) } });
  });

  it("GIVEN a broken template THEN the preview lists every problem and no secret", () => {
    const preview = previewHttpRequest(definition({ body: "{{ nope }}", url: "https://crm.example.com/{{ x }}" }), sampleTemplateFields(), { Authorization: `${TOKEN}\n` });
    expect(preview.ok).toBe(false);
    if (preview.ok) return;
    expect(preview.problems.map((p) => p.field)).toEqual(["url", "headers.0.value", "body"]);
    expect(JSON.stringify(preview)).not.toContain("sk_live");
  });
});

describe("field reference", () => {
  it("lists every field of the webhook body a template can use, with examples read from the sample lead", () => {
    const names = FIELD_REFERENCE.map((f) => f.name);
    const leaves = (value: unknown, prefix: string): string[] =>
      value && typeof value === "object" && !Array.isArray(value) && prefix !== "try_on"
        ? Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k))
        : [prefix];
    for (const path of leaves(SAMPLE_LEAD_BODY, "")) expect(names).toContain(path);
    expect(names).toEqual(expect.arrayContaining(["delivery_id", "lead", "test"]));
    expect(FIELD_REFERENCE.find((f) => f.name === "email")).toMatchObject({ type: "text", example: '"ana.silva@example.com"' });
    expect(FIELD_REFERENCE.find((f) => f.name === "utm.term")).toMatchObject({ example: "null" });
    for (const field of FIELD_REFERENCE) expect(field.description.length).toBeGreaterThan(10);
  });

  it("the sample JSON is the webhook body of the sample lead", () => {
    expect(JSON.parse(SAMPLE_LEAD_JSON)).toEqual(SAMPLE_LEAD_BODY);
    expect(serializeBody(SAMPLE_LEAD_BODY)).toBe(JSON.stringify(JSON.parse(SAMPLE_LEAD_JSON)));
  });
});
