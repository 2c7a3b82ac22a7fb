import type { Db } from "../lib/db.server";
import { DeliveryNotFoundError, DeliveryNotReplayableError } from "../delivery/errors";
import type { DeliveryQueue } from "../delivery/queue.server";
import { countFailedSince, replayDelivery, replayFailedSince } from "../delivery/replay.server";
import { startOfDay } from "./delivery-log-filters";
import { requireLiveEndpoint } from "./endpoints.server";
import { DeliveryBodyUnavailableError, DeliveryNotReplayableNowError, EndpointStateError, IntegrationDeliveryNotFoundError } from "./errors";

/**
 * Replays from the delivery log, on top of the engine's replay: the same delivery id is sent again, so a
 * receiver that deduplicates on it keeps one copy. Ids from the client are looked up with the shop id.
 */

export async function replayOneDelivery(input: { db: Db; queue: DeliveryQueue; shopId: string; deliveryId: string }): Promise<{ deliveryId: string }> {
  try {
    return await replayDelivery(input.db, input.queue, { shopId: input.shopId, deliveryId: input.deliveryId });
  } catch (error) {
    if (error instanceof DeliveryNotFoundError) throw new IntegrationDeliveryNotFoundError();
    if (error instanceof DeliveryNotReplayableError) {
      if (error.reason === "endpoint_disconnected") {
        throw new EndpointStateError("This delivery's endpoint was disconnected; connect an endpoint to send new leads.");
      }
      if (error.reason === "cancelled") throw new EndpointStateError("A cancelled delivery cannot be replayed.");
      if (error.reason === "payload_unavailable") throw new DeliveryBodyUnavailableError();
      throw new DeliveryNotReplayableNowError("still on its way");
    }
    throw error;
  }
}

export interface FailedSinceInput {
  db: Db;
  shopId: string;
  destinationId: string;
  /** A UTC day, YYYY-MM-DD: failed deliveries created on or after it. */
  since: string;
}

/** How many failed deliveries of the endpoint a replay since `since` would send again. */
export async function countFailedDeliveriesSince(input: FailedSinceInput): Promise<number> {
  const endpoint = await requireLiveEndpoint(input.db, input.shopId, input.destinationId);
  return countFailedSince(input.db, { shopId: input.shopId, destinationId: endpoint.id, since: startOfDay(input.since) });
}

export async function replayFailedDeliveriesSince(input: FailedSinceInput & { queue: DeliveryQueue }): Promise<number> {
  const endpoint = await requireLiveEndpoint(input.db, input.shopId, input.destinationId);
  return replayFailedSince(input.db, input.queue, { shopId: input.shopId, destinationId: endpoint.id, since: startOfDay(input.since) });
}
