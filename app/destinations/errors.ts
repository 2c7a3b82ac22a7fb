/**
 * What can go wrong when a merchant manages their webhook, each in words the merchant can act on. Routes map
 * these to answers: not-found errors to 404, the others to a 4xx with the message shown inline.
 */

/** The id from the form does not name an endpoint of the signed-in shop (or names a disconnected one). */
export class IntegrationEndpointNotFoundError extends Error {
  constructor() {
    super("This destination does not exist for your store.");
    this.name = "IntegrationEndpointNotFoundError";
  }
}

/** The id from the form does not name a delivery of the signed-in shop. */
export class IntegrationDeliveryNotFoundError extends Error {
  constructor() {
    super("This delivery does not exist for your store.");
    this.name = "IntegrationDeliveryNotFoundError";
  }
}

/** The URL cannot be used as a webhook endpoint; `message` says why in plain words. */
export class EndpointUrlRefusedError extends Error {
  constructor(
    message: string,
    /** The product's error code (invalid_url, address_refused, dns_failure). */
    public readonly code: string,
  ) {
    super(message);
    this.name = "EndpointUrlRefusedError";
  }
}

/** A shop may connect a limited number of destinations at once. */
export class TooManyDestinationsError extends Error {
  constructor(limit: number) {
    super(`You can connect up to ${limit} destinations. Disconnect one you no longer use to add another.`);
    this.name = "TooManyDestinationsError";
  }
}

/** A setting of a destination the merchant typed that cannot be used; `field` names the form field. */
export class DestinationSettingsError extends Error {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "DestinationSettingsError";
  }
}

/** An action that needs a particular endpoint state, asked of an endpoint in another one. */
export class EndpointStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EndpointStateError";
  }
}

/** Replay asked of a delivery that is still on its way (pending, sending or retrying). */
export class DeliveryNotReplayableNowError extends Error {
  constructor(status: string) {
    super(`This delivery is ${status}: it is already on its way and cannot be replayed now.`);
    this.name = "DeliveryNotReplayableNowError";
  }
}

/**
 * Replay asked of a delivery whose stored body was removed after its retention period and cannot be made
 * again (its lead was erased).
 */
export class DeliveryBodyUnavailableError extends Error {
  constructor() {
    super("This delivery is too old to send again: its content is no longer kept and its lead was erased.");
    this.name = "DeliveryBodyUnavailableError";
  }
}

/** A destination is already sending its earlier leads: one backfill at a time. */
export class BackfillAlreadyRunningError extends Error {
  constructor() {
    super("Earlier leads are already being sent to this destination. Wait for that to finish, or cancel it.");
    this.name = "BackfillAlreadyRunningError";
  }
}

/**
 * How an admin action answers one of the errors above: 404 for what is not the signed-in shop's, 422 for a
 * value the merchant typed (with the form field when known), 409 for an action the present state refuses.
 * Null for anything else, which the route lets through (a fault, not the merchant's doing).
 */
export function merchantErrorAnswer(error: unknown): { status: 404 | 409 | 422; field?: string } | null {
  if (error instanceof IntegrationEndpointNotFoundError || error instanceof IntegrationDeliveryNotFoundError) return { status: 404 };
  if (error instanceof DestinationSettingsError) return { status: 422, field: error.field };
  if (error instanceof EndpointUrlRefusedError) return { status: 422, field: "url" };
  if (
    error instanceof TooManyDestinationsError || error instanceof EndpointStateError || error instanceof BackfillAlreadyRunningError ||
    error instanceof DeliveryNotReplayableNowError || error instanceof DeliveryBodyUnavailableError
  ) {
    return { status: 409 };
  }
  return null;
}
