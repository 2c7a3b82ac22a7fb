import { describe, expect, it } from "vitest";
import type { HttpAnswer } from "../../app/delivery/http-sender.server";
import type { AttemptFailure } from "../../app/delivery/types";
import {
  classifyHttpRequestAnswer, excerptWithoutSecrets, HttpRequestRenderError, renderFailureOutcome, SECRET_MASK,
} from "../../app/destinations/http-request";

/** Retry rules for HTTP-request destinations, and excerpts that never hold a secret. */

const now = new Date("2025-06-01T12:00:00.000Z");

function answer(status: number, body = "", headers: Record<string, string> = {}, complete = true): HttpAnswer {
  return { ok: true, status, headers, body: Buffer.from(body), complete, durationMs: 42, address: "203.0.113.7" };
}

function classify(a: HttpAnswer | AttemptFailure, secretValues: Record<string, string> = {}) {
  return classifyHttpRequestAnswer(a, { now, secretValues });
}

describe("classification table", () => {
  const table: Array<[status: number, outcome: "delivered" | "retry" | "fail now", hint?: RegExp]> = [
    [200, "delivered"], [201, "delivered"], [202, "delivered"], [204, "delivered"],
    [301, "fail now", /address the receiver points to/], [302, "fail now"], [307, "fail now"], [308, "fail now"],
    [400, "fail now", /did not accept the body: open the preview/],
    [401, "fail now", /rejected the credentials/],
    [403, "fail now", /rejected the credentials/],
    [404, "fail now", /check the URL/],
    [405, "fail now", /method/],
    [408, "retry"], [409, "retry"],
    [410, "fail now", /check the URL/],
    [413, "fail now"], [415, "fail now"],
    [422, "fail now", /did not accept the body: open the preview/],
    [425, "retry"], [429, "retry"],
    [451, "fail now", /refused the request/],
    [500, "retry"], [502, "retry"], [503, "retry"], [504, "retry"], [599, "retry"],
  ];

  for (const [status, outcome, hint] of table) {
    it(`${status} → ${outcome}`, () => {
      const result = classify(answer(status, "answer body"));
      if (outcome === "delivered") {
        expect(result).toEqual({ ok: true, statusCode: status, durationMs: 42, address: "203.0.113.7", responseExcerpt: "answer body" });
        return;
      }
      expect(result).toMatchObject({ ok: false, statusCode: status, responseExcerpt: "answer body", errorCode: status < 400 ? "redirect" : "http_status" });
      const failure = result as AttemptFailure;
      if (outcome === "retry") {
        expect(failure.permanent).toBeUndefined();
        expect(failure.message).toMatch(/it is sent again later$/);
      } else {
        expect(failure.permanent).toBe(true);
        expect(failure.hint).toEqual(expect.any(String));
        if (hint) expect(failure.hint).toMatch(hint);
      }
    });
  }

  it("Retry-After is honoured on every retryable answer, in seconds or as a date", () => {
    expect(classify(answer(429, "", { "retry-after": "120" }))).toMatchObject({ retryAfterMs: 120_000, message: expect.stringMatching(/wait 120 seconds/) });
    expect(classify(answer(503, "", { "retry-after": "Sun, 01 Jun 2025 12:05:00 GMT" }))).toMatchObject({ retryAfterMs: 300_000 });
    expect(classify(answer(500, "", { "retry-after": "30" }))).toMatchObject({ retryAfterMs: 30_000 });
    expect(classify(answer(408, "", { "retry-after": "soon" }))).not.toHaveProperty("retryAfterMs");
    // Not on an answer that fails at once.
    expect(classify(answer(400, "", { "retry-after": "30" }))).not.toHaveProperty("retryAfterMs");
  });

  it("a 2xx whose connection closed before the answer ended is retried, never counted delivered", () => {
    expect(classify(answer(200, '{"ok', {}, false))).toMatchObject({ ok: false, errorCode: "connection_failed" });
  });

  it("network failures are retried; a URL that cannot be sent fails at once", () => {
    const timeout: AttemptFailure = { ok: false, errorCode: "timeout", message: "Your endpoint did not answer completely within 10 seconds", durationMs: 10_000 };
    expect(classify(timeout)).toEqual(timeout);
    const refused: AttemptFailure = { ok: false, errorCode: "address_refused", message: "refused", durationMs: 1, address: "10.0.0.1" };
    expect(classify(refused)).toEqual(refused);
    expect(classify({ ok: false, errorCode: "invalid_url", message: "bad", durationMs: 0 })).toMatchObject({ permanent: true, hint: "Check the URL" });
  });
});

describe("excerpts hold no secret header value", () => {
  const basic = `Basic ${Buffer.from("tryonleads:0123456789abcdef0123456789abcdef-us21").toString("base64")}`;
  const bearer = "Bearer pat-na1-0a1b2c3d-4e5f";

  it("the value, the credential after its scheme, a decoded Basic password, JSON- and URL-escaped forms", () => {
    const echo = [
      `auth=${basic}`,
      `token=${basic.slice(6)}`,
      "key=0123456789abcdef0123456789abcdef-us21",
      "pair=tryonleads:0123456789abcdef0123456789abcdef-us21",
      `json=${JSON.stringify({ h: 'x-a/b"c-secret' })}`,
      `url=${encodeURIComponent('x-a/b"c-secret')}`,
      `bearer=${bearer}`,
    ].join(" ");
    const excerpt = excerptWithoutSecrets(Buffer.from(echo), [basic, bearer, 'x-a/b"c-secret']);
    expect(excerpt).not.toMatch(/0123456789abcdef|dHJ5b25sZWFkc|pat-na1|c-secret|c%22-secret/);
    expect(excerpt).toContain(`json={"h":"${SECRET_MASK}"}`);
    expect(excerpt).toContain(`key=${SECRET_MASK}`);
    expect(excerpt).toContain("auth=");
  });

  it("a secret that straddles the excerpt's end is masked whole, and no start of one is left at the end", () => {
    const key = "xkeysib-0123456789abcdef0123456789abcdef";
    const straddling = Buffer.from(`${"a".repeat(1024 - 10)}${key} more`);
    const excerpt = excerptWithoutSecrets(straddling, [key]);
    expect(excerpt).not.toContain("xkeysib");
    // Read only up to the excerpt's end: the start of the key is all there is, and it is cut.
    const cut = excerptWithoutSecrets(Buffer.from(`${"a".repeat(1024 - 12)}${key.slice(0, 12)}`), [key]);
    expect(cut).toBe("a".repeat(1024 - 12));
  });

  it("through the classifier: an answer that echoes the key has the key masked", () => {
    const result = classify(answer(401, `{"detail":"Received api-key xkeysib-abcdefabcdef0123"}`), { "api-key": "xkeysib-abcdefabcdef0123" });
    expect(result).toMatchObject({ ok: false, responseExcerpt: `{"detail":"Received api-key ${SECRET_MASK}"}` });
  });

  it("emails in answers are scrubbed as in every excerpt", () => {
    expect(classify(answer(400, '{"error":"ana@example.com is invalid"}'))).toMatchObject({ responseExcerpt: '{"error":"[email] is invalid"}' });
  });
});

describe("a definition that does not render for a lead", () => {
  it("is a permanent template_error with a hint, and its message holds no secret or email", () => {
    const error = new HttpRequestRenderError([{ field: "body", message: 'Line 1, column 4: "emial" is not a field (ana@example.com) sk_live_123456' }]);
    expect(renderFailureOutcome(error, { Authorization: "Bearer sk_live_123456" })).toEqual({
      ok: false,
      errorCode: "template_error",
      message: `The request could not be built for this lead: Line 1, column 4: "emial" is not a field ([email]) ${SECRET_MASK}`,
      durationMs: 0,
      permanent: true,
      hint: expect.stringMatching(/fix the template and check the preview/),
    });
  });

  it("a render that ran out of time is tried again", () => {
    expect(renderFailureOutcome(new HttpRequestRenderError([{ field: "body", message: "slow", limit: "time" }]))).toMatchObject({ permanent: false });
  });
});
