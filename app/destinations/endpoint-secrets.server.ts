import { decryptSecret, encryptSecret, type KeyRing, type SecretBinding } from "../lib/secret-box.server";

/**
 * Signing secrets at rest. Each ciphertext is bound to its shop and endpoint (the associated data), so a
 * ciphertext copied into another row, or another shop's row, does not decrypt. The current and the previous
 * secret of one endpoint share that binding: during a rotation overlap the current ciphertext simply moves to
 * the previous columns.
 */

export interface EndpointSecretColumns {
  id: string;
  shopId: string;
  secretCiphertext: string;
  previousSecretCiphertext: string | null;
  previousSecretUntil: Date | null;
}

export function signingBinding(endpoint: { shopId: string; id: string }): SecretBinding {
  return { shopId: endpoint.shopId, destinationId: endpoint.id, purpose: "webhook-signing" };
}

export function sealSigningSecret(secret: string, ring: KeyRing, endpoint: { shopId: string; id: string }) {
  return encryptSecret(secret, ring, signingBinding(endpoint));
}

export function openSigningSecret(stored: string, ring: KeyRing, endpoint: { shopId: string; id: string }): string {
  return decryptSecret(stored, ring, signingBinding(endpoint));
}

/** Whether the previous secret still signs at `now` (it signs until, not at, previousSecretUntil). */
export function previousSecretInForce(endpoint: Pick<EndpointSecretColumns, "previousSecretCiphertext" | "previousSecretUntil">, now: Date): boolean {
  return Boolean(endpoint.previousSecretCiphertext && endpoint.previousSecretUntil && endpoint.previousSecretUntil.getTime() > now.getTime());
}

/** The secrets that sign a request at `now`, newest first: one, or two during a rotation overlap. */
export function signingSecretsAt(endpoint: EndpointSecretColumns, ring: KeyRing, now: Date): string[] {
  const secrets = [openSigningSecret(endpoint.secretCiphertext, ring, endpoint)];
  if (previousSecretInForce(endpoint, now)) secrets.push(openSigningSecret(endpoint.previousSecretCiphertext!, ring, endpoint));
  return secrets;
}

/** A destination's credentials (an API key, secret header values) at rest, bound like the signing secret. */
export function credentialsBinding(destination: { shopId: string; id: string }): SecretBinding {
  return { shopId: destination.shopId, destinationId: destination.id, purpose: "destination-credentials" };
}

export function sealCredentials(credentials: object, ring: KeyRing, destination: { shopId: string; id: string }) {
  return encryptSecret(JSON.stringify(credentials), ring, credentialsBinding(destination));
}

export function openCredentials(stored: string, ring: KeyRing, destination: { shopId: string; id: string }): string {
  return decryptSecret(stored, ring, credentialsBinding(destination));
}
