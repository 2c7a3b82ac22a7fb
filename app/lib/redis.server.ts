import { Cluster, Redis, type ClusterNode, type RedisOptions } from "ioredis";

/**
 * Redis connections for the app: one node (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES). Two roles:
 *
 * - `worker`: blocks on Redis (BullMQ workers) and must wait out a reconnect rather than fail a command;
 *   BullMQ requires `maxRetriesPerRequest: null` for it, on a cluster inside `redisOptions`.
 * - `producer`: a web process that adds jobs and counts rate limits. It fails fast instead (one retry, a
 *   short connect timeout): the database row is already committed and the reconcilers catch up, so a
 *   request never hangs on a Redis outage. Commands do wait for the first connection. On a cluster the
 *   per-node retry limit does not cover commands sent while the whole cluster is unreachable (ioredis
 *   queues those until it is back), so the producer's cluster stops queueing once it has been reached.
 *
 * On a cluster every multi-key script must touch one hash slot: the app's keys carry hash tags
 * (`{…}`) per queue, per destination and per shop, so that queues and destinations spread over the nodes.
 */

export type RedisConnection = Redis | Cluster;

export interface RedisSettings {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: { host: string; port: number }[];
}

const ROLE_OPTIONS: Record<"worker" | "producer", RedisOptions> = {
  worker: { maxRetriesPerRequest: null },
  producer: { maxRetriesPerRequest: 1, connectTimeout: 2_000 },
};

export function createRedis(settings: RedisSettings, role: "worker" | "producer"): RedisConnection {
  const options = ROLE_OPTIONS[role];
  if (settings.REDIS_CLUSTER_NODES?.length) {
    const nodes: ClusterNode[] = settings.REDIS_CLUSTER_NODES.map(({ host, port }) => ({ host, port }));
    const cluster = new Cluster(nodes, { redisOptions: options });
    return role === "producer" ? failFastWhenUnreachable(cluster) : cluster;
  }
  return new Redis(settings.REDIS_URL, options);
}

/**
 * ioredis reads a cluster's `enableOfflineQueue` at every command: queue while the first connection is being
 * made, and while the cluster is ready (a node's own connection may still be opening then); otherwise, once
 * the cluster has been reached or could not be, a command fails at once rather than waiting for its return.
 */
function failFastWhenUnreachable(cluster: Cluster): Cluster {
  let firstConnection = true;
  const settled = () => void (firstConnection = false);
  cluster.once("ready", settled);
  cluster.once("reconnecting", settled);
  Object.defineProperty(cluster.options, "enableOfflineQueue", {
    get: () => firstConnection || cluster.status === "ready",
    configurable: true,
  });
  return cluster;
}

/**
 * The key prefix of one queue: the app's prefix plus a hash tag naming the queue, so that all of one queue's
 * keys share a cluster slot (BullMQ's scripts need that) while different queues may live on different nodes.
 * On a single Redis the tag is just part of the name.
 */
export function queueKeyPrefix(appPrefix: string, queue: string): string {
  return `${appPrefix}:{${queue}}`;
}
