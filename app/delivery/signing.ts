import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import packageJson from "../../package.json";
import type { WebhookEvent } from "./types";

/**
 * Webhook signing, as published in the product's webhook spec.
 *
 * Every request carries two independent signatures so that a receiver can pick either recipe:
 *  - the product's own header, `x-tryoncloud-signature: sha256=<hex>`: HMAC-SHA256 of the raw body, keyed
 *    with the UTF-8 bytes of the whole secret string exactly as shown to the merchant (`whsec_...` included),
 *    because that is what the receiver guide tells merchants to paste into `createHmac`;
 *  - Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`) over
 *    `id.timestamp.body`, keyed with the base64-decoded part after `whsec_`, so that the stock
 *    `standardwebhooks` and `svix` packages verify our requests with the same secret string.
 *
 * During a key rotation the sender holds two secrets (newest first) and every request carries a signature
 * under each, so receivers can switch secrets at their own pace.
 */

export const SIGNING_SECRET_PREFIX = "whsec_";
/** Random bytes in a generated secret. */
export const SIGNING_SECRET_BYTES = 32;
/** How many secrets a request may be signed with at once: the current one and, during rotation, the previous one. */
export const MAX_SIGNING_SECRETS = 2;
/** The receiver guide's default replay window. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export const HEADER_SIGNATURE = "x-tryoncloud-signature";
export const HEADER_TIMESTAMP = "x-tryoncloud-timestamp";
export const HEADER_DELIVERY_ID = "x-tryoncloud-delivery-id";
export const HEADER_EVENT = "x-tryoncloud-event";
export const HEADER_SHOP = "x-tryoncloud-shop";
export const HEADER_STANDARD_ID = "webhook-id";
export const HEADER_STANDARD_TIMESTAMP = "webhook-timestamp";
export const HEADER_STANDARD_SIGNATURE = "webhook-signature";

export const APP_VERSION: string = packageJson.version;

/**
 * `TryOnLeads-Webhooks/<version> (+<infoUrl>)`: names the app and its version so receivers can allow-list
 * us and tell versions apart in their logs; the link tells them where to read about these requests.
 */
export function buildUserAgent(infoUrl?: string, version: string = APP_VERSION): string {
  return infoUrl ? `TryOnLeads-Webhooks/${version} (+${infoUrl})` : `TryOnLeads-Webhooks/${version}`;
}

export class InvalidSigningSecretError extends Error {
  constructor(reason: string) {
    // Never echo the secret itself: this message may reach logs.
    super(`invalid signing secret: ${reason}`);
    this.name = "InvalidSigningSecretError";
  }
}

export type RawBody = string | Uint8Array;

function bytesOf(body: RawBody): Buffer {
  return typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The Standard Webhooks key: the bytes behind `whsec_`. The spec allows 24 to 64 bytes; anything else is
 * refused so that a truncated or mistyped secret fails loudly instead of signing with a weak key.
 */
export function standardSigningKey(secret: string): Buffer {
  if (!secret.startsWith(SIGNING_SECRET_PREFIX)) throw new InvalidSigningSecretError(`must start with ${SIGNING_SECRET_PREFIX}`);
  const encoded = secret.slice(SIGNING_SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) throw new InvalidSigningSecretError("the part after the prefix must be standard base64");
  const key = Buffer.from(encoded, "base64");
  if (key.length < 24 || key.length > 64) throw new InvalidSigningSecretError(`must hold 24 to 64 bytes, got ${key.length}`);
  return key;
}

export function isSigningSecret(value: string): boolean {
  try {
    standardSigningKey(value);
    return true;
  } catch {
    return false;
  }
}

/** A new secret, `whsec_<base64 of 32 random bytes>`, shown once to the merchant and stored encrypted. */
export function generateSigningSecret(): string {
  return SIGNING_SECRET_PREFIX + randomBytes(SIGNING_SECRET_BYTES).toString("base64");
}

/** Hex HMAC-SHA256 of the raw body keyed with the secret string's UTF-8 bytes (the `sha256=` value). */
export function signContract(body: RawBody, secret: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(bytesOf(body)).digest("hex");
}

/** Base64 HMAC-SHA256 over `id.timestamp.body` keyed with the decoded secret (the `v1,` value). */
export function signStandard(id: string, timestampSeconds: number, body: RawBody, secret: string): string {
  return createHmac("sha256", standardSigningKey(secret))
    .update(Buffer.from(`${id}.${timestampSeconds}.`, "utf8"))
    .update(bytesOf(body))
    .digest("base64");
}

export interface SignatureHeaderInput {
  /** Stable across attempts; also the Standard Webhooks message id. */
  deliveryId: string;
  event: WebhookEvent;
  /** The shop's myshopify domain. */
  shop: string;
  /** The exact bytes that will be sent. */
  body: RawBody;
  /** Newest first; one entry, or two during a rotation. */
  secrets: readonly string[];
  /** Unix seconds of this attempt (fresh at every attempt). */
  timestampSeconds: number;
  userAgent: string;
}

// Header values travel as-is; refusing odd characters here beats a confusing error deep in node:http.
const HEADER_TOKEN = /^[A-Za-z0-9._:@-]{1,200}$/;

function checkInput(input: SignatureHeaderInput): void {
  if (input.secrets.length < 1 || input.secrets.length > MAX_SIGNING_SECRETS) {
    throw new InvalidSigningSecretError(`expected 1 to ${MAX_SIGNING_SECRETS} secrets, got ${input.secrets.length}`);
  }
  for (const secret of input.secrets) standardSigningKey(secret);
  for (const [name, value] of [["deliveryId", input.deliveryId], ["event", input.event], ["shop", input.shop]] as const) {
    if (!HEADER_TOKEN.test(value)) throw new TypeError(`${name} must be 1-200 characters of A-Z a-z 0-9 . _ : @ -`);
  }
  if (!Number.isSafeInteger(input.timestampSeconds) || input.timestampSeconds < 0) {
    throw new TypeError("timestampSeconds must be a non-negative whole number of seconds");
  }
}

/** Every header of one attempt: signatures, identification, User-Agent and Content-Type. */
export function buildSignatureHeaders(input: SignatureHeaderInput): Record<string, string> {
  checkInput(input);
  const ts = input.timestampSeconds;
  return {
    "content-type": "application/json",
    "user-agent": input.userAgent,
    [HEADER_SIGNATURE]: input.secrets.map((s) => `sha256=${signContract(input.body, s)}`).join(", "),
    [HEADER_TIMESTAMP]: String(ts),
    [HEADER_DELIVERY_ID]: input.deliveryId,
    [HEADER_EVENT]: input.event,
    [HEADER_SHOP]: input.shop,
    [HEADER_STANDARD_ID]: input.deliveryId,
    [HEADER_STANDARD_TIMESTAMP]: String(ts),
    [HEADER_STANDARD_SIGNATURE]: input.secrets.map((s) => `v1,${signStandard(input.deliveryId, ts, input.body, s)}`).join(" "),
  };
}

export type ContractVerification =
  | { ok: true }
  | { ok: false; reason: "missing_signature" | "no_matching_signature" | "missing_timestamp" | "stale_timestamp" };

export interface ContractVerifyOptions {
  /** The `x-tryoncloud-timestamp` header value. */
  timestampHeader: string | undefined;
  /** How far the timestamp may be from now, either way. Default 300 s. */
  toleranceSeconds?: number;
  /** Default: the current time. */
  now?: Date;
}

/**
 * The receiver's recipe, as the merchant-facing guide shows it:
 *  1. take the raw request bytes, before any JSON parsing (re-serialised JSON will not match);
 *  2. compute the hex HMAC-SHA256 of those bytes with your secret string as the key;
 *  3. read every `sha256=<hex>` entry of `x-tryoncloud-signature` (two during a key rotation);
 *  4. compare yours with each in constant time; accept if any matches;
 *  5. reject a request whose `x-tryoncloud-timestamp` is further than the tolerance from now.
 * The contract HMAC does not cover the timestamp; receivers who need replay protection bound to the
 * signature should verify the Standard Webhooks signature, which does.
 */
export function verifyContractSignature(
  rawBody: RawBody,
  header: string | undefined,
  secret: string,
  options: ContractVerifyOptions,
): ContractVerification {
  const expected = Buffer.from(signContract(rawBody, secret), "utf8");
  const offered = (header ?? "")
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.startsWith("sha256="))
    .map((part) => Buffer.from(part.slice("sha256=".length), "utf8"));
  if (offered.length === 0) return { ok: false, reason: "missing_signature" };
  // timingSafeEqual throws on unequal lengths; a length mismatch is not a secret, so it is checked first.
  const matched = offered.some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected));
  if (!matched) return { ok: false, reason: "no_matching_signature" };

  const ts = options.timestampHeader?.trim();
  if (!ts || !/^\d+$/.test(ts)) return { ok: false, reason: "missing_timestamp" };
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(nowSeconds - Number(ts)) > tolerance) return { ok: false, reason: "stale_timestamp" };
  return { ok: true };
}
