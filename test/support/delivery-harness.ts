import type { Redis } from "ioredis";
import { createLogger } from "../../app/lib/logger.server";
import { getDb, prepareDb } from "../../app/lib/db.server";
import { getConfig } from "../../app/lib/config.server";
import type { Clock } from "../../app/delivery/clock";
import { createWebhookSender } from "../../app/delivery/http-sender.server";
import { createDeliveryQueue, type DeliveryQueue } from "../../app/delivery/queue.server";
import { reconcileDeliveries } from "../../app/delivery/reconciler.server";
import { createAddressPolicy } from "../../app/delivery/ssrf.server";
import { createDeliveryWorker, type DeliveryWorker } from "../../app/delivery/worker.server";
import type { DestinationLimits, GateSettings } from "../../app/delivery/destination-gate.server";
import type { DestinationSenders } from "../../app/delivery/destination-sender";
import { deleteKeysUnder, testKeyRing, testRedis, uniqueQueue } from "./delivery";
import type { HttpsReceiver } from "./https-receiver";

/**
 * A delivery worker wired as production wires it, except for what a test must control: the sender may
 * dial the loopback receiver (an exact-address allow-list) and trusts its test CA, deadlines are short,
 * and the engine's clock can be a manual one. Queue names and key prefixes are this file's own.
 */

export interface HarnessOptions {
  /** The engine's clock (due times, attempt times). The sender always signs with real time. */
  clock?: Clock;
  deadlineMs?: number;
  leaseMs?: number;
  concurrency?: number;
  random?: () => number;
  /** Senders for destination kinds other than the signed webhook (a Klaviyo stand-in's, say). */
  senders?: DestinationSenders;
  /** Each destination's own limits, as production looks them up. */
  limitsFor?: (destinationId: string) => Promise<DestinationLimits | undefined>;
  /** The per-destination gate; short waits by default, so that a test on a manual clock never waits long in real time. */
  gate?: Partial<Omit<GateSettings, "leaseMs">>;
}

export interface DeliveryHarness {
  queue: DeliveryQueue;
  worker: DeliveryWorker;
  redis: Redis;
  queueName: string;
  prefix: string;
  /** Runs one reconciler round on the engine's clock with no grace. */
  reconcile(): ReturnType<typeof reconcileDeliveries>;
  /** Replaces the worker (e.g. after stopping it), same queue and settings. */
  restartWorker(): Promise<DeliveryWorker>;
  close(): Promise<void>;
}

export function loopbackSender(receiver: Pick<HttpsReceiver, "ca">, deadlineMs = 1_500) {
  return createWebhookSender({
    policy: createAddressPolicy({ allowAddresses: ["127.0.0.1", "::1"] }),
    extraCa: receiver.ca,
    deadlineMs,
  });
}

export async function startHarness(label: string, receiver: Pick<HttpsReceiver, "ca">, options: HarnessOptions = {}): Promise<DeliveryHarness> {
  const db = getDb();
  await prepareDb(db, getConfig().DATABASE_URL);
  const { queueName, prefix } = uniqueQueue(label);
  const redis = testRedis("worker");
  const queue = createDeliveryQueue(redis, { name: queueName, prefix });
  const sender = loopbackSender(receiver, options.deadlineMs);
  const start = () =>
    createDeliveryWorker({
      db,
      connection: redis,
      send: sender.send,
      keyRing: testKeyRing(),
      logger: createLogger({ level: process.env.DELIVERY_TEST_LOG ?? "silent" }),
      clock: options.clock,
      concurrency: options.concurrency ?? 4,
      queueName,
      prefix,
      leaseMs: options.leaseMs ?? 10_000,
      random: options.random,
      gate: { cooldownMs: 200, maxCooldownMs: 1_000, ...options.gate },
      senders: options.senders,
      limitsFor: options.limitsFor,
    });
  const harness: DeliveryHarness = {
    queue,
    worker: start(),
    redis,
    queueName,
    prefix,
    reconcile: () => reconcileDeliveries({ db, queue, clock: options.clock, graceMs: 0 }),
    async restartWorker() {
      await harness.worker.close();
      harness.worker = start();
      return harness.worker;
    },
    async close() {
      await harness.worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      // The destination gates' keys live under the same prefix.
      await deleteKeysUnder(redis, prefix);
      await redis.quit();
    },
  };
  return harness;
}
