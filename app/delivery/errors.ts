/** Errors the delivery engine raises to its callers (routes), each naming what the merchant can act on. */

export class DeliveryNotFoundError extends Error {
  constructor() {
    super("delivery not found for this shop");
    this.name = "DeliveryNotFoundError";
  }
}

/**
 * Only failed and delivered deliveries can be sent again: pending ones are already on their way, and
 * cancelled ones belong to a disconnected endpoint, which must never receive anything more. A delivery
 * whose stored body was pruned is sent again only if its body can be made again (payload_unavailable).
 */
export class DeliveryNotReplayableError extends Error {
  constructor(public readonly reason: "in_progress" | "cancelled" | "endpoint_disconnected" | "payload_unavailable") {
    super(`delivery cannot be replayed: ${reason.replace("_", " ")}`);
    this.name = "DeliveryNotReplayableError";
  }
}

export class EndpointNotFoundError extends Error {
  constructor() {
    super("webhook endpoint not found for this shop");
    this.name = "EndpointNotFoundError";
  }
}
