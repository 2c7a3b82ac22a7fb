import { describe, expect, it } from "vitest";
import { excerptOf, outcomeOfAnswer, outcomeOfNetworkError, parseRetryAfter } from "../../app/delivery/attempt-outcome.server";

const now = new Date("2026-04-01T12:00:00Z");

describe("Retry-After", () => {
  it("reads delay-seconds", () => {
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter(" 120 ", now)).toBe(120_000);
  });

  it("reads an HTTP date relative to now, and a past date as now", () => {
    expect(parseRetryAfter("Wed, 01 Apr 2026 12:05:00 GMT", now)).toBe(300_000);
    expect(parseRetryAfter("Wed, 01 Apr 2026 11:00:00 GMT", now)).toBe(0);
  });

  it("ignores anything else rather than guessing", () => {
    for (const value of [undefined, "", "1.5", "-5", "soon", "2026-04-01", "120s"]) {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    }
  });
});

describe("response excerpt", () => {
  it("keeps at most 1 KB and drops a character cut in half at the limit", () => {
    expect(excerptOf(Buffer.from("a".repeat(5000)))).toHaveLength(1024);
    const text = `${"a".repeat(1023)}é tail`; // é is two bytes: the limit falls between them
    expect(excerptOf(Buffer.from(text))).toBe("a".repeat(1023));
  });
});

describe("answers", () => {
  const facts = { headers: {}, excerpt: "", durationMs: 12, address: "203.0.113.7", now };

  it("treats every 2xx as delivered", () => {
    for (const status of [200, 201, 202, 204, 299]) expect(outcomeOfAnswer({ ...facts, status }).ok).toBe(true);
  });

  it("points a 401 or 403 at the signature check, and keeps retrying it", () => {
    for (const status of [401, 403]) {
      const outcome = outcomeOfAnswer({ ...facts, status });
      expect(outcome).toMatchObject({ ok: false, errorCode: "http_status" });
      expect((outcome as { message: string }).message).toMatch(new RegExp(`^Your endpoint answered ${status} \\w+: check the signing secret it verifies with, and that it verifies the raw body`));
      expect(outcome).not.toHaveProperty("retryAfterMs");
    }
  });

  it("names unknown statuses by number", () => {
    expect(outcomeOfAnswer({ ...facts, status: 599 })).toMatchObject({ ok: false, errorCode: "http_status", message: "Your endpoint answered 599" });
  });

  it("explains a redirect and a 410 in plain words", () => {
    expect(outcomeOfAnswer({ ...facts, status: 302 })).toMatchObject({
      errorCode: "redirect",
      message: "Your endpoint answered 302 Found and pointed elsewhere; webhooks never follow redirects, so set the endpoint URL to the final address",
    });
    expect(outcomeOfAnswer({ ...facts, status: 410 })).toMatchObject({
      errorCode: "endpoint_gone",
      message: "Your endpoint answered 410 Gone; deliveries to it are paused until you turn it back on",
    });
  });
});

describe("network errors", () => {
  const context = { host: "crm.example.com", address: "203.0.113.7", durationMs: 5 };

  it.each([
    ["ECONNREFUSED", "connection_failed", "We could not connect to crm.example.com (203.0.113.7): the connection was refused"],
    ["ECONNRESET", "connection_failed", "The connection to crm.example.com (203.0.113.7) was closed before your endpoint answered"],
    ["EHOSTUNREACH", "connection_failed", "We could not reach crm.example.com (203.0.113.7): there is no network route to it"],
    ["HPE_INVALID_CONSTANT", "connection_failed", "Your endpoint at crm.example.com (203.0.113.7) sent an answer that is not valid HTTP"],
    ["CERT_HAS_EXPIRED", "tls_error", "The certificate of crm.example.com has expired"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "tls_error", "The certificate of crm.example.com is not signed by a trusted certificate authority"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "tls_error", "The certificate presented is not valid for crm.example.com"],
    ["ERR_SSL_WRONG_VERSION_NUMBER", "tls_error", "The secure connection to crm.example.com could not be set up (ERR_SSL_WRONG_VERSION_NUMBER)"],
  ])("classifies %s as %s", (code, errorCode, message) => {
    expect(outcomeOfNetworkError(Object.assign(new Error("x"), { code }), context)).toMatchObject({ ok: false, errorCode, message });
  });

  it("looks inside Node's multi-address connect errors", () => {
    const aggregate = Object.assign(new AggregateError([
      Object.assign(new Error("a"), { code: "ECONNREFUSED", address: "2001:4860::1" }),
      Object.assign(new Error("b"), { code: "ECONNREFUSED", address: "203.0.113.7" }),
    ]), { code: "ECONNREFUSED" });
    expect(outcomeOfNetworkError(aggregate, { ...context, address: undefined })).toMatchObject({
      errorCode: "connection_failed", address: "2001:4860::1",
    });
  });
});
