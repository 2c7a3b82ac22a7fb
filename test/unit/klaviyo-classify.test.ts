import { describe, expect, it } from "vitest";
import type { HttpAnswer } from "../../app/delivery/http-sender.server";
import type { AttemptFailure } from "../../app/delivery/types";
import { classifyKlaviyoResult, type KlaviyoAnswerContext, type KlaviyoOperation } from "../../app/destinations/klaviyo";

const apiKey = "pk_live_0123456789abcdef0123456789abcdef01";
const email = "shopper@example.com";
const now = new Date("2026-11-02T12:00:00Z");
const context = (operation: KlaviyoOperation = "create_event"): KlaviyoAnswerContext => ({ operation, apiKey, email, now });

function answer(status: number, body = "", headers: Record<string, string> = {}, complete = true): HttpAnswer {
  return { ok: true, status, headers, body: Buffer.from(body), complete, durationMs: 42, address: "203.0.113.9" };
}

function klaviyoErrors(status: number, ...details: string[]): string {
  return JSON.stringify({ errors: details.map((detail, i) => ({ id: `e${i}`, status, code: "invalid", title: "Invalid input.", detail, source: { pointer: "/data" } })) });
}

describe("Klaviyo answers in the delivery engine's words", () => {
  it.each([200, 201, 202, 204])("GIVEN a complete %i THEN the attempt succeeded", (status) => {
    expect(classifyKlaviyoResult(answer(status), context())).toEqual({ ok: true, statusCode: status, durationMs: 42, address: "203.0.113.9", responseExcerpt: "" });
  });

  it("GIVEN a 202 whose connection closed before the answer ended THEN it is not counted as delivered", () => {
    expect(classifyKlaviyoResult(answer(202, "", {}, false), context())).toMatchObject({ ok: false, errorCode: "connection_failed", statusCode: 202 });
  });

  it("GIVEN 401 THEN the key was rejected and the destination is to be paused", () => {
    const result = classifyKlaviyoResult(answer(401, klaviyoErrors(401, "Incorrect authentication credentials.")), context()) as AttemptFailure;
    expect(result).toMatchObject({ ok: false, errorCode: "credentials_rejected", statusCode: 401 });
    expect(result.message).toMatch(/^Klaviyo rejected the key \(401 Unauthorized\).*paused/);
  });

  it.each<[KlaviyoOperation, string]>([
    ["create_event", "events:write"],
    ["bulk_subscribe_profiles", "lists:write, profiles:write, subscriptions:write"],
    ["request_profile_deletion", "data-privacy:write"],
    ["get_lists", "lists:read"],
  ])("GIVEN Klaviyo's 403 on %s THEN the key was rejected, naming the scopes it lacks (%s)", (operation, scopes) => {
    const result = classifyKlaviyoResult(answer(403, klaviyoErrors(403, "You do not have permission to perform this action.")), context(operation)) as AttemptFailure;
    expect(result).toMatchObject({ ok: false, errorCode: "credentials_rejected", statusCode: 403 });
    expect(result.message).toContain("Klaviyo rejected the key (403 Forbidden)");
    expect(result.message).toContain(`(${scopes})`);
  });

  it("GIVEN a 403 page that is not Klaviyo's error document (bot protection in front of the API) THEN it is retried, not blamed on the key", () => {
    const result = classifyKlaviyoResult(answer(403, "<html>Just a moment...</html>", { "content-type": "text/html", "cf-mitigated": "challenge" }), context());
    expect(result).toMatchObject({ ok: false, errorCode: "http_status", statusCode: 403 });
    expect((result as AttemptFailure).message).toContain("not a problem with your key");
  });

  it("GIVEN 429 with Retry-After in seconds or as a date THEN it is rate_limited with the wait", () => {
    const seconds = classifyKlaviyoResult(answer(429, klaviyoErrors(429, "Request was throttled."), { "retry-after": "7" }), context());
    expect(seconds).toMatchObject({ ok: false, errorCode: "rate_limited", statusCode: 429, retryAfterMs: 7_000 });
    expect((seconds as AttemptFailure).message).toContain("sent again in 7 seconds");
    const date = classifyKlaviyoResult(answer(429, "", { "retry-after": "Mon, 02 Nov 2026 12:01:00 GMT" }), context());
    expect(date).toMatchObject({ errorCode: "rate_limited", retryAfterMs: 60_000 });
  });

  it("GIVEN 429 without Retry-After THEN it is still rate_limited, left to the schedule", () => {
    const result = classifyKlaviyoResult(answer(429), context());
    expect(result).toMatchObject({ ok: false, errorCode: "rate_limited" });
    expect(result).not.toHaveProperty("retryAfterMs");
  });

  it.each([500, 502, 504, 408, 425])("GIVEN %i THEN it is retried later (http_status)", (status) => {
    const result = classifyKlaviyoResult(answer(status, klaviyoErrors(status, "A server error occurred.")), context());
    expect(result).toMatchObject({ ok: false, errorCode: "http_status", statusCode: status });
    expect((result as AttemptFailure).message).toContain("sent again later");
  });

  it("GIVEN 503 with Retry-After THEN the wait is kept", () => {
    expect(classifyKlaviyoResult(answer(503, "", { "retry-after": "120" }), context())).toMatchObject({ errorCode: "http_status", retryAfterMs: 120_000 });
  });

  it("GIVEN a redirect THEN it is not followed, and retried", () => {
    expect(classifyKlaviyoResult(answer(301, "", { location: "https://elsewhere.example/" }), context())).toMatchObject({ ok: false, errorCode: "redirect" });
  });

  it.each([400, 404, 405, 409, 410, 413, 415, 422])("GIVEN %i THEN it fails at once with Klaviyo's own text", (status) => {
    const result = classifyKlaviyoResult(answer(status, klaviyoErrors(status, "'uniqueId' is not a valid field for the resource 'event'.")), context()) as AttemptFailure;
    expect(result).toMatchObject({ ok: false, errorCode: "request_rejected", statusCode: status });
    expect(result.message).toContain(": 'uniqueId' is not a valid field for the resource 'event'.");
    expect(result.message).toContain("not retried");
  });

  it("GIVEN several Klaviyo errors THEN at most three distinct details are shown, each cut short", () => {
    const long = `Profile attribute ${"x".repeat(600)}`;
    const result = classifyKlaviyoResult(answer(400, klaviyoErrors(400, "First.", "First.", "Second.", long, "Fourth.")), context()) as AttemptFailure;
    expect(result.message).toContain("First.; Second.; Profile attribute");
    expect(result.message).not.toContain("Fourth.");
    expect(result.message.length).toBeLessThan(500);
  });
});

describe("no answer from Klaviyo", () => {
  it.each<AttemptFailure>([
    { ok: false, errorCode: "timeout", message: "Your endpoint did not answer completely within 10 seconds", durationMs: 10_000 },
    { ok: false, errorCode: "connection_failed", message: "We could not connect to a.klaviyo.com (203.0.113.9): the connection was refused", durationMs: 5 },
    { ok: false, errorCode: "tls_error", message: "The certificate of a.klaviyo.com has expired", durationMs: 5 },
    { ok: false, errorCode: "dns_failure", message: "a.klaviyo.com does not resolve", durationMs: 5 },
  ])("GIVEN $errorCode THEN the code is kept and the words are about Klaviyo", (failure) => {
    const result = classifyKlaviyoResult(failure, context()) as AttemptFailure;
    expect(result.errorCode).toBe(failure.errorCode);
    expect(result.message).toMatch(/^Klaviyo /);
    expect(result.message).not.toContain("Your endpoint");
  });
});

describe("what Klaviyo sends back never carries the key or the shopper's email out", () => {
  const echoes = [
    `Profile ${email} was rejected for key ${apiKey}`,
    `Key 'custom-key-without-prefix' is invalid; contact shopper@example.com`,
    `${"padding ".repeat(120)}${email} ${apiKey}`,
  ];
  const statuses = [202, 400, 401, 403, 404, 422, 429, 500, 503];

  it.each(statuses)("GIVEN a %i whose body quotes them THEN neither message nor excerpt does", (status) => {
    for (const echo of echoes) {
      for (const key of [apiKey, "custom-key-without-prefix"]) {
        const body = klaviyoErrors(status, echo);
        const result = classifyKlaviyoResult(answer(status, body, { "retry-after": "1" }), { ...context(), apiKey: key });
        const text = JSON.stringify(result);
        expect(text).not.toContain(key);
        expect(text).not.toContain(apiKey);
        expect(text).not.toContain(email);
        expect(text).not.toContain("shopper@");
      }
    }
  });

  it("GIVEN an email Klaviyo quotes that is too malformed for the email pattern THEN the exact value is still masked", () => {
    const odd = "shopper@@example";
    const result = classifyKlaviyoResult(answer(400, klaviyoErrors(400, `Invalid email address: ${odd}`)), { ...context(), email: odd }) as AttemptFailure;
    expect(result.message).toContain("Invalid email address: [email]");
    expect(JSON.stringify(result)).not.toContain(odd);
  });

  it("GIVEN a long answer with the email where the excerpt is cut THEN no half of it survives", () => {
    const filler = "a".repeat(1015);
    const result = classifyKlaviyoResult(answer(500, `${filler} ${email} tail`), context()) as AttemptFailure;
    expect(result.responseExcerpt!.length).toBeLessThanOrEqual(1024);
    expect(result.responseExcerpt).not.toContain("shopper");
  });
});
