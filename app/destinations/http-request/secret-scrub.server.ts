import { scrubText } from "../../lib/logger.server";
import { RESPONSE_EXCERPT_BYTES } from "../../delivery/attempt-outcome.server";
import { SECRET_MASK } from "./definition";

/**
 * Keeping secret header values out of what the merchant sees of a receiver's answer. Receivers do echo
 * requests (debug endpoints, error pages quoting the Authorization header), so the excerpt is searched for
 * each secret value and for the forms it may be echoed in: the credential after an auth scheme
 * ("Basic xyz" → "xyz"), a Basic credential decoded ("user:key" and "key"), JSON- and URL-escaped.
 */

/** Shorter pieces are not worth a search: they would match ordinary text. */
const MIN_PIECE_CHARS = 4;

function decodedBasic(token: string): string[] {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return [];
  const decoded = Buffer.from(token, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0 || !/^[\x20-\x7e]+$/.test(decoded)) return [];
  return [decoded, decoded.slice(colon + 1)];
}

/** Every form in which one of these secret values might come back, longest first. */
export function secretPieces(secrets: readonly string[]): string[] {
  const pieces = new Set<string>();
  for (const secret of secrets) {
    const forms = [secret];
    const scheme = secret.match(/^([A-Za-z][A-Za-z0-9-]*) +(\S+)$/);
    if (scheme) {
      forms.push(scheme[2]);
      if (scheme[1].toLowerCase() === "basic") forms.push(...decodedBasic(scheme[2]));
    }
    for (const form of forms) {
      pieces.add(form);
      pieces.add(JSON.stringify(form).slice(1, -1));
      pieces.add(encodeURIComponent(form));
    }
  }
  return [...pieces].filter((p) => p.length >= MIN_PIECE_CHARS).sort((a, b) => b.length - a.length);
}

/** The text with every secret piece masked. */
export function maskSecrets(text: string, pieces: readonly string[]): string {
  let out = text;
  for (const piece of pieces) out = out.split(piece).join(SECRET_MASK);
  return out;
}

/**
 * An excerpt of a receiver's answer for the merchant: masked of secret values over everything read (so a
 * secret straddling the excerpt's end is still found whole), cut to RESPONSE_EXCERPT_BYTES, scrubbed of
 * emails and tokens like any excerpt, and with any trailing start of a secret removed.
 */
export function excerptWithoutSecrets(body: Buffer, secrets: readonly string[]): string {
  const pieces = secretPieces(secrets);
  const masked = maskSecrets(new TextDecoder("utf-8").decode(body), pieces);
  const bytes = Buffer.from(masked, "utf8").subarray(0, RESPONSE_EXCERPT_BYTES);
  let excerpt = scrubText(new TextDecoder("utf-8").decode(bytes, { stream: true }));
  for (const piece of pieces) {
    for (let n = Math.min(piece.length - 1, excerpt.length); n >= 2; n--) {
      if (excerpt.endsWith(piece.slice(0, n))) {
        excerpt = excerpt.slice(0, -n);
        break;
      }
    }
  }
  return excerpt;
}
