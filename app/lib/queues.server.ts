import type { Redis } from "ioredis";
import { Redis as RedisClient } from "ioredis";
import { createDeliveryQueue, type DeliveryQueue } from "../delivery/queue.server";
import { createTaggingQueue, type TaggingQueue } from "../customers/tagging.server";
import { getConfig } from "./config.server";

/**
 * The web process's Redis producers, created on first use and shared by every request. They fail fast when
 * Redis is down (a request never hangs on it): the database rows are the truth and the reconcilers catch up.
 */
interface Producers {
  redis: Redis;
  deliveryQueue: DeliveryQueue;
  taggingQueue: TaggingQueue;
}

declare global {
  var __tryonProducers: Producers | undefined;
}

export function getProducers(): Producers {
  if (!globalThis.__tryonProducers) {
    const { REDIS_URL, QUEUE_PREFIX } = getConfig();
    // Commands wait for the first connection, but give up after one retry and a short connect timeout.
    const redis = new RedisClient(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    // Without a listener ioredis reports connection errors as unhandled; the callers see them as failed calls.
    redis.on("error", () => undefined);
    globalThis.__tryonProducers = {
      redis,
      deliveryQueue: createDeliveryQueue(redis, { prefix: QUEUE_PREFIX }),
      taggingQueue: createTaggingQueue(redis, { prefix: QUEUE_PREFIX }),
    };
  }
  return globalThis.__tryonProducers;
}

export async function closeProducers(): Promise<void> {
  const producers = globalThis.__tryonProducers;
  globalThis.__tryonProducers = undefined;
  if (!producers) return;
  await Promise.allSettled([producers.deliveryQueue.close(), producers.taggingQueue.close()]);
  producers.redis.disconnect();
}
