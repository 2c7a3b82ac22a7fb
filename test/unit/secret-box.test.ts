import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, SecretDecryptionError, storedKeyVersion, type KeyRing } from "../../app/lib/secret-box.server";

const ring: KeyRing = { keys: new Map([[1, randomBytes(32)]]), currentVersion: 1 };
const binding = { shopId: "shop_1", destinationId: "ep_1", purpose: "webhook-signing" } as const;

function tamper(stored: string, index: number, mutate: (b: Buffer) => Buffer): string {
  const parts = stored.split(".");
  parts[index] = mutate(Buffer.from(parts[index], "base64url")).toString("base64url");
  return parts.join(".");
}

describe("secret box (AES-256-GCM)", () => {
  it("round-trips a secret and never stores the plaintext", () => {
    const { stored, keyVersion } = encryptSecret("whsec_abc", ring, binding);
    expect(keyVersion).toBe(1);
    expect(stored).not.toContain("whsec_abc");
    expect(decryptSecret(stored, ring, binding)).toBe("whsec_abc");
  });

  it("uses a fresh IV every time", () => {
    const a = encryptSecret("same", ring, binding).stored.split(".")[1];
    const b = encryptSecret("same", ring, binding).stored.split(".")[1];
    expect(a).not.toBe(b);
    expect(Buffer.from(a, "base64url")).toHaveLength(12);
  });

  it("refuses a tampered ciphertext", () => {
    const { stored } = encryptSecret("whsec_abc", ring, binding);
    const bad = tamper(stored, 2, (b) => { b[0] ^= 1; return b; });
    expect(() => decryptSecret(bad, ring, binding)).toThrow(SecretDecryptionError);
  });

  it("refuses a truncated tag", () => {
    const { stored } = encryptSecret("whsec_abc", ring, binding);
    const bad = tamper(stored, 3, (b) => b.subarray(0, 12));
    expect(() => decryptSecret(bad, ring, binding)).toThrow(/bad tag length/);
  });

  it("refuses a ciphertext moved to another shop or endpoint (associated data)", () => {
    const { stored } = encryptSecret("whsec_abc", ring, binding);
    expect(() => decryptSecret(stored, ring, { ...binding, shopId: "shop_2" })).toThrow(/authentication failed/);
    expect(() => decryptSecret(stored, ring, { ...binding, destinationId: "ep_2" })).toThrow(/authentication failed/);
  });

  it("decrypts under an older key version after a new one becomes current", () => {
    const { stored } = encryptSecret("whsec_old", ring, binding);
    const rotated: KeyRing = { keys: new Map([...ring.keys, [2, randomBytes(32)]]), currentVersion: 2 };
    expect(decryptSecret(stored, rotated, binding)).toBe("whsec_old");
    const again = encryptSecret("whsec_old", rotated, binding);
    expect(storedKeyVersion(again.stored)).toBe(2);
    const withoutOld: KeyRing = { keys: new Map([[2, rotated.keys.get(2)!]]), currentVersion: 2 };
    expect(decryptSecret(again.stored, withoutOld, binding)).toBe("whsec_old");
    expect(() => decryptSecret(stored, withoutOld, binding)).toThrow(/version 1 is not configured/);
  });
});
