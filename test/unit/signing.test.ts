import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import {
  buildSignatureHeaders,
  buildUserAgent,
  generateSigningSecret,
  InvalidSigningSecretError,
  signContract,
  signStandard,
  verifyContractSignature,
  type SignatureHeaderInput,
} from "../../app/delivery/signing";

const body = JSON.stringify({ event: "lead_captured", lead: { email: "shopper@example.com", note: "café ☕" } });
const nowSeconds = () => Math.floor(Date.now() / 1000);

function input(overrides: Partial<SignatureHeaderInput> = {}): SignatureHeaderInput {
  return {
    deliveryId: "dlv_01HZX3",
    event: "lead_captured",
    shop: "demo-store.myshopify.com",
    body,
    secrets: [generateSigningSecret()],
    timestampSeconds: nowSeconds(),
    userAgent: buildUserAgent("https://example.com/webhooks"),
    ...overrides,
  };
}

/** An independent HMAC implementation: the openssl CLI. */
function opensslHmacHex(key: string, data: string): string {
  const out = execFileSync("openssl", ["dgst", "-sha256", "-hmac", key, "-r"], { input: data }).toString();
  return out.split(" ")[0].trim();
}

describe("signing secrets", () => {
  it("GIVEN a new secret THEN it is whsec_ followed by the base64 of 32 random bytes, and never repeats", () => {
    const a = generateSigningSecret();
    const b = generateSigningSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), "base64")).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it("WHEN a secret lacks the prefix, is not base64 or is too short THEN signing refuses it without echoing it", () => {
    const bad = ["abc", "whsec_not base64!", `whsec_${Buffer.alloc(8).toString("base64")}`, "whsec_"];
    for (const secret of bad) {
      expect(() => buildSignatureHeaders(input({ secrets: [secret] }))).toThrow(InvalidSigningSecretError);
      let message = "";
      try {
        signStandard("id", 1, body, secret);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidSigningSecretError);
        message = (error as Error).message;
      }
      expect(message).toMatch(/^invalid signing secret: /);
      if (secret.length > 6) expect(message).not.toContain(secret.slice(6));
    }
  });

  it("WHEN zero or three secrets are given THEN the headers are refused", () => {
    expect(() => buildSignatureHeaders(input({ secrets: [] }))).toThrow(InvalidSigningSecretError);
    const three = [generateSigningSecret(), generateSigningSecret(), generateSigningSecret()];
    expect(() => buildSignatureHeaders(input({ secrets: three }))).toThrow(InvalidSigningSecretError);
  });
});

describe("contract signature (x-tryoncloud-signature)", () => {
  it("is the hex HMAC-SHA256 of the raw body keyed with the whole secret string, as openssl computes it", () => {
    const secret = generateSigningSecret();
    expect(signContract(body, secret)).toBe(opensslHmacHex(secret, body));
    expect(signContract(Buffer.from(body), secret)).toBe(signContract(body, secret));
  });

  it("matches the receiver guide's one-liner exactly", () => {
    const secret = generateSigningSecret();
    const headers = buildSignatureHeaders(input({ secrets: [secret] }));
    const guide = createHmac("sha256", secret).update(Buffer.from(body)).digest("hex");
    expect(headers["x-tryoncloud-signature"]).toBe(`sha256=${guide}`);
  });
});

describe("buildSignatureHeaders", () => {
  it("GIVEN one secret THEN every contract header is present and all three recipes verify", () => {
    const secret = generateSigningSecret();
    const ts = nowSeconds();
    const headers = buildSignatureHeaders(input({ secrets: [secret], timestampSeconds: ts }));
    expect(headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": expect.stringMatching(/^TryOnLeads-Webhooks\/\d+\.\d+\.\d+ \(\+https:\/\/example\.com\/webhooks\)$/),
      "x-tryoncloud-timestamp": String(ts),
      "x-tryoncloud-delivery-id": "dlv_01HZX3",
      "x-tryoncloud-event": "lead_captured",
      "x-tryoncloud-shop": "demo-store.myshopify.com",
      "webhook-id": "dlv_01HZX3",
      "webhook-timestamp": String(ts),
    });
    expect(headers["x-tryoncloud-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);

    expect(verifyContractSignature(body, headers["x-tryoncloud-signature"], secret, { timestampHeader: headers["x-tryoncloud-timestamp"] }))
      .toEqual({ ok: true });
    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new SvixWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("GIVEN two secrets during a rotation THEN both signatures are listed newest first and either secret verifies", () => {
    const [newer, older] = [generateSigningSecret(), generateSigningSecret()];
    const headers = buildSignatureHeaders(input({ secrets: [newer, older] }));
    expect(headers["x-tryoncloud-signature"]).toBe(`sha256=${signContract(body, newer)}, sha256=${signContract(body, older)}`);
    const ts = Number(headers["webhook-timestamp"]);
    expect(headers["webhook-signature"]).toBe(`v1,${signStandard("dlv_01HZX3", ts, body, newer)} v1,${signStandard("dlv_01HZX3", ts, body, older)}`);

    for (const secret of [newer, older]) {
      const options = { timestampHeader: headers["x-tryoncloud-timestamp"] };
      expect(verifyContractSignature(body, headers["x-tryoncloud-signature"], secret, options).ok).toBe(true);
      expect(() => new StandardWebhook(secret).verify(body, headers)).not.toThrow();
      expect(() => new SvixWebhook(secret).verify(body, headers)).not.toThrow();
    }
    const stranger = generateSigningSecret();
    expect(verifyContractSignature(body, headers["x-tryoncloud-signature"], stranger, { timestampHeader: headers["x-tryoncloud-timestamp"] }))
      .toEqual({ ok: false, reason: "no_matching_signature" });
    expect(() => new StandardWebhook(stranger).verify(body, headers)).toThrow(/No matching signature/);
  });

  it("WHEN the body changes by one byte THEN no recipe verifies", () => {
    const secret = generateSigningSecret();
    const headers = buildSignatureHeaders(input({ secrets: [secret] }));
    const tampered = body.replace("café", "cafe");
    expect(verifyContractSignature(tampered, headers["x-tryoncloud-signature"], secret, { timestampHeader: headers["x-tryoncloud-timestamp"] }).ok)
      .toBe(false);
    expect(() => new StandardWebhook(secret).verify(tampered, headers)).toThrow();
  });

  it("WHEN an attempt is signed again later THEN the delivery id stays and the timestamp and Standard signature change", () => {
    const secret = generateSigningSecret();
    const first = buildSignatureHeaders(input({ secrets: [secret], timestampSeconds: 1_700_000_000 }));
    const retry = buildSignatureHeaders(input({ secrets: [secret], timestampSeconds: 1_700_000_060 }));
    expect(retry["webhook-id"]).toBe(first["webhook-id"]);
    expect(retry["x-tryoncloud-delivery-id"]).toBe(first["x-tryoncloud-delivery-id"]);
    expect(retry["webhook-timestamp"]).toBe("1700000060");
    expect(retry["webhook-signature"]).not.toBe(first["webhook-signature"]);
  });

  it("WHEN a header value holds a line break or space THEN it is refused before it can reach the wire", () => {
    expect(() => buildSignatureHeaders(input({ deliveryId: "a\r\nx-evil: 1" }))).toThrow(TypeError);
    expect(() => buildSignatureHeaders(input({ shop: "demo store" }))).toThrow(TypeError);
    expect(() => buildSignatureHeaders(input({ timestampSeconds: 1.5 }))).toThrow(TypeError);
  });
});

describe("verifyContractSignature (the receiver's recipe)", () => {
  const secret = generateSigningSecret();
  const signature = `sha256=${signContract(body, secret)}`;
  const now = new Date("2026-03-01T12:00:00Z");
  const at = (offsetSeconds: number) => String(Math.floor(now.getTime() / 1000) + offsetSeconds);

  it("accepts a timestamp within the tolerance on either side", () => {
    expect(verifyContractSignature(body, signature, secret, { now, timestampHeader: at(-300) }).ok).toBe(true);
    expect(verifyContractSignature(body, signature, secret, { now, timestampHeader: at(300) }).ok).toBe(true);
  });

  it("rejects a stale or far-future timestamp", () => {
    expect(verifyContractSignature(body, signature, secret, { now, timestampHeader: at(-301) }))
      .toEqual({ ok: false, reason: "stale_timestamp" });
    expect(verifyContractSignature(body, signature, secret, { now, timestampHeader: at(301) }))
      .toEqual({ ok: false, reason: "stale_timestamp" });
    expect(verifyContractSignature(body, signature, secret, { now, timestampHeader: at(-30), toleranceSeconds: 10 }).ok).toBe(false);
  });

  it("rejects a missing signature or timestamp", () => {
    expect(verifyContractSignature(body, undefined, secret, { now, timestampHeader: at(0) }))
      .toEqual({ ok: false, reason: "missing_signature" });
    expect(verifyContractSignature(body, "v1,abc", secret, { now, timestampHeader: at(0) }))
      .toEqual({ ok: false, reason: "missing_signature" });
    expect(verifyContractSignature(body, signature, secret, { now, timestampHeader: undefined }))
      .toEqual({ ok: false, reason: "missing_timestamp" });
    expect(verifyContractSignature(body, signature, secret, { now, timestampHeader: "yesterday" }))
      .toEqual({ ok: false, reason: "missing_timestamp" });
  });

  it("accepts when any listed signature matches, whatever the others look like", () => {
    const header = `sha256=deadbeef, sha256=${"0".repeat(64)}, ${signature}`;
    expect(verifyContractSignature(body, header, secret, { now, timestampHeader: at(0) }).ok).toBe(true);
  });

  it("compares against the raw bytes: re-serialised JSON does not verify", () => {
    const pretty = JSON.stringify(JSON.parse(body), null, 2);
    expect(verifyContractSignature(pretty, signature, secret, { now, timestampHeader: at(0) }))
      .toEqual({ ok: false, reason: "no_matching_signature" });
  });
});
