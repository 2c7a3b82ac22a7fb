import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Secrets at rest: AES-256-GCM with a fresh random 12-byte IV per encryption, the full 16-byte tag
 * required on decryption, and associated data that binds a ciphertext to the row it belongs to (a
 * ciphertext copied to another shop's or endpoint's row does not decrypt). The master key version is
 * stored with the ciphertext so keys can be rotated: encrypt under the newest, decrypt under any listed.
 *
 * Stored form: `v<version>.<iv>.<ciphertext>.<tag>` (base64url parts).
 */

export interface KeyRing {
  keys: Map<number, Buffer>;
  currentVersion: number;
}

/** What a secret is bound to. Changing any field makes decryption fail. */
export interface SecretBinding {
  shopId: string;
  destinationId: string;
  /** The signing secret, or a kind's credentials (an API key, secret header values) as JSON. */
  purpose: "webhook-signing" | "destination-credentials";
}

export class SecretDecryptionError extends Error {
  constructor(reason: string) {
    super(`secret cannot be decrypted: ${reason}`);
    this.name = "SecretDecryptionError";
  }
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

function aad(binding: SecretBinding): Buffer {
  return Buffer.from(JSON.stringify([binding.purpose, binding.shopId, binding.destinationId]));
}

export function encryptSecret(plaintext: string, ring: KeyRing, binding: SecretBinding): { stored: string; keyVersion: number } {
  const key = ring.keys.get(ring.currentVersion);
  if (!key) throw new Error(`no master key for version ${ring.currentVersion}`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(binding));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  const stored = ["v" + ring.currentVersion, iv, ciphertext, tag]
    .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
    .join(".");
  return { stored, keyVersion: ring.currentVersion };
}

export function decryptSecret(stored: string, ring: KeyRing, binding: SecretBinding): string {
  const parts = stored.split(".");
  if (parts.length !== 4 || !/^v\d+$/.test(parts[0])) throw new SecretDecryptionError("malformed");
  const version = Number(parts[0].slice(1));
  const key = ring.keys.get(version);
  if (!key) throw new SecretDecryptionError(`master key version ${version} is not configured`);
  const [iv, ciphertext, tag] = parts.slice(1).map((p) => Buffer.from(p, "base64url"));
  if (iv.length !== IV_BYTES) throw new SecretDecryptionError("bad IV length");
  // GCM would accept a shortened tag; a truncated tag must never authenticate.
  if (tag.length !== TAG_BYTES) throw new SecretDecryptionError("bad tag length");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(binding));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
  } catch {
    throw new SecretDecryptionError("authentication failed");
  }
}

/** The key version a stored secret was encrypted under, without decrypting it. */
export function storedKeyVersion(stored: string): number {
  const match = /^v(\d+)\./.exec(stored);
  if (!match) throw new SecretDecryptionError("malformed");
  return Number(match[1]);
}
