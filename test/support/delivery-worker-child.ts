/**
 * A delivery worker in a process of its own, for tests that kill it with SIGKILL mid-delivery.
 * Run with `tsx test/support/delivery-worker-child.ts '<json options>'`; it inherits the test's database
 * and Redis settings through the environment and prints `ready <pid>` once it takes jobs (the pid is this
 * very process, not the launcher in front of it, so that is what the test kills).
 */
import { createDeliveryWorker } from "../../app/delivery/worker.server";
import { getConfig } from "../../app/lib/config.server";
import { getDb, prepareDb } from "../../app/lib/db.server";
import { createLogger } from "../../app/lib/logger.server";
import { testKeyRing, testRedis } from "./delivery";
import { loopbackSender } from "./delivery-harness";

interface ChildOptions {
  queueName: string;
  prefix: string;
  ca: string;
  leaseMs: number;
  deadlineMs: number;
}

const options = JSON.parse(process.argv[2] ?? "{}") as ChildOptions;
const db = getDb();
await prepareDb(db, getConfig().DATABASE_URL);
const worker = createDeliveryWorker({
  db,
  connection: testRedis("worker"),
  send: loopbackSender({ ca: options.ca }, options.deadlineMs).send,
  keyRing: testKeyRing(),
  logger: createLogger({ level: "silent" }),
  queueName: options.queueName,
  prefix: options.prefix,
  leaseMs: options.leaseMs,
  concurrency: 2,
});
await worker.worker.waitUntilReady();
process.stdout.write(`ready ${process.pid}\n`);
