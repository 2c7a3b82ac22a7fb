/**
 * The product's delivery worker, wired as production wires it (createDeliveryWorker, the real webhook
 * sender, secrets decrypted from the database) except for what a loopback benchmark needs: the sender may
 * dial 127.0.0.1 (an exact-address allow-list) and trusts the receiver's test CA, either process-wide
 * (NODE_EXTRA_CA_CERTS, so the sender runs with no `ca` option, as in production) or passed in the
 * sender's options (`extraCa`), per phase. Runs in a process of its own, started by delivery.bench.ts.
 */
import { createWebhookSender } from "../app/delivery/http-sender.server";
import { createAddressPolicy } from "../app/delivery/ssrf.server";
import { createDeliveryWorker } from "../app/delivery/worker.server";
import { getConfig } from "../app/lib/config.server";
import { createDb, prepareDb } from "../app/lib/db.server";
import { createLogger } from "../app/lib/logger.server";
import { createRedis } from "../app/lib/redis.server";
import { countDriverCalls, serveWorker } from "./delivery-common";

await countDriverCalls();
const config = getConfig();
const db = createDb(config.DATABASE_URL);
await prepareDb(db, config.DATABASE_URL);
await db.$connect();
const connection = createRedis(config, "worker");
const policy = createAddressPolicy({ allowAddresses: ["127.0.0.1"] });
const senders = {
  production: createWebhookSender({ policy }),
  caInOptions: createWebhookSender({ policy, extraCa: process.env.BENCH_TLS_CA }),
};
// Production logs one line per attempt at "info"; the benchmark's default is silent (see --log).
const logger = createLogger({ level: config.LOG_LEVEL });

serveWorker(async (phase) => {
  const delivery = createDeliveryWorker({
    db,
    connection,
    send: (phase.caInOptions ? senders.caInOptions : senders.production).send,
    keyRing: { keys: config.ENCRYPTION_KEYS, currentVersion: config.currentKeyVersion },
    logger,
    concurrency: phase.concurrency,
    queueName: phase.queueName,
    prefix: phase.prefix,
  });
  let failed = 0;
  delivery.worker.on("failed", () => void failed++);
  await delivery.worker.waitUntilReady();
  return { close: () => delivery.close(), failedJobs: () => failed };
});
