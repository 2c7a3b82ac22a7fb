import type { Db } from "../lib/db.server";
import { storedKeyVersion, type KeyRing } from "../lib/secret-box.server";
import { openCredentials, openSigningSecret, sealCredentials, sealSigningSecret } from "./endpoint-secrets.server";

/**
 * Re-encrypts every endpoint's signing secrets (current and previous) under the newest master key version,
 * so that older versions can then be removed from ENCRYPTION_KEYS. Safe to run again at any time: a secret
 * already under the newest version is left alone. Each row is written only if it still holds what was read,
 * so a merchant rotating their secret at the same moment is never overwritten; such a row is counted as
 * skipped and picked up by the next run.
 */

export interface MasterKeyRotationReport {
  /** The key version every secret is now under. */
  keyVersion: number;
  /** Endpoints looked at (every state: a disconnected one still holds a ciphertext). */
  endpoints: number;
  /** Secrets re-encrypted in this run (an endpoint in a rotation overlap has two). */
  reencrypted: number;
  /** Secrets that were already under the newest version. */
  alreadyCurrent: number;
  /** Endpoints changed by someone else between read and write in this run; run again to finish them. */
  changedConcurrently: number;
  /** Secrets that could not be decrypted with any configured key, by endpoint id (never the secret). */
  failed: { destinationId: string; reason: string }[];
}

export interface MasterKeyRotationInput {
  db: Db;
  ring: KeyRing;
  /** Rows read per batch. @defaultValue 200 */
  batchSize?: number;
}

export async function reencryptEndpointSecrets(input: MasterKeyRotationInput): Promise<MasterKeyRotationReport> {
  const { db, ring } = input;
  const batchSize = input.batchSize ?? 200;
  const report: MasterKeyRotationReport = {
    keyVersion: ring.currentVersion, endpoints: 0, reencrypted: 0, alreadyCurrent: 0, changedConcurrently: 0, failed: [],
  };
  let after: string | undefined;
  for (;;) {
    const rows = await db.destination.findMany({
      where: after ? { id: { gt: after } } : {},
      orderBy: { id: "asc" },
      take: batchSize,
      select: { id: true, shopId: true, secretCiphertext: true, previousSecretCiphertext: true, credentialsCiphertext: true },
    });
    if (rows.length === 0) break;
    after = rows[rows.length - 1].id;
    for (const row of rows) {
      report.endpoints++;
      await reencryptRow(db, ring, row, report);
    }
  }
  return report;
}

type SecretRow = { id: string; shopId: string; secretCiphertext: string; previousSecretCiphertext: string | null; credentialsCiphertext: string | null };

/** Every encrypted column of a destination, with how it is opened and sealed again (each has its own binding). */
const COLUMNS = [
  { column: "secret", stored: (r: SecretRow) => r.secretCiphertext, open: openSigningSecret, seal: sealSigningSecret },
  { column: "previousSecret", stored: (r: SecretRow) => r.previousSecretCiphertext, open: openSigningSecret, seal: sealSigningSecret },
  {
    column: "credentials", stored: (r: SecretRow) => r.credentialsCiphertext, open: openCredentials,
    seal: (plain: string, ring: KeyRing, row: { shopId: string; id: string }) => sealCredentials(JSON.parse(plain) as object, ring, row),
  },
] as const;

async function reencryptRow(db: Db, ring: KeyRing, row: SecretRow, report: MasterKeyRotationReport): Promise<void> {
  const data: Record<string, string | number> = {};
  let moved = 0;
  try {
    for (const { column, stored: storedOf, open, seal } of COLUMNS) {
      const stored = storedOf(row);
      if (!stored) continue;
      if (storedKeyVersion(stored) === ring.currentVersion) {
        report.alreadyCurrent++;
        continue;
      }
      const sealed = seal(open(stored, ring, row), ring, row);
      data[`${column}Ciphertext`] = sealed.stored;
      data[`${column}KeyVersion`] = sealed.keyVersion;
      moved++;
    }
  } catch (error) {
    report.failed.push({ destinationId: row.id, reason: error instanceof Error ? error.message : "unknown error" });
    return;
  }
  if (moved === 0) return;
  const written = await db.destination.updateMany({
    where: { id: row.id, secretCiphertext: row.secretCiphertext, previousSecretCiphertext: row.previousSecretCiphertext, credentialsCiphertext: row.credentialsCiphertext },
    data,
  });
  if (written.count === 1) report.reencrypted += moved;
  else report.changedConcurrently++;
}
