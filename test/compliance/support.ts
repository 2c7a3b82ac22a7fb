import { randomBytes, randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { getHmac } from "@shopify/shopify-api/test-helpers";
import { Redis } from "ioredis";
import { receiveShopifyWebhook, type ReceiveDeps, type WebhookTopic } from "../../app/compliance/receive-webhook.server";
import { defaultReceiveDeps } from "../../app/compliance/runtime.server";
import { getConfig } from "../../app/lib/config.server";
import { getDb } from "../../app/lib/db.server";
import { createLogger } from "../../app/lib/logger.server";
import { systemClock } from "../../app/delivery/clock";
import { processDelivery } from "../../app/delivery/process-delivery.server";
import { enqueueDelivery } from "../../app/delivery/queue.server";
import { getProducers } from "../../app/runtime/producers.server";
import { dumpKeysUnder, keysUnder, testKeyRing } from "../support/delivery";
import { loopbackSender } from "../support/delivery-harness";
import type { HttpsReceiver } from "../support/https-receiver";
import { TEST_API_SECRET, TEST_APP_URL } from "../support/setup-env";

/** Helpers for the privacy and lifecycle webhook tests. */

export interface WebhookOptions {
  shop: string;
  webhookId?: string;
  eventId?: string | null;
  triggeredAt?: Date;
  /** Sign with this secret instead of the app's. */
  secret?: string;
  /** Send this HMAC header value instead of the computed one. */
  hmac?: string;
  /** Headers to leave out, e.g. "X-Shopify-Hmac-Sha256". */
  omit?: string[];
  /** Topic header value (default: the topic the request is for). */
  topicHeader?: string;
  method?: string;
  /** Body bytes as sent, instead of JSON.stringify(body). */
  rawBody?: string;
}

/** A webhook request exactly as Shopify sends one: JSON body, base64 HMAC-SHA256 of it, Shopify's headers. */
export function shopifyWebhook(topic: WebhookTopic, body: unknown, options: WebhookOptions): Request {
  const raw = options.rawBody ?? JSON.stringify(body);
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "X-Shopify-Topic": options.topicHeader ?? topic,
    "X-Shopify-Hmac-Sha256": options.hmac ?? getHmac(raw, options.secret ?? TEST_API_SECRET),
    "X-Shopify-Shop-Domain": options.shop,
    "X-Shopify-Webhook-Id": options.webhookId ?? randomUUID(),
    "X-Shopify-API-Version": "2026-10",
    "X-Shopify-Triggered-At": (options.triggeredAt ?? new Date()).toISOString(),
  };
  if (options.eventId !== null) headers["X-Shopify-Event-Id"] = options.eventId ?? randomUUID();
  for (const name of options.omit ?? []) delete headers[name];
  const method = options.method ?? "POST";
  return new Request(new URL(`/webhooks/${topic}`, TEST_APP_URL), {
    method,
    headers,
    body: method === "GET" || method === "HEAD" ? undefined : raw,
  });
}

export function uniqueShop(label: string): string {
  return `${label}-${randomBytes(3).toString("hex")}.myshopify.com`;
}

/** A logger writing into memory at the most verbose level, so a test can read everything the run logged. */
export function captureLogs() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: "trace", destination }), text: () => lines.join("") };
}

/** The production wiring with the test's own logger. */
export function testDeps(logger: ReceiveDeps["logger"]): ReceiveDeps {
  return { ...defaultReceiveDeps(), logger };
}

export function deliver(topic: WebhookTopic, request: Request, deps: ReceiveDeps): Promise<Response> {
  return receiveShopifyWebhook(request, topic, deps);
}

/** Every table of the database (whatever the migrations created), with every row as text. */
export async function databaseText(): Promise<Map<string, string>> {
  const db = getDb();
  const tables =
    getConfig().databaseProvider === "sqlite"
      ? await db.$queryRawUnsafe<{ name: string }[]>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
      : await db.$queryRawUnsafe<{ name: string }[]>(
          `SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
        );
  const out = new Map<string, string>();
  for (const { name } of tables) {
    const rows = await db.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT * FROM "${name.replace(/"/g, '""')}"`);
    out.set(name, JSON.stringify(rows, (_key, value) => (typeof value === "bigint" ? value.toString() : value)));
  }
  return out;
}

/** Tables in which `needle` appears, case-insensitively. */
export async function tablesContaining(needle: string): Promise<string[]> {
  const lower = needle.toLowerCase();
  return [...(await databaseText())].filter(([, text]) => text.toLowerCase().includes(lower)).map(([table]) => table);
}

/** Every key and value under this test file's QUEUE_PREFIX (job hashes, lists, sets, streams). */
export async function redisText(): Promise<string> {
  return withRedis((redis) => dumpKeysUnder(redis, getConfig().QUEUE_PREFIX));
}

/**
 * The jobs and the queues' waiting, delayed and finished sets, without BullMQ's event log streams
 * (`<queue>:events`), which keep opaque job ids ("added", "removed") until BullMQ trims them.
 */
export async function redisJobsText(): Promise<string> {
  return withRedis(async (redis) => {
    const parts: string[] = [];
    for (const key of await keysUnder(redis, getConfig().QUEUE_PREFIX)) {
      if (key.endsWith(":events")) continue;
      const type = await redis.type(key);
      parts.push(key);
      if (type === "hash") parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === "list") parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === "set") parts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === "zset") parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
      else if (type === "string") parts.push((await redis.get(key)) ?? "");
    }
    return parts.join("\n");
  });
}

async function withRedis<T>(work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(getConfig().REDIS_URL);
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

/** One worker look at a delivery, as the delivery worker does it, sending to the test receiver over HTTPS. */
export async function processOnce(deliveryId: string, receiver: Pick<HttpsReceiver, "ca">, logger: ReceiveDeps["logger"]) {
  const { deliveryQueue } = getProducers();
  return processDelivery(
    {
      db: getDb(),
      send: loopbackSender(receiver).send,
      keyRing: testKeyRing(),
      clock: systemClock,
      logger,
      leaseMs: 10_000,
      scheduleAttempt: (id, attempt, delayMs, destinationId) => enqueueDelivery(deliveryQueue, id, { attempt, delayMs, destinationId }),
    },
    deliveryId,
  );
}
