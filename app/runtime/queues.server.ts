import type { AppConfig } from "../lib/config.server";
import { queueKeyPrefix } from "../lib/redis.server";
import { DELIVERY_QUEUE_NAME } from "../delivery/queue.server";
import { TAGGING_QUEUE_NAME } from "../customers/tagging.server";

/**
 * Where each queue and key family lives in Redis, derived from the configuration in one place, so that the
 * web process that adds jobs and the worker processes that take them always agree. Each queue has its own
 * hash tag (one Redis Cluster slot per queue); destination gates and rate limits carry their own tags.
 */
export interface QueueLayout {
  delivery: { name: string; prefix: string };
  tagging: { name: string; prefix: string };
  /** Prefix of the per-destination gate keys (`<prefix>:gate:{destination}:…`). */
  gatePrefix: string;
  /** Prefix of the capture rate-limit keys. */
  rateLimitPrefix: string;
  /** Prefix of the per-shop Shopify pacing keys. */
  shopifyPrefix: string;
}

export function queueLayout(config: Pick<AppConfig, "QUEUE_PREFIX">, overrides: { deliveryQueueName?: string; prefix?: string } = {}): QueueLayout {
  const base = overrides.prefix ?? config.QUEUE_PREFIX;
  return {
    delivery: { name: overrides.deliveryQueueName ?? DELIVERY_QUEUE_NAME, prefix: queueKeyPrefix(base, "deliveries") },
    tagging: { name: TAGGING_QUEUE_NAME, prefix: queueKeyPrefix(base, "tagging") },
    gatePrefix: base,
    rateLimitPrefix: `${base}:rl`,
    shopifyPrefix: `${base}:shopify`,
  };
}
