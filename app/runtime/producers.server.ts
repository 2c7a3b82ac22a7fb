import { createDeliveryQueue, type DeliveryQueue } from "../delivery/queue.server";
import { createTaggingQueue, type TaggingQueue } from "../customers/tagging.server";
import { getConfig } from "../lib/config.server";
import { createRedis, type RedisConnection } from "../lib/redis.server";
import { queueLayout } from "./queues.server";

/**
 * The web process's Redis producers, created on first use and shared by every request. They fail fast when
 * Redis is down (a request never hangs on it): the database rows are the truth and the reconcilers catch up.
 */
interface Producers {
  redis: RedisConnection;
  deliveryQueue: DeliveryQueue;
  taggingQueue: TaggingQueue;
}

declare global {
  var __tryonProducers: Producers | undefined;
}

export function getProducers(): Producers {
  if (!globalThis.__tryonProducers) {
    const config = getConfig();
    const layout = queueLayout(config);
    const redis = createRedis(config, "producer");
    // Without a listener ioredis reports connection errors as unhandled; the callers see them as failed calls.
    redis.on("error", () => undefined);
    globalThis.__tryonProducers = {
      redis,
      deliveryQueue: createDeliveryQueue(redis, { ...layout.delivery, eventsMaxLen: config.QUEUE_EVENTS_MAX_LEN }),
      taggingQueue: createTaggingQueue(redis, { ...layout.tagging, eventsMaxLen: config.QUEUE_EVENTS_MAX_LEN }),
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
