// Re-encrypts every webhook signing secret under the newest master key version in ENCRYPTION_KEYS.
//
//   1. add a new key with a higher version to ENCRYPTION_KEYS (keep the old ones) and restart the app;
//   2. npm run secrets:rotate        (safe to repeat; prints what it did)
//   3. once it reports nothing left to do, remove the old versions from ENCRYPTION_KEYS and restart.
import { getConfig } from "../app/lib/config.server";
import { getDb, prepareDb } from "../app/lib/db.server";
import { keyRingFromConfig } from "../app/destinations/key-ring.server";
import { reencryptEndpointSecrets } from "../app/destinations/master-key-rotation.server";

const config = getConfig();
const db = getDb();
try {
  await prepareDb(db, config.DATABASE_URL);
  const report = await reencryptEndpointSecrets({ db, ring: keyRingFromConfig(config) });
  console.log(`Master key version ${report.keyVersion}: ${report.endpoints} endpoint(s) checked, ` +
    `${report.reencrypted} secret(s) re-encrypted, ${report.alreadyCurrent} already current.`);
  if (report.changedConcurrently > 0) {
    console.log(`${report.changedConcurrently} endpoint(s) changed while this ran; run the command again to finish them.`);
  }
  for (const failure of report.failed) console.error(`Endpoint ${failure.destinationId}: ${failure.reason}`);
  const done = report.failed.length === 0 && report.changedConcurrently === 0;
  if (done) console.log("Every secret is under the newest key: older key versions can now be removed from ENCRYPTION_KEYS.");
  process.exitCode = report.failed.length > 0 ? 1 : done ? 0 : 2;
} finally {
  await db.$disconnect();
}
